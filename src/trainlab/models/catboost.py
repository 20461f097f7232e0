"""CatBoost gradient-boosted trees with native categorical handling, saved in CatBoost's cbm format."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.models.registry import (
    CLASS_WEIGHT,
    FIT_DEADLINE,
    ROUNDS_PATIENCE,
    BoosterAdapter,
    ModelSpec,
    Param,
    register,
)

FILE = "catboost.cbm"


def _cls(task: str) -> Any:
    import catboost as cb

    return cb.CatBoostRegressor if task == "regression" else cb.CatBoostClassifier


class CatBoostModel(BoosterAdapter):
    """CatBoost told which columns are categorical at fit time (the text columns of the recipe)."""

    def fit(self, features: Any, y: Any, sample_weight: Any = None, eval_set: Any = None) -> CatBoostModel:
        cat = [i for i, dtype in enumerate(features.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
        self.model_ = _cls(self.task)(random_seed=self.seed, thread_count=self.n_jobs, verbose=0,
                                      allow_writing_files=False, cat_features=cat, **(self.params or {}))
        stop = {"eval_set": eval_set, "early_stopping_rounds": ROUNDS_PATIENCE} if eval_set is not None else {}
        deadline = FIT_DEADLINE.get()
        if deadline is not None and deadline != float("inf"):
            stop["callbacks"] = [_UntilDeadline(deadline)]
        self.model_.fit(features, y, sample_weight=sample_weight, **stop)
        if self.task != "regression":
            self.classes_ = np.asarray(self.model_.classes_)
        return self

    def predict(self, features: Any) -> np.ndarray:
        return np.asarray(self.model_.predict(features)).ravel()

    def predict_proba(self, features: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(features))


class _UntilDeadline:
    """Stops adding trees at ``deadline`` (``FIT_DEADLINE``): a refit planned to fit the time left
    (search/sampling.py) never runs far past it when a round costs more than measured."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_iteration(self, info: Any) -> bool:
        return info.iteration < 1 or time.monotonic() <= self.deadline  # False stops the training


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return CatBoostModel(task=task, params=params, seed=seed, n_jobs=n_jobs)


def early_stop(estimator: CatBoostModel, features: Any, y: Any, weights: Any, valid_features: Any,
               valid_y: Any) -> int:
    estimator.fit(features, y, sample_weight=weights, eval_set=(valid_features, valid_y))
    return int(estimator.model_.get_best_iteration()) + 1


def save(estimator: CatBoostModel, folder: Path) -> list[str]:
    estimator.model_.save_model(str(folder / FILE))
    return [FILE]


def load(folder: Path, task: str) -> CatBoostModel:
    model = CatBoostModel(task=task)
    model.model_ = _cls(task)()
    model.model_.load_model(str(folder / FILE))
    if task != "regression":
        model.classes_ = np.asarray(model.model_.classes_)
    return model


SPEC = register(ModelSpec(
    key="catboost", names={"default": "CatBoost"}, tasks=("binary", "multiclass", "regression"),
    recipe="catboost", build=build, save=save, load=load, requires="catboost", extra="all",
    early_stop=early_stop, rounds_param="iterations", seeded=True,
    defaults={"iterations": 2000, "learning_rate": 0.08, "depth": 6, "l2_leaf_reg": 3.0, "class_weight": None},
    space={
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "depth": Param("int", 3, 10),
        "l2_leaf_reg": Param("float", 0.5, 30.0, log=True),
        "class_weight": CLASS_WEIGHT,
    },
    cost=3, onnx="catboost", onnx_numeric_only=True,
))
