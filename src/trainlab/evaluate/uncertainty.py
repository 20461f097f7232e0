"""How sure the figures are: bootstrap intervals for test metrics, and a paired bootstrap that says whether the
test rows can tell two models apart.

Resampling is stratified for classification (each class keeps its count, so every resample has both classes
and the class balance of the test rows) and plain for regression; it is seeded, so the same run gives the same
intervals. Intervals are percentile intervals of 1,000 resamples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from trainlab.evaluate.metrics import METRICS, Context
from trainlab.evaluate.resampled import BATCH

RESAMPLES = 1000
MAX_CELLS = 20_000_000
BATCH_CELLS = 5_000_000
MIN_RESAMPLES = 200
SUBSAMPLE_ROWS = MAX_CELLS // MIN_RESAMPLES
"""Rows the resamples are drawn from at most (``bootstrap_intervals``)."""
LEVEL = 0.95


def resample_batches(y: np.ndarray, task: str, resamples: int = RESAMPLES, seed: int = 0) -> Iterator[np.ndarray]:
    """How often each row is drawn in each resample (resamples x rows), in batches of at most ``BATCH_CELLS`` counts
    (40 MB; one batch up to 5,000 rows at 1,000 resamples), so that memory stays bounded however many rows there
    are: 200 resamples of the 600,000 test rows of a 3-million-row table in one matrix are 960 MB, and the metrics
    make a few copies of it (a 6 GB peak). On many rows fewer resamples are drawn (``MAX_CELLS`` counts in all, at
    least ``MIN_RESAMPLES`` resamples), to bound the time: intervals on that many rows are narrow, and 200
    resamples place their ends well enough."""
    n = max(1, len(y))
    resamples = min(resamples, max(MIN_RESAMPLES, MAX_CELLS // n))
    per_batch = max(1, BATCH_CELLS // n)
    for i, start in enumerate(range(0, resamples, per_batch)):
        yield resample_counts(y, task, min(per_batch, resamples - start), seed if i == 0 else seed + 7919 * i)


def resample_counts(y: np.ndarray, task: str, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """How often each row is drawn in each of ``resamples`` resamples; stratified by class unless regression."""
    if task != "regression":
        return stratified_counts(y, resamples, seed)
    n = len(y)
    return _drawn(np.random.default_rng(seed), n, resamples)


def stratified_counts(labels: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Resample counts that keep the number of rows of every label (class, or group) as it is."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((resamples, len(labels)))
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        counts[:, rows] = _drawn(rng, len(rows), resamples)
    return counts


def _drawn(rng: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of ``n`` rows comes up in ``n`` draws with replacement, per resample: a multinomial of equal
    probabilities, counted from the draws (numpy's multinomial over 600,000 rows took 7 s for 200 resamples)."""
    draws = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n).astype(float)


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
    """``{metric: {"low": .., "high": ..}}``: the 95 % interval of each metric over stratified resamples.

    Over ``SUBSAMPLE_ROWS`` rows, the resamples are drawn from a stratified subsample of that many rows and their
    spread around the subsample's own value is narrowed by sqrt(subsample / rows) around the value on every row (an
    m-out-of-n bootstrap: these metrics vary like one over the square root of the rows). On the 600,000 test rows
    of a 3-million-row table the intervals took 15 s."""
    y = np.asarray(y)
    if len(y) <= SUBSAMPLE_ROWS:
        return _percentile_intervals(y, output, ctx, names, resamples, level, seed)
    rows = _subsample(y, ctx.task, SUBSAMPLE_ROWS, seed)
    part = replace(ctx, weights=None if ctx.weights is None else np.asarray(ctx.weights)[rows])
    narrowed = _percentile_intervals(y[rows], output[rows], part, names, resamples, level, seed)
    scale = math.sqrt(len(rows) / len(y))
    out = {}
    for name in names:
        whole = float(BATCH[name](y, output, ctx, _weights(np.ones((1, len(y))), ctx))[0])
        sub = float(BATCH[name](y[rows], output[rows], part, _weights(np.ones((1, len(rows))), part))[0])
        bounds = narrowed[name]
        out[name] = {"low": whole + scale * (bounds["low"] - sub), "high": whole + scale * (bounds["high"] - sub)}
    return out


def interval_method(n_rows: int, task: str, seed: int) -> str:
    """How ``bootstrap_intervals`` drew the intervals of ``n_rows`` rows, in words."""
    stratified = ", stratified by class" if task != "regression" else ""
    drawn = min(n_rows, SUBSAMPLE_ROWS)
    resamples = min(RESAMPLES, max(MIN_RESAMPLES, MAX_CELLS // max(1, drawn)))
    method = f"percentile bootstrap, {resamples} resamples{stratified}, seed {seed}, level {LEVEL:.0%}"
    if n_rows > SUBSAMPLE_ROWS:
        method += (f"; drawn from {drawn:,} of the {n_rows:,} rows, the spread narrowed by the square root of "
                   "their ratio")
    return method


def _subsample(y: np.ndarray, task: str, size: int, seed: int) -> np.ndarray:
    """``size`` row indices, sorted; each class keeps its share unless regression."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        return np.sort(rng.choice(len(y), size=size, replace=False))
    picked = [rng.choice(rows, size=max(1, round(size * len(rows) / len(y))), replace=False)
              for rows in (np.flatnonzero(y == label) for label in np.unique(y))]
    return np.sort(np.concatenate(picked))


def _percentile_intervals(y: np.ndarray, output: np.ndarray, ctx: Context, names: list[str], resamples: int,
                          level: float, seed: int) -> dict[str, dict[str, float]]:
    values: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for counts in resample_batches(y, ctx.task, resamples, seed):
        w = _weights(counts, ctx)
        for name in names:
            values[name].append(BATCH[name](y, output, ctx, w))
    return {name: dict(zip(("low", "high"), _bounds(np.concatenate(values[name]), level), strict=True))
            for name in names}


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
    diffs = np.concatenate([BATCH[metric](y, first, ctx, w) - BATCH[metric](y, second, ctx, w)
                            for w in (_weights(c, ctx) for c in resample_batches(y, ctx.task, resamples, seed))])
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
