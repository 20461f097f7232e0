"""Stacking: blend weights fitted on the trials' out-of-fold predictions, scored by cross-fitting.

The level-2 model is a non-negative weighting of the members' outputs that sums to one (stacked regressions,
Breiman 1996): it minimises squared error for regression and log loss for classification over the out-of-fold
rows. Its weights are fitted on four fifths of those rows and scored on the fifth, fold by fold, so the stacked
ensemble's leaderboard score is measured on rows its weights never saw. The final weights use every row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from sklearn.model_selection import KFold, StratifiedKFold

from trainlab.search.ensemble import PoolEntry, Selection, ensemble_pool, selection_of
from trainlab.search.trial import TrainingData, TrialResult

FOLDS = 5
MIN_ROWS = 50
MIN_WEIGHT = 1e-3
"""Members whose fitted weight is below this are left out (and the rest renormalised)."""
EPS = 1e-7


def stack_ensemble(trials: list[TrialResult], data: TrainingData,
                   refit_cost: Callable[[TrialResult], float] | None = None,
                   time_left: float = float("inf")) -> Selection | None:
    """Stacked weights over the pool's entries (``ensemble_pool``) whose refits together fit in ``time_left``; None
    when fewer than two entries qualify or the validated rows are too few to cross-fit."""
    pool: list[PoolEntry] = []
    spent = 0.0
    for entry in ensemble_pool(trials, data):
        cost = sum(refit_cost(t) for t in entry.trials) if refit_cost else 0.0
        if spent + cost <= time_left:
            pool.append(entry)
            spent += cost
    rows = np.flatnonzero(data.validated_rows())
    if len(pool) < 2 or len(rows) < MIN_ROWS:
        return None
    outputs = np.stack([e.oof[rows] for e in pool])  # members x rows (x classes)
    y = data.y[rows]
    weights = data.weights[rows] if data.weights is not None else None
    crossed = np.full_like(pool[0].oof, np.nan, dtype=float)
    for fit, held in _folds(y, data.context.task, data.seed):
        w = fit_weights(outputs[:, fit], y[fit], data.context.task, None if weights is None else weights[fit])
        crossed[rows[held]] = np.tensordot(w, outputs[:, held], axes=1)
    final = fit_weights(outputs, y, data.context.task, weights)
    keep = final >= MIN_WEIGHT
    final = final[keep] / final[keep].sum()
    return selection_of([e for e, k in zip(pool, keep, strict=True) if k], [float(w) for w in final], data, crossed)


def _folds(y: np.ndarray, task: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if task != "regression" and np.bincount(y).min(initial=FOLDS) >= FOLDS:
        return list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(y, y))
    return list(KFold(FOLDS, shuffle=True, random_state=seed).split(y))


def fit_weights(outputs: np.ndarray, y: np.ndarray, task: str, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Non-negative weights summing to one that minimise squared error (regression) or log loss (classes) of
    the blend ``sum_j w_j * outputs[j]``; ``outputs`` is members x rows (x classes)."""
    m = len(outputs)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    sw = sw / sw.sum()
    if task == "regression":
        scale = float(np.var(y)) or 1.0  # squared error in units of the target's variance: well-scaled steps

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            residual = np.tensordot(w, outputs, axes=1) - y
            return float(sw @ residual**2) / scale, 2.0 * (outputs @ (sw * residual)) / scale
    else:
        truth = outputs[:, np.arange(len(y)), y]  # members x rows: each member's probability of the true class

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            blend = np.clip(w @ truth, EPS, None)
            return float(-(sw @ np.log(blend))), -(truth @ (sw / blend))
    start = np.full(m, 1.0 / m)
    found = minimize(loss, start, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * m,
                     constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}],
                     options={"maxiter": 200})
    w = np.clip(found.x if loss(found.x)[0] <= loss(start)[0] else start, 0.0, None)
    return w / w.sum()
