"""Fold-model bagging: when the best trial's refit would not fit in the time left, the final model averages the
models it fitted on the cross-validation folds, kept in memory for the best trials only."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import trainlab
from conftest import make_binary, make_regression
from trainlab import final
from trainlab.data.prepare import make_features
from trainlab.evaluate.analysis import _distinct_members
from trainlab.final import refit_model
from trainlab.search.budget import SEEDS, Budget, seed_count
from trainlab.search.ensemble import FAMILY_TOP, POOL_SIZE, EnsembleModel
from trainlab.search.scheduler import Scheduler, SearchResult
from trainlab.search.trial import Candidate, TrialResult

RUN = {"time_limit": None, "report": False}


class FoldModelsAtTheEnd:
    """A listener that notes, when the final model is being made, which trials still hold fold models."""

    def __init__(self) -> None:
        self.trials: list[TrialResult] = []
        self.kept: dict[str, list[object]] = {}

    def __call__(self, kind: str, info: dict[str, object]) -> None:
        if kind == "trial_end":
            self.trials.append(info["trial"])  # type: ignore[arg-type]
        elif kind == "stage" and str(info["name"]).startswith(("Refitting", "Averaging")) and not self.kept:
            self.kept = {t.candidate.name: t.fold_models for t in self.trials if t.fold_models is not None}


@pytest.fixture
def no_time_to_refit(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Every refit is estimated to take a day, so no refit fits a 60 s limit; one trial runs before that is known."""
    monkeypatch.setattr(Scheduler, "refit_cost", lambda self, trial, within=None: 86_400.0)
    return {"time_limit": 60, "jobs": 1, "report": False}


def _inner(predictor: trainlab.Predictor) -> object:
    """The model under the gap-filling and calibration wrappers."""
    model = predictor.model
    while hasattr(model, "model"):
        model = model.model
    return model


def test_without_time_to_refit_the_fold_models_are_averaged_and_saved(tmp_path, no_time_to_refit):
    frame = make_binary(300)
    seen = FoldModelsAtTheEnd()
    run = trainlab.train(frame, target="outcome", out_dir=tmp_path, name="bag", models=("lightgbm",), folds=4,
                         listener=seen, **no_time_to_refit)
    model = _inner(run.predictor)
    assert isinstance(model, EnsembleModel) and len(model.members) == 4 * 3  # 4 folds, repeated 3 times on a small table
    assert model.weights == pytest.approx([1 / 12] * 12)
    record = json.loads((run.folder / "run.json").read_text())
    assert record["refit"]["bagged"].startswith("12 models fitted on the validation folds")
    assert record["calibration"]["method"] == "none" and "fold models" in record["calibration"]["reason"]
    fold_models = seen.kept[run.best_model]
    assert all(t.fold_models is None for t in run.trials)  # the Run does not keep them
    rows = frame.drop(columns="outcome").head(50)
    features = make_features(rows, run.schema)
    expected = np.mean([m.output(features) for m in fold_models], axis=0)
    np.testing.assert_allclose(run.predictor.model.output(features), expected)
    # each fold model predicts with the rounds early stopping chose, and says so in the manifest
    manifest = json.loads((run.bundle_path / "manifest.json").read_text())
    assert [m["params"]["n_estimators"] for m in manifest["members"]] == [m.best_rounds for m in fold_models]
    pd.testing.assert_frame_equal(trainlab.load(run.bundle_path).predict_proba(rows), run.predict_proba(rows))


def test_with_time_to_refit_the_best_trial_is_refit(tmp_path):
    run = trainlab.train(make_regression(200), target="price", out_dir=tmp_path, name="refit", models=("linear",),
                         max_trials=1, refit_full=True, **RUN)
    record = json.loads((run.folder / "run.json").read_text())
    assert "bagged" not in record["refit"] and record["refit"]["full"] == "done"
    assert not isinstance(_inner(run.predictor), EnsembleModel)
    # each refit's expected seconds (what decided that it fits) are kept beside the measured ones
    assert {"seconds", "expected_s", "full_expected_s", "full_s"} <= set(record["refit"])
    assert all(record["refit"][k] >= 0 for k in ("seconds", "expected_s", "full_expected_s", "full_s"))


def test_a_second_refit_that_ends_past_its_deadline_is_dropped_and_the_tested_model_kept(tmp_path, monkeypatch):
    """Boosters stop adding trees at the deadline, so --refit-full's refit on every row that ends past its own (a
    slow fake here, given 2 s) may be cut short: it is dropped, and the bundle keeps the model the test rows scored."""
    rows: list[int] = []

    def slow_second_refit(best, search, training, deadline, seconds=float("inf"), seeds=1, until=float("inf"),
                          after=0.0):
        fitted = refit_model(best, search, training, deadline, seconds, seeds, until, after)
        rows.append(len(training.y))
        if len(rows) == 2:
            time.sleep(max(0.0, deadline - time.monotonic()) + 0.05)
        return fitted

    monkeypatch.setattr(final, "refit_model", slow_second_refit)
    monkeypatch.setattr(Budget, "optional_time_left", lambda self: 2.0)
    run = trainlab.train(make_regression(200), target="price", out_dir=tmp_path, name="cut", models=("linear",),
                         max_trials=1, refit_full=True, **RUN)
    record = json.loads((run.folder / "run.json").read_text())
    assert rows == [record["refit"]["rows"], 200] and record["refit"]["rows"] < 200
    assert record["refit"]["full"].startswith("dropped: refitting on all 200 rows reached its 2.00 s deadline")


def _refits_take(monkeypatch: pytest.MonkeyPatch, seconds: float) -> dict[str, object]:
    """Every refit is estimated to take ``seconds`` (on the training rows; a quarter more on every row) of a 120 s
    limit; one trial runs."""
    monkeypatch.setattr(Scheduler, "refit_cost", lambda self, trial, within=None: seconds)
    return {"time_limit": 120, "max_trials": 1, "jobs": 1, "report": False, "refit_full": True}


def test_refit_full_with_time_for_one_refit_tests_the_fold_models_and_refits_once_on_every_row(tmp_path, monkeypatch):
    refits: list[int] = []

    def counted(best, search, training, deadline, seconds=float("inf"), seeds=1, until=float("inf"),
                after=0.0):
        refits.append(len(training.y))
        return refit_model(best, search, training, deadline, seconds, seeds, until, after)

    monkeypatch.setattr(final, "refit_model", counted)
    frame = make_binary(200)  # 160 training rows: 56 s on them, 70 s on all 200; 123 s at most for both
    run = trainlab.train(frame, target="outcome", out_dir=tmp_path, name="once", models=("linear",),
                         **_refits_take(monkeypatch, 56.0))
    record = json.loads((run.folder / "run.json").read_text())
    assert refits == [200]  # no refit on the training rows: the fold models were tested instead
    assert record["refit"]["full"] == "done" and record["refit"]["rows"] == 200
    assert "bagged" not in record["refit"]  # the saved model is the refit, and the card and report say so
    assert "fitted on the validation folds, averaged" in record["refit"]["tested"]
    card = (run.bundle_path / "model_card.md").read_text()
    assert "Final model: refit on every row, test rows included; the test scores are those of the " in card
    assert not isinstance(_inner(run.predictor), EnsembleModel)
    assert record["calibration"].get("reason") != final.BAG_NOT_CALIBRATED  # the refit is calibrated as usual
    assert 0.5 < record["test_metrics"]["roc_auc"] <= 1.0  # the fold models' test scores


def test_refit_full_with_time_for_one_refit_on_a_holdout_tests_its_model_and_refits_once_on_every_row(
        tmp_path, monkeypatch):
    """Long tables validate on one holdout: there the one model fitted on its fitting rows is tested, calibrated as
    its validation outputs say, and the one refit is on every row."""
    from trainlab.data import split

    monkeypatch.setattr(split, "LARGE_DATA_ROWS", 100)  # 160 training rows: one validation holdout
    refits: list[int] = []

    def counted(best, search, training, deadline, seconds=float("inf"), seeds=1, until=float("inf"),
                after=0.0):
        refits.append(len(training.y))
        return refit_model(best, search, training, deadline, seconds, seeds, until, after)

    monkeypatch.setattr(final, "refit_model", counted)
    run = trainlab.train(make_binary(200), target="outcome", out_dir=tmp_path, name="holdout", models=("linear",),
                         **_refits_take(monkeypatch, 56.0))
    record = json.loads((run.folder / "run.json").read_text())
    assert record["split"]["validation"].startswith("one validation split")
    assert refits == [200] and record["refit"]["full"] == "done" and record["refit"]["rows"] == 200
    assert record["refit"]["tested"].startswith("the model fitted on the validation holdout's fitting rows")
    assert record["calibration"].get("reason") != final.BAG_NOT_CALIBRATED
    assert 0.5 < record["test_metrics"]["roc_auc"] <= 1.0


def test_without_time_to_refit_a_holdout_keeps_its_model_rather_than_a_worse_one_that_refits(tmp_path, monkeypatch):
    """Under one validation holdout a trial whose refit does not fit is still chosen when it validates best: its one
    model, fitted on the holdout's fitting rows, is saved as it is (and calibrated, its validation outputs its own)."""
    from trainlab.data import split

    monkeypatch.setattr(split, "LARGE_DATA_ROWS", 100)  # 240 training rows: one validation holdout
    monkeypatch.setattr(Scheduler, "refit_cost",  # only the decision tree, validated worst, has time to refit
                        lambda self, trial, within=None: 0.0 if trial.candidate.family == "decision_tree" else 86_400.0)
    run = trainlab.train(make_binary(300), target="outcome", out_dir=tmp_path, name="holdout",
                         models=("lightgbm", "decision_tree"), time_limit=60, jobs=1, report=False, test_size=0.2)
    record = json.loads((run.folder / "run.json").read_text())
    assert record["split"]["validation"].startswith("one validation split")
    scores = run.leaderboard.set_index("model")["val_roc_auc"]
    assert scores[run.best_model] > scores["decision_tree"] and run.best_model.startswith("lightgbm")
    assert record["refit"]["bagged"].startswith("the model fitted on the validation holdout's fitting rows")
    assert record["calibration"].get("reason") != final.BAG_NOT_CALIBRATED
    rows = make_binary(300).drop(columns="outcome").head(20)
    pd.testing.assert_frame_equal(trainlab.load(run.bundle_path).predict_proba(rows), run.predict_proba(rows))


def test_refit_full_without_time_for_the_refit_on_every_row_keeps_the_tested_fold_models(tmp_path, monkeypatch):
    run = trainlab.train(make_regression(200), target="price", out_dir=tmp_path, name="bagkept", models=("linear",),
                         **_refits_take(monkeypatch, 100.0))  # 125 s on every row: more than the 123 s at most
    record = json.loads((run.folder / "run.json").read_text())
    assert record["refit"]["full"].startswith("skipped: refitting on all 200 rows would take about 125.00 s")
    assert isinstance(_inner(run.predictor), EnsembleModel)  # the averaged fold models the test rows scored
    assert record["refit"]["bagged"].endswith("averaged instead of a refit that would not fit in the time left")
    assert "tested" not in record["refit"]
    features = make_features(make_regression(200).drop(columns="price").head(20), run.schema)
    assert np.isfinite(run.predictor.model.output(features)).all()


def test_refit_full_with_time_for_both_refits_tests_the_refit_on_the_training_rows() -> None:
    split = SimpleNamespace(test=np.arange(40))
    training = SimpleNamespace(y=np.zeros(160), folds=[0, 1, 2])
    config = SimpleNamespace(refit_full=True)
    cost = lambda trial, within: 10.0  # noqa: E731  (10 s on the training rows, 12.5 s on every row)
    assert not final.refit_once(None, cost, 30.0, config, split, training)  # type: ignore[arg-type]
    assert final.refit_once(None, cost, 20.0, config, split, training)  # type: ignore[arg-type]
    one_holdout = SimpleNamespace(y=np.zeros(160), folds=[0])
    assert final.refit_once(None, cost, 20.0, config, split, one_holdout)  # type: ignore[arg-type]
    # time for the refit on the training rows, not for the one on every row: the fold models would be kept, and a
    # holdout's one model is no stand-in for a refit
    assert final.refit_once(None, cost, 12.0, config, split, training)  # type: ignore[arg-type]
    assert not final.refit_once(None, cost, 12.0, config, split, one_holdout)  # type: ignore[arg-type]
    # a holdout's model fitted on a sample of its rows (long tables) is no stand-in either
    assert not final.refit_once(None, cost, 20.0, config, split, one_holdout, sampled=True)  # type: ignore[arg-type]
    assert not final.refit_once(None, cost, 20.0, SimpleNamespace(refit_full=False), split, training)  # type: ignore[arg-type]


def test_the_refit_averages_seeds_of_a_family_whose_fit_depends_on_the_seed_when_the_time_left_holds_them(
        tmp_path, monkeypatch):
    assert [seed_count(1.0, room) for room in (0.5, 1.0, 2.5, 40.0)] == [1, 1, 2, SEEDS]
    # one trial, then the refits; a limit far past what 16 fits of 160 rows take on a busy machine (at 60 s, a CI run
    # beside the Ray tests fitted 12 in the first refit's half of the time left)
    options = {**_refits_take(monkeypatch, 0.01), "time_limit": 600}
    frame = make_binary(200)
    seeded = trainlab.train(frame, target="outcome", out_dir=tmp_path, name="seeded", models=("lightgbm",),
                            **options)
    record = json.loads((seeded.folder / "run.json").read_text())
    assert record["refit"]["seeds"] == SEEDS and record["refit"]["full"] == "done"
    inner = _inner(seeded.predictor)
    assert isinstance(inner, EnsembleModel) and inner.weights == [1 / SEEDS] * SEEDS
    features = make_features(frame.drop(columns="outcome").head(30), seeded.schema)
    first, second = (m.output(features) for m in inner.members[:2])
    assert not np.allclose(first, second)  # each fit drew its own rows and columns
    again = trainlab.load(seeded.folder / "model")  # the bundle holds every seed's fit
    assert np.allclose(again.model.output(features), seeded.predictor.model.output(features))
    plain = trainlab.train(frame, target="outcome", out_dir=tmp_path, name="plain", models=("linear",),
                           **options)
    assert "seeds" not in json.loads((plain.folder / "run.json").read_text())["refit"]  # linear: one fit is all


def test_each_seed_counts_what_it_adds_to_testing_before_another_round_starts(monkeypatch):
    """The model tested after the refit predicts with every seed's fit: a round of seeds starts only when its fit
    and the testing time every seed so far adds end by the time given (fits here take no time)."""
    monkeypatch.setattr(final, "fit_model", lambda *args, **kwargs: object())
    trial = TrialResult(Candidate("lightgbm", "lightgbm", {"n_estimators": 100}), "ok", score=0.9)
    search = SearchResult(trials=[trial])
    training = SimpleNamespace(y=np.zeros(10), schema=None, features=None, weights=None, seed=0, n_jobs=1)
    until = time.monotonic() + 25.0
    _, _, free = refit_model(trial, search, training, float("inf"), seeds=SEEDS, seeds_until=until)
    _, _, costly = refit_model(trial, search, training, float("inf"), seeds=SEEDS, seeds_until=until, seed_after=10.0)
    assert free == SEEDS
    assert costly == 3  # seeds beyond the first add 10 s each: 20 s with three, a fourth would make it 30 s


def test_the_refit_on_every_row_adds_seeds_until_the_time_limit(tmp_path, monkeypatch):
    """The refit on every row (--refit-full) is the run's last fit: its seeds may go on past the count the tested
    refit fitted in its share, up to the time limit, so that the share that refit left unspent is not lost."""
    calls: list[tuple[int, int, float]] = []

    def recorded(best, search, training, deadline, seconds=float("inf"), seeds=1, until=float("inf"),
                 after=0.0):
        calls.append((len(training.y), seeds, until))
        return refit_model(best, search, training, deadline, seconds, min(seeds, 2), until, after)

    monkeypatch.setattr(final, "refit_model", recorded)
    started = time.monotonic()
    run = trainlab.train(make_binary(200), target="outcome", out_dir=tmp_path, name="full", models=("lightgbm",),
                         **{**_refits_take(monkeypatch, 0.01), "time_limit": 60})
    (rows, seeds, until), (full_rows, full_seeds, full_until) = calls
    assert full_rows > rows and seeds == full_seeds == SEEDS
    assert until < full_until <= started + 60  # the tested refit's share, then up to the limit
    record = json.loads((run.folder / "run.json").read_text())["refit"]
    assert record["seeds"] == record["full_seeds"] == 2  # what the fake let each fit
    card = (run.bundle_path / "model_card.md").read_text()
    assert "The saved model averages 2 fits of its configuration, each with its own seed." in card


def test_only_the_ensemble_pool_keeps_its_fold_models_and_forests_never(tmp_path):
    seen = FoldModelsAtTheEnd()
    run = trainlab.train(make_binary(200), target="outcome", out_dir=tmp_path, name="keep",
                         models=("linear", "naive_bayes", "random_forest"), max_trials=2 * FAMILY_TOP + 6,
                         folds=3, listener=seen, **RUN)
    singles = [t for t in run.trials if t.ok and t.candidate.family != "ensemble"]
    kept = [t for t in singles if t.candidate.name in seen.kept]
    assert 0 < len(kept) <= POOL_SIZE * FAMILY_TOP
    assert all(len(models) == 3 * 3 for models in seen.kept.values())
    assert not any(t.candidate.family == "random_forest" for t in kept)
    for family in ("linear", "naive_bayes"):  # the best of each family, no more than FAMILY_TOP of them
        ours = [t for t in kept if t.candidate.family == family]
        others = [t for t in singles if t.candidate.family == family and t not in kept]
        assert 0 < len(ours) <= FAMILY_TOP
        assert not others or len(ours) == FAMILY_TOP
        assert all(t.score <= min(k.score for k in ours) for t in others)  # roc_auc: higher is better


def test_learning_curve_refits_one_model_per_fold_bag(tmp_path, no_time_to_refit):
    run = trainlab.train(make_binary(300), target="outcome", out_dir=tmp_path, name="curve", models=("lightgbm",),
                         folds=3, **no_time_to_refit)
    bag = _inner(run.predictor)
    members, weights = _distinct_members(bag)
    assert len(members) == 1 and weights == pytest.approx([1.0])
    family, params = members[0]
    rounds = [m.best_rounds for m in bag.members]
    assert family == "lightgbm" and params["n_estimators"] == round(np.mean(rounds))


def test_seeds_stop_where_another_round_would_not_end_in_the_time_left(monkeypatch):
    """The refit measures each round of seeds and starts another only when a round as long as the last one would end
    by the time given: with fits that each take 0.5 s (a slow fake) and 3 s given, it stops between the second seed
    and the last of ``SEEDS``, however slow the machine (a round that takes longer only leaves fewer seeds)."""
    def slow_fit(*args, **kwargs):
        time.sleep(0.5)
        return object()

    monkeypatch.setattr(final, "fit_model", slow_fit)
    trial = TrialResult(Candidate("lightgbm", "lightgbm", {"n_estimators": 100}), "ok", score=0.9)
    training = SimpleNamespace(y=np.zeros(10), schema=None, features=None, weights=None, seed=0, n_jobs=1)
    model, _, seeds = refit_model(trial, SearchResult(trials=[trial]), training, float("inf"), seeds=SEEDS,
                                  seeds_until=time.monotonic() + 3.0)
    assert 1 < seeds < SEEDS
    assert isinstance(model, EnsembleModel) and len(model.members) == seeds
    assert model.weights == [1 / seeds] * seeds
