"""Whether a table's validation folds fit the time limit, or one validation holdout stands in for them: decided
before the search from the cost model (``folds_too_slow``), or on the way from a booster's timed folds
(``measured_too_slow``)."""

from __future__ import annotations

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
