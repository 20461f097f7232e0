"""Support vector machines with an RBF kernel; guarded on large data, where they are too slow."""

from __future__ import annotations

from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC, SVR

from trainlab.models.registry import CLASS_WEIGHT, ModelSpec, Param, register


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    if task == "regression":
        return SVR(C=params["C"], gamma=params["gamma"])
    # Platt scaling on internal folds turns SVM margins into probabilities.
    return CalibratedClassifierCV(SVC(C=params["C"], gamma=params["gamma"], random_state=seed), ensemble=False)


SPEC = register(ModelSpec(
    key="svm",
    names={"default": "Support vector machine"},
    tasks=("binary", "multiclass", "regression"),
    recipe="scaled",
    build=build,
    defaults={"C": 1.0, "gamma": "scale", "class_weight": None},
    space={"C": Param("float", 1e-2, 100.0, log=True), "gamma": Param("choice", choices=("scale", "auto")),
           "class_weight": CLASS_WEIGHT},
    max_rows=5_000,
    cost=3,
    onnx="skl2onnx",
))
