"""The learned portfolio and the cost model: what ships, how it is built, and how the search uses them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.models.registry import REGISTRY
from trainlab.search import cost, portfolio
from trainlab.search.scheduler import Scheduler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.portfolio import build
from bench.portfolio.build import greedy, leave_one_out


def _table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": np.where(x1 - x2 + rng.normal(size=n) > 0, "yes", "no")})


def test_the_shipped_portfolio_holds_registered_families_with_parameters_of_their_space() -> None:
    entries = portfolio.entries()
    assert len(entries) >= 5
    assert len({e["id"] for e in entries}) == len(entries)
    for entry in entries:
        spec = REGISTRY[entry["family"]]
        assert set(entry["params"]) <= set(spec.space), entry["id"]


def test_portfolio_candidates_run_every_family_once_at_least_and_name_the_portfolio_ones() -> None:
    families = [REGISTRY[k] for k in ("linear", "decision_tree", "lightgbm", "knn")]
    candidates = portfolio.portfolio_candidates(families)
    assert {c.family for c in candidates} == {"linear", "decision_tree", "lightgbm", "knn"}
    assert len({c.name for c in candidates}) == len(candidates)
    tuned = [c for c in candidates if c.source == "portfolio"]
    assert tuned and all(c.name.startswith(f"{c.family}_p") for c in tuned)
    assert candidates[0].family == "decision_tree"  # the cheapest family the portfolio lacks runs first


def test_greedy_selection_picks_the_configuration_that_covers_what_the_chosen_ones_miss() -> None:
    table = {"a": {"x": 0.0, "y": 1.0, "z": 0.4}, "b": {"x": 1.0, "y": 0.0, "z": 0.4}, "c": {"x": 0.0, "y": 1.0, "z": 0.4}}
    configs = {c: {"id": c, "family": "f", "params": {}, "cost": {d: 1.0 for d in "abc"}} for c in "xyz"}
    assert greedy(table, configs, size=5) == ["x", "y"]  # z never lowers the best error once x and y are in
    rows = {r["dataset"]: r for r in leave_one_out(table, configs, size=5, firsts=(1,))}
    assert rows["b"]["in_1"] == 1.0 and rows["b"]["lodo_1"] == 1.0  # without b, x alone still leads
    assert rows["a"]["lodo_1"] == 0.4  # without a, b and c disagree on x and y: the compromise z comes first


def test_a_portfolio_built_without_a_dataset_holds_none_of_its_trials(tmp_path: Path) -> None:
    assert build.main(["--leave-out", "penguins", "--out", str(tmp_path)]) == 0
    built = json.loads((tmp_path / "portfolio.json").read_text())
    assert "penguins" not in built["built_from"]["datasets"] and len(built["built_from"]["datasets"]) >= 10
    shipped = json.loads((Path(portfolio.__file__).with_name("portfolio.json")).read_text())
    assert built["built_from"]["trials"] < shipped["built_from"]["trials"]
    assert set(json.loads((tmp_path / "costs.json").read_text())["families"]) >= {"lightgbm", "linear"}


def test_greedy_selection_weighs_what_a_configuration_gains_against_what_it_costs() -> None:
    table = {"a": {"slow": 0.0, "fast": 0.1}, "b": {"slow": 0.0, "fast": 0.1}}
    configs = {"slow": {"id": "slow", "family": "f", "params": {}, "cost": {"a": 10.0, "b": 10.0}},
               "fast": {"id": "fast", "family": "f", "params": {}, "cost": {"a": 1.0, "b": 1.0}}}
    assert greedy(table, configs, size=5) == ["fast", "slow"]  # nearly as good at a tenth of the time comes first


def test_the_cost_model_expects_more_rows_to_take_longer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "machine_factor", lambda: 1.0)
    small = cost.predict_seconds("lightgbm", {"rows": 1_000, "columns": 10, "classes": 2, "folds": 5}, {})
    large = cost.predict_seconds("lightgbm", {"rows": 100_000, "columns": 10, "classes": 2, "folds": 5}, {})
    assert small is not None and large is not None and large > 3 * small
    assert cost.predict_seconds("no_such_family", {"rows": 10, "columns": 1, "classes": 2}, {}) is None


def test_the_cost_model_grows_faster_past_the_rows_where_fixed_costs_stop_hiding_the_fit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "machine_factor", lambda: 1.0)

    def seconds(family: str, fit_rows: int) -> float:
        shape = {"rows": fit_rows, "fit_rows": fit_rows, "columns": 10, "classes": 0, "folds": 1, "levels": 20}
        value = cost.predict_seconds(family, shape, {})
        assert value is not None
        return value

    knee = cost.KNEE_ROWS
    for family in ("catboost", "lightgbm", "random_forest"):
        below = seconds(family, knee) / seconds(family, knee // 8)
        above = seconds(family, knee * 8) / seconds(family, knee)
        assert above > below, family  # the same eightfold growth of the rows costs more past the knee


def test_the_cost_model_expects_catboost_to_slow_down_with_the_category_levels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cost, "machine_factor", lambda: 1.0)
    frame = pd.DataFrame({"few": ["a", "b"] * 200, "many": [f"v{i}" for i in range(400)], "x": np.arange(400)})
    assert cost.category_levels(frame, ["few", "many", "absent"]) == 2 + cost.LEVELS_PER_COLUMN
    shape = {"rows": 2_000, "columns": 40, "classes": 0, "folds": 5}
    numeric = cost.predict_seconds("catboost", {**shape, "levels": 0}, {})
    categorical = cost.predict_seconds("catboost", {**shape, "levels": 300}, {})
    assert numeric is not None and categorical is not None and categorical > 3 * numeric


def test_the_search_corrects_the_cost_model_by_how_far_off_it_was_on_a_family_in_this_run() -> None:
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.budget import Budget
    from trainlab.search.scheduler import PLANS, TIMED_MIN_S
    from trainlab.search.trial import Candidate, TrialResult

    config = make_config("y", time_limit=60, seed=0)
    checked = check_data(_table(), config)
    training = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    scheduler = Scheduler(training, Budget(time_limit=60.0), PLANS["best"], executor=None)  # type: ignore[arg-type]
    booster, linear = Candidate("lightgbm_p1", "lightgbm", {"num_leaves": 63}), Candidate("linear", "linear", {})
    modelled = {c.name: scheduler.predicted_time(c) for c in (booster, linear)}
    assert all(modelled.values())

    def fold_of(candidate: Candidate, seconds: float, status: str = "ok", timed: int = 0) -> TrialResult:
        return TrialResult(candidate, status, fit_time_s=seconds, fold_scores=[0.5] * timed)

    folds = len(training.folds)
    per_fold = 4 * TIMED_MIN_S  # the first LightGBM trial took folds of 4 s: 4 s over the model's per fold
    factor = per_fold * folds / scheduler.predicted_time(Candidate("lightgbm", "lightgbm", {}))  # type: ignore
    scheduler.result.trials.append(fold_of(Candidate("lightgbm", "lightgbm", {}), per_fold))
    assert scheduler.predicted_time(booster) == pytest.approx(factor * modelled["lightgbm_p1"])
    assert scheduler.predicted_time(linear) == pytest.approx(modelled["linear"])  # another family: as modelled
    # a trial stopped after two folds counts the mean of those; one with no timed fold, or quick folds, does not
    scheduler.result.trials.append(fold_of(Candidate("lightgbm_p2", "lightgbm", {}), 2 * per_fold, "failed", timed=2))
    scheduler.result.trials.append(fold_of(Candidate("lightgbm_p3", "lightgbm", {}), 99.0, "failed"))
    scheduler.result.trials.append(fold_of(Candidate("lightgbm_p4", "lightgbm", {}), TIMED_MIN_S / 2))
    assert scheduler.predicted_time(booster) == pytest.approx(factor * modelled["lightgbm_p1"])


def test_a_costly_candidate_waits_while_the_first_trial_of_its_family_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.budget import Budget
    from trainlab.search.scheduler import PLANS
    from trainlab.search.trial import Candidate, TrialResult

    config = make_config("y", time_limit=100, seed=0)
    checked = check_data(_table(), config)
    training = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    scheduler = Scheduler(training, Budget(time_limit=100.0), PLANS["best"], executor=None)  # type: ignore[arg-type]
    monkeypatch.setattr(scheduler, "predicted_time", lambda c: 40.0 if c.family == "catboost" else 1.0)
    boosted, linear = Candidate("catboost", "catboost", {}), Candidate("linear", "linear", {})
    scheduler.running["catboost"] = 1  # the first CatBoost trial is running: its times are not known yet
    pending = [boosted, linear]
    assert scheduler._take(pending, 1) == [linear] and pending == [boosted]
    scheduler.result.trials.append(TrialResult(Candidate("catboost_p3", "catboost", {}), "ok", fit_time_s=9.0))
    assert scheduler._take([boosted, linear], 1) == [boosted]  # a CatBoost trial ended: the order is the portfolio's
    scheduler.result.trials.clear()
    scheduler.running["catboost"] = 0
    assert scheduler._take([boosted, linear], 1) == [boosted]  # none in flight: nothing to wait for


def test_a_costly_candidate_of_a_family_that_lags_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.budget import Budget
    from trainlab.search.scheduler import LAGGING_SHARE, PLANS
    from trainlab.search.trial import Candidate, TrialResult

    config = make_config("y", time_limit=100, seed=0)
    checked = check_data(_table(), config)
    training = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    plan = PLANS["balanced"]
    scheduler = Scheduler(training, Budget(time_limit=100.0), plan, executor=None)  # type: ignore[arg-type]
    costly = 0.9 * scheduler.budget.remaining()
    monkeypatch.setattr(scheduler, "predicted_time", lambda c: costly if c.name.endswith("_p2") else 0.1)
    families = ["lightgbm", "xgboost", "linear", "catboost", "knn"][: plan.tune_families + 2]
    for rank, family in enumerate(families):  # roc_auc: the first family leads, the last lags most
        scheduler.result.trials.append(TrialResult(Candidate(family, family, {}), "ok", score=0.9 - rank / 100))
    lagging, leading = families[plan.tune_families], families[0]
    pending = [Candidate(f"{lagging}_p2", lagging, {}), Candidate(f"{lagging}_p1", lagging, {}),
               Candidate(f"{leading}_p2", leading, {}), Candidate("svm_p2", "svm", {})]
    taken = scheduler._take(pending, 4)
    assert [c.name for c in taken] == [f"{lagging}_p1", f"{leading}_p2", "svm_p2"]  # cheap, leading, untried
    why = scheduler.result.skipped[f"{lagging}_p2"]
    assert f"more than {LAGGING_SHARE:.0%}" in why and f"{lagging} ranks {plan.tune_families + 1} of" in why


def test_the_machine_probe_is_cached_per_machine_and_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cost._probe_seconds.cache_clear()
    calls = []
    monkeypatch.setattr(cost, "probe", lambda: calls.append(1) or 1e6)  # a machine a million times slower
    try:
        assert cost.machine_factor() == cost.FACTOR_RANGE[1]
        cost._probe_seconds.cache_clear()
        cost.machine_factor()
        assert len(calls) == 1  # the second process reads the cache
        assert json.loads((tmp_path / "trainlab" / "probe.json").read_text())["seconds"] == 1e6
    finally:
        cost._probe_seconds.cache_clear()


def test_a_timed_run_on_a_plain_table_runs_the_portfolio_and_skips_what_would_not_fit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = Scheduler.predicted_time

    def slow_forest(self: Scheduler, candidate: object) -> float | None:  # a slow fake: forests "take a day"
        return 86_400.0 if candidate.family == "random_forest" else real(self, candidate)  # type: ignore[attr-defined]

    monkeypatch.setattr(Scheduler, "predicted_time", slow_forest)
    run = trainlab.train(_table(), target="y", time_limit=15, models=("linear", "lightgbm", "random_forest"),
                         out_dir=tmp_path, report=False)
    sources = {t.candidate.source for t in run.trials}
    assert "portfolio" in sources
    forests = {name: why for name, why in run.skipped.items() if name.startswith("random_forest")}
    assert forests and all("cost model" in why for why in forests.values())
    assert not any(t.candidate.family == "random_forest" for t in run.trials)


def test_a_trial_budget_keeps_each_family_default_first_and_no_portfolio(tmp_path: Path) -> None:
    run = trainlab.train(_table(), target="y", max_trials=3, models=("linear", "lightgbm"), out_dir=tmp_path,
                         report=False)
    assert [t.candidate.source for t in run.trials[:2]] == ["default", "default"]
    assert "portfolio" not in {t.candidate.source for t in run.trials}


def test_a_table_much_longer_than_the_portfolio_was_learned_on_runs_each_default_first(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(portfolio, "learned_rows", lambda: 50)  # 240 training rows > 2 x 50
    run = trainlab.train(_table(), target="y", time_limit=8, models=("linear", "decision_tree"), out_dir=tmp_path,
                         report=False)
    assert run.trials[0].candidate.source == "default"
    assert "portfolio" not in {t.candidate.source for t in run.trials}
