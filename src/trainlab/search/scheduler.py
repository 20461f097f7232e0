"""Spends the budget: a portfolio of defaults (cheapest first), then tuning where it pays, then an ensemble."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainlab.models.registry import ModelSpec
from trainlab.search.budget import Budget
from trainlab.search.ensemble import Selection, select_ensemble
from trainlab.search.executor import Executor
from trainlab.search.journal import TrialJournal
from trainlab.search.trial import Candidate, TrainingData, TrialResult
from trainlab.search.tuner import FamilyTuner

Listener = Callable[[str, dict[str, Any]], None]
REFIT_GROWTH = 1.4  # a refit on all training rows takes about this much longer than one fold's fit


@dataclass(frozen=True)
class Plan:
    """What a preset does: which families, how many are tuned, how many trials when time is unlimited."""

    max_cost: int
    tune_families: int
    trials_per_family: int
    ensemble: bool = True


PLANS = {
    "fast": Plan(max_cost=1, tune_families=1, trials_per_family=5),
    "balanced": Plan(max_cost=3, tune_families=3, trials_per_family=20),
    "best": Plan(max_cost=9, tune_families=5, trials_per_family=60),
}


@dataclass
class SearchResult:
    """Every trial in the order it ran, the ensemble picked from them, and the families that never ran."""

    trials: list[TrialResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    ensemble: Selection | None = None


class Scheduler:
    """Walks the phases of the search and keeps the budget's refit reserve up to date."""

    def __init__(self, data: TrainingData, budget: Budget, plan: Plan, executor: Executor,
                 listener: Listener | None = None, journal: TrialJournal | None = None) -> None:
        self.data = data
        self.budget = budget
        self.plan = plan
        self.executor = executor
        self.notify = listener or (lambda kind, info: None)
        self.journal = journal
        self.result = SearchResult()
        if journal is not None:  # a resumed run starts from every trial that finished before
            self.result.trials = [t for t in journal.load() if t.candidate.family != "ensemble"]
            budget.trials_done = len(self.result.trials)

    def run(self, families: list[ModelSpec]) -> SearchResult:
        """Defaults, tuning and ensemble, stopping when the budget is spent; returns everything recorded."""
        chosen = []
        for spec in families:
            if spec.cost > self.plan.max_cost:
                self.result.skipped[spec.key] = "left out by the preset (use --preset best)"
            else:
                chosen.append(spec)
        try:
            self._defaults(chosen)
            self._tune(chosen)
        except KeyboardInterrupt:
            self.notify("interrupted", {"elapsed": self.budget.elapsed()})
        if self.plan.ensemble:
            self._ensemble()
        return self.result

    def _defaults(self, families: list[ModelSpec]) -> None:
        done = {t.candidate.name for t in self.result.trials}
        pending = [Candidate(name=s.key, family=s.key, params=dict(s.defaults)) for s in families if s.key not in done]
        while pending:
            if self.budget.exhausted():
                for c in pending:
                    self.result.skipped[c.family] = self.budget.why_stopped()
                return
            batch, pending = pending[: self.executor.workers], pending[self.executor.workers:]
            self._run_batch(batch, [None] * len(batch))

    def _tune(self, families: list[ModelSpec]) -> None:
        if self.budget.exhausted():
            return
        by_score = sorted((t for t in self.result.trials if t.ok and t.candidate.family in {s.key for s in families}),
                          key=self._sort_key)
        top = list(dict.fromkeys(t.candidate.family for t in by_score))[: self.plan.tune_families]
        specs = {s.key: s for s in families}
        tuners = []
        for key in top:
            if not specs[key].space:
                continue
            storage = self.journal.storage_url if self.journal else None
            tuner = FamilyTuner(specs[key], self.data.seed, self.data.metric.greater_is_better, storage)
            tuner.seed_with(next(t for t in self.result.trials if t.candidate.name == key))
            tuner.first_fold_scores = [t.fold_scores[0] for t in self.result.trials
                                       if t.candidate.family == key and t.candidate.source == "tuned" and t.fold_scores]
            tuners.append(tuner)
        unlimited = self.budget.time_limit is None and self.budget.max_trials is None
        turn = itertools.cycle(tuners)
        while tuners and not self.budget.exhausted():
            if unlimited and all(t.count >= self.plan.trials_per_family for t in tuners):
                return
            affordable = [t for t in tuners if self._expected_time(t.spec.key) < self.budget.remaining()]
            if not affordable:
                return
            batch_tuners: list[FamilyTuner] = []
            while len(batch_tuners) < self.executor.workers:
                tuner = next(turn)
                if tuner in affordable:
                    batch_tuners.append(tuner)
            if self.budget.max_trials is not None:
                batch_tuners = batch_tuners[: self.budget.max_trials - self.budget.trials_done]
            candidates = [t.ask() for t in batch_tuners]
            results = self._run_batch(candidates, [t.prune_threshold() for t in batch_tuners])
            for tuner, res in zip(batch_tuners, results, strict=True):
                tuner.tell(res)

    def _ensemble(self) -> None:
        time_left = self.budget.refit_time_left()
        selection = select_ensemble(self.result.trials, self.data, refit_cost=self.refit_cost, time_left=time_left)
        if selection is None:
            return
        self.result.ensemble = selection
        members = {t.candidate.name: w for t, w in zip(selection.trials, selection.weights, strict=True)}
        trial = TrialResult(Candidate(name="ensemble", family="ensemble", params={"members": members},
                                      source="ensemble"),
                            "ok", score=selection.score, metrics=selection.metrics, oof=selection.oof,
                            fit_time_s=sum(t.fit_time_s for t in selection.trials),
                            predict_time_s=sum(t.predict_time_s for t in selection.trials))
        trial.number = len(self.result.trials)
        self.result.trials.append(trial)
        if self.journal is not None:
            self.journal.append(trial)
        self.notify("trial_end", {"trial": trial, "elapsed": self.budget.elapsed()})

    def _run_batch(self, batch: list[Candidate], prune: list[float | None]) -> list[TrialResult]:
        for c in batch:
            self.notify("trial_start", {"name": c.name, "elapsed": self.budget.elapsed()})
        results = self.executor.run(batch, self.budget.deadline(), prune)
        for res in results:  # told back in trial-number order, whichever worker finished first
            res.number = len(self.result.trials)
            self.result.trials.append(res)
            if self.journal is not None:
                self.journal.append(res)
            self.budget.trials_done += 1
            self.notify("trial_end", {"trial": res, "elapsed": self.budget.elapsed()})
        self.budget.refit_s = self._refit_estimate()
        return results

    def _sort_key(self, t: TrialResult) -> float:
        return -t.score if self.data.metric.greater_is_better else t.score

    def _expected_time(self, family: str) -> float:
        """Wall time a new trial of this family is expected to take: its slowest so far."""
        times = [(t.fit_time_s + t.predict_time_s) * len(self.data.folds)
                 for t in self.result.trials if t.candidate.family == family and t.ok]
        return max(times, default=0.0)

    def refit_cost(self, trial: TrialResult) -> float:
        """Seconds to refit a trial's configuration on all training rows (once per refit pass)."""
        return self.budget.refit_passes * REFIT_GROWTH * trial.fit_time_s

    def _refit_estimate(self) -> float:
        """Seconds to refit the likely final model (the three best trials) on all training rows."""
        ok = sorted((t for t in self.result.trials if t.ok and not np.isnan(t.score)), key=self._sort_key)[:3]
        return sum(self.refit_cost(t) for t in ok)
