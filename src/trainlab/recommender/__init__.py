"""Recommender: a saved recommender's face: top-k lists per user, similar items, folding in new interactions
(``folding``) and scoring on new interactions (``assess``).

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
from trainlab.data.interactions import read_new_interactions
from trainlab.errors import ConfigError, DataError, did_you_mean
from trainlab.evaluate.ranking import top_k
from trainlab.recommender.folding import Folded, new_item_scores

NEIGHBORS = 50
"""How many known users most like a cold user by side features vote for their items."""


class Recommender:
    """Ranks items for users from a fitted family; a user unknown at training gets the most popular items, or
    with ``--user-features`` the items of the users most like them by features."""

    def __init__(self, state: RecommenderState, manifest: Manifest | None = None) -> None:
        self.state = state
        self.manifest = manifest
        self.user_index = {u: i for i, u in enumerate(state.users)}
        self.item_index = {it: i for i, it in enumerate(state.items)}
        self.folded = Folded()
        self._feature_rows: tuple[dict[str, int], np.ndarray, sparse.csr_matrix] | None = None

    @classmethod
    def load(cls, folder: str | Path) -> Recommender:
        """Load a recommender bundle after verifying its manifest and checksums."""
        manifest, state = load_recommender(folder)
        return cls(state, manifest)

    @property
    def family(self) -> str:
        return self.state.family

    @property
    def name(self) -> str:
        """The model's name on the leaderboard (e.g. 'EASE')."""
        return str(self.manifest.extras.get("model_name", self.family)) if self.manifest else self.family

    def knows(self, user: Any) -> bool:
        return str(user) in self.user_index

    def fold_in(self, interactions: pd.DataFrame, source: str = "the new interactions") -> dict[str, Any]:
        """Hold new interactions (a table with the training's user and item columns, and its rating column if it
        had one) in memory until retraining; see ``trainlab.recommender.folding`` for what each family does with
        them. Returns a summary: rows, users (known, new), items unknown at training."""
        table = read_new_interactions(interactions, self.state.columns, source)
        summary = self.folded.add(table, self.item_index)
        users = set(map(str, table["user"]))
        summary["known_users"] = sum(u in self.user_index for u in users)
        summary["folds_in"] = self.state.model.folds_in
        return summary

    def fold_in_note(self, summary: dict[str, Any]) -> str:
        """One or two sentences saying what folding in did, for the CLI and the server."""
        how = (f"the {self.name} model re-scores these users from their updated history" if self.state.model.folds_in
               else f"the {self.name} model cannot fold in: the new items are only left out of the lists (retrain "
                    "to learn from them)")
        note = (f"Folded in {summary['rows']} new interactions of {summary['users']} users "
                f"({summary['known_users']} known at training): {how}.")
        if summary["unknown_items"]:
            examples = ", ".join(repr(i) for i in summary["unknown_item_examples"][:3])
            note += (f" {summary['unknown_items']} items were not known at training (e.g. {examples}): they are "
                     "recommended by popularity until retraining.")
        return note

    def recommend(self, user: Any, k: int = 10, exclude_seen: bool = True,
                  new_items: Iterable[Any] | None = None) -> pd.DataFrame:
        """The user's top ``k`` items as rank, item, score. ``new_items`` are interactions since training: left
        out of the list, and folded into the user's scores where the family allows it (EASE, item kNN, ALS);
        items unknown at training among them rank by popularity (``fold_in`` keeps them for later calls)."""
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
        folded = self.folded.with_items(new_items, self.item_index) if new_items else self.folded
        scores, seen = self.scores(users, folded)
        if exclude_seen:
            scores[np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices] = -np.inf
        names = self.state.items
        if folded.new_items:
            names = [*names, *folded.new_items]
            known_counts = np.zeros(len(self.state.items))
            for item, n in folded.known_counts.items():
                known_counts[self.item_index[item]] = n
            extra = new_item_scores(scores, self.state.popularity, known_counts,
                                    np.array(list(folded.new_items.values()), dtype=float))
            if exclude_seen:
                order = {item: j for j, item in enumerate(folded.new_items)}
                for r, u in enumerate(users):
                    for item in folded.seen.get(u, ()):
                        if item in order:
                            extra[r, order[item]] = -np.inf
            scores = np.hstack([scores, extra])
        lists = top_k(scores, k)
        return [[(names[i], float(scores[r, i])) for i in lists[r] if np.isfinite(scores[r, i])]
                for r in range(len(users))]

    def scores(self, users: list[str], folded: Folded | None = None) -> tuple[np.ndarray, sparse.csr_matrix]:
        """Each user's scores over the items known at training, and the items they have seen (training and
        folded in). Users without a positive interaction get the popularity scores; so do users unknown at
        training unless they have folded-in interactions and the family folds in."""
        folded = self.folded if folded is None else folded
        history, seen = self._histories(users, folded)
        known = np.array([u in self.user_index for u in users], dtype=bool)
        index = np.array([self.user_index.get(u, 0) for u in users], dtype=np.int64)
        model = self.state.model
        refresh = np.array([model.folds_in and bool(folded.positives.get(u)) for u in users], dtype=bool)
        scores = np.tile(self.state.popularity.astype(np.float32), (len(users), 1))
        has_history = history.getnnz(axis=1) > 0
        for rows, fresh in ((known & ~refresh & has_history, False), (refresh & has_history, True)):
            if rows.any():
                scores[rows] = model.score(index[rows], history[rows], refresh=fresh)
        cold = ~known & ~(refresh & has_history)
        if cold.any() and self.state.user_features is not None:
            for r in np.flatnonzero(cold):
                by_features = self.feature_scores(users[r])
                if by_features is not None:
                    scores[r] = by_features
        return scores, seen

    def listed_by_features(self, user: Any) -> bool:
        """Whether a user unknown at training is scored from the users' side features (``--user-features``)."""
        ids = self.state.user_feature_ids
        return ids is not None and not self.knows(user) and self.feature_scores(str(user)) is not None

    def feature_scores(self, user: str, neighbors: int = NEIGHBORS) -> np.ndarray | None:
        """Scores for a user unknown at training from the users' side features (``--user-features``): the
        positive interactions of the ``neighbors`` known users most like them (cosine of the feature rows), each
        weighted by that likeness, plus a trace of popularity to break ties; None if the user is not listed."""
        if self.state.user_features is None or self.state.user_feature_ids is None:
            return None
        if self._feature_rows is None:
            row_of = {u: r for r, u in enumerate(self.state.user_feature_ids)}
            rows = np.array([row_of.get(u, -1) for u in self.state.users], dtype=np.int64)
            listed = np.flatnonzero(rows >= 0)  # training users that have features
            self._feature_rows = (row_of, listed, self.state.user_features[rows[listed]].tocsr())
        row_of, listed, known_features = self._feature_rows
        row = row_of.get(user)
        if row is None or not len(listed):
            return None
        likeness = np.asarray((known_features @ self.state.user_features[row].T).todense()).ravel()
        top = np.argsort(-likeness, kind="stable")[:neighbors]
        top = top[likeness[top] > 0]
        if not len(top):
            return None
        weights = sparse.diags(likeness[top].astype(np.float32))
        liked = (self.state.history[listed[top]] > 0).astype(np.float32)
        votes = np.asarray((weights @ liked).sum(axis=0), dtype=np.float32).ravel()
        popularity = self.state.popularity.astype(np.float32)
        return votes + 1e-3 * popularity / max(float(popularity.max()), 1.0)

    def _histories(self, users: list[str], folded: Folded) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """Each user's positive history and seen items (rows of zeros for unknown users), plus folded-in ones."""
        rows = np.array([self.user_index.get(u, -1) for u in users], dtype=np.int64)
        history, seen = self.state.history[np.clip(rows, 0, None)], self.state.seen[np.clip(rows, 0, None)]
        if (rows < 0).any():  # unknown users have no history
            keep = sparse.diags((rows >= 0).astype(np.float32))
            history, seen = (keep @ history).tocsr(), (keep @ seen).tocsr()
            history.eliminate_zeros()
            seen.eliminate_zeros()
        if not folded:
            return history, seen
        added_history = sparse.lil_matrix(history.shape, dtype=np.float32)
        added_seen = sparse.lil_matrix(history.shape, dtype=np.float32)
        for r, u in enumerate(users):
            for item, strength in folded.positives.get(u, {}).items():
                if item in self.item_index:  # items new since training are ranked by popularity, not scored
                    added_history[r, self.item_index[item]] = strength
            for item in folded.seen.get(u, ()):
                if item in self.item_index:
                    added_seen[r, self.item_index[item]] = 1.0
        history = history.maximum(added_history.tocsr()).tocsr()
        return history, (seen + added_seen.tocsr()).tocsr()

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

    def evaluate(self, interactions: pd.DataFrame, k: int | None = None) -> dict[str, Any]:
        """Ranking metrics on new interactions (see ``trainlab.recommender.assess``)."""
        from trainlab.recommender.assess import evaluate_interactions

        return evaluate_interactions(self, interactions, k)
