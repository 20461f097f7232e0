"""The ``item_knn`` recommender: an item scores by its similarity to the items in the user's history
(cosine between item columns, optionally BM25-weighted), keeping each item's closest neighbours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from trainlab.models.recbase import RECIPE, RecommenderBase, binarized, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register

BLOCK = 1024


def bm25_weighted(matrix: sparse.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sparse.csr_matrix:
    """BM25 weights of a users x items matrix, users as terms: rare users count more, long histories less."""
    coo = sparse.coo_matrix(matrix, dtype=np.float32)
    n_items = matrix.shape[1]
    idf = np.log(n_items / (1.0 + np.bincount(coo.row, minlength=matrix.shape[0])))
    length = np.bincount(coo.col, minlength=n_items).astype(np.float32)
    norm = (1.0 - b) + b * length / max(float(length.mean()), 1e-12)
    coo.data = coo.data * (k1 + 1.0) / (k1 * norm[coo.col] + coo.data) * idf[coo.row]
    return coo.tocsr()


class ItemKNNRecommender(RecommenderBase):
    """Item-item similarities, the ``neighbors`` largest per item."""

    arrays = ("similarity",)
    folds_in = True

    def fit(self, matrix: sparse.csr_matrix) -> ItemKNNRecommender:
        x = binarized(matrix)
        weighted = bm25_weighted(x) if self.params.get("similarity", "cosine") == "bm25" else x
        cols = normalize(weighted.tocsc(), axis=0)
        sim = (cols.T @ cols).tocsr()
        sim.setdiag(0.0)
        self.similarity_ = _top_per_row(sparse.csr_matrix(sim, dtype=np.float32), int(self.params.get("neighbors", 100)))
        return self

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        return np.asarray((binarized(history) @ self.similarity_).todense(), dtype=np.float32)

    def item_vectors(self) -> sparse.spmatrix:
        return self.similarity_


def _top_per_row(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Only the ``keep`` largest values of each row."""
    blocks = []
    for start in range(0, matrix.shape[0], BLOCK):
        dense = matrix[start:start + BLOCK].toarray()
        if keep < dense.shape[1]:
            cut = np.argpartition(-dense, keep, axis=1)[:, keep:]
            np.put_along_axis(dense, cut, 0.0, axis=1)
        blocks.append(sparse.csr_matrix(dense))
    out = sparse.vstack(blocks).tocsr()
    out.eliminate_zeros()
    return out


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> ItemKNNRecommender:
    return ItemKNNRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> ItemKNNRecommender:
    return load_arrays(ItemKNNRecommender, folder)


SPEC = register(ModelSpec(
    key="item_knn", names={"default": "Item kNN"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"neighbors": 100, "similarity": "cosine"},
    space={"neighbors": Param("int", 10, 500, log=True), "similarity": Param("choice", choices=("cosine", "bm25"))},
    save=save_arrays, load=load, sample_weight=False, cost=1, bag=False))
