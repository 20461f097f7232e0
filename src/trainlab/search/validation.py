"""Whether a table's validation folds fit the time limit, or one validation holdout stands in for them: decided
before the search from the cost model (``folds_too_slow``, ``validation_before_search``), or on the way from a
booster's timed folds (``measured_too_slow``, ``validation_after_slow_folds``)."""

from __future__ import annotations

from dataclasses import replace

from trainlab.config import TrainConfig
from trainlab.data.checks import CheckedData, Finding
from trainlab.data.split import Split, make_split
from trainlab.models.registry import ModelSpec
from trainlab.search.cost import predict_seconds, table_shape
from trainlab.search.trial import TrainingData, TrialResult

HOLDOUT_SHARE = 0.5
"""Folds give way to one holdout when the quickest booster default would take more than this share of the time limit
over all of them. A 14,400-row, 26-class table at 30 s (LightGBM's default expected to take 34 s over 5 folds, XGBoost's
29 s) ran no booster: trainlab's test log loss was 0.86, LightGBM's plain default, fitted once, 0.59. Every dev table's
quickest booster is expected to take at most 6.6 s over its folds (hotel_rates), so none of them changes at 30 s."""
BOOSTERS = ("lightgbm", "xgboost")


def folds_too_slow(data: TrainingData, families: list[ModelSpec], time_limit: float | None) -> float | None:
    """The seconds the cost model expects the quickest default of ``BOOSTERS`` among ``families`` to take over the
    validation folds, when that is more than ``HOLDOUT_SHARE`` of ``time_limit``; None when the folds fit (or there is
    no time limit, or one validation split already)."""
    if time_limit is None or len(data.folds) < 2:
        return None
    shape = table_shape(data)
    expected = [predict_seconds(s.key, shape, s.for_task(data.schema.task).defaults) for s in families
                if s.key in BOOSTERS]
    known = [seconds for seconds in expected if seconds is not None]
    if not known or min(known) <= HOLDOUT_SHARE * time_limit:
        return None
    return min(known)


def measured_too_slow(trials: list[TrialResult], folds: int, time_limit: float | None) -> TrialResult | None:
    """A booster trial stopped on the way whose timed folds (``fold_seconds``) say the folds would take more than
    ``HOLDOUT_SHARE`` of ``time_limit``, while no booster trial has ended well: the cost model expected less (past
    the shapes it was fitted on it can be far off: on 2,400 rows by 800 columns it expected LightGBM's first
    portfolio configuration to take 0.9 s a fold, and it took 5.8 s; no booster finished in 30 s, and the run scored
    AUC 0.84 where LightGBM's plain default, fitted once, scores 0.96). None when there is none."""
    if time_limit is None or folds < 2 or any(t.ok and t.candidate.family in BOOSTERS for t in trials):
        return None
    slow = [t for t in trials if t.candidate.family in BOOSTERS and not t.ok and t.fold_seconds
            and t.fold_seconds * folds > HOLDOUT_SHARE * time_limit]
    return min(slow, key=lambda t: t.fold_seconds or 0.0, default=None)


def validation_before_search(checked: CheckedData, split: Split, training: TrainingData, families: list[ModelSpec],
                             config: TrainConfig, resumed_on_one: bool | None = None) -> tuple[Split, TrainingData]:
    """The split and training data the search validates on: the folds of ``split``, or one holdout when the cost
    model says the quickest booster would not fit them in the time limit (never under a trial budget, which must
    repeat exactly). A resumed run validates as the run it continues did: ``resumed_on_one`` says how that was."""
    if len(split.folds) < 2:
        return split, training
    if resumed_on_one is not None:
        return _one_holdout(checked, split, training, config, "as the run it resumes did") if resumed_on_one \
            else (split, training)
    slow = folds_too_slow(training, families, config.budget.time_limit if config.budget.max_trials is None else None)
    if slow is None:
        return split, training
    return _one_holdout(checked, split, training, config,
                       f"the quickest booster was expected to take {slow:,.0f} s over the folds, more than half of "
                       f"the {config.budget.time_limit:,.0f} s time limit")


def validation_after_slow_folds(slow: TrialResult, checked: CheckedData, split: Split, training: TrainingData,
                                config: TrainConfig) -> tuple[Split, TrainingData]:
    """One holdout in place of the folds, after the booster trial ``slow`` (``measured_too_slow``) ended the search."""
    return _one_holdout(checked, split, training, config,
                       f"{slow.candidate.name} took {slow.fold_seconds or 0.0:,.1f} s a fold, so the folds would take "
                       f"more than half of the {config.budget.time_limit or 0.0:,.0f} s time limit (the cost model "
                       "expected less)")


def _one_holdout(checked: CheckedData, split: Split, training: TrainingData, config: TrainConfig,
                why: str) -> tuple[Split, TrainingData]:
    """The split and training data validated on one holdout instead of folds, and a finding that says ``why``."""
    folds = len(split.folds)
    split = make_split(checked.frame, checked.schema, config.split, config.seed, one_holdout=True)
    training = replace(training, folds=split.folds)  # the same training rows: only the folds change
    checked.findings.append(Finding("info", "one_holdout", f"Validated on one holdout of {len(split.folds[0][1])} "
                                    f"rows instead of {folds} folds: {why}."))
    return split, training
