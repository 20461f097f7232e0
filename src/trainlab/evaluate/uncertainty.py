"""How sure the figures are: bootstrap intervals for test metrics, and a paired bootstrap that says whether the
test rows can tell two models apart.

Resampling is stratified for classification (each class keeps its count, so every resample has both classes
and the class balance of the test rows) and plain for regression; it is seeded, so the same run gives the same
intervals. Intervals are percentile intervals of 1,000 resamples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainlab.evaluate.metrics import METRICS, Context
from trainlab.evaluate.resampled import BATCH

RESAMPLES = 1000
MAX_CELLS = 20_000_000
MIN_RESAMPLES = 200
LEVEL = 0.95


def resample_counts(y: np.ndarray, task: str, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """How often each row is drawn in each resample (resamples x rows); stratified by class unless regression.

    On many test rows fewer resamples are drawn, so that the matrix holds at most ``MAX_CELLS`` counts (160 MB; at
    least ``MIN_RESAMPLES``): 1,000 resamples of the 600,000 test rows of a 3-million-row table took several GB
    in each of the few copies the metrics make, and ran the machine out of memory. Intervals on that many rows
    are narrow, and 200 resamples place their ends well enough."""
    resamples = min(resamples, max(MIN_RESAMPLES, MAX_CELLS // max(1, len(y))))
    if task != "regression":
        return stratified_counts(y, resamples, seed)
    n = len(y)
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def stratified_counts(labels: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Resample counts that keep the number of rows of every label (class, or group) as it is."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, len(labels)))
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        counts[:, rows] = rng.multinomial(len(rows), np.full(len(rows), 1.0 / len(rows)), size=resamples)
    return counts


def _weights(counts: np.ndarray, ctx: Context) -> np.ndarray:
    return counts if ctx.weights is None else counts * np.asarray(ctx.weights, dtype=float)


def _bounds(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_intervals(y: np.ndarray, output: np.ndarray, ctx: Context, names: list[str], *,
                        resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> dict[str, dict[str, float]]:
    """``{metric: {"low": .., "high": ..}}``: the 95 % interval of each metric over stratified resamples."""
    counts = resample_counts(np.asarray(y), ctx.task, resamples, seed)
    w = _weights(counts, ctx)
    out = {}
    for name in names:
        low, high = _bounds(BATCH[name](np.asarray(y), output, ctx, w), level)
        out[name] = {"low": low, "high": high}
    return out


@dataclass
class Comparison:
    """The paired bootstrap of ``metric(first) - metric(second)`` on the same test rows, and what it means."""

    metric: str
    first: str
    second: str
    difference: float
    low: float
    high: float
    verdict: str

    @property
    def distinguishable(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "first": self.first, "second": self.second, "difference": self.difference,
                "low": self.low, "high": self.high, "distinguishable": self.distinguishable, "verdict": self.verdict}


def paired_difference(y: np.ndarray, first: np.ndarray, second: np.ndarray, ctx: Context, metric: str,
                      names: tuple[str, str], *, resamples: int = RESAMPLES, level: float = LEVEL,
                      seed: int = 0) -> Comparison:
    """Compare two models' outputs on the same rows: each resample scores both on the same drawn rows, so what
    the rows have in common cancels out (overlapping separate intervals would say far less)."""
    y = np.asarray(y)
    w = _weights(resample_counts(y, ctx.task, resamples, seed), ctx)
    diffs = BATCH[metric](y, first, ctx, w) - BATCH[metric](y, second, ctx, w)
    difference = METRICS[metric].compute(y, first, ctx) - METRICS[metric].compute(y, second, ctx)
    low, high = _bounds(diffs, level)
    comparison = Comparison(metric, names[0], names[1], float(difference), low, high, "")
    comparison.verdict = _comparison_words(comparison)
    return comparison


def _comparison_words(c: Comparison) -> str:
    span = f"{c.metric} {c.difference:+.4f}, 95 % interval {c.low:+.4f} to {c.high:+.4f}"
    if not c.distinguishable:
        return (f"The test rows cannot tell {c.first} and {c.second} apart ({span}): the interval includes zero, "
                "so the difference may be chance. More test rows, or either model, would do.")
    greater = METRICS[c.metric].greater_is_better
    better = c.first if (c.difference > 0) == greater else c.second
    worse = c.second if better == c.first else c.first
    return f"{better} is better than {worse} on these test rows ({span}): the interval excludes zero."


def fold_spread(fold_scores: list[float]) -> float | None:
    """The standard deviation of a trial's validation score across its folds (None with fewer than two)."""
    scores = [s for s in fold_scores if s is not None and math.isfinite(s)]
    return float(np.std(scores, ddof=1)) if len(scores) > 1 else None
