"""A trained candidate: its fitted preprocessing and estimator, ready to turn features into outputs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.prepare import build_preprocessor, feature_groups, passthrough_columns, screen_numeric, text_settings
from trainlab.data.schema import Schema
from trainlab.models.registry import FIT_DEADLINE, ModelSpec, get_spec, model_output


@dataclass
class TrainedModel:
    """One family's model with the preprocessing fitted on the same rows."""

    family: str
    params: dict[str, Any]
    task: str
    n_classes: int
    preprocessor: Any
    estimator: Any
    best_rounds: int | None = None

    def output(self, features: pd.DataFrame) -> np.ndarray:
        """Class probabilities (rows x classes), or predictions for regression."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return model_output(self.estimator, self.prepare(features), self.task, self.n_classes)

    def prepare(self, features: pd.DataFrame) -> Any:
        """The estimator's input: the fitted preprocessing's output. One that only passes columns through gives
        them by position (the same values: scikit-learn's checks of names and frames took 10-13 ms of the 30 ms
        one picture took to predict, for 1,100 columns)."""
        if self._passed is not None:
            at = features.columns.get_indexer(self._passed)
            if (at >= 0).all():
                return features.iloc[:, at]
        return self.preprocessor.transform(features)

    @cached_property
    def _passed(self) -> pd.Index | None:
        names = passthrough_columns(self.preprocessor)
        return None if names is None else pd.Index(names, dtype=object)

    @cached_property
    def prepared_names(self) -> list[str]:
        """The name of each column of ``prepare``'s output (built once: a text column gives hundreds of thousands)."""
        return [str(name) for name in self.preprocessor.get_feature_names_out()]

    @property
    def spec(self) -> ModelSpec:
        return get_spec(self.family)


def fit_model(spec: ModelSpec, params: dict[str, Any], schema: Schema, features: pd.DataFrame, y: np.ndarray,
              weights: np.ndarray | None, seed: int, n_jobs: int = 1,
              valid: tuple[pd.DataFrame, np.ndarray] | None = None, deadline: float | None = None) -> TrainedModel:
    """Fit the family's preprocessing recipe and estimator on these rows only.

    ``deadline`` (a ``time.monotonic()`` moment) is when families that can stop early should stop.
    With ``valid`` rows and a family that supports it, boosting stops early when they stop improving.
    A ``class_weight`` parameter ("balanced") multiplies ``weights`` by ``class_weights`` of these rows' ``y``;
    ``text_*`` parameters configure the preprocessing of text columns. A ``screen`` parameter keeps that many
    prepared columns (``build_preprocessor``), the numeric ones among those ``screen_numeric`` ranks highest.
    """
    family_params, text = text_settings(params)
    balance = family_params.pop("class_weight", None)
    screen = family_params.pop("screen", None)
    family_params.pop("sample_rows", None)  # how trials sample their fit rows (search/trial.py), not a model option
    family_params.pop("budget_share", None)  # how much of the time left a trial may take (search/scheduler.py)
    if screen is not None:  # never more than the columns there are
        screen = min(int(screen), features.shape[1])
    numeric = screen_numeric(features, y, schema, screen) if screen is not None else None
    preprocessor = build_preprocessor(schema, spec.recipe, text, seed, screen, numeric)
    if numeric is not None:  # fitted on the columns it keeps (scikit-learn checks each name of its input on each step);
        unkept = set(feature_groups(schema)[0]) - set(numeric)  # it picks them by name from any rows later
        features = features[[name for name in features.columns if name not in unkept]]
    best_rounds = None
    token = FIT_DEADLINE.set(deadline)
    try:
        with warnings.catch_warnings():  # libraries' advice about their own options is noise to trainlab's users
            warnings.simplefilter("ignore")
            prepared = preprocessor.fit_transform(features, y)
            estimator = spec.build(schema.task, family_params, seed, n_jobs)
            w = weights if spec.sample_weight else None
            if balance is not None:
                if not spec.sample_weight or schema.task == "regression":
                    raise ValueError(f"class_weight={balance!r}: family {spec.key!r} on a {schema.task} task cannot "
                                     "weigh classes (it needs classes and a fit that takes sample weights)")
                w = class_weights(y, balance) * (1.0 if w is None else np.asarray(w, dtype=float))
            if valid is not None and spec.early_stop is not None:
                valid_x, valid_y = valid
                if schema.task != "regression":  # a class the training rows lack cannot be scored on
                    keep = np.isin(valid_y, np.unique(y))
                    valid_x, valid_y = valid_x[keep], valid_y[keep]
                best_rounds = spec.early_stop(estimator, prepared, y, w, preprocessor.transform(valid_x), valid_y)
            elif w is not None:
                estimator.fit(prepared, y, sample_weight=w)
            else:
                estimator.fit(prepared, y)
    finally:
        FIT_DEADLINE.reset(token)
    if best_rounds is not None:  # the model predicts with the rounds that were best, as a refit would fit them
        params = {**params, spec.rounds_param: best_rounds}
    return TrainedModel(family=spec.key, params=dict(params), task=schema.task,
                        n_classes=max(len(schema.classes), 2) if schema.task != "regression" else 0,
                        preprocessor=preprocessor, estimator=estimator, best_rounds=best_rounds)


def class_weights(y: np.ndarray, mode: str) -> np.ndarray:
    """Per-row weights that make every class present in ``y`` weigh the same in total: n / (k * rows of its
    class), with k the number of classes present. ``mode`` must be "balanced"."""
    if mode != "balanced":
        raise ValueError(f"class_weight must be None or 'balanced', got {mode!r}")
    classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    return np.asarray(len(y) / (len(classes) * counts[index]), dtype=float)
