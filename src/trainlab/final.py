"""The final model of a run: the best trial whose refit fits the time left, calibrated, refit (or its fold models
averaged), given its decision threshold and gap filling, and tested once on the held-out rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from trainlab.bundle.io import Model
from trainlab.config import TrainConfig
from trainlab.data.checks import CheckedData
from trainlab.data.prepare import make_features
from trainlab.data.schema import Schema
from trainlab.data.split import Split
from trainlab.errors import TrainlabError
from trainlab.evaluate.assess import assess_rows
from trainlab.evaluate.metrics import Context, compute_metrics
from trainlab.evaluate.threshold import choose_threshold
from trainlab.models.calibration import calibrate_oof, calibrated, choose_calibration
from trainlab.models.fitted import fit_model
from trainlab.models.missing import with_gap_filling
from trainlab.models.registry import get_spec
from trainlab.search.budget import SEEDS, Budget
from trainlab.search.ensemble import EnsembleModel, fold_bag, members_of
from trainlab.search.sampling import within_time
from trainlab.search.scheduler import Listener, SearchResult, seeds_apply
from trainlab.search.trial import TrainingData, TrialResult

AFTER_PREDICTS = 4.0
"""Testing and saving the final model take about this many times as long as its prediction of the test rows, which
the refit leaves time for (``after_refit_seconds``): a 5-class LightGBM of 5,100 trees refit on 43,200 rows predicted
its 4,800 test rows in 0.68 s, and testing and saving it took 2.6 s after the refit, where 0.66 s had been kept back;
a 30 s run ended at 33.4 s."""
BAG_NOT_CALIBRATED = ("the model averages the fold models; a calibrator fitted on single fold models' "
                      "out-of-fold outputs would over-correct their smoother average")


@dataclass
class Final:
    """The model to save and what was decided on the way: calibration, threshold, test scores, refits."""

    best: TrialResult
    model: Model
    test_metrics: dict[str, float]
    threshold: dict[str, Any] | None
    calibration: dict[str, Any] | None
    refit: dict[str, Any]
    assessment: dict[str, Any]
    test_output: np.ndarray | None
    """The saved model's output on the test rows; None when it was refit on them afterwards (--refit-full)."""


def finish(search: SearchResult, refit_cost: Callable[[TrialResult, float], float], checked: CheckedData, split: Split,
           training: TrainingData, config: TrainConfig, budget: Budget, notify: Listener,
           training_for: Callable[[Split], TrainingData]) -> Final:
    """Pick the best trial whose refit fits the time left, calibrate it, refit it on the training rows, test it
    once, and with --refit-full refit it again on every row when the measured first refit says that still fits
    (``training_for`` makes the training data of a split: here, of every row).

    Only the first refit must fit for a trial to be chosen: the second (--refit-full) adds a tenth of the rows,
    worth less than choosing a better model. Under k-fold validation a trial whose refit would not fit may still
    be chosen when its fold models were kept: they are averaged instead (bagging); under one validation holdout,
    its one model is kept as fitted, unless that fitted on a sample of the rows. A refit is preferred where
    there is time: in one 30 s benchmark run with the fold models as the default final model, hpc_jobs' log
    loss went from 0.372 to 0.404 (averaged fold models are not calibrated, see ``BAG_NOT_CALIBRATED``) and
    lending_club's AUC from 0.784 to 0.774, while penguins went from 0.038 to 0.029.

    With --refit-full, when the time left holds one refit but not both, the averaged fold models (under one
    validation holdout, its one model) are tested in place of the first and the one refit is on every row
    (``refit_once``), so that it is the refit on every row
    that runs: the rows held out for the test may be the ones the model most needs (ames_housing, model seed 2,
    30 s: of the three houses over 4,000 sq ft among the training rows, the one sold cheaply fell in the test rows,
    the second refit was skipped for time, and the harness RMSE was 31,071 against 23,201-24,522 with seeds 0 and
    1). At 30 s on the 19 harness tables this took hotel_rates from 12.28 to 12.09 and ames_housing (seed 0) from
    24,522 to 24,121; ames_housing with seed 2 still ended at 30,556, its refit on every row expected to take longer
    than the time left.
    """
    schema, metric = checked.schema, training.metric
    time_left = budget.refit_time_left()

    def refit_fits(trial: TrialResult) -> bool:
        return refit_cost(trial, time_left) + after_refit_seconds(trial, training, len(split.test)) <= time_left

    def bag_fits(trial: TrialResult) -> bool:
        # a holdout's one model scored as its validation score says, unless it fitted on a sample of the rows (long
        # tables), where the other trials' refits on all rows would beat what their sampled scores say
        holdout_kept = has_media(schema) or not any(m.sampled for m, _ in members_of(trial, search.trials))
        return (len(training.folds) > 1 or holdout_kept) and fold_bag(trial, search.trials) is not None

    best = best_trial(search, metric.greater_is_better, lambda t: refit_fits(t) or bag_fits(t))
    bag = None if refit_fits(best) else fold_bag(best, search.trials)
    once = False
    on_sample = any(m.sampled for m, _ in members_of(best, search.trials))
    if bag is None and refit_once(best, refit_cost, time_left, config, split, training, on_sample):
        bag = fold_bag(best, search.trials)
        once = bag is not None
    if schema.task == "regression":
        calibrator, calibration = None, None
    elif bag is not None and len(training.folds) > 1 and not once:
        calibrator, calibration = None, {"method": "none", "reason": BAG_NOT_CALIBRATED}
    else:
        calibrator, calibration = choose_calibration(best.oof, training.y, training.context.n_classes,
                                                     training.weights, config.seed)
    most = final_seeds(best, search, budget)
    seeds = most if bag is None else 1
    refit_start = time.monotonic()
    sampled: list[dict[str, Any]] = []
    if bag is not None:
        if once:
            notify("stage", {"name": f"Testing {fold_models(bag)} of {best.candidate.name} before the one refit on "
                                     "every row"})
        else:
            notify("stage", {"name": f"Averaging the {len(bag.members)} fold models of {best.candidate.name} (no time "
                                     "to refit it) and testing them"})
        inner: Model = bag
    else:
        averaging = f" (averaging up to {seeds} seeds)" if seeds > 1 else ""
        notify("stage", {"name": f"Refitting {best.candidate.name} on all training rows{averaging} and testing it"})
        # a sampled booster's rounds are planned to end within the limit; the slack is the deadline's backstop
        after = after_refit_seconds(best, training, len(split.test))
        deadline = time.monotonic() + budget.refit_time_left() - after
        planned = max(0.0, budget.refit_time_left(slack=False) - after)
        # the seeds of the first refit leave the refit on every row (--refit-full) its share of the time
        until = time.monotonic() + planned / budget.refits
        seed_after = sum(after_refit_seconds(m, training, len(split.test)) for m, _ in members_of(best, search.trials)
                         if seeds_apply(m))
        inner, sampled, seeds = refit_model(best, search, training, deadline, planned, seeds, until, seed_after)
    # averaged fold models are never calibrated; a holdout's one model is, as its validation outputs are its own
    averaged = bag is not None and len(bag.members) > 1
    tested_calibrator = None if once and averaged else calibrator
    model = with_gap_filling(calibrated(inner, tested_calibrator), training.features, config.seed)
    refit: dict[str, Any] = {"rows": len(training.y), "seconds": round(time.monotonic() - refit_start, 3)}
    if bag is None:  # the cost model's estimate beside the measured refit: how far off it is, run after run
        refit["expected_s"] = round(refit_cost(best, time_left), 3)
    if sampled:
        refit["sampled"] = sampled
    if seeds > 1:
        refit["seeds"] = seeds
    if bag is not None:
        refit["bagged"] = (f"{len(bag.members)} models fitted on the validation folds, averaged instead of a refit "
                           "that would not fit in the time left" if averaged else
                           f"{fold_models(bag)}, instead of a refit that would not fit in the time left")
        tested = f"{fold_models(bag)} (the time left held one refit, made on every row)"
    threshold = choose_threshold(training.y, calibrate_oof(tested_calibrator, best.oof), training.context, metric.name)
    scores, assessment, output = test_metrics(model, checked.frame.iloc[split.test], schema, config, threshold)
    if config.refit_full and (bag is None or once):  # fold models cannot take in the test rows
        everything = training_for(all_rows(split))
        per_row = (refit_cost(best, time_left) if once else refit["seconds"]) / max(1, len(training.y))
        spare = budget.refit_time_left() if once else budget.optional_time_left()
        full_start, needed = time.monotonic(), per_row * len(everything.y)
        again, refit["full"], full_seeds = refit_everything(best, search, everything, needed, spare, notify,
                                                            most, budget.refit_time_left(slack=False))
        refit["full_expected_s"] = round(needed, 3)
        if again is not None:
            refit["full_s"] = round(time.monotonic() - full_start, 3)
            if most > 1:  # a seeded model: how many the saved refit averages (the tested one's are "seeds")
                refit["full_seeds"] = full_seeds
            model = with_gap_filling(calibrated(again, calibrator), everything.features, config.seed)
            refit["rows"] = len(everything.y)
            if once:  # the saved model is the refit; the test scores are the fold models'
                del refit["bagged"]
                refit["tested"] = tested
                refit["seconds"] = round(time.monotonic() - refit_start, 3)
                threshold = choose_threshold(training.y, calibrate_oof(calibrator, best.oof), training.context,
                                             metric.name)
        elif once and averaged:
            calibration = None if schema.task == "regression" else {"method": "none", "reason": BAG_NOT_CALIBRATED}
    return Final(best, model, scores, threshold, calibration, refit, assessment,
                 None if refit.get("full") == "done" else output)


def refit_once(best: TrialResult, refit_cost: Callable[[TrialResult, float], float], time_left: float,
               config: TrainConfig, split: Split, training: TrainingData, sampled: bool = False) -> bool:
    """Whether --refit-full should test the fold models (averaged; under one validation holdout, the one model fitted
    on its fitting rows) and refit once, on every row: when the time left holds the refit on the training rows but
    not that and the one on every row. Under a holdout, only when the time left holds the refit on every row: its one
    model, fitted on a part of the training rows, is no stand-in for a refit. Before the holdout was let in, diamonds
    (38,836 training rows) at 120 s refit its CatBoost on the training rows in 23.6 s, then skipped the refit on every
    row (26.2 s expected, 23.1 s left), and the run ended at 102 s. Never when the holdout's model was fitted on a
    sample of its rows (``sampled``, long tables): should the refit on every row be dropped, that model would be kept
    (nyc_flights at 60 s, one harness run of three: test AUC 0.919, where its refits on all rows scored 0.938)."""
    if not config.refit_full or (sampled and len(training.folds) < 2):
        return False
    first = refit_cost(best, time_left)
    every = first * (len(training.y) + len(split.test)) / max(1, len(training.y))
    if len(training.folds) < 2 and every > time_left:  # the holdout's one model is kept only as the tested one
        return False
    return first + every > time_left


def fold_models(bag: EnsembleModel) -> str:
    """What a model made of a trial's fold models is, in words."""
    if len(bag.members) == 1:
        return "the model fitted on the validation holdout's fitting rows"
    return f"the {len(bag.members)} models fitted on the validation folds, averaged"


def refit_everything(best: TrialResult, search: SearchResult, everything: TrainingData, needed: float, spare: float,
                     notify: Listener, seeds: int = 1, to_limit: float = 0.0) -> tuple[Model | None, str, int]:
    """--refit-full's refit on every row within ``spare`` seconds, what became of it, and how many seeds it
    averaged: None when it was skipped (``needed`` is more) or reached its deadline, where boosters stop adding trees.

    It is the last fit of the run: its rounds of seeds (``seeds`` at most) go on while the next would end within
    ``to_limit`` seconds (the time limit, saving's reserve set aside) or within ``needed`` (what the tested refit's
    seeds took, in proportion to the rows), so that the time the first refit's share left unspent is not lost. A
    round is the whole model refit with one more seed, so the first refit, given its share of the time, often ends a
    round early: on chem97_score at 30 s it averaged 2 seeds in 4.2 s, and the refit on every row, 2 seeds in 3.6 s,
    ended the run at 26.4 s."""
    rows = len(everything.y)
    if needed > spare:
        return None, (f"skipped: refitting on all {rows} rows would take about {needed:,.2f} s, more than the "
                      f"{spare:,.2f} s left"), 0
    notify("stage", {"name": "Refitting on all rows, test rows included"})
    now = time.monotonic()
    deadline = now + spare
    again, _, fitted = refit_model(best, search, everything, deadline, spare, seeds, now + max(needed, to_limit))
    if time.monotonic() > deadline:
        return None, (f"dropped: refitting on all {rows} rows reached its {spare:,.2f} s deadline, where boosters "
                      "stop adding trees; the tested model is kept"), 0
    return again, "done", fitted


def all_rows(split: Split) -> Split:
    """The same split with every row on the training side (for the final refit of --refit-full)."""
    everything = np.sort(np.concatenate([split.train, split.test]))
    return Split(kind=split.kind, train=everything, test=split.test[:0], folds=[])


def after_refit_seconds(trial: TrialResult, training: TrainingData, test_rows: int) -> float:
    """Seconds testing and saving a refit of ``trial`` is expected to take: ``AFTER_PREDICTS`` times its prediction of
    ``test_rows`` rows, scaled from how long its fold models took to predict their validation rows."""
    valid_rows = sum(len(valid) for _, valid in training.folds) / max(1, len(training.folds))
    return AFTER_PREDICTS * trial.predict_time_s * test_rows / max(1.0, valid_rows)


def refit_model(best: TrialResult, search: SearchResult, training: TrainingData, deadline: float,
                seconds: float = float("inf"), seeds: int = 1, seeds_until: float = float("inf"),
                seed_after: float = 0.0) -> tuple[Model, list[dict[str, Any]], int]:
    """The best model refit on all training rows: one family, or every member of the ensemble; families that can
    stop early stop at ``deadline``. A member whose fit depends on the seed (``seeds_apply``) is fitted up to
    ``seeds`` times, with seeds from the run's own, and the fits averaged; a round of seeds starts only when the
    last one says it would end by ``seeds_until`` (a monotonic time), each seed's fit also adding ``seed_after``
    seconds to what follows (testing the model predicts with every fit), so that seeds never cut a booster short.
    Members that were tuned on a sample of the rows (long tables) are given the rounds all rows need, as many as fit
    ``seconds`` (shared between members; ``search.sampling.within_time``); the second value says, per such member,
    what it was given; the third, how many seeds were fitted."""
    t = training
    parts = members_of(best, search.trials)
    plans, notes = [], []
    for m, _ in parts:
        spec = get_spec(m.candidate.family)
        params, note = within_time(m, spec, m.final_params, len(t.y), seconds / len(parts))
        if note is not None:
            notes.append({"model": m.candidate.name, **note})
        plans.append((spec, params))
    fits: list[list[Any]] = [[] for _ in parts]
    rounds = 0
    while rounds < seeds:
        began = time.monotonic()
        for (m, _), (spec, params), fitted in zip(parts, plans, fits, strict=True):
            if rounds == 0 or seeds_apply(m):
                fitted.append(fit_model(spec, params, t.schema, t.features, t.y, t.weights, t.seed + rounds,
                                        t.n_jobs, deadline=deadline))
        rounds += 1
        now = time.monotonic()
        if now + (now - began) + rounds * seed_after > seeds_until:
            break
    members = [f for group in fits for f in group]
    weights = [weight / len(group) for (_, weight), group in zip(parts, fits, strict=True) for _ in group]
    model = members[0] if len(members) == 1 else EnsembleModel(members, weights)
    return model, notes, rounds


def final_seeds(best: TrialResult, search: SearchResult, budget: Budget) -> int:
    """The most seeds' fits the refit may average: ``budget.SEEDS`` under a time limit when a member's fit depends on
    the seed, and how many of them are fitted is then up to the time left, measured round by round (``refit_model``'s
    ``seeds_until``); 1 without a time limit (a trial budget alone says what a run spends: its refits are not
    multiplied unasked), or when no member's fit depends on the seed. Planned on the cost model's estimate of a
    refit instead, nass_cds at 120 s expected 8.1 s a seed, fitted 2 seeds in 7.1 s, and the run ended at 97 s."""
    if budget.time_limit is None or not any(seeds_apply(m) for m, _ in members_of(best, search.trials)):
        return 1
    return SEEDS


def encode_target(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Class labels as their index in ``schema.classes``; numbers as floats for regression."""
    y = frame[schema.target]
    if schema.task == "regression":
        return y.to_numpy(dtype=float)
    codes = pd.Index(schema.classes).get_indexer(y.to_numpy(dtype=object))
    if (codes < 0).any():
        raise KeyError(y[codes < 0].iloc[0])
    return codes.astype(int)


def best_trial(search: SearchResult, greater_is_better: bool, affordable: Callable[[TrialResult], bool]) -> TrialResult:
    """The best trial whose refit fits in the time left; the quickest to refit when none does."""
    ok = [t for t in search.trials if t.ok and not np.isnan(t.score)]
    if not ok:
        reasons = "; ".join(f"{t.candidate.name}: {t.error}" for t in search.trials) or "no model had time to run"
        raise TrainlabError(f"No model could be trained ({reasons}). Raise --time-limit or check the data "
                            "with 'trainlab doctor'.")
    fitting = [t for t in ok if affordable(t)] or [min(ok, key=lambda t: t.fit_time_s)]
    return sorted(fitting, key=lambda t: -t.score if greater_is_better else t.score)[0]


def test_metrics(model: Model, test: pd.DataFrame, schema: Schema, config: TrainConfig,
                  threshold: dict[str, Any] | None = None) -> tuple[dict[str, float], dict[str, Any], np.ndarray]:
    """The test scores, their intervals with fairness by group (``evaluate.assess``), and the model's output."""
    y = encode_target(test, schema)
    weights = test[config.weight_column].to_numpy(dtype=float) if config.weight_column else None
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    ctx = Context(schema.task, positive, len(schema.classes), weights, threshold["threshold"] if threshold else None)
    output = model.output(make_features(test, schema))
    assessment = assess_rows(y, output, ctx, test, list(schema.classes), config.sensitive, config.seed)
    return compute_metrics(y, output, ctx), assessment, output


def fold_scores(trial: TrialResult, training: TrainingData) -> list[float]:
    """The trial's validation score on each fold, from its out-of-fold outputs where it kept none (ensembles)."""
    if trial.fold_scores or trial.oof is None or len(training.folds) < 2:
        return trial.fold_scores
    scores = []
    for _, rows in training.folds:
        weights = training.weights[rows] if training.weights is not None else None
        ctx = replace(training.context, weights=weights)
        try:
            scores.append(training.metric.compute(training.y[rows], trial.oof[rows], ctx))
        except ValueError:
            continue
    return scores


def runner_up(best: TrialResult, search: SearchResult, greater_is_better: bool) -> dict[str, Any] | None:
    """The best trial of another family (no ensemble), which the report compares with the chosen model."""
    others = [t for t in search.trials if t.ok and not np.isnan(t.score)
              and t.candidate.family not in (best.candidate.family, "ensemble")]
    if not others:
        return None
    trial = sorted(others, key=lambda t: -t.score if greater_is_better else t.score)[0]
    return {"name": trial.candidate.name, "family": trial.candidate.family, "params": trial.final_params,
            "fit_time_s": trial.fit_time_s}


def has_media(schema: Schema) -> bool:
    """Whether the table has picture or sound columns (validated on one holdout, see ``data/split``)."""
    return any(c.role in ("image", "audio") for c in schema.features)
