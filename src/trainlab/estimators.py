"""scikit-learn estimators that run a whole trainlab training inside ``fit``.

    >>> from trainlab import Classifier
    >>> model = Classifier(time_limit=30, models=("linear", "lightgbm")).fit(X, y)  # doctest: +SKIP
    >>> model.predict_proba(X_new)  # doctest: +SKIP

``fit`` checks the data, splits off a test part, compares the chosen families on validation folds and keeps
the best, exactly as ``trainlab.train`` does; the whole run is at ``run_``. With ``refit_full=True`` (the
default) the kept model is refit on every row given to ``fit``, test rows included, once the test scores are
measured. Rows with a sample weight of zero are dropped before training, since they cannot contribute.
The run folder (with its report) is written under ``out_dir`` when given; otherwise into a temporary folder,
without a report, removed after ``fit``. ``run_.save(path)`` writes the bundle at any time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from trainlab.data.checks import MIN_ROWS
from trainlab.run import Run
from trainlab.run import train as run_train

TARGET_NAMES = ("y", "__target__")
WEIGHT_NAMES = ("sample_weight", "__sample_weight__")


class _TrainlabEstimator(BaseEstimator):
    """What both estimators share: parameters, input checks and the training run."""

    _task: str | None = None

    def __init__(self, *, time_limit: float | None = 60.0, max_trials: int | None = None,
                 models: tuple[str, ...] | str | None = None, exclude_models: tuple[str, ...] | str = (),
                 metric: str | None = None, test_size: float = 0.2, folds: int = 5, stratify: bool = True,
                 refit_full: bool = True, seed: int = 0, preset: str = "balanced", jobs: int | None = None,
                 out_dir: str | Path | None = None) -> None:
        self.time_limit = time_limit
        self.max_trials = max_trials
        self.models = models
        self.exclude_models = exclude_models
        self.metric = metric
        self.test_size = test_size
        self.folds = folds
        self.stratify = stratify
        self.refit_full = refit_full
        self.seed = seed
        self.preset = preset
        self.jobs = jobs
        self.out_dir = out_dir

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.time_limit is not None and self.max_trials is None
        return tags

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """X as a DataFrame with string column names: DataFrames keep their dtypes, arrays must be numeric."""
        if isinstance(X, pd.DataFrame):
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            frame = X.copy()
        else:
            X = check_array(X, dtype="numeric", ensure_all_finite="allow-nan", input_name="X")
            frame = pd.DataFrame(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            names = [str(c) for c in frame.columns] if isinstance(X, pd.DataFrame) else [f"x{i}" for i in
                                                                                          range(frame.shape[1])]
            if len(set(names)) != len(names):
                raise ValueError(f"Column names must be unique; got {list(frame.columns)}.")
            self._columns = names
        frame.columns = self._columns
        return frame.reset_index(drop=True)

    def _train(self, X: Any, y: np.ndarray, sample_weight: Any) -> Run:
        frame = self._frame(X, reset=True)
        check_consistent_length(frame, y)
        if len(frame) < MIN_ROWS:
            raise ValueError(f"Got {len(frame)} sample(s): trainlab needs at least {MIN_ROWS} rows to train and test.")
        target = next(n for n in TARGET_NAMES if n not in frame.columns)
        weight_column = None
        frame[target] = y
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, frame, ensure_non_negative=True)
            weight_column = next(n for n in WEIGHT_NAMES if n not in frame.columns)
            frame[weight_column] = weights
            frame = frame[weights > 0].reset_index(drop=True)
        options: dict[str, Any] = {
            "task": self._task_for(frame[target]), "metric": self.metric, "weight_column": weight_column,
            "time_limit": self.time_limit, "max_trials": self.max_trials, "models": self.models,
            "exclude_models": self.exclude_models or (), "test_size": self.test_size, "folds": self.folds,
            "stratify": self.stratify, "refit_full": self.refit_full, "seed": self.seed, "preset": self.preset,
            "jobs": self.jobs,
        }
        if self.out_dir is not None:
            return run_train(frame, target, out_dir=self.out_dir, **options)
        with tempfile.TemporaryDirectory(prefix="trainlab-") as tmp:
            return run_train(frame, target, out_dir=tmp, report=False, **options)

    def _task_for(self, y: pd.Series) -> str | None:
        return self._task

    def _output(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.run_.predictor.output(self._frame(X, reset=False))


class Classifier(ClassifierMixin, _TrainlabEstimator):
    """A trainlab run as a scikit-learn classifier: ``fit`` compares families and keeps the best."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Classifier:
        """Train on ``X`` (DataFrame or array) and labels ``y``; returns self."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.run_ = self._train(X, y, sample_weight)
        self.classes_ = np.unique(y)
        trained = {_plain(c): i for i, c in enumerate(self.run_.schema.classes)}
        # Column j of the run's output is class schema.classes[j]; keep one column per entry of classes_.
        self._order = np.array([trained.get(_plain(c), -1) for c in self.classes_])
        return self

    def _task_for(self, y: pd.Series) -> str | None:
        return "binary" if y.nunique() <= 2 else "multiclass"

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        out = self._output(X)
        proba = np.zeros((out.shape[0], len(self.classes_)))
        known = self._order >= 0
        proba[:, known] = out[:, self._order[known]]
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class Regressor(RegressorMixin, _TrainlabEstimator):
    """A trainlab run as a scikit-learn regressor: ``fit`` compares families and keeps the best."""

    _task = "regression"

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Regressor:
        """Train on ``X`` (DataFrame or array) and numeric targets ``y``; returns self."""
        y = check_array(column_or_1d(y, warn=True), ensure_2d=False, dtype="numeric", input_name="y")
        self.run_ = self._train(X, y.astype(float), sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted numbers, one per row."""
        return np.asarray(self._output(X), dtype=float)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
