"""Gaussian naive Bayes: a fast probabilistic baseline for classification."""

from __future__ import annotations

from typing import Any

from sklearn.naive_bayes import GaussianNB

from trainlab.models.registry import CLASS_WEIGHT, ModelSpec, Param, register


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return GaussianNB(var_smoothing=params["var_smoothing"])


SPEC = register(ModelSpec(
    key="naive_bayes",
    names={"default": "Naive Bayes"},
    tasks=("binary", "multiclass"),
    recipe="scaled",
    build=build,
    defaults={"var_smoothing": 1e-9, "class_weight": None},
    space={"var_smoothing": Param("float", 1e-11, 1e-1, log=True), "class_weight": CLASS_WEIGHT},
    cost=0,
    onnx="skl2onnx",
))
