"""Every metric trainlab reports, declared once: name, tasks, direction and how to compute it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as skm

from trainlab.errors import ConfigError, did_you_mean

Scorer = Callable[[np.ndarray, np.ndarray, "Context"], float]


@dataclass(frozen=True)
class Context:
    """What a metric needs besides truth and output: task, positive class index, class count, weights, and for
    binary tasks the probability of the positive class from which a row is predicted positive (None: the larger)."""

    task: str
    positive_index: int = 1
    n_classes: int = 2
    weights: np.ndarray | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: tuple[str, ...]
    greater_is_better: bool
    compute: Scorer

    def __reduce__(self) -> tuple[Callable[[str], Metric], tuple[str]]:
        """Pickled by name (the functions are lambdas), so training data can go to worker processes."""
        return (_metric_by_name, (self.name,))


def _metric_by_name(name: str) -> Metric:
    return METRICS[name]


def predicted_labels(proba: np.ndarray, ctx: Context) -> np.ndarray:
    """Predicted class indices: the most probable class, or for binary tasks with a threshold, the positive class
    wherever its probability reaches the threshold."""
    proba = np.asarray(proba)
    if ctx.task != "binary" or ctx.threshold is None:
        return proba.argmax(axis=1)
    return np.where(proba[:, ctx.positive_index] >= ctx.threshold, ctx.positive_index, 1 - ctx.positive_index)


def _binary_or_macro(fn: Callable[..., float]) -> Scorer:
    def score(y: np.ndarray, proba: np.ndarray, ctx: Context) -> float:
        pred = predicted_labels(proba, ctx)
        if ctx.task == "binary":
            return float(fn(y, pred, pos_label=ctx.positive_index, average="binary",
                            sample_weight=ctx.weights, zero_division=0))
        return float(fn(y, pred, average="macro", sample_weight=ctx.weights, zero_division=0))
    return score


def _roc_auc(y: np.ndarray, proba: np.ndarray, ctx: Context) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")
    if ctx.task == "binary":
        positive = proba[:, ctx.positive_index]
        if ctx.weights is None:
            return _binary_auc(y == ctx.positive_index, positive)
        return float(skm.roc_auc_score(y == ctx.positive_index, positive, sample_weight=ctx.weights))
    present = np.unique(y)
    if len(present) < ctx.n_classes:
        return float("nan")
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", sample_weight=ctx.weights))


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Unweighted binary ROC AUC as the Mann-Whitney statistic over average ranks (ties count half): scikit-learn's
    value, without its input checks, which took most of its 12 ms a call on 8,000 rows (an ensemble selection
    makes 300 such calls: 3.6 s of the 3.9 s it took on islr_default, after the last trial, past the limit)."""
    ranks = rankdata(score)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def _log_loss(y: np.ndarray, proba: np.ndarray, ctx: Context) -> float:
    """Log loss; probabilities a rounding past 0 or 1 (a weighted blend: 1.0000000000000002) are clipped, where
    scikit-learn would refuse them (a stacked ensemble on nyc_flights stopped a run that way)."""
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    return float(skm.log_loss(y, proba, labels=np.arange(ctx.n_classes),
                              sample_weight=ctx.weights))


CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression",)
METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("roc_auc", CLASSIFICATION, True, _roc_auc),
    Metric("log_loss", CLASSIFICATION, False, _log_loss),
    Metric("accuracy", CLASSIFICATION, True,
           lambda y, p, c: float(skm.accuracy_score(y, predicted_labels(p, c), sample_weight=c.weights))),
    Metric("balanced_accuracy", CLASSIFICATION, True,
           lambda y, p, c: float(skm.balanced_accuracy_score(y, predicted_labels(p, c), sample_weight=c.weights))),
    Metric("precision", CLASSIFICATION, True, _binary_or_macro(skm.precision_score)),
    Metric("recall", CLASSIFICATION, True, _binary_or_macro(skm.recall_score)),
    Metric("f1", CLASSIFICATION, True, _binary_or_macro(skm.f1_score)),
    Metric("mcc", CLASSIFICATION, True,
           lambda y, p, c: float(skm.matthews_corrcoef(y, predicted_labels(p, c), sample_weight=c.weights))),
    Metric("rmse", REGRESSION, False,
           lambda y, p, c: float(np.sqrt(skm.mean_squared_error(y, p, sample_weight=c.weights)))),
    Metric("mse", REGRESSION, False, lambda y, p, c: float(skm.mean_squared_error(y, p, sample_weight=c.weights))),
    Metric("mae", REGRESSION, False, lambda y, p, c: float(skm.mean_absolute_error(y, p, sample_weight=c.weights))),
    Metric("r2", REGRESSION, True, lambda y, p, c: float(skm.r2_score(y, p, sample_weight=c.weights))),
]}
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def metrics_for(task: str) -> list[str]:
    """Names of the metrics that apply to ``task``, the default ranking metric first."""
    names = [name for name, m in METRICS.items() if task in m.tasks]
    names.remove(DEFAULT_METRIC[task])
    return [DEFAULT_METRIC[task], *names]


def resolve_metric(name: str | None, task: str) -> Metric:
    """The ranking metric: ``name`` if it fits the task, the task's default when None."""
    if name is None:
        return METRICS[DEFAULT_METRIC[task]]
    key = name.lower().replace("-", "_")
    if key not in METRICS or task not in METRICS[key].tasks:
        valid = metrics_for(task)
        raise ConfigError(f"Option --metric {name!r} does not apply to a {task} task.{did_you_mean(key, valid)} "
                          f"Choose one of: {', '.join(valid)}.")
    return METRICS[key]


def compute_metrics(y: np.ndarray, output: np.ndarray, ctx: Context) -> dict[str, float]:
    """All metrics of the task; ``output`` is class probabilities, or predictions for regression."""
    return {name: METRICS[name].compute(y, output, ctx) for name in metrics_for(ctx.task)}


def is_better(a: float, b: float, metric: Metric) -> bool:
    """Whether score ``a`` beats ``b`` (NaN never beats anything)."""
    if np.isnan(a):
        return False
    if np.isnan(b):
        return True
    return a > b if metric.greater_is_better else a < b
