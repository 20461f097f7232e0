"""Recommender: a saved recommender's face: top-k lists per user, similar items, and folding in new interactions.

    >>> model = Recommender.load("runs/ratings/model")  # doctest: +SKIP
    >>> model.recommend("42", k=10)  # doctest: +SKIP
       rank  item     score
    0     1   50  0.912...
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from trainlab.bundle.manifest import Manifest
from trainlab.bundle.recommender import RecommenderState, load_recommender
from trainlab.errors import ConfigError, DataError, did_you_mean
from trainlab.evaluate.ranking import top_k


class Recommender:
    """Ranks items for users from a fitted family; a user unknown at training gets the most popular items."""

    def __init__(self, state: RecommenderState, manifest: Manifest | None = None) -> None:
        self.state = state
        self.manifest = manifest
        self.user_index = {u: i for i, u in enumerate(state.users)}
        self.item_index = {it: i for i, it in enumerate(state.items)}

    @classmethod
    def load(cls, folder: str | Path) -> Recommender:
        """Load a recommender bundle after verifying its manifest and checksums."""
        manifest, state = load_recommender(folder)
        return cls(state, manifest)

    @property
    def family(self) -> str:
        return self.state.family

    def knows(self, user: Any) -> bool:
        return str(user) in self.user_index

    def recommend(self, user: Any, k: int = 10, exclude_seen: bool = True,
                  new_items: Iterable[Any] | None = None) -> pd.DataFrame:
        """The user's top ``k`` items as rank, item, score. ``new_items`` are interactions since training: left
        out of the list, and folded into the user's scores where the family allows it (EASE, item kNN, ALS)."""
        table = self.recommend_many([user], k, exclude_seen, {str(user): list(new_items)} if new_items else None)
        return table.drop(columns="user").reset_index(drop=True)

    def recommend_many(self, users: Iterable[Any], k: int = 10, exclude_seen: bool = True,
                       new_items: dict[str, list[Any]] | None = None) -> pd.DataFrame:
        """Top ``k`` of each user as a table of user, rank, item, score (users in the order given)."""
        users = [str(u) for u in users]
        rows = [(u, rank + 1, item, score) for u, ranked in zip(users, self.ranked(users, k, exclude_seen, new_items),
                                                                strict=True)
                for rank, (item, score) in enumerate(ranked)]
        return pd.DataFrame(rows, columns=["user", "rank", "item", "score"])

    def ranked(self, users: list[str], k: int = 10, exclude_seen: bool = True,
               new_items: dict[str, list[Any]] | None = None) -> list[list[tuple[str, float]]]:
        """Each user's top ``k`` as (item, score) pairs, best first; what ``recommend_many`` tabulates."""
        if not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"Option -k must be a positive integer (the length of each list), got {k!r}.")
        history, seen = self._histories(users, new_items or {})
        known = np.array([u in self.user_index for u in users], dtype=bool)
        index = np.array([self.user_index.get(u, 0) for u in users], dtype=np.int64)
        refresh = bool(new_items) and self.state.model.folds_in
        scores = np.tile(self.state.popularity.astype(np.float32), (len(users), 1))
        warm = known & (history.getnnz(axis=1) > 0)
        if warm.any():
            scores[warm] = self.state.model.score(index[warm], history[warm], refresh=refresh)
        if exclude_seen:
            scores[np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices] = -np.inf
        lists = top_k(scores, k)
        return [[(self.state.items[i], float(scores[r, i])) for i in lists[r] if np.isfinite(scores[r, i])]
                for r in range(len(users))]

    def _histories(self, users: list[str], new_items: dict[str, list[Any]]) -> tuple[sparse.csr_matrix,
                                                                                     sparse.csr_matrix]:
        """Each user's positive history and seen items (rows of zeros for unknown users), plus new interactions."""
        rows = np.array([self.user_index.get(u, -1) for u in users], dtype=np.int64)
        history, seen = self.state.history[np.clip(rows, 0, None)], self.state.seen[np.clip(rows, 0, None)]
        if (rows < 0).any():  # unknown users have no history
            keep = sparse.diags((rows >= 0).astype(np.float32))
            history, seen = (keep @ history).tocsr(), (keep @ seen).tocsr()
            history.eliminate_zeros()
            seen.eliminate_zeros()
        if not new_items:
            return history, seen
        extra = sparse.lil_matrix(history.shape, dtype=np.float32)
        for r, u in enumerate(users):
            for item in new_items.get(u, []):
                if str(item) in self.item_index:  # items new since training cannot be scored until retraining
                    extra[r, self.item_index[str(item)]] = 1.0
        added = extra.tocsr()
        return (history + added).tocsr(), (seen + added).tocsr()

    def similar_items(self, item: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items most similar to ``item`` (cosine of the family's item vectors) as rank, item, score."""
        key = str(item)
        if key not in self.item_index:
            raise DataError(f"Item {key!r} was not seen in training.{did_you_mean(key, self.state.items[:5000])} "
                            f"The model knows {len(self.state.items)} items.")
        vectors = self.state.model.item_vectors()
        if vectors is None:
            raise ConfigError(f"The {self.family} model has no item similarities: retrain with --models ease, "
                              "item_knn, als or bpr to ask for similar items.")
        dense = vectors.toarray() if sparse.issparse(vectors) else np.asarray(vectors)  # type: ignore[union-attr]
        target = dense[self.item_index[key]]
        norms = np.linalg.norm(dense, axis=1) * max(float(np.linalg.norm(target)), 1e-12)
        scores = (dense @ target) / np.clip(norms, 1e-12, None)
        scores[self.item_index[key]] = -np.inf
        best = top_k(scores[None, :], k)[0]
        return pd.DataFrame([(rank + 1, self.state.items[i], float(scores[i])) for rank, i in enumerate(best)],
                            columns=["rank", "item", "score"])

    def history(self, user: Any) -> list[str]:
        """The items the user interacted with in training (most recent order is not kept)."""
        row = self.user_index.get(str(user))
        if row is None:
            return []
        return [self.state.items[i] for i in self.state.seen[row].indices]
