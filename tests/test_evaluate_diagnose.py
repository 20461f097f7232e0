"""Planted fitting situations: the diagnosis must name them."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.prepare import make_features
from trainlab.data.split import make_split
from trainlab.evaluate import analysis as analysis_module
from trainlab.evaluate.analysis import ANALYSIS_FILE, analyze_run, encode_labels
from trainlab.evaluate.diagnose import LearningCurve, diagnose, learning_curve
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec


def _fit_and_analyze(tmp_path, frame, family, params, time_limit=20.0):
    config = make_config("y", time_limit=time_limit, models=family)
    checked = check_data(frame, config)
    split = make_split(checked.frame, checked.schema, config.split, config.seed)
    train = checked.frame.iloc[split.train]
    model = fit_model(get_spec(family), params, checked.schema, make_features(train, checked.schema),
                      encode_labels(train, checked.schema), None, 0)
    return analyze_run(tmp_path, model, checked.schema, checked.frame, split, config, pd.DataFrame(), family)


@pytest.fixture
def noisy_small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 6))
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(6)]).assign(y=0.5 * x[:, 0] + rng.normal(size=240) * 2.0)


def test_deep_tree_on_noisy_small_data_is_overfitting(tmp_path, noisy_small):
    analysis = _fit_and_analyze(tmp_path, noisy_small, "decision_tree", {"max_depth": 30, "min_samples_leaf": 1})
    diagnosis = analysis["diagnosis"]
    assert diagnosis["verdict"] == "overfitting", diagnosis["headline"]
    assert diagnosis["train"] > 0.9 and diagnosis["test"] < 0.3
    assert any("Regularize" in line for line in diagnosis["advice"])
    assert len(diagnosis["curve"]["sizes"]) >= 3
    assert json.loads((tmp_path / ANALYSIS_FILE).read_text())["diagnosis"]["verdict"] == "overfitting"


def test_linear_model_on_nonlinear_target_is_underfitting(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, size=(400, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x[:, 0] ** 2 + np.sin(3 * x[:, 1]))
    analysis = _fit_and_analyze(tmp_path, frame, "linear", {"alpha": 1.0})
    assert analysis["diagnosis"]["verdict"] == "underfitting", analysis["diagnosis"]["headline"]
    assert analysis["diagnosis"]["train"] < 0.3


def test_linear_model_on_linear_target_is_a_good_fit(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=2 * x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=400))
    analysis = _fit_and_analyze(tmp_path, frame, "linear", {"alpha": 1.0})
    assert analysis["diagnosis"]["verdict"] == "good fit", analysis["diagnosis"]["headline"]


def test_underfitting_advice_names_the_richer_model():
    curve = LearningCurve(sizes=[10, 20, 40], train=[0.5, 0.45, 0.45], validation=[0.3, 0.4, 0.42])
    result = diagnose("regression", train=0.45, validation=0.42, test=0.41, curve=curve, best_other=0.9,
                      best_other_name="lightgbm")
    assert result.verdict == "underfitting"
    assert "lightgbm" in result.advice[0]


def test_rising_validation_curve_says_more_data_would_help():
    curve = LearningCurve(sizes=[10, 20, 40, 80], train=[0.9, 0.88, 0.87, 0.86], validation=[0.5, 0.6, 0.7, 0.8])
    result = diagnose("binary", train=0.86, validation=0.8, test=0.79, curve=curve)
    assert result.more_data_helps
    assert any("More training data" in line for line in result.advice)


def test_learning_curve_subsamples_when_the_full_curve_would_not_fit_in_time():
    seen = []
    curve = learning_curve(lambda n: seen.append(n) or (0.9, 0.8), 100_000, seconds=1.0, expected_full_fit_s=10.0)
    assert max(seen) < 10_000
    assert "subsample" in curve.note
    assert curve.sizes == seen


def test_learning_curve_leaves_out_a_point_that_would_end_after_its_time():
    def slow(n):  # a slow machine: 10 ms a row
        time.sleep(n / 100)
        return 0.9, 0.8

    curve = learning_curve(slow, 200, seconds=1.0)
    assert curve.sizes == [20, 50]  # 0.2 s, then 0.5 s; the next (1.0 s) would end past 1 s
    assert "ran out" in curve.note


def test_the_analysis_shares_its_time_left_on_a_slow_machine(tmp_path, monkeypatch, noisy_small):
    """Every refit in the analysis is slow (20 ms a row): the curve stops early and the runner-up is not refit,
    so the analysis ends near the time it was given instead of running on."""
    def slow_fit(spec, params, schema, features, *args, **kwargs):
        time.sleep(len(features) * 0.02)
        return fit_model(spec, params, schema, features, *args, **kwargs)

    monkeypatch.setattr(analysis_module, "fit_model", slow_fit)
    config = make_config("y", time_limit=20.0, models="linear")
    checked = check_data(noisy_small, config)
    split = make_split(checked.frame, checked.schema, config.split, config.seed)
    train = checked.frame.iloc[split.train]
    model = fit_model(get_spec("linear"), {"alpha": 1.0}, checked.schema, make_features(train, checked.schema),
                      encode_labels(train, checked.schema), None, 0)
    runner_up = {"name": "decision_tree", "family": "decision_tree", "params": {}, "fit_time_s": 2.0}
    started = time.monotonic()
    analysis = analyze_run(tmp_path, model, checked.schema, checked.frame, split, config, pd.DataFrame(), "linear",
                           time_left=6.0, runner_up=runner_up)
    took = time.monotonic() - started
    curve = analysis["diagnosis"]["curve"]
    assert len(curve["sizes"]) < 5 and "ran out" in curve["note"]  # the whole curve would take 8 s here
    assert analysis["comparison"]["verdict"].startswith("Not compared with decision_tree")
    assert took < 6.0 + 2.0  # the slack is for the real work around the fake fits, on a busy machine


def test_no_learning_curve_when_no_time_is_left_and_the_report_says_so(tmp_path, noisy_small):
    from trainlab.report.html import write_report

    run = trainlab.train(noisy_small, target="y", max_trials=2, models="linear", out_dir=tmp_path, report=False)
    config = make_config("y", time_limit=20.0, models="linear")
    checked = check_data(noisy_small, config)
    split = make_split(checked.frame, checked.schema, config.split, config.seed)
    analysis = analyze_run(run.folder, run.predictor.model, checked.schema, checked.frame, split, config,
                           run.leaderboard, run.best_model, time_left=0.0)
    assert analysis["diagnosis"]["curve"]["sizes"] == []
    assert "no time" in analysis["diagnosis"]["curve"]["note"]
    html = write_report(run.folder).read_text(encoding="utf-8")
    assert "No learning curve: left out: the time limit left no time for it" in html
