"""LightGBM gradient-boosted trees with native categorical splits, saved in LightGBM's own text format."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.models.registry import (
    CLASS_WEIGHT,
    FIT_DEADLINE,
    ROUNDS_PATIENCE,
    BoosterAdapter,
    ModelSpec,
    Param,
    register,
)

FILE = "lightgbm.txt"
CLASSES_FILE = "lightgbm_classes.json"


class LightGBMModel(BoosterAdapter):
    """LightGBM told which columns are categorical: the integer category codes of the 'booster' recipe
    (numeric features reach it as floats). Categorical splits beat splits on arbitrary codes."""

    def fit(self, features: Any, y: Any, sample_weight: Any = None, eval_set: Any = None) -> LightGBMModel:
        """Fit; with ``eval_set`` (features, y), stop adding trees once those rows stop improving."""
        import lightgbm as lgb

        cls = lgb.LGBMRegressor if self.task == "regression" else lgb.LGBMClassifier
        self.model_ = cls(random_state=self.seed, n_jobs=self.n_jobs, verbose=-1, **(self.params or {}))
        categorical = [i for i, dtype in enumerate(features.dtypes) if np.issubdtype(dtype, np.integer)]
        watch: dict[str, Any] = {"callbacks": _until_deadline(FIT_DEADLINE.get())}
        if eval_set is not None:
            watch = {"eval_set": [eval_set],
                     "callbacks": [lgb.early_stopping(ROUNDS_PATIENCE, verbose=False), *watch["callbacks"]]}
        self.model_.fit(features, y, sample_weight=sample_weight, categorical_feature=categorical or "auto", **watch)
        self.booster_ = self.model_.booster_
        if self.task != "regression":
            self.classes_ = self.model_.classes_
        return self

    def predict(self, features: Any) -> np.ndarray:
        return np.asarray(self.model_.predict(features))

    def predict_proba(self, features: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(features))


def _until_deadline(deadline: float | None) -> list[Any]:
    """A callback that stops adding trees at ``deadline`` (``FIT_DEADLINE``): a refit planned to fit the time
    left (search/sampling.py) never runs far past it when the machine is slower than measured."""
    if deadline is None or deadline == float("inf"):
        return []
    import lightgbm as lgb

    def stop(env: Any) -> None:
        if env.iteration > 0 and time.monotonic() > deadline:
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

    stop.order = 40  # type: ignore[attr-defined]
    return [stop]


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return LightGBMModel(task=task, params=params, seed=seed, n_jobs=n_jobs)


class LoadedBooster:
    """A LightGBM booster read back from its text file, with the predict methods trainlab calls."""

    def __init__(self, booster: Any, task: str, classes: np.ndarray | None = None) -> None:
        self.booster = booster
        self.task = task
        self.n_features_in_ = booster.num_feature()
        if classes is not None:
            self.classes_ = classes

    def predict(self, features: Any) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(self.booster.predict(features))
        return np.asarray(self.classes_[self.predict_proba(features).argmax(axis=1)])

    def predict_proba(self, features: Any) -> np.ndarray:
        raw = np.asarray(self.booster.predict(features))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw


def early_stop(estimator: LightGBMModel, features: Any, y: Any, weights: Any, valid_features: Any,
               valid_y: Any) -> int:
    estimator.fit(features, y, sample_weight=weights, eval_set=(valid_features, valid_y))
    return int(estimator.model_.best_iteration_ or estimator.model_.n_estimators)


def save(estimator: Any, folder: Path) -> list[str]:
    booster = estimator.booster if isinstance(estimator, LoadedBooster) else estimator.booster_
    booster.save_model(str(folder / FILE))
    if not hasattr(estimator, "classes_"):  # regression
        return [FILE]
    # The class codes the training rows held (a fold may lack one); the booster's file does not keep them.
    (folder / CLASSES_FILE).write_text(json.dumps([int(c) for c in estimator.classes_]), encoding="utf-8")
    return [FILE, CLASSES_FILE]


def load(folder: Path, task: str) -> Any:
    import lightgbm as lgb

    classes = None
    if task != "regression":
        classes = np.asarray(json.loads((folder / CLASSES_FILE).read_text(encoding="utf-8")), dtype=int)
    return LoadedBooster(lgb.Booster(model_file=str(folder / FILE)), task, classes)


SPEC = register(ModelSpec(
    key="lightgbm", names={"default": "LightGBM"}, tasks=("binary", "multiclass", "regression"),
    recipe="booster", build=build, save=save, load=load, requires="lightgbm", extra="all",
    early_stop=early_stop, rounds_param="n_estimators", seeded=True,
    defaults={"n_estimators": 2000, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
              "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0, "class_weight": None},
    space={
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "num_leaves": Param("int", 4, 256, log=True),
        "min_child_samples": Param("int", 2, 100, log=True),
        "subsample": Param("float", 0.5, 1.0),
        "colsample_bytree": Param("float", 0.3, 1.0),
        "reg_lambda": Param("float", 1e-3, 30.0, log=True),
        "class_weight": CLASS_WEIGHT,
    },
    cost=1, onnx="lightgbm",
))
