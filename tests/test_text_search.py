"""The search on tables of text: the cheap families, which read every term, are tuned before the costly ones (which
read the text's SVD components) run their defaults; the text families search near their defaults."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from test_text import reviews
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.evaluate.metrics import Context, resolve_metric
from trainlab.models import get_spec
from trainlab.search import budget as budget_module
from trainlab.search.budget import Budget
from trainlab.search.scheduler import Plan, Scheduler
from trainlab.search.trial import Candidate, TrainingData, TrialResult

SCORES = {"linear": 0.86, "nbsvm": 0.85, "lightgbm": 0.74, "decision_tree": 0.61}
"""Validation AUC of each family's trials, as on review snippets: the sparse families far ahead."""


class Clock:
    """A clock that moves only when a trial ends: the test does not depend on the machine's speed."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class OneSecondTrials:
    """An executor whose every trial takes one second of the fake clock and scores its family's ``SCORES``."""

    workers = 1

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def run(self, candidates: list[Candidate], deadline: float, prune: list[float | None]) -> list[TrialResult]:
        self.clock.now += len(candidates)
        return [TrialResult(c, "ok", score=SCORES[c.family], fold_scores=[SCORES[c.family]], fit_time_s=0.01)
                for c in candidates]


def _search(monkeypatch: pytest.MonkeyPatch, max_trials: int | None, text_only: bool = True) -> list[Candidate]:
    clock = Clock()
    monkeypatch.setattr(budget_module, "time", clock)
    frame = reviews(60).drop(columns=["length"] if text_only else [])
    schema = infer_schema(frame, "verdict")
    y = np.array([schema.classes.index(v) for v in frame["verdict"]])
    data = TrainingData(schema=schema, features=make_features(frame, schema), y=y, weights=None,
                        folds=list(StratifiedKFold(2).split(y, y)), context=Context("binary", 1, 2),
                        metric=resolve_metric(None, "binary"), seed=0)
    budget = Budget(time_limit=None if max_trials else 40.0, max_trials=max_trials, started=0.0)
    scheduler = Scheduler(data, budget, Plan(max_cost=9, tune_families=3, trials_per_family=20, ensemble=False),
                          OneSecondTrials(clock))
    result = scheduler.run([get_spec(key) for key in SCORES])
    return [t.candidate for t in result.trials]


def test_on_text_alone_the_cheap_families_are_tuned_before_the_costly_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _search(monkeypatch, max_trials=None)
    first_costly = next(i for i, c in enumerate(ran) if c.family in ("lightgbm", "decision_tree"))
    assert [c.name for c in ran[:2]] == ["linear", "nbsvm"]
    tuned_before = [c for c in ran[:first_costly] if c.source == "tuned"]
    assert len(tuned_before) >= 10 and {c.family for c in tuned_before} == {"linear", "nbsvm"}
    assert {"lightgbm", "decision_tree"} <= {c.name for c in ran}  # the costly defaults still run


def test_text_families_search_within_a_factor_ten_of_their_default_c(monkeypatch: pytest.MonkeyPatch) -> None:
    tuned = [c for c in _search(monkeypatch, max_trials=None) if c.source == "tuned"]
    for family, default in (("linear", 10.0), ("nbsvm", 1.0)):
        values = [c.params["C"] for c in tuned if c.family == family]
        assert values and all(default / 10 <= v <= default * 10 for v in values)


@pytest.mark.parametrize("max_trials, text_only", [(8, True), (None, False)], ids=["trial-budget", "text-and-numbers"])
def test_every_default_runs_first_under_a_trial_budget_or_beside_other_columns(
        monkeypatch: pytest.MonkeyPatch, max_trials: int | None, text_only: bool) -> None:
    ran = _search(monkeypatch, max_trials, text_only)
    assert [c.name for c in ran[:4]] == ["linear", "nbsvm", "decision_tree", "lightgbm"]
