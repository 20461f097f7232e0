"""LightGBM gradient-boosted trees, saved in LightGBM's own text format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from trainlab.models.registry import ModelSpec, Param, register

FILE = "lightgbm.txt"


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(random_state=seed, n_jobs=n_jobs, verbose=-1, **params)


class LoadedBooster:
    """A LightGBM booster read back from its text file, with the predict methods trainlab calls."""

    def __init__(self, booster: Any, task: str) -> None:
        self.booster = booster
        self.task = task
        self.n_features_in_ = booster.num_feature()

    def predict(self, features: Any) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(self.booster.predict(features))
        return np.asarray(self.predict_proba(features).argmax(axis=1))

    def predict_proba(self, features: Any) -> np.ndarray:
        raw = np.asarray(self.booster.predict(features))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw


def save(estimator: Any, folder: Path) -> list[str]:
    booster = estimator.booster if isinstance(estimator, LoadedBooster) else estimator.booster_
    booster.save_model(str(folder / FILE))
    return [FILE]


def load(folder: Path, task: str) -> Any:
    import lightgbm as lgb

    return LoadedBooster(lgb.Booster(model_file=str(folder / FILE)), task)


SPEC = register(ModelSpec(
    key="lightgbm", names={"default": "LightGBM"}, tasks=("binary", "multiclass", "regression"),
    recipe="booster", build=build, save=save, load=load, requires="lightgbm", extra="all",
    defaults={"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
              "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    space={
        "n_estimators": Param("int", 50, 1500, log=True),
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "num_leaves": Param("int", 4, 256, log=True),
        "min_child_samples": Param("int", 2, 100, log=True),
        "subsample": Param("float", 0.5, 1.0),
        "colsample_bytree": Param("float", 0.3, 1.0),
        "reg_lambda": Param("float", 1e-3, 30.0, log=True),
    },
    cost=1,
))
