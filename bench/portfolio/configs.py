"""The configurations the portfolio is learned from: every table family's default and a seeded random sample of
its search space, the same list on every dataset (greedy selection compares a configuration across datasets)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import trainlab.estimators  # noqa: F401  (registers every family)
from trainlab.models.registry import REGISTRY, ModelSpec, Param

SAMPLES = {"lightgbm": 10, "xgboost": 8, "catboost": 6, "hist_gradient_boosting": 6, "random_forest": 5,
           "extra_trees": 5, "linear": 4, "knn": 3, "naive_bayes": 1, "decision_tree": 2, "svm": 3,
           "neural_net": 3}
"""Random configurations per family beyond its default: more for the families that are often best."""
SKIP = {"class_weight"}  # weighting is tried by the scheduler's balanced twins, not learned across datasets


def sample(param: Param, rng: np.random.Generator) -> Any:
    if param.kind == "choice":
        return param.choices[int(rng.integers(len(param.choices)))]
    low, high = float(param.low), float(param.high)
    x = math.exp(rng.uniform(math.log(low), math.log(high))) if param.log else rng.uniform(low, high)
    return round(x) if param.kind == "int" else float(x)


def family_configs(spec: ModelSpec, count: int, seed: int) -> list[dict[str, Any]]:
    """The family's default (id ``<family>:0``) and ``count`` random points of its space."""
    rng = np.random.default_rng([seed, sum(map(ord, spec.key))])
    out = [{"id": f"{spec.key}:0", "family": spec.key, "params": {}}]
    for i in range(1, count + 1):
        params = {name: sample(p, rng) for name, p in spec.space.items() if name not in SKIP}
        out.append({"id": f"{spec.key}:{i}", "family": spec.key, "params": params})
    return out


def all_configs(seed: int = 0) -> list[dict[str, Any]]:
    """Every configuration, families in registry order; ``params`` override the family's defaults."""
    return [c for key, n in SAMPLES.items() if key in REGISTRY for c in family_configs(REGISTRY[key], n, seed)]
