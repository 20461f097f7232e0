"""Searching recommender families under the run's budget: each family's defaults first (cheapest family
first), then Optuna's TPE suggestions from each family's declared space, in turn, until the budget is spent.

A trial fits on the training interactions and is scored on the validation interactions (ndcg@k by default),
the training items left out of each user's candidates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from scipy import sparse

from trainlab.evaluate.ranking import RANKING_METRIC, RankingResult, evaluate_ranking
from trainlab.models.recbase import RecommenderBase, fit_recommender
from trainlab.models.registry import ModelSpec
from trainlab.search.budget import Budget
from trainlab.search.space import distributions, searchable_defaults

Listener = Callable[[str, dict[str, Any]], None]
REFIT_MARGIN = 1.3
"""Refitting on training plus validation rows takes about this much longer than a trial's fit."""


@dataclass
class RecTrial:
    """One fitted and scored configuration of a family; ``model`` is dropped once the search has used it."""

    number: int
    family: str
    name: str
    params: dict[str, Any]
    status: str = "ok"
    error: str = ""
    score: float = float("nan")
    metrics: dict[str, float] = field(default_factory=dict)
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def record(self) -> dict[str, Any]:
        return {"number": self.number, "model": self.name, "family": self.family, "status": self.status,
                "error": self.error, "score": self.score, **{f"val_{k}": v for k, v in self.metrics.items()},
                "fit_time_s": round(self.fit_time_s, 4), "predict_time_s": round(self.predict_time_s, 4),
                "params": self.params}


@dataclass
class RankingTask:
    """What fitting and scoring need: the matrix to fit, the items to leave out, the items to find, popularity."""

    fit_matrix: sparse.csr_matrix
    seen: sparse.csr_matrix
    relevant: sparse.csr_matrix
    popularity: np.ndarray
    k: int
    seed: int
    n_jobs: int
    item_features: sparse.csr_matrix | None = None


def fit_and_score(spec: ModelSpec, params: dict[str, Any], task: RankingTask) -> tuple[RecommenderBase, RankingResult,
                                                                                       float, float]:
    """Fit a family with ``params`` and rank every user with a relevant item; returns the times too."""
    started = time.perf_counter()
    model = fit_recommender(spec.build("recommend", params, task.seed, task.n_jobs), task.fit_matrix,
                            task.item_features)
    fitted = time.perf_counter()
    result = evaluate_ranking(lambda users: scores_with_cold_start(model, users, task), task.seen, task.relevant,
                              task.k, task.popularity)
    return model, result, fitted - started, time.perf_counter() - fitted


def scores_with_cold_start(model: RecommenderBase, users: np.ndarray, task: RankingTask) -> np.ndarray:
    """The model's scores; users without a positive training interaction get the popularity scores instead."""
    history = task.fit_matrix[users]
    scores = model.score(users, history)
    cold = history.getnnz(axis=1) == 0
    if cold.any():
        scores[cold] = task.popularity
    return scores


def search(families: list[ModelSpec], task: RankingTask, budget: Budget, listener: Listener) -> list[RecTrial]:
    """Every family's defaults, then TPE suggestions in turn, until ``budget`` is exhausted."""
    trials: list[RecTrial] = []
    studies = {s.key: _study(s, task.seed) for s in families}
    queue = list(families)
    slowest: dict[str, float] = {}
    while queue and not budget.exhausted():
        spec = queue.pop(0)
        if slowest.get(spec.key, 0.0) > budget.remaining():
            continue  # its next fit would not end in time; the others may still have room
        asked = studies[spec.key].ask(distributions(spec)) if spec.space else None
        params = {**spec.defaults, **(asked.params if asked else {})}
        trial = RecTrial(number=len(trials), family=spec.key, name=spec.name("recommend"), params=params)
        listener("trial_start", {"name": trial.name, "elapsed": budget.elapsed()})
        try:
            _, result, trial.fit_time_s, trial.predict_time_s = fit_and_score(spec, params, task)
            trial.metrics, trial.score = result.summary, result.summary[f"{RANKING_METRIC}@{task.k}"]
        except Exception as exc:  # a failed configuration is recorded with its reason; the search goes on
            trial.status, trial.error = "failed", f"{type(exc).__name__}: {exc}"
        budget.trials_done += 1
        slowest[spec.key] = max(slowest.get(spec.key, 0.0), trial.fit_time_s + trial.predict_time_s)
        budget.reserve_s = _reserve([*trials, trial])
        if asked is not None:
            studies[spec.key].tell(asked, trial.score if trial.ok else None,
                                   state=None if trial.ok else optuna.trial.TrialState.FAIL)
        trials.append(trial)
        listener("trial_end", {"trial": trial, "elapsed": budget.elapsed()})
        if spec.space and trial.ok:
            queue.append(spec)
    return trials


def _study(spec: ModelSpec, seed: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=4))
    if spec.space:
        study.enqueue_trial(searchable_defaults(spec))
    return study


def _reserve(trials: list[RecTrial]) -> float:
    """Seconds kept back for refitting each family's best on training plus validation rows and testing it."""
    best: dict[str, float] = {}
    for t in trials:
        if t.ok:
            best[t.family] = max(best.get(t.family, 0.0), t.fit_time_s + t.predict_time_s)
    return REFIT_MARGIN * sum(best.values()) + 1.0


def best_per_family(trials: list[RecTrial]) -> list[RecTrial]:
    """Each family's best trial, best first; families whose every trial failed come last with their last error."""
    chosen: dict[str, RecTrial] = {}
    for t in trials:
        current = chosen.get(t.family)
        if current is None or (t.ok and (not current.ok or t.score > current.score)):
            chosen[t.family] = t
    return sorted(chosen.values(), key=lambda t: (not t.ok, -t.score if t.ok else 0.0))
