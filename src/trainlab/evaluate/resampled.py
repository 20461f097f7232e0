"""Every metric at once on many bootstrap resamples of the same rows, vectorized.

A resample is a row of ``counts`` (how often each row was drawn); a metric on B resamples is a matrix product
over rows instead of B calls to scikit-learn, so 1,000 resamples of a few thousand test rows take milliseconds.
The formulas are those of ``metrics.py`` written for row weights, and a test checks that both agree.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trainlab.evaluate.metrics import Context, predicted_labels

Batch = Callable[[np.ndarray, np.ndarray, Context, np.ndarray], np.ndarray]
EPS = np.finfo(float).eps


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _accuracy(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    return (w @ (predicted_labels(p, ctx) == y)) / w.sum(axis=1)


def _log_loss(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    loss = -np.log(np.clip(p[np.arange(len(y)), y], EPS, 1.0))
    return (w @ loss) / w.sum(axis=1)


def _confusion_counts(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per class k (columns) and resample (rows): true positives, predicted-k counts and true-k counts."""
    pred = predicted_labels(p, ctx)
    classes = np.arange(ctx.n_classes)
    true_k = (y[:, None] == classes).astype(float)
    pred_k = (pred[:, None] == classes).astype(float)
    return w @ (true_k * pred_k), w @ pred_k, w @ true_k


def _per_class(kind: str) -> Batch:
    """Precision, recall or F1: of the positive class for binary tasks, the macro average otherwise."""
    def score(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
        tp, predicted, actual = _confusion_counts(y, p, ctx, w)
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        value = {"precision": precision, "recall": recall,
                 "f1": _ratio(2 * tp, predicted + actual)}[kind]
        return value[:, ctx.positive_index] if ctx.task == "binary" else value.mean(axis=1)
    return score


def _balanced_accuracy(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    tp, _, actual = _confusion_counts(y, p, ctx, w)
    present = actual > 0
    return (_ratio(tp, actual) * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)


def _mcc(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    tp, predicted, actual = _confusion_counts(y, p, ctx, w)
    total, correct = w.sum(axis=1), tp.sum(axis=1)
    num = correct * total - (predicted * actual).sum(axis=1)
    den = np.sqrt((total ** 2 - (predicted ** 2).sum(axis=1)) * (total ** 2 - (actual ** 2).sum(axis=1)))
    return _ratio(num, den)


def _binary_auc(positive: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC of ``score`` for the rows where ``positive`` holds, ties counted half."""
    order = np.argsort(score, kind="stable")
    s, pos = score[order], positive[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ordered = w[:, order]
    wp = np.add.reduceat(ordered * pos, starts, axis=1)
    wn = np.add.reduceat(ordered, starts, axis=1) - wp
    below = np.cumsum(wn, axis=1) - wn
    return _ratio((wp * (below + 0.5 * wn)).sum(axis=1), wp.sum(axis=1) * wn.sum(axis=1))


def _roc_auc(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if ctx.task == "binary":
        return _binary_auc(y == ctx.positive_index, p[:, ctx.positive_index], w)
    return np.mean([_binary_auc(y == k, p[:, k], w) for k in range(ctx.n_classes)], axis=0)


def _squared(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    return (w @ (np.asarray(p, dtype=float) - y) ** 2) / w.sum(axis=1)


def _r2(y: np.ndarray, p: np.ndarray, ctx: Context, w: np.ndarray) -> np.ndarray:
    total = w.sum(axis=1)
    mean = (w @ y) / total
    spread = w @ (y ** 2) - total * mean ** 2
    return 1.0 - _ratio(w @ (np.asarray(p, dtype=float) - y) ** 2, spread)


BATCH: dict[str, Batch] = {
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
    "precision": _per_class("precision"),
    "recall": _per_class("recall"),
    "f1": _per_class("f1"),
    "mcc": _mcc,
    "rmse": lambda y, p, c, w: np.sqrt(_squared(y, p, c, w)),
    "mse": _squared,
    "mae": lambda y, p, c, w: (w @ np.abs(np.asarray(p, dtype=float) - y)) / w.sum(axis=1),
    "r2": _r2,
}
