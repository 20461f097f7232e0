"""The search under a budget: limits kept, failures contained, trials recorded, resumable, repeatable."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.evaluate.metrics import METRICS, Context
from trainlab.models.registry import REGISTRY, ModelSpec
from trainlab.search import ensemble
from trainlab.search.budget import Budget
from trainlab.search.ensemble import ensemble_pool, select_ensemble
from trainlab.search.trial import PREDICT_ROW_WEIGHT, Candidate, TrainingData, TrialResult, cannot_finish, fit_deadline


def _table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    logit = 1.5 * x1 - x2 + (colour == "red")
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour,
                         "y": np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")})


class _Exploding:
    """An estimator whose fit does what the test asks: raise, kill its process, or eat memory."""

    def __init__(self, *, how: str = "raise") -> None:
        self.how = how

    def fit(self, features: Any, y: Any, sample_weight: Any = None) -> _Exploding:
        if self.how == "exit":
            os._exit(3)
        if self.how == "memory":
            np.ones((1 << 40,), dtype=np.uint8)  # a terabyte: far past any worker's memory cap
        raise RuntimeError("planted failure")


def _build_exploding(task: str, params: dict[str, Any], seed: int, n_jobs: int, how: str) -> _Exploding:
    return _Exploding(how=how)  # a module-level function: a spawned worker can unpickle it


@pytest.fixture
def exploding_family(request: pytest.FixtureRequest) -> Any:
    how = request.param
    spec = ModelSpec(key="exploding", names={"default": "Exploding"}, tasks=("binary",), recipe="scaled",
                     build=functools.partial(_build_exploding, how=how), defaults={}, cost=0)
    REGISTRY["exploding"] = spec
    yield how
    REGISTRY.pop("exploding")


@pytest.mark.parametrize("exploding_family", ["raise"], indirect=True)
def test_a_raising_candidate_fails_alone_in_process(exploding_family: str, tmp_path: Path) -> None:
    run = trainlab.train(_table(), target="y", max_trials=2, models=("exploding", "linear"), out_dir=tmp_path,
                         report=False)
    board = run.leaderboard.set_index("model")
    assert board.loc["exploding", "status"] == "failed"
    assert "planted failure" in board.loc["exploding", "error"]
    assert run.best_model == "linear"
    assert list(run.predict(_table(20, seed=1))) != []


@pytest.mark.parametrize("exploding_family", ["raise", "exit", "memory"], indirect=True)
def test_a_crashing_worker_fails_its_trial_and_the_run_goes_on(exploding_family: str, tmp_path: Path) -> None:
    # a time limit puts trials in worker processes; the trial budget ends the run, however busy the machine
    run = trainlab.train(_table(), target="y", time_limit=600, max_trials=4, models=("exploding", "linear"),
                         out_dir=tmp_path, preset="fast", report=False)
    board = run.leaderboard.set_index("model")
    assert board.loc["exploding", "status"] == "failed"
    expected = {"raise": "planted failure", "exit": "worker process died", "memory": "memory"}[exploding_family]
    assert expected in board.loc["exploding", "error"].lower()
    assert (run.bundle_path / "manifest.json").exists()


class _Sleepy:
    """A prior-only classifier whose fit sleeps ``seconds``: a slow or quick trial on any machine."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def fit(self, features: Any, y: Any, sample_weight: Any = None) -> _Sleepy:
        from sklearn.dummy import DummyClassifier

        time.sleep(self.seconds)
        self.model_ = DummyClassifier().fit(features, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        return self.model_.predict_proba(features)


def _build_sleepy(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> _Sleepy:
    return _Sleepy(float(params["seconds"]))


def test_under_a_time_limit_a_free_worker_starts_the_next_trial_and_an_overdue_one_is_stopped() -> None:
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.executor import ProcessExecutor
    from trainlab.search.scheduler import PLANS, Scheduler

    REGISTRY["sleepy"] = ModelSpec(key="sleepy", names={"default": "Sleepy"}, tasks=("binary",), recipe="scaled",
                                   build=_build_sleepy, defaults={"seconds": 0.0}, cost=0)
    config = make_config("y", time_limit=300, seed=0)
    checked = check_data(_table(), config)
    training = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    events: list[tuple[str, str]] = []
    executor = ProcessExecutor(training, workers=2)
    folds = len(training.folds)
    slow = Candidate("slow", "sleepy", {"seconds": 6.0 / folds})  # 6 s in all, whatever the folds
    quick = [Candidate(f"quick{i}", "sleepy", {"seconds": 0.0}) for i in range(4)]
    try:
        scheduler = Scheduler(training, Budget(time_limit=300.0), PLANS["fast"], executor,
                              lambda kind, info: events.append((kind, info.get("name") or info["trial"].candidate.name)))
        scheduler._run_all([slow, *quick])
        # a fit that sleeps past the limit cannot stop itself: the trial is stopped, and the workers replaced
        overdue = Scheduler(training, Budget(time_limit=2.0), PLANS["fast"], executor)
        overdue._run_all([Candidate("sleeper", "sleepy", {"seconds": 30.0}), quick[0]])
        after = Scheduler(training, Budget(time_limit=300.0), PLANS["fast"], executor)
        after._run_all(quick[1:2])
    finally:
        executor.close()
        REGISTRY.pop("sleepy")
    ended = {t.candidate.name: t for t in overdue.result.trials}
    assert (ended["sleeper"].status, ended["sleeper"].error) == ("failed", "still running at the time limit; stopped")
    assert ended["quick0"].ok and after.result.trials[0].ok
    # the four quick trials ran on the other worker while the slow one slept: all started and ended before it
    # ended (in batches of two, the third would have waited for it)
    assert [name for kind, name in events if kind == "trial_end"] == [*(c.name for c in quick), "slow"]
    slow_end = events.index(("trial_end", "slow"))
    assert [name for kind, name in events[:slow_end] if kind == "trial_start"] == ["slow", *(c.name for c in quick)]
    assert [t.candidate.name for t in scheduler.result.trials] == [*(c.name for c in quick), "slow"]
    assert all(t.ok for t in scheduler.result.trials)


def test_the_run_ends_within_its_time_limit(tmp_path: Path) -> None:
    limit = 20.0
    run = trainlab.train(_table(600), target="y", time_limit=limit, out_dir=tmp_path,
                         models=("linear", "decision_tree", "lightgbm"))
    # the recorded total covers loading, search, refit, evaluation, saving, the analysis and report.html; wide
    # tolerance for a busy CI machine (beside two CPU-bound processes: 20.9 s, the analysis shrinking to fit)
    assert run.timings["total_s"] <= limit * 1.1 + 3
    assert (run.folder / "report.html").exists()
    assert run.timings["first_model_s"] is not None and run.timings["first_model_s"] < limit
    # every trial recorded finished before the limit (tuning, if any, stopped in time)
    assert all(t.fit_time_s < limit for t in run.trials)


def test_trials_table_has_one_row_per_trial_and_the_ensemble(tmp_path: Path) -> None:
    run = trainlab.train(_table(), target="y", max_trials=8, models=("linear", "lightgbm", "knn"), out_dir=tmp_path,
                         report=False)
    trials = pd.read_csv(run.folder / "trials.csv")
    assert len(trials) == len(run.trials)
    assert trials["number"].tolist() == list(range(len(trials)))
    assert "ensemble" in set(trials["family"])
    assert set(trials["source"]) >= {"default", "tuned", "ensemble"}
    ensemble_row = run.leaderboard.set_index("model").loc["ensemble"]
    assert ensemble_row["family"] == "ensemble"


def test_a_trial_budget_repeats_exactly(tmp_path: Path) -> None:
    options = {"target": "y", "max_trials": 6, "models": ("linear", "lightgbm", "decision_tree"), "seed": 3,
               "report": False}
    first = trainlab.train(_table(), out_dir=tmp_path / "a", **options)
    second = trainlab.train(_table(), out_dir=tmp_path / "b", **options)
    pd.testing.assert_frame_equal(first.leaderboard.drop(columns=["fit_time_s", "predict_time_s"]),
                                  second.leaderboard.drop(columns=["fit_time_s", "predict_time_s"]))
    rows = _table(50, seed=9)
    pd.testing.assert_frame_equal(first.predict_proba(rows), second.predict_proba(rows))
    record = json.loads((first.folder / "run.json").read_text())
    assert record["budget_kind"].startswith("trials")


def _oof_trial(name: str, oof: np.ndarray, data: TrainingData) -> TrialResult:
    from trainlab.search.trial import score_oof

    score, metrics = score_oof(data, oof)  # a family of its own: ensembles take the best trial of each family
    return TrialResult(Candidate(name, name, {}), "ok", score=score, metrics=metrics, oof=oof)


def test_the_ensemble_pool_averages_each_familys_best_under_k_fold_and_takes_the_best_trials_on_one_holdout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ensemble, "FAMILY_TOP", 2)
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=200)
    halves = (np.arange(100), np.arange(100, 200))
    k_fold = TrainingData(schema=None, features=pd.DataFrame(), y=y, weights=None,  # type: ignore[arg-type]
                          folds=[halves, halves[::-1]], context=Context("binary", 1, 2), metric=METRICS["roc_auc"],
                          seed=0)
    trials = []
    for i, family in enumerate(["boost", "boost", "linear", "boost", "linear"]):  # weaker as i grows
        p = np.clip(0.5 + (y - 0.5) * (0.9 - 0.1 * i) + rng.normal(scale=0.05, size=len(y)), 0.01, 0.99)
        trial = _oof_trial(f"m{i}", np.column_stack([1 - p, p]), k_fold)
        trials.append(replace(trial, candidate=Candidate(f"m{i}", family, {})))
    pool = ensemble_pool(trials, k_fold)
    assert [[t.candidate.name for t in e.trials] for e in pool] == [["m0", "m1"], ["m2", "m4"]]
    assert np.allclose(pool[1].oof, (trials[2].oof + trials[4].oof) / 2)  # type: ignore[operator]
    selection = select_ensemble(trials, k_fold)
    assert selection is not None and abs(sum(selection.weights) - 1) < 1e-9
    assert {t.candidate.name for t in selection.trials} <= {"m0", "m1", "m2", "m4"}
    holdout = replace(k_fold, folds=[halves])
    assert [[t.candidate.name for t in e.trials] for e in ensemble_pool(trials, holdout)] == [
        ["m0"], ["m1"], ["m2"], ["m3"], ["m4"]]


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "accuracy"])
def test_the_ensemble_is_never_worse_than_its_best_member_out_of_fold(metric: str) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=400)
    data = TrainingData(schema=None, features=pd.DataFrame(), y=y, weights=None,  # type: ignore[arg-type]
                        folds=[(np.arange(200), np.arange(200, 400)), (np.arange(200, 400), np.arange(200))],
                        context=Context("binary", 1, 2), metric=METRICS[metric], seed=0)
    trials = []
    for i in range(6):
        signal_ = y + rng.normal(scale=0.8 + 0.3 * i, size=len(y))
        p = 1 / (1 + np.exp(-(signal_ - 0.5) * 2))
        trials.append(_oof_trial(f"m{i}", np.column_stack([1 - p, p]), data))
    selection = select_ensemble(trials, data)
    assert selection is not None
    best = max(t.score for t in trials) if data.metric.greater_is_better else min(t.score for t in trials)
    if data.metric.greater_is_better:
        assert selection.score >= best
    else:
        assert selection.score <= best
    assert abs(sum(selection.weights) - 1) < 1e-9


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_finished_trials(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    _table(400).to_csv(data, index=False)
    trainlab_cmd = [sys.executable, "-m", "trainlab", "train", str(data), "--target", "y", "--out", str(tmp_path),
                    "--name", "r", "--max-trials", "16", "--models", "linear,knn,decision_tree,lightgbm"]
    process = subprocess.Popen(trainlab_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = tmp_path / "r" / "search" / "trials.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 5:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = [json.loads(line)["name"] for line in journal.read_text().splitlines() if line.strip()]
    assert len(before) >= 5
    assert not (tmp_path / "r" / "leaderboard.csv").exists()
    done = subprocess.run([sys.executable, "-m", "trainlab", "train", "--resume", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trials = pd.read_csv(tmp_path / "r" / "trials.csv")
    assert trials["model"].tolist()[: len(before)] == before
    assert trials["model"].is_unique
    assert len(trials) == 18  # the trial budget counts the trials from before the kill, plus two ensembles
    assert trainlab.load(tmp_path / "r" / "model").predict(_table(5, seed=2)).shape == (5,)


def test_after_ctrl_c_the_run_finishes_as_if_its_limit_were_now() -> None:
    """Interrupted at once under a 300 s limit, the refit and the analysis get the seconds kept back for them
    (5 s and 45 s here), not the rest of the 300."""
    budget = Budget(time_limit=300.0, reserve_s=45.0, refit_s=5.0)
    budget.stop_now()
    assert budget.time_limit is not None and budget.time_limit < 51.0
    assert budget.remaining() <= 0.0 and budget.refit_time_left(slack=False) <= 5.0
    unlimited = Budget(time_limit=None, max_trials=10)
    unlimited.stop_now()
    assert unlimited.time_limit is None  # no limit: the final steps take what they need, as before


def test_the_second_refit_may_use_the_slack_the_first_left_but_not_more() -> None:
    """A search that ran to its limit leaves no time before it, yet the second refit of --refit-full may still use
    the refits' slack (5 % of the limit) that the first did not; past the limit plus that slack it gets nothing."""
    at_limit = Budget(time_limit=30.0, reserve_s=2.0, started=time.monotonic() - 28.0)
    assert at_limit.refit_time_left(slack=False) == 0.0
    assert 1.0 < at_limit.optional_time_left() <= 1.5
    past_slack = Budget(time_limit=30.0, reserve_s=2.0, started=time.monotonic() - 30.0)
    assert past_slack.optional_time_left() == 0.0
    assert Budget(time_limit=None).optional_time_left() == float("inf")


def _ctrl_c_heard() -> None:
    """In the child: Ctrl-C as a terminal delivers it. An ignored SIGINT is inherited across exec, and a library
    that an earlier test ran in this process may have left it ignored; the run then never heard the signal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_saves_the_best_model_so_far(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    _table(400).to_csv(data, index=False)
    process = subprocess.Popen([sys.executable, "-m", "trainlab", "train", str(data), "--target", "y", "--out",
                                str(tmp_path), "--name", "c", "--time-limit", "300"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_heard)
    journal = tmp_path / "c" / "search" / "trials.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (journal.exists() and len(journal.read_text().splitlines()) >= 4):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Best model" in stdout
    assert (tmp_path / "c" / "leaderboard.csv").exists()
    assert trainlab.load(tmp_path / "c" / "model").predict(_table(5, seed=2)).shape == (5,)


@pytest.mark.parametrize("family", ["linear", "lightgbm", "random_forest"])
def test_tuning_starts_from_the_default_and_its_score_even_with_class_weight_none(family: str) -> None:
    from trainlab.models import get_spec
    from trainlab.search.tuner import FamilyTuner

    spec = get_spec(family).for_task("binary")
    assert spec.defaults["class_weight"] is None
    tuner = FamilyTuner(spec, seed=0, greater_is_better=True)
    tuner.seed_with([TrialResult(Candidate(family, family, dict(spec.defaults)), "ok", score=0.8)])
    assert [t.value for t in tuner.study.trials] == [0.8]
    assert tuner.study.trials[0].params["class_weight"] is None


def test_the_analysis_reserve_is_at_most_half_of_what_preparation_left() -> None:
    from trainlab.config import make_config
    from trainlab.run import reserve_seconds

    short = make_config("y", time_limit=10)
    assert reserve_seconds(short, 100, report=True) == 5.0  # half of the limit at most
    assert reserve_seconds(short, 100, report=True, spent=4.5) == 2.75  # the trials get as long as the analysis
    assert reserve_seconds(short, 100, report=False, spent=4.5) < 1.0
    assert reserve_seconds(short, 100, report=True, spent=12.0) == 0.0
    long = make_config("y", time_limit=300)
    assert reserve_seconds(long, 100, report=True, spent=4.5) == reserve_seconds(long, 100, report=True)
    assert reserve_seconds(make_config("y", time_limit=None), 100, report=True) == 0.0


def test_a_trial_stops_once_its_folds_cannot_all_end_before_the_deadline() -> None:
    soon = time.monotonic() + 5.0
    assert cannot_finish([], 15, soon) is None
    assert cannot_finish([1.0, 1.0], 15, soon) == ("stopped after 2 of 15 folds: the 13 left, at 1.0 s each, would "
                                                  "end past the time limit")
    assert cannot_finish([1.0, 1.0], 5, soon) is None  # three folds left, about 3 s: they fit
    assert cannot_finish([9.0], 15, soon) == "time limit reached after 1 of 15 folds"
    # the first fold pays one-off costs (a library's import): the projection leaves it out, or alone, counts it less
    # FIRST_FOLD_EXTRA_S (2 s)
    assert cannot_finish([4.0, 0.1, 0.1], 15, soon) is None
    assert cannot_finish([1.5], 15, soon) is None
    assert cannot_finish([4.0], 3, soon) is None  # two folds left at 2 s each
    assert cannot_finish([4.0], 15, soon) == ("stopped after 1 of 15 folds: the 14 left, at 2.0 s each, would end "
                                              "past the time limit")


def test_with_refit_full_the_search_keeps_time_back_for_both_refits() -> None:
    """--refit-full refits twice, the second time on every row: the time kept back while the search runs counts both
    (``Budget.refits``), so that the second is not the one skipped for time."""
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.executor import GRACE_S
    from trainlab.search.scheduler import ENSEMBLE_MARGIN, PLANS, Scheduler

    config = make_config("y", time_limit=60, seed=0)
    checked = check_data(_table(), config)
    training = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    once, twice = Budget(time_limit=60.0), Budget(time_limit=60.0, refits=2.1)
    for budget in (once, twice):
        scheduler = Scheduler(training, budget, PLANS["fast"], executor=None)  # type: ignore[arg-type]
        scheduler._record([TrialResult(Candidate("linear", "linear", {}), "ok", score=0.9, fit_time_s=1.0)])
    # one fold's fit, grown for all training rows (REFIT_GROWTH), with room for an ensemble's margin and for the last
    # trials to end past the search's deadline (GRACE_S)
    assert once.refit_s == pytest.approx(GRACE_S + 1.2 / ENSEMBLE_MARGIN)
    assert twice.refit_s == pytest.approx(GRACE_S + 2.1 * 1.2 / ENSEMBLE_MARGIN)
    assert twice.remaining() < once.remaining() - 1.0


def test_a_folds_fit_leaves_time_to_predict_its_validation_rows_before_the_deadline():
    """A booster stopped by its deadline then predicts its validation rows: the fit's deadline comes sooner, by the
    validation rows' share of the time left (each weighing ``PREDICT_ROW_WEIGHT`` of a training row)."""
    now = time.monotonic()
    end = fit_deadline(now + 100.0, 800, 200)
    share = 800 / (800 + PREDICT_ROW_WEIGHT * 200)
    assert now + 100.0 * share - 1.0 < end < now + 100.0 * share + 1.0
    assert end < now + 100.0
    assert fit_deadline(float("inf"), 800, 200) == float("inf")


def test_folds_the_quickest_booster_could_not_fit_in_the_time_limit_give_way_to_one_holdout(tmp_path, monkeypatch):
    """When the cost model expects the quickest booster default to take more than ``HOLDOUT_SHARE`` of the time limit
    over the folds, the run validates on one holdout and says so; a trial budget keeps its folds (runs that repeat)."""
    from conftest import make_binary
    from trainlab.run import resume
    from trainlab.search import validation

    monkeypatch.setattr(validation, "HOLDOUT_SHARE", 0.0)  # any booster is too slow for the folds
    frame = make_binary(300)
    frame.to_csv(tmp_path / "credit.csv", index=False)
    run = trainlab.train(tmp_path / "credit.csv", target="outcome", out_dir=tmp_path, name="held",
                         models=("lightgbm", "linear"), time_limit=6, jobs=1, report=False)  # folds come before trials
    assert run.split["validation"].startswith("one validation split")
    finding = next(f.message for f in run.findings if f.code == "one_holdout")
    assert finding.startswith("Validated on one holdout of") and "instead of 15 folds" in finding
    monkeypatch.setattr(validation, "HOLDOUT_SHARE", 0.5)  # the folds would fit now: a resumed run keeps the holdout
    again = resume(run.folder)
    assert again.split["validation"].startswith("one validation split")
    assert "as the run it resumes did" in next(f.message for f in again.findings if f.code == "one_holdout")
    counted = trainlab.train(frame, target="outcome", out_dir=tmp_path, name="counted", models=("lightgbm", "linear"),
                             time_limit=60, max_trials=2, jobs=1, report=False)
    assert counted.split["validation"].startswith("5-fold")
    assert not any(f.code == "one_holdout" for f in counted.findings)


def test_a_boosters_timed_folds_too_slow_for_the_limit_call_for_one_holdout():
    """A booster stopped after timing some folds, at a pace that would take more than ``HOLDOUT_SHARE`` of the limit
    over all of them, calls for one holdout, unless a booster already ended well; quicker folds do not."""
    from trainlab.search.trial import Candidate, TrialResult
    from trainlab.search.validation import measured_too_slow

    def trial(family: str, status: str, seconds: float, timed: int) -> TrialResult:
        return TrialResult(Candidate(family, family, {}), status, fit_time_s=seconds * timed,
                           fold_scores=[0.8] * timed)

    slow = trial("lightgbm", "failed", 6.0, 1)  # 6 s a fold: 30 s over 5 folds, more than half of 30 s
    assert measured_too_slow([trial("linear", "ok", 0.2, 5), slow], 5, 30.0) is slow
    assert measured_too_slow([slow], 5, 120.0) is None  # the folds fit in a longer limit
    assert measured_too_slow([trial("lightgbm", "failed", 2.0, 2)], 5, 30.0) is None
    assert measured_too_slow([trial("xgboost", "ok", 1.0, 5), slow], 5, 30.0) is None
    assert measured_too_slow([slow], 1, 30.0) is None  # one validation split already
    assert measured_too_slow([trial("lightgbm", "failed", 0.0, 0)], 5, 30.0) is None  # no fold timed


def test_a_search_whose_booster_folds_prove_too_slow_starts_again_on_one_holdout(tmp_path, monkeypatch):
    """When a booster's timed folds say the folds do not fit (here: said of the first LightGBM trial), the run
    forgets the trials on folds, validates on one holdout, searches again and says why; its leaderboard and journal
    hold the second search's trials only."""
    from conftest import make_binary
    from trainlab.search import scheduler

    calls = []

    def first_lightgbm(trials, folds, time_limit):
        calls.append(folds)
        return next((t for t in trials if t.candidate.family == "lightgbm"), None) if folds > 1 else None

    monkeypatch.setattr(scheduler, "measured_too_slow", first_lightgbm)
    run = trainlab.train(make_binary(300), target="outcome", out_dir=tmp_path, name="refold",
                         models=("lightgbm", "linear"), time_limit=10, jobs=1, report=False)
    assert run.split["validation"].startswith("one validation split")
    finding = next(f.message for f in run.findings if f.code == "one_holdout")
    assert "a fold, so the folds would take more than half of the 10 s time limit" in finding
    assert calls and all(folds > 1 for folds in calls)  # asked on the folds only: the second search keeps its holdout
    journal = [json.loads(line) for line in (run.folder / "search" / "trials.jsonl").read_text().splitlines()]
    assert [t["name"] for t in journal if t["family"] != "ensemble"] == \
        [t.candidate.name for t in run.trials if t.candidate.family != "ensemble"]
    assert all(len(t["fold_scores"]) <= 1 for t in journal)
    assert run.predictor.predict_proba(make_binary(20).drop(columns="outcome")).shape == (20, 2)
