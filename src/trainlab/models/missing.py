"""Rows with a value missing where (almost) every training row had one: predicted as an average over plausible values.

A model never learned what a missing value means in a column that was (almost) always filled during training: an
imputer puts the training median there and LightGBM reads zero, so such a row gets a confident guess about a row
that was never seen. For these rows trainlab fills the missing values from each of the donor rows most like the row
on what it does show (the nearest of a seeded sample of the training rows, kept in the bundle: hot-deck imputation)
and averages the model's outputs: the prediction then reflects what the known values say and how uncertain the
unknown ones leave it. Rows with no such gap are predicted as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import block_columns
from trainlab.models.wrapped import Outputs, Wrapped

CHUNK_ROWS = 20_000
"""Filled-in copies predicted per call, to bound memory when many rows have gaps."""
POOL = 100
"""Training rows kept in the bundle as candidate donors."""
DONORS = 30
"""Donors whose values fill a row's gaps, the nearest of the pool on the row's known values; the output is the
mean over them."""
RARE_GAPS = 20
"""A column with fewer missing training values than this counts as complete: no model learns what a missing
value means from so few rows (LightGBM's smallest leaf is 20 rows)."""


def complete_columns(features: pd.DataFrame) -> list[str]:
    """The feature columns that (almost) every training row fills: fewer than ``RARE_GAPS`` rows lack a value."""
    return [str(c) for c in features.columns[(features.isna().sum() < RARE_GAPS).to_numpy()]]


def with_gap_filling(model: Any, features: pd.DataFrame, seed: int) -> Any:
    """``model`` wrapped so that rows with gaps in columns (almost) complete in ``features`` (the training rows)
    are averaged over donor rows drawn from them; the model itself when no column is complete, or when the model
    reads pictures or sound (decoded files have no gaps: a file that cannot be read is an error)."""
    if block_columns(list(features.columns)):
        return model
    complete = complete_columns(features)
    whole = features[features[complete].notna().all(axis=1)] if complete else features.iloc[:0]
    if whole.empty:
        return model
    donors = whole.sample(min(POOL, len(whole)), random_state=seed).reset_index(drop=True)
    return GapFilledModel(model, complete, donors)


@dataclass
class GapFilledModel(Wrapped):
    """A model whose rows with gaps in ``complete`` columns are predicted as the mean over the ``DONORS`` rows of
    ``donors`` nearest to them on their known values.

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
        step = max(1, CHUNK_ROWS // min(DONORS, len(self.donors)))
        for start in range(0, len(rows), step):
            chosen = rows[start:start + step]
            out[chosen] = self._averaged(features.iloc[chosen], gaps[chosen], columns)
        return out

    def _averaged(self, rows: pd.DataFrame, gaps: np.ndarray, columns: list[str]) -> np.ndarray:
        chosen = self.nearest_donors(rows)
        k = chosen.shape[1]
        copies = rows.iloc[np.repeat(np.arange(len(rows)), k)].reset_index(drop=True)
        for j, column in enumerate(columns):
            missing = np.repeat(gaps[:, j], k)
            if missing.any():
                values = self.donors[column].to_numpy()[chosen.ravel()]
                copies.loc[missing, column] = values[missing]
        filled = np.asarray(self.model.output(copies))
        return filled.reshape(len(rows), k, *filled.shape[1:]).mean(axis=1)

    def nearest_donors(self, rows: pd.DataFrame) -> np.ndarray:
        """Positions in ``donors`` of each row's ``DONORS`` nearest donors (rows x donors), by the mean distance
        over the columns both have: for numbers, how far apart their quantiles among the donors are (0 to 1);
        for categories, 0 when equal, else 1.
        Ties keep the donors' order, so the choice is repeatable."""
        total = np.zeros((len(rows), len(self.donors)))
        count = np.zeros_like(total)
        for column in [c for c in self.donors.columns if c in rows.columns]:
            mine, theirs = rows[column], self.donors[column]
            if pd.api.types.is_numeric_dtype(theirs) and pd.api.types.is_numeric_dtype(mine):
                distance = np.abs(_quantile(mine, theirs)[:, None] - _quantile(theirs, theirs)[None, :])
            else:
                a, b = mine.astype(object).to_numpy()[:, None], theirs.astype(object).to_numpy()[None, :]
                distance = (a != b).astype(float)
                distance[pd.isna(mine).to_numpy()] = np.nan
                distance[:, pd.isna(theirs).to_numpy()] = np.nan
            known = ~np.isnan(distance)
            total += np.where(known, distance, 0.0)
            count += known
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return np.argsort(mean, axis=1, kind="stable")[:, :min(DONORS, len(self.donors))]


def _quantile(values: pd.Series, reference: pd.Series) -> np.ndarray:
    """Each value's share of the non-missing ``reference`` values below it (ties count half); NaN stays NaN."""
    known = np.sort(reference.to_numpy(dtype=float)[~np.isnan(reference.to_numpy(dtype=float))])
    x = values.to_numpy(dtype=float)
    if not len(known):
        return np.full(len(x), np.nan)
    share = (np.searchsorted(known, x, "left") + np.searchsorted(known, x, "right")) / (2 * len(known))
    return np.where(np.isnan(x), np.nan, share)
