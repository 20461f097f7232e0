"""The recommenders' ensemble: a blend of the best families' standardized scores (``models/blend.py``), its
weights chosen on the validation interactions from a grid over the simplex (steps of 0.1), kept only if it pays.

The best two or three families (popularity aside) are refit on the training interactions; each validation
user's scores of each are standardized once; every weighting is ranked and scored (ndcg@k) on the same users.
The blend is kept when its best weighting beats the best single family by at least ``MIN_GAIN`` (relative).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from scipy import sparse

from trainlab.evaluate.ranking import RANKING_METRIC, evaluate_ranking, user_metrics
from trainlab.models.blend import standardized
from trainlab.models.recbase import fit_recommender
from trainlab.models.registry import get_spec
from trainlab.search.budget import Budget
from trainlab.search.recommend import RankingTask, RecTrial, scores_with_cold_start

MEMBERS = 3
STEP = 0.1
MIN_GAIN = 0.01
"""The blend must rank at least 1 % better (ndcg@k on validation) than the best family alone."""


def blend_trial(leaders: list[RecTrial], task: RankingTask, budget: Budget, number: int) -> tuple[RecTrial | None, str]:
    """The blend's trial (scored on validation) if it pays, else None; with a sentence on what was found."""
    members = [t for t in leaders if t.ok and t.family not in ("popularity", "blend")][:MEMBERS]
    if len(members) < 2:
        return None, "fewer than two families besides popularity finished, nothing to blend"
    cost = sum(t.fit_time_s + t.predict_time_s for t in members)
    if budget.time_limit is not None and budget.elapsed() + 2 * cost > budget.time_limit * 1.1:
        return None, f"no time left to refit {len(members)} families for it (~{2 * cost:.0f} s)"
    started = time.perf_counter()
    users = np.flatnonzero(task.relevant.getnnz(axis=1) > 0)
    seen = task.seen[users]
    rows, cols = np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices
    stacked = []
    for trial in members:
        model = fit_recommender(get_spec(trial.family).build("recommend", trial.params, task.seed, task.n_jobs),
                                task.fit_matrix, task.item_features)
        scores = standardized(scores_with_cold_start(model, users, task))
        scores[rows, cols] = -np.inf
        stacked.append(scores)
    relevant = task.relevant[users]
    best_w, best = None, -1.0
    single = max(_ndcg(s, relevant, task.k) for s in stacked)
    for weights in _simplex(len(members)):
        if max(weights) == 1.0:
            continue
        blended = sum(w * s for w, s in zip(weights, stacked, strict=True) if w)
        score = _ndcg(np.asarray(blended), relevant, task.k)
        if score > best:
            best_w, best = weights, score
    names = " + ".join(t.name for t in members)
    if best_w is None or best < single * (1 + MIN_GAIN):
        return None, (f"did not pay on validation: the best blend of {names} scored {RANKING_METRIC}@{task.k} "
                      f"{best:.4f}, the best of them alone {single:.4f}")
    chosen = [(t, w) for t, w in zip(members, best_w, strict=True) if w > 0]
    params = {"members": [{"family": t.family, "params": t.params} for t, _ in chosen],
              "weights": [w for _, w in chosen]}
    trial = RecTrial(number=number, family="blend",
                     name="Blend (" + " + ".join(f"{t.name} {w:.1f}" for t, w in chosen) + ")", params=params)
    blended = np.asarray(sum(w * s for w, s in zip(best_w, stacked, strict=True) if w))
    full = np.zeros((task.fit_matrix.shape[0], blended.shape[1]), dtype=np.float32)
    full[users] = np.where(np.isfinite(blended), blended, -1e9)
    result = evaluate_ranking(lambda batch: full[batch], task.seen, task.relevant, task.k, task.popularity)
    trial.metrics, trial.score = result.summary, result.summary[f"{RANKING_METRIC}@{task.k}"]
    trial.fit_time_s = sum(t.fit_time_s for t, _ in chosen)
    trial.predict_time_s = time.perf_counter() - started
    return trial, (f"kept: {trial.name} scored {RANKING_METRIC}@{task.k} {best:.4f} on validation, the best alone "
                   f"{single:.4f}")


def _simplex(n: int) -> list[tuple[float, ...]]:
    steps = round(1 / STEP)
    return [tuple(c / steps for c in combo) for combo in itertools.product(range(steps + 1), repeat=n)
            if sum(combo) == steps]


def _ndcg(scores: np.ndarray, relevant: sparse.csr_matrix, k: int) -> float:
    k = min(k, scores.shape[1] - 1)
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    lists = np.take_along_axis(top, order, axis=1)
    return float(user_metrics(lists, relevant, k)["ndcg"].mean())
