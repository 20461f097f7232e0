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
PER_FAMILY = 1
"""Under k-fold validation ensembles are built from the best trial of each family (the ``POOL_SIZE`` best of
those). Without the cap a long search on a small table fills the pool with one tuned family: on diabetes (353
training rows, 120 s) the 12 best were xgboost trials within 0.13 of each other's validation RMSE, a spread the
folds' noise explains, and the linear and CatBoost models a short search blends were left out. Decided with
``bench/ensemble_pool.py`` (one 60 s search per table, each cap scored on the same trials' fold models): on the 7 of
12 tables of up to 10,000 rows where every cap's choice could be scored and the caps differed, a cap of 1 had the
best mean rank on the test rows among caps 1, 2, 3, 6 and 12 (1.64; 12 was last, 3.86); it was behind 12 on
hmda_mortgage and caravan. On one validation holdout (tables over ``LARGE_DATA_ROWS`` rows, pictures and sound)
there is no cap: there the differences between trials are not the folds' noise, and on diamonds (43,000 rows, 30 s)
a cap of 1 took the RMSE from 526 to 536."""


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


def ensemble_pool(trials: list[TrialResult], data: TrainingData) -> list[TrialResult]:
    """The trials ensembles choose from: the best by validation score, ``POOL_SIZE`` in all, and under k-fold
    validation at most ``PER_FAMILY`` of a family."""
    greater = data.metric.greater_is_better
    ranked = sorted((t for t in trials if t.ok and not np.isnan(t.score)), key=lambda t: -t.score if greater else t.score)
    cap = PER_FAMILY if len(data.folds) > 1 else POOL_SIZE
    pool: list[TrialResult] = []
    per_family: Counter[str] = Counter()
    for t in ranked:
        if per_family[t.candidate.family] < cap:
            pool.append(t)
            per_family[t.candidate.family] += 1
    return pool[:POOL_SIZE]


def select_ensemble(trials: list[TrialResult], data: TrainingData, rounds: int = 25,
                    refit_cost: Callable[[TrialResult], float] | None = None,
                    time_left: float = float("inf")) -> Selection | None:
    """Greedy selection with replacement (Caruana et al., 2004) over the pool (``ensemble_pool``).

    Each round adds the trial that gives the best out-of-fold score, even when that is no gain (repeating a
    member shifts the weights); the best prefix is kept. It starts from the best single trial, so the
    ensemble is never worse than its best member on out-of-fold data. None when fewer than two trials finished.
    With ``refit_cost``, a new member joins only while refitting all members fits in ``time_left`` seconds.
    """
    metric = data.metric
    pool = [t for t in ensemble_pool(trials, data) if t.oof is not None]
    oofs = [t.oof for t in pool if t.oof is not None]
    if len(pool) < 2:
        return None
    picks = [0]
    total = oofs[0].copy()
    best_score, best_size = pool[0].score, 1
    costs = [refit_cost(t) if refit_cost else 0.0 for t in pool]
    for _ in range(rounds):
        spent = sum(costs[i] for i in set(picks))
        scores = [ranking_score(data, (total + oof) / (len(picks) + 1)) if i in picks or spent + costs[i] <= time_left
                  else np.nan for i, oof in enumerate(oofs)]
        if np.all(np.isnan(scores)):
            break
        step = int(np.nanargmax(scores) if metric.greater_is_better else np.nanargmin(scores))
        picks.append(step)
        total = total + oofs[step]
        if is_better(scores[step], best_score, metric):
            best_score, best_size = scores[step], len(picks)
    counts = Counter(picks[:best_size])
    chosen = sorted(counts)
    weights = [counts[i] / best_size for i in chosen]
    blended = np.sum([w * oofs[i] for i, w in zip(chosen, weights, strict=True)], axis=0)
    score, metrics = score_oof(data, blended)
    return Selection(trials=[pool[i] for i in chosen], weights=weights, score=score, metrics=metrics, oof=blended)
