"""LightGBM gradient-boosted trees, saved in LightGBM's own text format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.models.registry import ModelSpec, Param, register

FILE = "lightgbm.txt"
CLASSES_FILE = "lightgbm_classes.json"
ROUNDS_PATIENCE = 50


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(random_state=seed, n_jobs=n_jobs, verbose=-1, **params)


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


def early_stop(estimator: Any, features: Any, y: Any, weights: Any, valid_features: Any, valid_y: Any) -> int:
    import lightgbm as lgb

    estimator.fit(features, y, sample_weight=weights, eval_set=[(valid_features, valid_y)],
                  callbacks=[lgb.early_stopping(ROUNDS_PATIENCE, verbose=False)])
    return int(estimator.best_iteration_ or estimator.n_estimators)


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
    early_stop=early_stop, rounds_param="n_estimators",
    defaults={"n_estimators": 2000, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
              "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    space={
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "num_leaves": Param("int", 4, 256, log=True),
        "min_child_samples": Param("int", 2, 100, log=True),
        "subsample": Param("float", 0.5, 1.0),
        "colsample_bytree": Param("float", 0.3, 1.0),
        "reg_lambda": Param("float", 1e-3, 30.0, log=True),
    },
    cost=1,
))
