"""Curves of a model's output against the truth, as plain lists: ROC, precision-recall, calibration, residuals."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

MAX_POINTS = 200
MAX_SCATTER = 2000


def _thin(*columns: np.ndarray, limit: int = MAX_POINTS) -> list[list[float]]:
    """At most ``limit`` evenly spaced points of aligned columns, always keeping the first and last."""
    n = len(columns[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else np.array([], dtype=int)
    return [[round(float(v), 5) for v in np.asarray(c)[keep]] for c in columns]


def roc_pr(truth: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """ROC and precision-recall curves of one class against the rest (``truth`` is 0/1)."""
    if truth.min() == truth.max():
        return {}
    fpr, tpr, _ = skm.roc_curve(truth, score)
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    fpr_l, tpr_l = _thin(fpr, tpr)
    rec_l, prec_l = _thin(recall[::-1], precision[::-1])
    return {"roc": {"fpr": fpr_l, "tpr": tpr_l, "auc": float(skm.roc_auc_score(truth, score))},
            "pr": {"recall": rec_l, "precision": prec_l, "base_rate": float(truth.mean()),
                   "average_precision": float(skm.average_precision_score(truth, score))}}


def calibration(truth: np.ndarray, prob: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability bins (mean predicted probability vs observed frequency, with counts) and the Brier score."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    predicted, observed, counts = [], [], []
    for b in range(bins):
        mask = which == b
        if mask.any():
            predicted.append(round(float(prob[mask].mean()), 5))
            observed.append(round(float(truth[mask].mean()), 5))
            counts.append(int(mask.sum()))
    return {"predicted": predicted, "observed": observed, "counts": counts,
            "brier": float(np.mean((prob - truth) ** 2))}


def classification_curves(y: np.ndarray, proba: np.ndarray, classes: list[Any], positive_index: int) -> dict[str, Any]:
    """Binary: ROC, PR and calibration of the positive class. Multiclass: one-vs-rest ROC/PR per class, and the
    calibration of the top class's confidence (how often the predicted class is right)."""
    if len(classes) == 2:
        truth = (y == positive_index).astype(float)
        score = proba[:, positive_index]
        return {"kind": "binary", "positive_class": str(classes[positive_index]), **roc_pr(truth, score),
                "calibration": calibration(truth, score)}
    per_class = {}
    for i, cls in enumerate(classes[:10]):
        curves = roc_pr((y == i).astype(float), proba[:, i])
        if curves:
            per_class[str(cls)] = curves
    top = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    brier = float(np.mean(np.sum((proba - np.eye(proba.shape[1])[y]) ** 2, axis=1)))
    cal = calibration((top == y).astype(float), confidence)
    cal["brier"] = brier
    return {"kind": "multiclass", "per_class": per_class, "calibration": cal}


def regression_curves(y: np.ndarray, pred: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Predicted vs actual and residuals vs predicted on at most ``MAX_SCATTER`` rows, and residual quantiles."""
    residual = y - pred
    rows = np.arange(len(y))
    if len(rows) > MAX_SCATTER:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_SCATTER, replace=False))
    quantiles = np.quantile(residual, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(y) else np.zeros(5)
    return {"kind": "regression", "actual": [round(float(v), 5) for v in y[rows]],
            "predicted": [round(float(v), 5) for v in pred[rows]],
            "residual_quantiles": dict(zip(("p05", "p25", "p50", "p75", "p95"), map(float, quantiles), strict=True)),
            "sampled": bool(len(rows) < len(y))}


def curves_for(task: str, y: np.ndarray, output: np.ndarray, classes: list[Any], positive_index: int) -> dict[str, Any]:
    """The curves that fit the task."""
    if task == "regression":
        return regression_curves(y, output)
    return classification_curves(y, output, classes, positive_index)
