"""Bootstrap intervals: they agree with the metrics, cover the truth about 95 % of the time, and compare models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from trainlab.evaluate.metrics import METRICS, Context, metrics_for
from trainlab.evaluate.resampled import BATCH
from trainlab.evaluate.uncertainty import bootstrap_intervals, fold_spread, paired_difference, resample_counts

SIMULATIONS = 200


def _classification(task: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Context]:
    k = 2 if task == "binary" else 3
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.ones(k), n)
    proba[np.arange(n), y] += 0.4
    proba = np.round(proba / proba.sum(axis=1, keepdims=True), 2)  # rounded: tied scores test the AUC's ties
    proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    return y, proba, Context(task, 1, k)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_resampled_metrics_equal_the_metrics_on_the_drawn_rows(task: str) -> None:
    rng = np.random.default_rng(3)
    n = 120
    if task == "regression":
        y = rng.normal(size=n)
        output, ctx = y + rng.normal(scale=0.5, size=n), Context("regression", n_classes=0)
    else:
        y, output, ctx = _classification(task, n, rng)
    counts = rng.integers(0, 3, (3, n)).astype(float)
    for name in metrics_for(task):
        expected = [METRICS[name].compute(y[np.repeat(np.arange(n), c.astype(int))],
                                          output[np.repeat(np.arange(n), c.astype(int))], ctx) for c in counts]
        np.testing.assert_allclose(BATCH[name](y, output, ctx, counts), expected, atol=1e-12, err_msg=name)


def test_stratified_resamples_keep_every_class_count() -> None:
    y = np.array([0] * 30 + [1] * 10)
    counts = resample_counts(y, "binary", resamples=50, seed=1)
    assert (counts[:, y == 0].sum(axis=1) == 30).all() and (counts[:, y == 1].sum(axis=1) == 10).all()
    assert not np.array_equal(counts[0], counts[1])


def _covers(value: float, interval: dict[str, float]) -> bool:
    return interval["low"] <= value <= interval["high"]


def test_accuracy_interval_covers_the_true_accuracy_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for i in range(SIMULATIONS):
        y = rng.integers(0, 2, 300)
        right = rng.random(300) < 0.8  # the model is right on 80 % of rows, whatever their class
        proba = np.where((y == 1) == right, 0.9, 0.1)
        ctx = Context("binary", 1, 2)
        covered += _covers(0.8, bootstrap_intervals(y, np.c_[1 - proba, proba], ctx, ["accuracy"], seed=i)["accuracy"])
    assert 0.92 * SIMULATIONS <= covered <= 0.98 * SIMULATIONS


def test_auc_interval_covers_the_true_auc_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    separation = 1.0
    true_auc = float(norm.cdf(separation / np.sqrt(2)))  # binormal scores: AUC = Phi(d / sqrt 2)
    covered = 0
    for i in range(SIMULATIONS):
        y = (rng.random(300) < 0.3).astype(int)
        score = norm.cdf(rng.normal(size=300) + separation * y)
        intervals = bootstrap_intervals(y, np.c_[1 - score, score], Context("binary", 1, 2), ["roc_auc"], seed=i)
        covered += _covers(true_auc, intervals["roc_auc"])
    assert 0.92 * SIMULATIONS <= covered <= 0.98 * SIMULATIONS


def test_rmse_interval_covers_the_true_error_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2)
    covered = 0
    for i in range(SIMULATIONS):
        y = rng.normal(size=400)
        output = y + rng.normal(scale=2.0, size=400)  # true RMSE: 2
        intervals = bootstrap_intervals(y, output, Context("regression", n_classes=0), ["rmse"], seed=i)
        covered += _covers(2.0, intervals["rmse"])
    assert 0.92 * SIMULATIONS <= covered <= 0.98 * SIMULATIONS


def test_paired_bootstrap_separates_models_that_overlapping_intervals_cannot() -> None:
    """Two models that share most of their errors: each interval is wide and they overlap, yet the paired
    difference is clearly positive because the rows they disagree on mostly favour the first."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400)
    base = np.where(rng.random(400) < 0.75, y, 1 - y).astype(float)
    better = base.copy()
    fixed = np.flatnonzero(base != y)[:25]
    better[fixed] = y[fixed]  # the first model corrects 25 of the shared mistakes
    ctx = Context("binary", 1, 2)
    as_proba = lambda labels: np.c_[1 - labels, labels]  # noqa: E731
    first = bootstrap_intervals(y, as_proba(better), ctx, ["accuracy"])["accuracy"]
    second = bootstrap_intervals(y, as_proba(base), ctx, ["accuracy"])["accuracy"]
    assert first["low"] < second["high"]  # the separate intervals overlap
    comparison = paired_difference(y, as_proba(better), as_proba(base), ctx, "accuracy", ("tuned", "default"))
    assert comparison.distinguishable and comparison.low > 0
    assert comparison.difference == pytest.approx(25 / 400)
    assert comparison.verdict.startswith("tuned is better than default")


def test_paired_bootstrap_says_when_the_rows_cannot_tell_two_models_apart() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    a, b = rng.random(200), rng.random(200)
    comparison = paired_difference(y, np.c_[1 - a, a], np.c_[1 - b, b], Context("binary", 1, 2), "roc_auc", ("a", "b"))
    assert not comparison.distinguishable
    assert "cannot tell a and b apart" in comparison.verdict


def test_fold_spread_is_the_standard_deviation_across_folds() -> None:
    assert fold_spread([0.8, 0.9, 1.0]) == pytest.approx(0.1)
    assert fold_spread([0.8]) is None


def test_a_run_reports_every_test_metric_with_its_interval_and_the_fold_spread(binary_run) -> None:
    assert set(binary_run.test_intervals) == set(binary_run.test_metrics)
    for name, value in binary_run.test_metrics.items():
        interval = binary_run.test_intervals[name]
        assert interval["low"] <= value <= interval["high"], name
    manifest = binary_run.predictor.manifest
    assert manifest.metrics["test_intervals"] == binary_run.test_intervals
    assert binary_run.validation_spread["folds"] == 3 * 3  # 3 folds, repeated 3 times on a small table
    assert binary_run.validation_spread["fold_sd"] >= 0
    metric = binary_run.validation_spread["metric"]
    assert f"val_{metric}_fold_sd" in binary_run.leaderboard.columns


def test_many_test_rows_draw_fewer_resamples_in_batches_so_memory_stays_bounded() -> None:
    from trainlab.evaluate.uncertainty import BATCH_CELLS, MAX_CELLS, MIN_RESAMPLES, RESAMPLES, resample_batches

    def shapes(n: int) -> list[tuple[int, int]]:
        return [counts.shape for counts in resample_batches(np.arange(n) % 2, "binary")]

    assert shapes(1000) == [(RESAMPLES, 1000)]
    assert sum(rows for rows, _ in shapes(50_000)) == MAX_CELLS // 50_000
    batches = shapes(1_000_000)  # 200 resamples, 5 to a batch
    assert sum(rows for rows, _ in batches) == MIN_RESAMPLES
    assert all(rows * n <= BATCH_CELLS for rows, n in batches)


def test_intervals_of_many_rows_drawn_from_a_subsample_still_cover_about_95_percent(monkeypatch) -> None:
    from trainlab.evaluate import uncertainty

    monkeypatch.setattr(uncertainty, "SUBSAMPLE_ROWS", 300)  # 3,000 rows stand for millions
    rng = np.random.default_rng(1)
    covered, widths = 0, []
    for i in range(SIMULATIONS):
        y = rng.integers(0, 2, 3000)
        right = rng.random(3000) < 0.8
        proba = np.where((y == 1) == right, 0.9, 0.1)
        found = bootstrap_intervals(y, np.c_[1 - proba, proba], Context("binary", 1, 2), ["accuracy"], seed=i)
        covered += _covers(0.8, found["accuracy"])
        widths.append(found["accuracy"]["high"] - found["accuracy"]["low"])
    assert 0.90 * SIMULATIONS <= covered <= 0.99 * SIMULATIONS
    expected = 2 * 1.96 * np.sqrt(0.8 * 0.2 / 3000)  # the normal interval's width on all 3,000 rows
    assert 0.8 * expected < np.mean(widths) < 1.2 * expected
    assert "drawn from 300 of the 3,000 rows" in uncertainty.interval_method(3000, "binary", 0)
