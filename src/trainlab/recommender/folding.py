"""Interactions since training, held in memory until retraining.

* A known user's new items are folded into their history: families that score from a history (EASE, item kNN)
  or re-solve a user's factors from it (ALS, with ``implicit``'s ``recalculate_user``) change the user's scores
  at once; the others (BPR, MF, popularity) keep their scores and only leave the new items out of the list.
* A user unknown at training who has new interactions is scored from them by the families that fold in, and
  gets the most popular items from the others.
* An item unknown at training is recommended by popularity until retraining: it ranks, in every user's list,
  where a known item with as many positive interactions would rank for that user. Precisely, if ``p`` is the
  share of known items with fewer positive interactions (training plus folded in) than the new item has among
  the folded-in ones, the new item's score for a user is the ``p`` quantile of that user's scores over the
  items still in the running. One interaction puts it among the least popular; it takes as many as the
  catalogue's top items have to reach the top of the lists.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Folded:
    """New interactions: per user the positive items and their strengths, and every item seen (positive or
    not); per item unknown at training the number of positive interactions, in the order first seen."""

    positives: dict[str, dict[str, float]] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    new_items: dict[str, int] = field(default_factory=dict)
    known_counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, table: pd.DataFrame, known: dict[str, int]) -> dict[str, Any]:
        """Fold in a table of user, item, strength, positive; returns what it held (users and items known or new)."""
        users_before = set(self.seen)
        for user, item, strength, positive in zip(table["user"], table["item"], table["strength"], table["positive"],
                                                  strict=True):
            user, item = str(user), str(item)
            self.seen.setdefault(user, set()).add(item)
            if not positive:
                continue
            mine = self.positives.setdefault(user, {})
            if item not in mine:
                counts = self.known_counts if item in known else self.new_items
                counts[item] = counts.get(item, 0) + 1
            mine[item] = float(strength) if strength > 0 else 1.0
        self.rows += len(table)
        users = set(map(str, table["user"]))
        items = set(map(str, table["item"]))
        unknown_items = sorted(items - set(known))
        return {"rows": len(table), "users": len(users), "new_users_folded": len(users - users_before),
                "items": len(items), "unknown_items": len(unknown_items), "unknown_item_examples": unknown_items[:5]}

    def with_items(self, extra: Mapping[str, Iterable[Any]], known: dict[str, int]) -> Folded:
        """A copy with ``extra`` (user -> items, positive) added, for one request."""
        copy = Folded({u: dict(v) for u, v in self.positives.items()}, {u: set(v) for u, v in self.seen.items()},
                      dict(self.new_items), dict(self.known_counts), self.rows)
        rows = [(str(u), str(i)) for u, items in extra.items() for i in items]
        copy.add(pd.DataFrame({"user": [u for u, _ in rows], "item": [i for _, i in rows],
                               "strength": 1.0, "positive": True}), known)
        return copy

    def __bool__(self) -> bool:
        return bool(self.seen)


def new_item_scores(scores: np.ndarray, popularity: np.ndarray, known_counts: np.ndarray,
                    new_counts: np.ndarray) -> np.ndarray:
    """Users x new items: each new item at the quantile of each user's finite scores given by its popularity
    percentile among the known items (``popularity`` at training plus ``known_counts`` folded in)."""
    if not len(new_counts):
        return np.zeros((scores.shape[0], 0), dtype=np.float32)
    counts = np.sort(np.asarray(popularity, dtype=float) + known_counts)
    percentile = np.searchsorted(counts, new_counts, side="left") / max(len(counts), 1)
    finite = np.where(np.isfinite(scores), scores, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a user with no candidate left: all-NaN row
        placed = np.nanquantile(finite, np.clip(percentile, 0.0, 1.0), axis=1).T
    return np.where(np.isnan(placed), -np.inf, placed).astype(np.float32).reshape(scores.shape[0], len(new_counts))
