"""Spends the budget: every chosen family's default configuration first, cheapest first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trainlab.models.registry import ModelSpec
from trainlab.search.budget import Budget
from trainlab.search.trial import Candidate, TrainingData, TrialResult, run_trial

Listener = Callable[[str, dict[str, Any]], None]


@dataclass
class SearchResult:
    """Every trial in the order it ran, and the families that never ran with the reason."""

    trials: list[TrialResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def default_candidates(families: list[ModelSpec], task: str) -> list[Candidate]:
    """One candidate per family with the family's default parameters."""
    return [Candidate(name=spec.key, family=spec.key, params=dict(spec.defaults)) for spec in families]


def run_defaults(data: TrainingData, families: list[ModelSpec], budget: Budget,
                 listener: Listener | None = None) -> SearchResult:
    """Run each family's default once while the budget lasts; the rest are listed as skipped."""
    result = SearchResult()
    notify = listener or (lambda kind, info: None)
    for candidate in default_candidates(families, data.context.task):
        if budget.exhausted():
            result.skipped[candidate.family] = "time limit reached before it could start"
            continue
        notify("trial_start", {"name": candidate.name, "elapsed": budget.elapsed()})
        trial = run_trial(candidate, data, budget.deadline())
        trial.number = len(result.trials)
        budget.trials_done += 1
        result.trials.append(trial)
        notify("trial_end", {"trial": trial, "elapsed": budget.elapsed()})
    return result
