"""Ranking metrics of recommendation lists, on full ranking: every item a user has not seen is a candidate.

Per user, with T the user's relevant (held-out positive) items and the top k of the list:
ndcg@k (binary gains, ideal DCG over min(|T|, k) hits), recall@k = hits / |T|, precision@k = hits / k,
map@k = sum of precision at each hit / min(|T|, k), hit@k = 1 if any hit (RecBole's definitions).
Over the lists: coverage = share of the catalogue that appears in some list; popularity_bias = mean
popularity percentile of the recommended items (0.5 for an unbiased pick, near 1 for the most popular only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

USER_METRICS = ("ndcg", "recall", "precision", "map", "hit")
RANKING_METRIC = "ndcg"
BATCH = 1024


def metric_names(k: int) -> list[str]:
    """Column names of every ranking metric at ``k``: ndcg@10, recall@10, ..., coverage@10, popularity_bias@10."""
    return [f"{m}@{k}" for m in (*USER_METRICS, "coverage", "popularity_bias")]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores of each row, best first (ties: lower index first, so lists repeat)."""
    return np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]


@dataclass
class RankingResult:
    """Per-user scores of each metric (users in the order evaluated), the lists, and the summary."""

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    lists: np.ndarray
    summary: dict[str, float] = field(default_factory=dict)


def user_metrics(lists: np.ndarray, relevant: sparse.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Each metric per row of ``lists``, against the matching row of ``relevant`` (a 0/1 users x items matrix)."""
    hits = np.asarray(relevant[np.arange(lists.shape[0])[:, None], lists[:, :k]].todense(), dtype=float) > 0
    n_relevant = np.asarray(relevant.getnnz(axis=1), dtype=float)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.cumsum(discounts)[np.clip(np.minimum(n_relevant, k).astype(int) - 1, 0, k - 1)]
    n_hits = hits.sum(axis=1)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    return {"ndcg": dcg / ideal, "recall": n_hits / n_relevant, "precision": n_hits / k,
            "map": (precision_at * hits).sum(axis=1) / np.minimum(n_relevant, k), "hit": (n_hits > 0).astype(float)}


def evaluate_ranking(score: Callable[[np.ndarray], np.ndarray], seen: sparse.csr_matrix, relevant: sparse.csr_matrix,
                     k: int, popularity: np.ndarray) -> RankingResult:
    """Score every user with a relevant item (``score(users)`` gives their rows over all items), leave out the
    items each has seen, and measure the top k against ``relevant``."""
    users = np.flatnonzero(relevant.getnnz(axis=1) > 0)
    lists = np.zeros((len(users), min(k, relevant.shape[1])), dtype=np.int64)
    for start in range(0, len(users), BATCH):
        batch = users[start:start + BATCH]
        scores = np.array(score(batch), dtype=np.float32)
        mask = seen[batch]
        scores[np.repeat(np.arange(len(batch)), np.diff(mask.indptr)), mask.indices] = -np.inf
        lists[start:start + len(batch)] = top_k(scores, k)
    per_user = user_metrics(lists, relevant[users], k)
    summary = {f"{name}@{k}": float(values.mean()) if len(values) else float("nan") for name, values in per_user.items()}
    summary.update(list_metrics(lists, popularity, k))
    return RankingResult(users=users, per_user=per_user, lists=lists, summary=summary)


def list_metrics(lists: np.ndarray, popularity: np.ndarray, k: int) -> dict[str, float]:
    """Catalogue coverage and popularity bias of the lists (popularity: training interactions per item)."""
    n_items = len(popularity)
    percentile = (np.argsort(np.argsort(popularity, kind="stable"), kind="stable") + 0.5) / n_items
    coverage = len(np.unique(lists)) / n_items if lists.size else 0.0
    bias = float(percentile[lists].mean()) if lists.size else float("nan")
    return {f"coverage@{k}": float(coverage), f"popularity_bias@{k}": bias}


def by_activity(result: RankingResult, activity: np.ndarray, k: int) -> list[dict[str, float | str | int]]:
    """The per-user metrics averaged over light, medium and heavy users (thirds by training interactions)."""
    counts = activity[result.users]
    if not len(counts):
        return []
    edges = np.quantile(counts, [1 / 3, 2 / 3])
    groups = np.digitize(counts, edges, right=True)
    rows: list[dict[str, float | str | int]] = []
    for index, label in enumerate(("light", "medium", "heavy")):
        chosen = groups == index
        if not chosen.any():
            continue
        row: dict[str, float | str | int] = {"users": label, "count": int(chosen.sum()),
                                             "interactions": f"{int(counts[chosen].min())}-{int(counts[chosen].max())}"}
        row.update({f"{m}@{k}": float(v[chosen].mean()) for m, v in result.per_user.items()})
        rows.append(row)
    return rows
