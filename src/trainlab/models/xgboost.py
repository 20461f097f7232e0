"""XGBoost gradient-boosted trees, saved in XGBoost's own UBJSON format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.models.registry import ModelSpec, Param, register

FILE = "xgboost.ubj"


def _cls(task: str) -> Any:
    import xgboost as xgb

    return xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return _cls(task)(random_state=seed, n_jobs=n_jobs, tree_method="hist", verbosity=0, **params)


def save(estimator: Any, folder: Path) -> list[str]:
    estimator.save_model(str(folder / FILE))
    return [FILE]


def load(folder: Path, task: str) -> Any:
    model = _cls(task)()
    model.load_model(str(folder / FILE))
    return model


SPEC = register(ModelSpec(
    key="xgboost", names={"default": "XGBoost"}, tasks=("binary", "multiclass", "regression"),
    recipe="booster", build=build, save=save, load=load, requires="xgboost", extra="all",
    defaults={"n_estimators": 300, "learning_rate": 0.05, "max_depth": 6, "subsample": 0.8,
              "colsample_bytree": 0.8, "min_child_weight": 1.0, "reg_lambda": 1.0},
    space={
        "n_estimators": Param("int", 50, 1500, log=True),
        "learning_rate": Param("float", 0.01, 0.3, log=True),
        "max_depth": Param("int", 2, 10),
        "subsample": Param("float", 0.5, 1.0),
        "colsample_bytree": Param("float", 0.3, 1.0),
        "min_child_weight": Param("float", 0.5, 20.0, log=True),
        "reg_lambda": Param("float", 1e-3, 30.0, log=True),
    },
    cost=1,
))
