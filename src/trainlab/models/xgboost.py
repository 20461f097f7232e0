"""XGBoost gradient-boosted trees, saved in XGBoost's own UBJSON format."""

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

FILE = "xgboost.ubj"
CLASSES_FILE = "xgboost_classes.json"


def _cls(task: str) -> Any:
    import xgboost as xgb

    return xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier


class XGBoostModel(BoosterAdapter):
    """XGBoost with the class codes its training rows held, so a class absent from them is no error.

    XGBClassifier insists on labels 0..k-1; rows of a fold (or a chronological train part) may lack a class.
    """

    def fit(self, features: Any, y: Any, sample_weight: Any = None, eval_set: Any = None) -> XGBoostModel:
        """Fit; with ``eval_set`` (features, y), stop adding trees once those rows stop improving."""
        stopping = {"early_stopping_rounds": ROUNDS_PATIENCE} if eval_set is not None else {}
        # The 'booster' recipe's integer columns are category codes: split them as categories (unseen: -1, missing).
        types = ["c" if np.issubdtype(dtype, np.integer) else "q" for dtype in features.dtypes]
        self.model_ = _cls(self.task)(random_state=self.seed, n_jobs=self.n_jobs, tree_method="hist", verbosity=0,
                                      enable_categorical=True, feature_types=types, **stopping,
                                      callbacks=_until_deadline(FIT_DEADLINE.get()), **(self.params or {}))
        if self.task != "regression":
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
            if eval_set is not None:  # validation rows of a class unseen in training cannot be scored
                keep = np.isin(eval_set[1], self.classes_)
                eval_set = (eval_set[0][keep], np.searchsorted(self.classes_, eval_set[1][keep]))
        watch = {"eval_set": [eval_set], "verbose": False} if eval_set is not None else {}
        self.model_.fit(features, y, sample_weight=sample_weight, **watch)
        self.model_.set_params(callbacks=None)  # a local class: the fitted model must pickle back from its worker
        return self

    def predict(self, features: Any) -> np.ndarray:
        out = np.asarray(self.model_.predict(features)).ravel()
        return out if self.task == "regression" else self.classes_[out.astype(int)]

    def predict_proba(self, features: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(features))

    def get_booster(self) -> Any:
        """The underlying xgboost Booster (for native TreeSHAP contributions)."""
        return self.model_.get_booster()


def _until_deadline(deadline: float | None) -> list[Any] | None:
    """A callback that stops adding trees at ``deadline`` (``FIT_DEADLINE``): a refit planned to fit the time
    left (search/sampling.py) never runs far past it when a round costs more than measured."""
    if deadline is None or deadline == float("inf"):
        return None
    import xgboost as xgb

    end = deadline

    class UntilDeadline(xgb.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return epoch > 0 and time.monotonic() > end  # True stops the training

    return [UntilDeadline()]


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return XGBoostModel(task=task, params=params, seed=seed, n_jobs=n_jobs)


def early_stop(estimator: XGBoostModel, features: Any, y: Any, weights: Any, valid_features: Any,
               valid_y: Any) -> int:
    estimator.fit(features, y, sample_weight=weights, eval_set=(valid_features, valid_y))
    return int(estimator.model_.best_iteration) + 1


def save(estimator: XGBoostModel, folder: Path) -> list[str]:
    estimator.model_.save_model(str(folder / FILE))
    if estimator.task == "regression":
        return [FILE]
    (folder / CLASSES_FILE).write_text(json.dumps([int(c) for c in estimator.classes_]), encoding="utf-8")
    return [FILE, CLASSES_FILE]


def load(folder: Path, task: str) -> XGBoostModel:
    model = XGBoostModel(task=task)
    model.model_ = _cls(task)()
    model.model_.load_model(str(folder / FILE))
    if task != "regression":
        model.classes_ = np.asarray(json.loads((folder / CLASSES_FILE).read_text(encoding="utf-8")), dtype=int)
    return model


SPEC = register(ModelSpec(
    key="xgboost", names={"default": "XGBoost"}, tasks=("binary", "multiclass", "regression"),
    recipe="booster", build=build, save=save, load=load, requires="xgboost", extra="all",
    early_stop=early_stop, rounds_param="n_estimators", seeded=True,
    defaults={"n_estimators": 2000, "learning_rate": 0.05, "max_depth": 6, "subsample": 0.8,
              "colsample_bytree": 0.8, "min_child_weight": 1.0, "reg_lambda": 1.0, "class_weight": None},
    space={
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "max_depth": Param("int", 2, 10),
        "subsample": Param("float", 0.5, 1.0),
        "colsample_bytree": Param("float", 0.3, 1.0),
        "min_child_weight": Param("float", 0.5, 20.0, log=True),
        "reg_lambda": Param("float", 1e-3, 30.0, log=True),
        "class_weight": CLASS_WEIGHT,
    },
    cost=1, onnx="xgboost",
))
