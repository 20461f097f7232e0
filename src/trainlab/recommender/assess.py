"""A saved recommender scored on new interactions (``trainlab evaluate MODEL new.csv``).

Every user with a positive new interaction is ranked as at training: full ranking over the items known at
training that the user had not seen in training, the top ``k`` (the run's k unless given) measured against the
user's positive new interactions. Users unknown at training get the most popular items (the cold-start rule)
and are counted apart; interactions with items unknown at training cannot be hit and are left out (counted).
The popularity ranking is scored on the same interactions, as the baseline to beat. Interactions folded into
the model beforehand (``Recommender.fold_in``) count as seen and, where the family folds in, as history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from trainlab.data.interactions import read_new_interactions
from trainlab.errors import DataError
from trainlab.evaluate.ranking import RankingResult, evaluate_ranking

if TYPE_CHECKING:
    from trainlab.recommender import Recommender


def evaluate_interactions(model: Recommender, interactions: pd.DataFrame, k: int | None = None,
                          source: str = "the new interactions") -> dict[str, Any]:
    """Ranking metrics of ``model`` on new interactions, beside popularity's and the run's test scores."""
    k = int(k or (model.manifest.extras.get("k", 10) if model.manifest else 10))
    table = read_new_interactions(interactions, model.state.columns, source)
    positive = table[table["positive"]]
    known_item = positive["item"].isin(model.item_index)
    relevant_rows = positive[known_item].drop_duplicates(["user", "item"])
    users = sorted(set(relevant_rows["user"]))
    if not users:
        raise DataError(f"{source} has no positive interaction with an item known at training "
                        f"({len(table)} rows, {len(positive)} positive): nothing to score the lists against.")
    row_of = {u: r for r, u in enumerate(users)}
    relevant = sparse.csr_matrix((np.ones(len(relevant_rows), np.float32),
                                  (relevant_rows["user"].map(row_of).to_numpy(),
                                   relevant_rows["item"].map(model.item_index).to_numpy())),
                                 shape=(len(users), len(model.state.items)))
    folded = model.folded  # what the model holds now: nothing, unless new interactions were folded in
    _, seen = model.scores(users, folded)
    popularity = model.state.popularity.astype(np.float32)
    result = evaluate_ranking(lambda rows: model.scores([users[r] for r in rows], folded)[0], seen, relevant, k,
                              popularity)
    baseline = evaluate_ranking(lambda rows: np.tile(popularity, (len(rows), 1)), seen, relevant, k, popularity)
    known = np.array([u in model.user_index for u in users], dtype=bool)
    at_training = (model.manifest.metrics.get("test", {}) if model.manifest else {})
    return {"k": k, "rows": len(table), "positive_rows": len(positive), "users": len(users),
            "known_users": int(known.sum()), "new_users": int((~known).sum()),
            "left_out_new_item_rows": int((~known_item).sum()),
            "unknown_items": sorted(set(positive.loc[~known_item, "item"]))[:10],
            "model": model.family, "metrics": result.summary,
            "metrics_known_users": _subset(result, known[result.users], k),
            "popularity": baseline.summary, "at_training": at_training}


def _subset(result: RankingResult, chosen: np.ndarray, k: int) -> dict[str, float]:
    if not chosen.any():
        return {}
    return {f"{name}@{k}": float(values[chosen].mean()) for name, values in result.per_user.items()}
