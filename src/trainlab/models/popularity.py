"""The ``popularity`` recommender: every user gets the items most users interacted with (the baseline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.models.recbase import RECIPE, RecommenderBase, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, register


class PopularityRecommender(RecommenderBase):
    """Scores an item by how many users have a positive interaction with it."""

    arrays = ("popularity",)

    def fit(self, matrix: sparse.csr_matrix) -> PopularityRecommender:
        self.popularity_ = np.asarray((matrix > 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        return np.tile(self.popularity_, (len(users), 1))


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> PopularityRecommender:
    return PopularityRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> PopularityRecommender:
    return load_arrays(PopularityRecommender, folder)


SPEC = register(ModelSpec(key="popularity", names={"default": "Popularity"}, tasks=("recommend",), recipe=RECIPE,
                          build=build, defaults={}, save=save_arrays, load=load, sample_weight=False, cost=0,
                          bag=False))
