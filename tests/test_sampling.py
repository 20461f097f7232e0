"""Long tables: the sample grows with the time left, and a sampled booster's refit fits the time left."""

from __future__ import annotations

import pickle
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from trainlab.models.registry import ROUNDS_PATIENCE, get_spec
from trainlab.search.budget import Budget
from trainlab.search.sampling import (
    MAX_LEARNING_RATE,
    MIN_ROUNDS,
    REFIT_SHARE,
    SAMPLE_MIN,
    grown_size,
    refit_seconds,
    rounds_for,
    shortest_refit_seconds,
    within_time,
)
from trainlab.search.scheduler import REFIT_GROWTH, Scheduler, SearchResult, refit_rounds_share
from trainlab.search.trial import Candidate, TrialResult


def _trial(rows: int | None, fit_s: float = 1.0, rounds: float | None = 100.0, lr: float = 0.05) -> TrialResult:
    params = {"n_estimators": 2000, "learning_rate": lr, **({"sample_rows": rows} if rows else {})}
    return TrialResult(Candidate("lightgbm", "lightgbm", params), "ok", score=0.9, fit_time_s=fit_s,
                       predict_time_s=0.2, rounds=rounds, fit_rows=rows or 200_000,
                       refit_params={**params, "n_estimators": 1000})


def test_the_first_trial_of_a_family_takes_the_smallest_sample() -> None:
    assert grown_size(None, 200_000, 60.0) == SAMPLE_MIN
    assert grown_size(None, 5_000, 60.0) == 5_000  # never more than the fold has


def test_the_sample_grows_with_the_time_left_and_never_past_the_fold() -> None:
    last = _trial(SAMPLE_MIN, fit_s=1.0)
    sizes = [grown_size(last, 200_000, seconds) for seconds in (5.0, 30.0, 120.0, 600.0, 1e6)]
    assert sizes == sorted(sizes) and sizes[0] == SAMPLE_MIN and sizes[-1] == 200_000
    assert SAMPLE_MIN < sizes[2] < 200_000
    # a trial expected to take a fifth of the seconds left: rows ** 1.8 of the last trial's fit time
    assert abs(grown_size(last, 10**7, 5 * (1.0 * 2**1.8 + 0.2)) - 2 * SAMPLE_MIN) < 50


def test_rounds_grow_in_proportion_for_full_folds_and_slower_from_a_sample() -> None:
    assert rounds_for(100, 800, 1000, sampled=False) == 125
    assert 100 * 10 ** 0.85 < rounds_for(100, 20_000, 200_000, sampled=True) < 100 * 10 ** 0.95


def test_a_sampled_booster_refit_gets_the_rounds_that_fit_at_a_higher_learning_rate() -> None:
    spec = get_spec("lightgbm")
    trial = _trial(SAMPLE_MIN, fit_s=1.0, rounds=100.0)
    params = trial.final_params
    needed = refit_seconds(trial, spec, params, 200_000)
    assert needed is not None and needed > 10  # 1,000 rounds at 10 ms a round on 20,000 rows, more on 200,000
    kept, note = within_time(trial, spec, params, 200_000, needed * 2)
    assert kept == params and note == {"sampled_rows": SAMPLE_MIN, "rounds": 1000}
    changed, note = within_time(trial, spec, params, 200_000, needed / 2)
    assert changed["n_estimators"] == 500 and abs(changed["learning_rate"] - 0.1) < 1e-9
    assert note is not None and note["rounds_wanted"] == 1000 and note["learning_rate_tuned"] == 0.05
    changed, _ = within_time(trial, spec, params, 200_000, needed / 100)
    assert changed["n_estimators"] == 50 and changed["learning_rate"] == MAX_LEARNING_RATE
    # a trial on all of its fold's rows, or a family that does not boost, is refit as it was tuned
    assert within_time(_trial(None), spec, params, 200_000, 0.1) == (params, None)
    assert within_time(trial, get_spec("linear"), params, 200_000, 0.1) == (params, None)


def test_a_sampled_booster_refit_is_worth_making_down_to_the_samples_own_shrinkage() -> None:
    spec = get_spec("lightgbm")
    slow = _trial(SAMPLE_MIN, fit_s=1.0, rounds=100.0, lr=0.05)  # 100 x 0.05 = 5: 17 rounds at 0.3, so MIN_ROUNDS
    needed = refit_seconds(slow, spec, slow.final_params, 200_000)
    assert needed is not None
    assert shortest_refit_seconds(slow, spec, slow.final_params, 200_000) == needed * MIN_ROUNDS / 1000
    fast = _trial(SAMPLE_MIN, fit_s=1.0, rounds=600.0, lr=0.15)  # 600 x 0.15 = 90: 300 rounds at 0.3
    needed = refit_seconds(fast, spec, fast.final_params, 200_000)
    assert needed is not None
    assert abs(shortest_refit_seconds(fast, spec, fast.final_params, 200_000) - needed * 300 / 1000) < 1e-9
    assert shortest_refit_seconds(_trial(None), spec, slow.final_params, 200_000) is None


def test_the_search_and_the_final_choice_plan_a_sampled_booster_refit_alike() -> None:
    """The search keeps back REFIT_SHARE of the limit for the refit; the final choice refits whenever the shortest
    worthwhile refit fits in what is left (the two once disagreed: a 3M-row run kept back time for a refit, then
    averaged the sample's fold models instead)."""
    scheduler = Scheduler.__new__(Scheduler)
    scheduler.data = SimpleNamespace(y=np.zeros(200_000))
    scheduler.budget = Budget(time_limit=60.0)
    trial = _trial(SAMPLE_MIN, fit_s=1.0, rounds=100.0)
    other = TrialResult(Candidate("linear", "linear", {}), "ok", score=0.8, fit_time_s=2.0)
    scheduler.result = SearchResult(trials=[trial, other])
    spec = get_spec("lightgbm")
    needed = refit_seconds(trial, spec, trial.final_params, 200_000)
    shortest = shortest_refit_seconds(trial, spec, trial.final_params, 200_000)
    assert needed is not None and shortest is not None and shortest < REFIT_SHARE * 60 < needed
    assert scheduler.refit_cost(trial) == REFIT_SHARE * 60  # planned: the share, since all rounds would not fit
    assert scheduler.refit_cost(trial, shortest * 1.1) <= shortest * 1.1  # chosen: it adapts to what is left
    assert scheduler.refit_cost(trial, shortest * 0.9) > shortest * 0.9  # not chosen: too little for a worthy refit
    ensemble = TrialResult(Candidate("ensemble", "ensemble", {"members": {"lightgbm": 0.5, "linear": 0.5}}), "ok")
    assert scheduler.refit_cost(ensemble, 100.0) == min(needed, 50.0) + 1.2 * 2.0  # its members' refits


def test_a_booster_refit_is_expected_to_fit_its_best_rounds_not_those_its_folds_fitted_past_them() -> None:
    """A fold stopped ROUNDS_PATIENCE rounds past its best; the refit on all rows fits the best rounds (grown with
    the rows) and scores no validation rows, so it is expected to take that share of the fold's fit."""
    scheduler = Scheduler.__new__(Scheduler)
    trial = _trial(None, fit_s=1.0, rounds=100.0)  # best at 100 of the 150 fitted; the refit fits 1,000
    assert refit_rounds_share(trial) == pytest.approx(1000 / (100 + ROUNDS_PATIENCE))
    assert scheduler.refit_cost(trial) == pytest.approx(REFIT_GROWTH * 1000 / 150)
    capped = replace(trial, candidate=replace(trial.candidate, params={"n_estimators": 120}),
                     refit_params={"n_estimators": 125})
    assert refit_rounds_share(capped) == pytest.approx(125 / 120)  # its folds fitted 120 rounds at most
    linear = TrialResult(Candidate("linear", "linear", {}), "ok", score=0.8, fit_time_s=2.0)
    assert refit_rounds_share(linear) == 1.0 and scheduler.refit_cost(linear) == REFIT_GROWTH * 2.0


def test_a_sampled_refit_without_rounds_grows_with_the_rows_as_the_cost_model_says() -> None:
    """A family that does not early-stop (no rounds to count) was expected to refit on all rows in proportion to
    them; fits grow more slowly, and the cost model's rows slopes say by how much."""
    rows = 200_000
    scheduler = Scheduler.__new__(Scheduler)
    scheduler.data = SimpleNamespace(y=np.zeros(rows), features=pd.DataFrame(np.zeros((5, 8))),
                                     schema=SimpleNamespace(by_role=lambda role: []),
                                     context=SimpleNamespace(n_classes=2),
                                     folds=[(np.arange(160_000), np.arange(160_000, rows))])
    scheduler.budget = Budget(time_limit=60.0)
    spec = get_spec("hist_gradient_boosting")
    trial = TrialResult(Candidate("hgb", spec.key, {**spec.defaults, "sample_rows": 20_000}), "ok", score=0.9,
                        fit_time_s=2.0)
    scheduler.result = SearchResult(trials=[trial])
    proportional = 1.2 * 2.0 * rows / 20_000
    assert 1.2 * 2.0 < scheduler.refit_cost(trial) < proportional / 2
    scheduler.budget = Budget(time_limit=None)  # no time limit, no cost model: in proportion to the rows
    assert scheduler.refit_cost(trial) == pytest.approx(proportional)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_a_booster_stops_adding_trees_at_the_fit_deadline(family: str) -> None:
    from trainlab.models.registry import FIT_DEADLINE

    spec = get_spec(family)
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    y = (x["a"] + rng.normal(size=2000) > 0).astype(int).to_numpy()
    token = FIT_DEADLINE.set(time.monotonic() - 1)  # already past: a tree or two, then it stops
    try:
        late = spec.build("binary", {spec.rounds_param: 500}, 0, 1).fit(x, y)
    finally:
        FIT_DEADLINE.reset(token)
    assert _trees(late) < 5
    assert _trees(spec.build("binary", {spec.rounds_param: 20}, 0, 1).fit(x, y)) == 20
    pickle.dumps(late)  # a fold model travels back from its worker


def _trees(model: object) -> int:
    inner = model.model_  # type: ignore[attr-defined]
    if hasattr(inner, "booster_"):
        return int(inner.booster_.num_trees())
    if hasattr(inner, "get_booster"):
        return int(inner.get_booster().num_boosted_rounds())
    return int(inner.tree_count_)


def test_a_long_table_is_searched_on_growing_samples_and_refit_on_every_row(tmp_path, monkeypatch) -> None:
    """The thresholds shrunk so that 3,000 rows count as long: the run says what was sampled, and the final
    model was refit on all training rows."""
    import json

    import trainlab
    from conftest import make_binary
    from trainlab.search import sampling, shape

    monkeypatch.setattr(shape, "LARGE_ROWS", 1000)
    monkeypatch.setattr(shape, "SAMPLE_ROWS", 500)
    monkeypatch.setattr(sampling, "SAMPLE_MIN", 500)
    run = trainlab.train(make_binary(n=3000), target="outcome", time_limit=20, models=("lightgbm", "linear"),
                         out_dir=tmp_path, report=False, jobs=1)
    record = json.loads((run.folder / "run.json").read_text())
    codes = {f["code"]: f["message"] for f in record["findings"]}
    assert "large_table" in codes and "sampled_trials" in codes
    sizes = [t.candidate.params["sample_rows"] for t in run.trials if t.candidate.family != "ensemble"]
    assert sizes[0] == 500 and all(500 <= s <= 2400 for s in sizes)  # 3,000 rows: 2,400 train, 1,920 per fold
    assert run.trials[0].candidate.family == "lightgbm"  # boosters first
    assert record["refit"]["rows"] == len(run.split["train"]) if isinstance(run.split.get("train"), list) else True
    assert run.timings["first_model_s"] is not None
    assert set(run.predict(make_binary(n=20, seed=1).drop(columns="outcome"))) <= {"good", "bad"}
