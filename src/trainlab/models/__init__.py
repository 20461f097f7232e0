"""Steps 2-4: the candidate model families. Importing this package registers every family file."""

from trainlab.models import (  # noqa: F401  (imported to register)
    als,
    bayes,
    blend,
    bpr,
    catboost,
    ease,
    hybrid_knn,
    item_knn,
    lightgbm,
    linear,
    mf,
    nbsvm,
    neighbors,
    neural,
    popularity,
    svm,
    trees,
    xgboost,
)
from trainlab.models.registry import REGISTRY, ModelSpec, Param, get_spec, model_output, select_families

__all__ = ["REGISTRY", "ModelSpec", "Param", "get_spec", "model_output", "select_families"]
