"""Rows with a value missing where (almost) every training row had one: predicted as an average over plausible values.

A model never learned what a missing value means in a column that was (almost) always filled during training: an
imputer puts the training median there and LightGBM reads zero, so such a row gets a confident guess about a row
that was never seen. For these rows trainlab fills the missing values from each of a few donor rows (a seeded sample of
the training rows, kept in the bundle) and averages the model's outputs: the prediction then reflects what the
known values say and how uncertain the unknown ones leave it. Rows with no such gap are predicted as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trainlab.models.wrapped import Outputs, Wrapped

CHUNK_ROWS = 20_000
"""Filled-in copies predicted per call, to bound memory when many rows have gaps."""
DONORS = 30
"""Training rows whose values fill a gap; the output is the mean over them."""
RARE_GAPS = 20
"""A column with fewer missing training values than this counts as complete: no model learns what a missing
value means from so few rows (LightGBM's smallest leaf is 20 rows)."""


def complete_columns(features: pd.DataFrame) -> list[str]:
    """The feature columns that (almost) every training row fills: fewer than ``RARE_GAPS`` rows lack a value."""
    return [str(c) for c in features.columns[(features.isna().sum() < RARE_GAPS).to_numpy()]]


def with_gap_filling(model: Any, features: pd.DataFrame, seed: int) -> Any:
    """``model`` wrapped so that rows with gaps in columns (almost) complete in ``features`` (the training rows)
    are averaged over donor rows drawn from them; the model itself when no column is complete."""
    complete = complete_columns(features)
    whole = features[features[complete].notna().all(axis=1)] if complete else features.iloc[:0]
    if whole.empty:
        return model
    donors = whole.sample(min(DONORS, len(whole)), random_state=seed).reset_index(drop=True)
    return GapFilledModel(model, complete, donors)


@dataclass
class GapFilledModel(Wrapped):
    """A model whose rows with gaps in ``complete`` columns are predicted as the mean over ``donors``.

    Attributes it lacks (``members``, ``estimator``, ``calibrator``...) are the inner model's, so code that
    inspects models sees the model that was trained.
    """

    model: Outputs
    complete: list[str]
    donors: pd.DataFrame

    def output(self, features: pd.DataFrame) -> np.ndarray:
        out = np.array(self.model.output(features), copy=True)
        columns = [c for c in self.complete if c in features.columns]
        if not columns or self.donors.empty:
            return out
        gaps = features[columns].isna().to_numpy()
        rows = np.flatnonzero(gaps.any(axis=1))
        step = max(1, CHUNK_ROWS // len(self.donors))
        for start in range(0, len(rows), step):
            chosen = rows[start:start + step]
            out[chosen] = self._averaged(features.iloc[chosen], gaps[chosen], columns)
        return out

    def _averaged(self, rows: pd.DataFrame, gaps: np.ndarray, columns: list[str]) -> np.ndarray:
        k = len(self.donors)
        copies = rows.iloc[np.repeat(np.arange(len(rows)), k)].reset_index(drop=True)
        donor_values = pd.concat([self.donors[columns]] * len(rows), ignore_index=True)
        for j, column in enumerate(columns):
            missing = np.repeat(gaps[:, j], k)
            if missing.any():
                copies.loc[missing, column] = donor_values.loc[missing, column].to_numpy()
        filled = np.asarray(self.model.output(copies))
        return filled.reshape(len(rows), k, *filled.shape[1:]).mean(axis=1)
