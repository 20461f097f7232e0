"""k-nearest neighbours: predicts from the most similar training rows."""

from __future__ import annotations

from typing import Any

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from trainlab.models.registry import ModelSpec, Param, register


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(n_neighbors=params["n_neighbors"], weights=params["weights"], n_jobs=n_jobs)


SPEC = register(ModelSpec(
    key="knn",
    names={"default": "k-nearest neighbours"},
    tasks=("binary", "multiclass", "regression"),
    recipe="scaled",
    build=build,
    defaults={"n_neighbors": 15, "weights": "distance"},
    space={"n_neighbors": Param("int", 3, 60, log=True), "weights": Param("choice", choices=("uniform", "distance"))},
    sample_weight=False,
    max_rows=100_000,
    cost=1,
    onnx="skl2onnx",
))
