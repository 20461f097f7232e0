"""What the matrix-factorization recommenders share (``als``, ``bpr`` from the ``implicit`` library): a user's
scores are their factors times every item's, and both factor matrices are saved as .npy files."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from trainlab.errors import MissingDependencyError
from trainlab.models.recbase import RecommenderBase


def implicit_module(name: str, family: str) -> Any:
    """``implicit.cpu.<name>``, or the install hint when the extra is missing."""
    if importlib.util.find_spec("implicit") is None:
        raise MissingDependencyError("implicit", "rec", f"The {family} recommender family")
    return importlib.import_module(f"implicit.cpu.{name}")


class FactorRecommender(RecommenderBase):
    """Fits an ``implicit`` model on the interactions and keeps its user and item factors."""

    arrays = ("user_factors", "item_factors")

    def make(self) -> Any:
        raise NotImplementedError

    def fit(self, matrix: sparse.csr_matrix) -> FactorRecommender:
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS threads on top only contend
            model = self.make()
            model.fit(sparse.csr_matrix(matrix, dtype=np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def user_vectors(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool) -> np.ndarray:
        return self.user_factors_[users]

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        return np.asarray(self.user_vectors(users, history, refresh) @ self.item_factors_.T, dtype=np.float32)

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_
