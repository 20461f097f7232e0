"""Weighted averages of trained models' outputs, and greedy ensemble selection on out-of-fold predictions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainlab.evaluate.metrics import is_better
from trainlab.models.fitted import TrainedModel
from trainlab.search.trial import TrainingData, TrialResult, ranking_score, score_oof

POOL_SIZE = 12
FAMILY_TOP = 1
"""Under k-fold validation each family enters the ensembles' pool once (at most ``POOL_SIZE`` families), as the equal
average of its ``FAMILY_TOP`` best trials. One entry a family: without a cap a long search on a small table fills the
pool with one tuned family (on diabetes, 353 training rows, 120 s, the 12 best were xgboost trials within 0.13 of
each other's validation RMSE, a spread the folds' noise explains) and the linear and CatBoost models a short search
blends are left out; one trial a family had the best mean test rank among caps of 1, 2, 3, 6 and 12 trials a family
(``bench/ensemble_pool.py``, 60 s). Averaging a family's best few, against the best alone's luck with the folds, was
no better (the same script, the same trials, on the 14 k-fold tables): at 30 s averages of 2, 3 and 5 beat the best
alone on 5, 4 and 6 tables and lost on 7, 8 and 6; at 120 s on 7, 7 and 6 and lost on 6, 6 and 7, and chosen
leave-one-table-out it was better on none and worse on 9. On one validation holdout (tables over ``LARGE_DATA_ROWS``
rows, pictures and sound) the pool is the ``POOL_SIZE`` best trials: there the differences between trials are not
the folds' noise, and on diamonds (43,000 rows, 30 s) one trial a family took the RMSE from 526 to 536."""


@dataclass
class EnsembleModel:
    """Averages members' class probabilities (or predictions) with fixed weights that sum to one."""

    members: list[TrainedModel]
    weights: list[float]

    @property
    def task(self) -> str:
        return self.members[0].task

    @property
    def n_classes(self) -> int:
        return self.members[0].n_classes

    def output(self, features: pd.DataFrame) -> np.ndarray:
        parts = [w * m.output(features) for m, w in zip(self.members, self.weights, strict=True)]
        return np.sum(parts, axis=0)


def members_of(trial: TrialResult, trials: list[TrialResult]) -> list[tuple[TrialResult, float]]:
    """The trials an ensemble trial blends, with their weights (among ``trials``); a single trial: itself, 1."""
    if trial.candidate.family != "ensemble":
        return [(trial, 1.0)]
    by_name = {t.candidate.name: t for t in trials}
    return [(by_name[name], float(w)) for name, w in trial.candidate.params["members"].items()]


def fold_bag(trial: TrialResult, trials: list[TrialResult]) -> EnsembleModel | None:
    """The models a trial fitted on its folds, averaged (for an ensemble trial: every member's, weighted by the
    member's weight): a model ready without a refit. None when some of them were not kept."""
    members: list[TrainedModel] = []
    weights: list[float] = []
    for member, weight in members_of(trial, trials):
        if not member.fold_models:
            return None
        members += member.fold_models
        weights += [weight / len(member.fold_models)] * len(member.fold_models)
    return EnsembleModel(members, weights)


@dataclass
class Selection:
    """The trials picked by ensemble selection, their weights, and the ensemble's out-of-fold score."""

    trials: list[TrialResult]
    weights: list[float]
    score: float
    metrics: dict[str, float]
    oof: np.ndarray


@dataclass
class PoolEntry:
    """One choice of the ensembles' pool: trials averaged with equal weights (one trial, or a family's best few)."""

    trials: list[TrialResult]
    oof: np.ndarray
    score: float


def ensemble_pool(trials: list[TrialResult], data: TrainingData) -> list[PoolEntry]:
    """What ensembles choose from, best first: under k-fold validation the average of each family's ``FAMILY_TOP``
    best trials, on one holdout the best trials; ``POOL_SIZE`` entries at most. Trials without out-of-fold outputs
    are left out."""
    greater = data.metric.greater_is_better
    ranked = sorted((t for t in trials if t.ok and not np.isnan(t.score) and t.oof is not None),
                    key=lambda t: -t.score if greater else t.score)
    if len(data.folds) < 2:
        return [_entry([t], data) for t in ranked[:POOL_SIZE]]
    families: dict[str, list[TrialResult]] = {}
    for t in ranked:
        best = families.setdefault(t.candidate.family, [])
        if len(best) < FAMILY_TOP:
            best.append(t)
    entries = [_entry(group, data) for group in list(families.values())[:POOL_SIZE]]
    return sorted(entries, key=lambda e: -e.score if greater else e.score)


def _entry(group: list[TrialResult], data: TrainingData) -> PoolEntry:
    """The pool entry of trials averaged; one trial's is its own outputs and score, not copied (the pool is made
    again after every trial)."""
    if len(group) == 1:
        return PoolEntry(group, np.asarray(group[0].oof), group[0].score)
    oof = np.mean([np.asarray(t.oof) for t in group], axis=0)
    return PoolEntry(group, oof, ranking_score(data, oof))


def selection_of(entries: list[PoolEntry], weights: list[float], data: TrainingData,
                 oof: np.ndarray | None = None) -> Selection:
    """The trials of weighted pool entries, each entry's weight shared equally among its trials, scored out of fold
    on ``oof`` (by default the weighted blend of the entries)."""
    blended = np.sum([w * e.oof for e, w in zip(entries, weights, strict=True)], axis=0) if oof is None else oof
    shares: dict[int, tuple[TrialResult, float]] = {}
    for entry, weight in zip(entries, weights, strict=True):
        for t in entry.trials:
            shares[id(t)] = (t, shares.get(id(t), (t, 0.0))[1] + weight / len(entry.trials))
    score, metrics = score_oof(data, blended)
    return Selection(trials=[t for t, _ in shares.values()], weights=[w for _, w in shares.values()], score=score,
                     metrics=metrics, oof=blended)


def select_ensemble(trials: list[TrialResult], data: TrainingData, rounds: int = 25,
                    refit_cost: Callable[[TrialResult], float] | None = None,
                    time_left: float = float("inf")) -> Selection | None:
    """Greedy selection with replacement (Caruana et al., 2004) over the pool (``ensemble_pool``).

    Each round adds the pool entry that gives the best out-of-fold score, even when that is no gain (repeating an
    entry shifts the weights); the best prefix is kept. It starts from the best entry, so the ensemble is never
    worse than it on out-of-fold data. None when the pool holds fewer than two entries. With ``refit_cost``, a new
    entry joins only while refitting all trials chosen fits in ``time_left`` seconds.
    """
    metric = data.metric
    pool = ensemble_pool(trials, data)
    if len(pool) < 2:
        return None
    picks = [0]
    total = pool[0].oof.copy()
    best_score, best_size = pool[0].score, 1
    costs = [sum(refit_cost(t) for t in e.trials) if refit_cost else 0.0 for e in pool]
    for _ in range(rounds):
        spent = sum(costs[i] for i in set(picks))
        scores = [ranking_score(data, (total + e.oof) / (len(picks) + 1)) if i in picks or spent + costs[i] <= time_left
                  else np.nan for i, e in enumerate(pool)]
        if np.all(np.isnan(scores)):
            break
        step = int(np.nanargmax(scores) if metric.greater_is_better else np.nanargmin(scores))
        picks.append(step)
        total = total + pool[step].oof
        if is_better(scores[step], best_score, metric):
            best_score, best_size = scores[step], len(picks)
    counts = Counter(picks[:best_size])
    chosen = sorted(counts)
    return selection_of([pool[i] for i in chosen], [counts[i] / best_size for i in chosen], data)
