"""The ``hybrid_knn`` recommender: item kNN whose item-item similarities add the items' side features
(``--item-features``): S = S_interactions + feature_weight x S_features, each keeping the ``neighbors`` closest.

An item with few or no interactions (a new item listed in the features table) still has feature neighbours, so
it can be recommended to users whose history holds similar items. It runs only when item features are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.models.item_knn import ItemKNNRecommender, _top_per_row
from trainlab.models.recbase import RECIPE, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register


class HybridKNNRecommender(ItemKNNRecommender):
    uses_item_features = True

    def fit(self, matrix: sparse.csr_matrix) -> HybridKNNRecommender:
        super().fit(matrix)
        features = getattr(self, "item_features", None)
        if features is not None and features.shape[0] == matrix.shape[1]:
            keep = int(self.params.get("neighbors", 100))
            similar = sparse.csr_matrix(features @ features.T, dtype=np.float32)
            similar.setdiag(0.0)
            weight = float(self.params.get("feature_weight", 0.3))
            self.similarity_ = (self.similarity_ + weight * _top_per_row(similar, keep)).tocsr()
        return self


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> HybridKNNRecommender:
    return HybridKNNRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> HybridKNNRecommender:
    return load_arrays(HybridKNNRecommender, folder)


SPEC = register(ModelSpec(
    key="hybrid_knn", names={"default": "Item kNN + features"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"neighbors": 100, "similarity": "cosine", "feature_weight": 0.3},
    space={"neighbors": Param("int", 10, 500, log=True), "similarity": Param("choice", choices=("cosine", "bm25")),
           "feature_weight": Param("float", 0.01, 3.0, log=True)},
    save=save_arrays, load=load, sample_weight=False, cost=1, bag=False))
