"""The ``ease`` recommender (Steck, 2019): an item-item weight matrix in closed form, with a zero diagonal,
from the regularized Gram matrix of the interactions. Cheap and strong on catalogues of up to ~20,000 items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg
from scipy import sparse

from trainlab.models.recbase import RECIPE, RecommenderBase, binarized, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register

MAX_ITEMS = 20_000
"""Above this the dense items x items matrix (1.6 GB at 20,000) is too large: a trial fails with the reason."""


class EASERecommender(RecommenderBase):
    """B = I - P / diag(P) with P = (X'X + lambda I)^-1; a user's scores are their history times B."""

    arrays = ("weights",)
    folds_in = True

    def fit(self, matrix: sparse.csr_matrix) -> EASERecommender:
        if matrix.shape[1] > MAX_ITEMS:
            raise ValueError(f"EASE needs an items x items matrix; {matrix.shape[1]} items is above its limit of "
                             f"{MAX_ITEMS}. Leave it out with --exclude-models ease.")
        x = binarized(matrix)
        gram = np.asarray((x.T @ x).todense(), dtype=np.float64)
        gram[np.diag_indices_from(gram)] += float(self.params.get("l2", 300.0))
        inverse = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
        weights = -inverse / np.diag(inverse)
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights_ = np.ascontiguousarray(weights, dtype=np.float32)  # a row-major copy: 300x faster products
        return self

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        return np.asarray(binarized(history) @ self.weights_, dtype=np.float32)

    def item_vectors(self) -> np.ndarray:
        return self.weights_.T


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> EASERecommender:
    return EASERecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> EASERecommender:
    return load_arrays(EASERecommender, folder)


SPEC = register(ModelSpec(key="ease", names={"default": "EASE"}, tasks=("recommend",), recipe=RECIPE, build=build,
                          defaults={"l2": 300.0}, space={"l2": Param("float", 10.0, 3000.0, log=True)},
                          save=save_arrays, load=load, sample_weight=False, cost=1, bag=False))
