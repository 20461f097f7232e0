"""Long tables: the sample grows with the time left, and a sampled booster's refit fits the time left."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from trainlab.models.registry import get_spec
from trainlab.search.sampling import MAX_LEARNING_RATE, SAMPLE_MIN, grown_size, refit_seconds, rounds_for, within_time
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


def test_lightgbm_stops_adding_trees_at_the_fit_deadline() -> None:
    from trainlab.models.lightgbm import LightGBMModel
    from trainlab.models.registry import FIT_DEADLINE

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    y = (x["a"] + rng.normal(size=2000) > 0).astype(int)
    token = FIT_DEADLINE.set(time.monotonic() - 1)  # already past: one tree, then it stops
    try:
        model = LightGBMModel(task="binary", params={"n_estimators": 500}).fit(x, y)
    finally:
        FIT_DEADLINE.reset(token)
    assert model.booster_.num_trees() < 5
    assert LightGBMModel(task="binary", params={"n_estimators": 20}).fit(x, y).booster_.num_trees() == 20


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
