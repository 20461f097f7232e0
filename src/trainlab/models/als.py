"""The ``als`` recommender: implicit-feedback alternating least squares (Hu, Koren and Volinsky, 2008) from
the ``implicit`` library, strengths as confidences; new interactions of a known user fold in without retraining."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from trainlab.models.factors import FactorRecommender, implicit_module
from trainlab.models.recbase import RECIPE, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register


class ALSRecommender(FactorRecommender):
    folds_in = True

    def make(self) -> Any:
        p = self.params
        return implicit_module("als", "als").AlternatingLeastSquares(
            factors=int(p.get("factors", 64)), regularization=float(p.get("regularization", 0.05)),
            alpha=float(p.get("alpha", 2.0)), iterations=int(p.get("iterations", 15)), num_threads=self.n_jobs,
            random_state=self.seed)

    def user_vectors(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool) -> np.ndarray:
        """The stored factors, or with ``refresh`` factors solved from the given history (fold-in)."""
        if not refresh:
            return self.user_factors_[users]
        with threadpool_limits(1, "blas"):
            model = self.make()
        model.user_factors, model.item_factors = self.user_factors_, self.item_factors_
        rows = sparse.csr_matrix(history, dtype=np.float32)
        return np.vstack([np.asarray(model.recalculate_user(int(u), rows[i])).reshape(1, -1)
                          for i, u in enumerate(users)])


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> ALSRecommender:
    return ALSRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> ALSRecommender:
    return load_arrays(ALSRecommender, folder)


SPEC = register(ModelSpec(
    key="als", names={"default": "ALS (implicit)"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"factors": 64, "regularization": 0.05, "alpha": 2.0, "iterations": 15},
    space={"factors": Param("int", 16, 256, log=True), "regularization": Param("float", 1e-3, 10.0, log=True),
           "alpha": Param("float", 0.5, 50.0, log=True), "iterations": Param("int", 5, 40)},
    save=save_arrays, load=load, requires="implicit", extra="rec", sample_weight=False, cost=2, bag=False))
