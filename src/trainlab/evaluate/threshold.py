"""The decision threshold of a binary classifier, chosen on out-of-fold predictions for the ranking metric."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from trainlab.evaluate.metrics import METRICS, Context

THRESHOLD_METRICS = ("f1", "balanced_accuracy", "mcc")
CANDIDATES = 200


def choose_threshold(y: np.ndarray, oof: np.ndarray | None, ctx: Context, metric: str) -> dict[str, Any] | None:
    """The positive-class probability threshold that maximizes ``metric`` on out-of-fold predictions.

    Only for binary tasks ranked by a metric that depends on the threshold and is not accuracy (f1,
    balanced_accuracy, mcc); None otherwise, or when the best threshold does not beat 0.5's predictions.
    """
    if ctx.task != "binary" or metric not in THRESHOLD_METRICS or oof is None:
        return None
    rows = ~np.isnan(oof).any(axis=1)
    if rows.sum() < 20 or len(np.unique(y[rows])) < 2:
        return None
    y, oof = y[rows], oof[rows]
    weights = ctx.weights[rows] if ctx.weights is not None else None
    score = METRICS[metric].compute
    base = score(y, oof, replace(ctx, weights=weights, threshold=None))
    candidates = np.unique(np.quantile(oof[:, ctx.positive_index], np.linspace(0.01, 0.99, CANDIDATES)))
    scores = np.array([score(y, oof, replace(ctx, weights=weights, threshold=float(t))) for t in candidates])
    best = float(scores.max())
    if best <= base + 1e-9:
        return None
    ties = candidates[scores >= best - 1e-9]
    chosen = float(ties[np.argmin(np.abs(ties - 0.5))])
    return {"threshold": round(chosen, 6), "metric": metric, "oof_score": best, "oof_score_at_default": base}
