"""Spends the budget: a portfolio of defaults (cheapest first), then tuning where it pays, then an ensemble."""

from __future__ import annotations

import concurrent.futures as cf
import functools
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from trainlab.models.registry import ROUNDS_PATIENCE, ModelSpec, get_spec, text_chars, with_text
from trainlab.search import portfolio
from trainlab.search.budget import SEED_SHARE, SEEDS_KEPT, Budget, seed_count
from trainlab.search.cost import predict_seconds, table_shape
from trainlab.search.ensemble import Selection, ensemble_pool, members_of, select_ensemble
from trainlab.search.executor import GRACE_S, Executor, ProcessExecutor
from trainlab.search.journal import TrialJournal
from trainlab.search.sampling import (
    LONG_TUNE_SHARE,
    REFIT_SHARE,
    grown_size,
    refit_seconds,
    shortest_refit_seconds,
)
from trainlab.search.stacking import stack_ensemble
from trainlab.search.trial import Candidate, TrainingData, TrialResult
from trainlab.search.tuner import FamilyTuner
from trainlab.search.validation import measured_too_slow

Listener = Callable[[str, dict[str, Any]], None]
REFIT_GROWTH = 1.2
"""A refit on all training rows takes about this much longer than one fold's fit (a booster's, times its rounds'
share, ``refit_rounds_share``). Over 185 refits of 30 s runs' trials on the 19 dev tables (``bench/refit_cost.py``),
the other families' measured refit seconds were 0.76 (naive Bayes) to 1.09 (SVM) times this estimate, at the
median of each family."""
IMBALANCE_RATIO = 0.4
"""Classes count as imbalanced when the smallest has fewer than 40% of the rows an equal split would give it
(n / k): under 20% of the rows with two classes (a 4:1 ratio, where unweighted fits start to neglect the small
class), under 8% with five. A share of rows alone would call any task with five or more classes imbalanced."""
UNTIMED_SHARE = 0.25
"""A candidate the cost model alone expects to take more than this share of the time left goes after the others
while the first trial of its family is still running: that trial's times will correct the model
(``Scheduler._correction``). On ames_housing at 120 s CatBoost's default started beside the first CatBoost trial,
expected to take 39 s; its folds took 18 s each, and it was stopped after 3 of 5, 55 s lost."""
LAGGING_SHARE = 0.25
"""A candidate expected to take more than this share of the time left runs only while its family ranks among the
``Plan.tune_families`` best so far (``Scheduler._lagging``). At 120 s on wine, CatBoost ranked fourth of the
families after its first trial, and its next portfolio configurations took 25 s and 62 s of one worker's 115 s;
over 109 kept harness runs of the 19 dev tables (30 s and 120 s) the rule holds back 21 trials, 356 trial-seconds,
and one of them had entered its run's final ensemble."""
TIMED_MIN_S = 1.0
"""Folds quicker than this say little of how far off the cost model is: a library's import and fixed costs weigh most
there (``Scheduler._correction``)."""
ENSEMBLE_MARGIN = 0.9  # ensembles are built to refit in 90 % of the time left
BALANCED_VARIANTS = 2  # on imbalanced classes, the best default families that can weigh classes get a balanced twin
BALANCED_MAX_COST = 1
"""The twins are picked among the cheap families (cost <= 1; among all when none is cheap), whose defaults and
twins run before the costlier defaults: a short budget still compares weighted and unweighted head to head."""
BALANCED_AFTER = 6
"""On plain tables the balanced twins run after this many of the portfolio's configurations: of the best of those."""


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
    class_balance: dict[str, Any] | None = None
    too_slow: TrialResult | None = None
    """The booster trial whose timed folds ended the search early (``validation.measured_too_slow``): the run
    validates on one holdout instead and searches again."""


class _FoldsTooSlow(Exception):
    """Raised on the way when a booster's measured folds say one holdout should replace them."""


class Scheduler:
    """Walks the phases of the search and keeps the budget's refit reserve up to date."""

    def __init__(self, data: TrainingData, budget: Budget, plan: Plan, executor: Executor,
                 listener: Listener | None = None, journal: TrialJournal | None = None,
                 named: tuple[str, ...] | None = None, refold: bool = False) -> None:
        self.data = data
        # stop when a booster's timed folds say one holdout should replace them (the caller turns it off under a
        # trial budget and on resume)
        self.refold = refold
        self.budget = budget
        self.plan = plan
        self.executor = executor
        self.notify = listener or (lambda kind, info: None)
        self.journal = journal
        self.named = set(named or ())  # families the user asked for by name: never left out by the preset
        self.tuners: dict[str, FamilyTuner] = {}
        self.running: Counter[str] = Counter()  # the families of the trials in flight (streamed)
        self.result = SearchResult(class_balance=class_balance(data.y, data.schema.task, data.schema.classes))
        if journal is not None:  # a resumed run starts from every trial that finished before
            self.result.trials = [t for t in journal.load() if t.candidate.family != "ensemble"]
            budget.trials_done = len(self.result.trials)

    def run(self, families: list[ModelSpec]) -> SearchResult:
        """Defaults, tuning and ensemble, stopping when the budget is spent; returns everything recorded."""
        chosen = []
        texts = self.data.schema.by_role("text")
        if texts:  # text settings join the spaces, and text's cost (growing with its size) the costs
            chars = text_chars(self.data.features, texts)
            families = sorted((with_text(s, chars) for s in families), key=lambda s: s.cost)
        for spec in families:
            if spec.cost > self.plan.max_cost and spec.key not in self.named:
                self.result.skipped[spec.key] = "left out by the preset (use --preset best)"
            else:
                chosen.append(spec.for_task(self.data.schema.task))
        cheap = [s for s in chosen if s.cost <= BALANCED_MAX_COST] or chosen
        try:
            if self._cheap_first(chosen):  # the cheap families are tuned before the costly ones start
                self._defaults(cheap)
                self._balanced(cheap)
                self._tune(cheap, stop_below=(1 - LONG_TUNE_SHARE) * self.budget.remaining())
                self._defaults(chosen)
            elif self.budget.max_trials is None and self.budget.time_limit is not None and portfolio.applies(self.data):
                candidates = portfolio.portfolio_candidates(chosen)
                self._run_all(candidates[:BALANCED_AFTER])
                self._balanced(chosen)
                self._run_all(candidates[BALANCED_AFTER:])
            else:
                self._defaults(cheap)
                self._balanced(cheap)
                self._defaults(chosen)
            self._tune(chosen)
        except KeyboardInterrupt:
            self.budget.stop_now()
            self.notify("interrupted", {"elapsed": self.budget.elapsed()})
        except _FoldsTooSlow:
            return self.result
        if self.plan.ensemble:
            self._ensemble()
        return self.result

    def _defaults(self, families: list[ModelSpec]) -> None:
        self._run_all([Candidate(name=s.key, family=s.key, params=dict(s.defaults)) for s in families])

    def _balanced(self, families: list[ModelSpec]) -> None:
        """On imbalanced classes, the best configurations so far (one per family) of the families that can weigh
        classes run again with balanced weights, so both versions meet on the leaderboard (tuning may then pick
        either)."""
        if not (self.result.class_balance or {}).get("imbalanced"):
            return
        weighable = {s.key for s in families if "class_weight" in s.space}
        ranked = sorted((t for t in self.result.trials if t.ok and t.candidate.source in ("default", "portfolio")
                         and t.candidate.family in weighable and not np.isnan(t.score)), key=self._sort_key)
        best: dict[str, TrialResult] = {}
        for t in ranked:
            best.setdefault(t.candidate.family, t)
        self._run_all([Candidate(name=f"{t.candidate.name}_balanced", family=t.candidate.family,
                                 params={**t.candidate.params, "class_weight": "balanced"},
                                 source="balanced") for t in list(best.values())[:BALANCED_VARIANTS]])

    def _run_all(self, candidates: list[Candidate]) -> None:
        """Run the candidates not yet done (a resumed run has some) until the budget is spent: streamed on local
        workers under a time limit (``_stream``), else in batches of one per worker."""
        done = {t.candidate.name for t in self.result.trials}
        pending = [c for c in candidates if c.name not in done]
        if self._streams(pending):
            self._stream(lambda: next(((c, None) for c in self._take(pending, 1)), None))
            return
        while batch := self._take(pending, self.executor.workers):
            self._run_batch(batch, [None] * len(batch))

    def _take(self, pending: list[Candidate], count: int) -> list[Candidate]:
        """Up to ``count`` pending candidates to run next, taken out of ``pending``. Under a time limit a candidate
        the cost model expects to outlast the time left is taken out too, and said skipped: time only shrinks, so
        it would not fit later either (while no model exists, the quickest expected one still runs); so is a costly
        candidate of a family that lags (``_lagging``). A candidate waiting for the first trial of its family to end
        (``_waits``) goes after the others. Once the budget is spent, every pending candidate is said skipped."""
        if self.budget.exhausted(first=self._first()):
            for c in pending:
                self.result.skipped.setdefault(c.name, self.budget.why_stopped())
            pending.clear()
            return []
        left = self.budget.remaining(first=self._first())
        fitting = [c for c in pending if (self.predicted_time(c) or 0.0) <= left]
        if not fitting and self._first() and pending:
            fitting = [min(pending, key=lambda c: self.predicted_time(c) or 0.0)]
        for c in pending:
            if c not in fitting:
                self.result.skipped.setdefault(c.name, f"expected to take {self.predicted_time(c):.0f} s "
                                                       f"(cost model), more than the {left:.0f} s left")
        lagging = {c.name: rank for c in fitting if (rank := self._lagging(c, left)) is not None}
        for c in [c for c in fitting if c.name in lagging]:
            fitting.remove(c)
            self.result.skipped.setdefault(c.name, f"expected to take {self.predicted_time(c):.0f} s, more than "
                                                   f"{LAGGING_SHARE:.0%} of the {left:.0f} s left, while "
                                                   f"{c.family} ranks {lagging[c.name]} of the families tried")
        fitting.sort(key=lambda c: self._waits(c, left))  # stable: the order stays among those that do not wait
        pending[:] = fitting[count:]
        return fitting[:count]

    def _lagging(self, candidate: Candidate, left: float) -> int | None:
        """The rank of the candidate's family (its best trial's score among the families' best) when the candidate
        costs more than ``LAGGING_SHARE`` of the time left and the family ranks below the ``plan.tune_families`` the
        search would tune; None when it runs. A family with no trial ended yet runs: its first trial says where it
        stands."""
        if self.budget.time_limit is None or self.budget.max_trials is not None \
                or (self.predicted_time(candidate) or 0.0) <= LAGGING_SHARE * left:
            return None
        best: dict[str, TrialResult] = {}
        for t in sorted((t for t in self.result.trials if t.ok and not np.isnan(t.score)), key=self._sort_key):
            best.setdefault(t.candidate.family, t)
        if candidate.family not in best:
            return None
        rank = list(best).index(candidate.family) + 1
        return rank if rank > self.plan.tune_families else None

    def _waits(self, candidate: Candidate, left: float) -> bool:
        """Whether a candidate goes after the others until a trial of its family has ended (``UNTIMED_SHARE``)."""
        family = candidate.family
        if not self.running[family] or any(t.candidate.family == family and t.fold_seconds is not None
                                           for t in self.result.trials):
            return False
        return (self.predicted_time(candidate) or 0.0) > UNTIMED_SHARE * left

    def _streams(self, pending: list[Candidate]) -> bool:
        """Whether candidates start one by one as workers free up: on local workers under a time limit alone (a
        trial budget keeps its batches, so the same trials run in the same order every time), except for trials
        planned to a share of the time left (pictures and sound, ``_deadline``)."""
        return (isinstance(self.executor, ProcessExecutor) and self.executor.workers > 1
                and self.budget.time_limit is not None and self.budget.max_trials is None
                and not any(c.params.get("budget_share") for c in pending))

    def _stream(self, next_trial: Callable[[], tuple[Candidate, float | None] | None],
                told: Callable[[TrialResult], None] | None = None) -> None:
        """Keep every worker busy: a trial starts as soon as a worker is free, not when the slowest trial of a
        batch ends (on review snippets the quick Naive-Bayes trials waited 6 s for a logistic regression's).
        ``next_trial`` gives the next candidate and its pruning threshold, None when there is no more; results are
        recorded, and ``told``, as the trials end, so that the next choices (the time left, the first model's
        deadline) know of every trial that ended."""
        assert isinstance(self.executor, ProcessExecutor)
        started: list[tuple[Candidate, float, cf.Future[TrialResult]]] = []
        asking = True
        while asking or started:
            while asking and sum(not f.done() for _, _, f in started) < self.executor.workers:
                following = next_trial()
                if following is None:
                    asking = False
                    break
                candidate = self._sized(following[0])
                deadline = self._deadline([candidate])
                self.notify("trial_start", {"name": candidate.name, "elapsed": self.budget.elapsed()})
                started.append((candidate, deadline, self.executor.submit(candidate, deadline, following[1])))
                self.running[candidate.family] += 1
            if not started:
                return
            waiting = [f for _, _, f in started if not f.done()]
            due = min(d for _, d, f in started if not f.done()) if waiting else time.monotonic()
            cf.wait(waiting, timeout=max(0.0, due + GRACE_S - time.monotonic()), return_when=cf.FIRST_COMPLETED)
            overdue = any(not f.done() and time.monotonic() > d + GRACE_S for _, d, f in started)
            broken = any(f.done() and isinstance(f.exception(), cf.process.BrokenProcessPool) for _, _, f in started)
            ready = [entry for entry in started if overdue or broken or entry[2].done()]
            if ready:
                started = [entry for entry in started if entry not in ready]
                self.running.subtract(c.family for c, _, _ in ready)
                results = self.executor.collect([(c, f) for c, _, f in ready])
                self._record(results)
                for result in results:
                    if told is not None:
                        told(result)

    def _sampling(self, families: list[ModelSpec]) -> bool:
        """Whether trials fit on samples (a long table, search/shape.py) under a time limit."""
        return self.budget.time_limit is not None and any(s.defaults.get("sample_rows") for s in families)

    def _cheap_first(self, families: list[ModelSpec]) -> bool:
        """Whether the cheap families are tuned for ``LONG_TUNE_SHARE`` of the time left before the costly ones run
        their defaults: on long tables (``_sampling``), and under a time limit alone on tables of text only, where the
        cheap families read every term and the others its SVD components, at a cost of two more (``TEXT_COST``).

        At 120 s on the Rotten Tomatoes snippets the costly defaults took the time, and no trial was left for tuning
        (validation AUC 0.61-0.74 against 0.84-0.86 for the sparse families). A table with other columns beside its
        text keeps every default first: on the tweets table (text, time, counts) the boosters lead, and tuning the
        cheap families first cost it 1.5 points of test accuracy at 60 s (91.35 % against 92.80 % the same day)."""
        if self._sampling(families):
            return True
        schema = self.data.schema
        texts = schema.by_role("text")
        timed = self.budget.time_limit is not None and self.budget.max_trials is None
        return timed and bool(texts) and len(texts) == len(schema.features)

    def _tune(self, families: list[ModelSpec], stop_below: float = 0.0) -> None:
        """Tune the best families until the budget is spent, or until fewer than ``stop_below`` seconds are left."""
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
            if key in self.tuners:  # tuned before (long tables tune the cheap families first): go on with it
                tuners.append(self.tuners[key])
                continue
            storage = self.journal.storage_url if self.journal else None
            tuner = FamilyTuner(specs[key], self.data.seed, self.data.metric.greater_is_better, storage)
            tuner.seed_with([t for t in self.result.trials if t.candidate.family == key])
            tuner.first_fold_scores = [t.fold_scores[0] for t in self.result.trials
                                       if t.candidate.family == key and t.candidate.source == "tuned" and t.fold_scores]
            self.tuners[key] = tuner
            tuners.append(tuner)
        unlimited = self.budget.time_limit is None and self.budget.max_trials is None
        turn = itertools.cycle(tuners)
        if tuners and self._streams([Candidate(t.spec.key, t.spec.key, t.spec.defaults) for t in tuners]):
            self._stream_tuning(tuners, turn, stop_below)
            return
        while tuners and not self.budget.exhausted() and self.budget.remaining() > stop_below:
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

    def _stream_tuning(self, tuners: list[FamilyTuner], turn: Iterator[FamilyTuner], stop_below: float) -> None:
        """Tuning with every worker kept busy (``_stream``): the tuners take turns asking, each trial is told to
        the tuner that asked for it."""
        asked: dict[str, FamilyTuner] = {}

        def next_trial() -> tuple[Candidate, float | None] | None:
            if self.budget.exhausted() or self.budget.remaining() <= stop_below:
                return None
            affordable = [t for t in tuners if self._expected_time(t.spec.key) < self.budget.remaining()]
            if not affordable:
                return None
            tuner = next(t for t in turn if t in affordable)
            candidate = tuner.ask()
            asked[candidate.name] = tuner
            return candidate, tuner.prune_threshold()

        self._stream(next_trial, lambda result: asked.pop(result.candidate.name).tell(result))

    def _ensemble(self) -> None:
        # a margin, so that the ensemble still fits when the final choice looks at the clock again a moment later;
        # its refits (two with --refit-full) share the time left
        time_left = ENSEMBLE_MARGIN * self.budget.refit_time_left() / self.budget.refits
        selection = select_ensemble(self.result.trials, self.data, refit_cost=self.refit_cost, time_left=time_left)
        if selection is None:
            return
        self.result.ensemble = selection
        singles = list(self.result.trials)
        self._add_ensemble("ensemble", selection)
        stacked = stack_ensemble(singles, self.data, refit_cost=self.refit_cost, time_left=time_left)
        if stacked is not None:
            self._add_ensemble("ensemble_stacked", stacked)

    def _add_ensemble(self, name: str, selection: Selection) -> None:
        """An ensemble as a trial on the leaderboard, its members and weights as its parameters."""
        members = {t.candidate.name: w for t, w in zip(selection.trials, selection.weights, strict=True)}
        trial = TrialResult(Candidate(name=name, family="ensemble", params={"members": members},
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
        batch = [self._sized(c) for c in batch]
        for c in batch:
            self.notify("trial_start", {"name": c.name, "elapsed": self.budget.elapsed()})
        results = self.executor.run(batch, self._deadline(batch), prune)
        self._record(results)
        return results

    def _record(self, results: list[TrialResult]) -> None:
        """Results into the trial list and journal, numbered in the order given, and told to the listener."""
        for res in results:
            res.number = len(self.result.trials)
            self.result.trials.append(res)
            if self.journal is not None:
                self.journal.append(res)
            self.budget.trials_done += 1
            self.notify("trial_end", {"trial": res, "elapsed": self.budget.elapsed()})
        self.budget.refit_s = self._refit_estimate()
        self._drop_fold_models()
        if self.refold:
            self.result.too_slow = measured_too_slow(self.result.trials, len(self.data.folds), self.budget.time_limit)
            if self.result.too_slow is not None:
                raise _FoldsTooSlow

    def _deadline(self, batch: list[Candidate]) -> float:
        """When the batch must stop: the budget's deadline, or sooner when every candidate has a ``budget_share``
        (the share of the time left it may take: the CNN on pictures and sound, ``shape.for_media``)."""
        deadline = self.budget.deadline(first=self._first())
        shares = [c.params.get("budget_share") for c in batch]
        if shares and all(shares):
            share = max(float(s) for s in shares if s)
            deadline = min(deadline, time.monotonic() + share * max(0.0, self.budget.remaining(first=self._first())))
        return deadline

    def _sized(self, candidate: Candidate) -> Candidate:
        """A candidate that fits on a sample (long tables) with the sample grown to the time left (search/sampling)."""
        if not candidate.params.get("sample_rows") or not self.data.folds:
            return candidate
        earlier = [t for t in self.result.trials if t.candidate.family == candidate.family and t.ok]
        rows = grown_size(earlier[-1] if earlier else None, len(self.data.folds[0][0]), self.budget.remaining())
        return replace(candidate, params={**candidate.params, "sample_rows": rows})

    def _first(self) -> bool:
        """Whether no trial has succeeded yet: the next ones may then take longer (``Budget.remaining``)."""
        return not any(t.ok for t in self.result.trials)

    def _drop_fold_models(self) -> None:
        """Free the fold models of trials outside the ensemble pool (``ensemble_pool``): they will not be chosen."""
        kept = {id(t) for entry in ensemble_pool(self.result.trials, self.data) for t in entry.trials}
        for t in self.result.trials:
            if id(t) not in kept:
                t.fold_models = None

    def _sort_key(self, t: TrialResult) -> float:
        return -t.score if self.data.metric.greater_is_better else t.score

    def _expected_time(self, family: str) -> float:
        """Wall time a new trial of this family is expected to take: its slowest so far."""
        times = [(t.fit_time_s + t.predict_time_s) * len(self.data.folds)
                 for t in self.result.trials if t.candidate.family == family and t.ok]
        return max(times, default=0.0)

    def predicted_time(self, candidate: Candidate) -> float | None:
        """Seconds the cost model expects this candidate's trial to take here, corrected by how far off it has been
        on this family in this run (``_correction``); None: no model, no time limit, or a candidate that plans
        itself to a share of the time left (the CNN on pictures and sound)."""
        expected = self._modelled_time(candidate)
        return None if expected is None else expected * self._correction(candidate.family)

    def _correction(self, family: str) -> float:
        """The geometric mean of measured over modelled seconds among this run's trials of ``family`` whose folds
        took at least ``TIMED_MIN_S`` (a trial stopped on the way counts the folds it timed); 1 when there are none.
        The cost model is a fit over 19 tables, off by 2.6 times for CatBoost on a table it was not fitted on
        (the mean error of its log seconds, ``search/cost.py``): at 120 s on ames_housing, where it expects 7 s a
        fold, the first CatBoost trial took 12.7 s a fold, and the next was expected to take 66 s and skipped
        (without the levels and this correction two CatBoost trials were stopped after 1 and 2 folds, 39 s lost)."""
        logs = []
        for t in self.result.trials:
            seconds, modelled = t.fold_seconds, self._modelled_time(t.candidate)
            if t.candidate.family == family and seconds and seconds >= TIMED_MIN_S and modelled:
                logs.append(math.log(seconds * len(self.data.folds) / modelled))
        return math.exp(sum(logs) / len(logs)) if logs else 1.0

    def _modelled_time(self, candidate: Candidate, fit_rows: int | None = None) -> float | None:
        """The cost model's seconds for this candidate's trial, uncorrected (``predicted_time``), its folds fitting
        on ``fit_rows`` rows where given."""
        if self.budget.time_limit is None or candidate.params.get("budget_share"):
            return None
        shape = dict(self._shape)
        if get_spec(candidate.family).recipe == "neural":  # the network also reads the pixels and spectrograms
            shape["columns"] = self.data.features.shape[1]
        if candidate.params.get("screen"):  # a wide table's screen: the model fits on the columns it keeps
            shape["columns"] = min(shape["columns"], int(candidate.params["screen"]))
        shape["fit_rows"] = fit_rows or shape["fit_rows"]
        return predict_seconds(candidate.family, shape, candidate.params)

    @functools.cached_property
    def _shape(self) -> dict[str, Any]:
        return table_shape(self.data)

    def refit_cost(self, trial: TrialResult, within: float | None = None) -> float:
        """Seconds to refit a trial's configuration on all training rows (the first refit only: the second of
        --refit-full runs when the measured first says it fits in what is left); a trial that fitted on a sample of
        the rows (``sample_rows``) takes proportionally longer on all of them, and an ensemble the sum of its
        members' refits. A sampled booster's refit takes the seconds it is given, ``within`` (the time left, for
        the final choice) or ``REFIT_SHARE`` of the limit (while the search plans), down to its shortest
        worthwhile refit (``search/sampling.py``)."""
        if trial.candidate.family == "ensemble":
            members = members_of(trial, self.result.trials)
            share = within / len(members) if within is not None else None  # refit_model splits the time evenly
            return sum(self.refit_cost(m, share) for m, _ in members)
        if not trial.sampled:
            return REFIT_GROWTH * refit_rounds_share(trial) * trial.fit_time_s
        spec, rows = get_spec(trial.candidate.family), len(self.data.y)
        needed = refit_seconds(trial, spec, trial.final_params, rows)
        shortest = shortest_refit_seconds(trial, spec, trial.final_params, rows)
        if needed is None or shortest is None:
            return REFIT_GROWTH * self._row_growth(trial, rows) * trial.fit_time_s
        given = self._refit_cap() if within is None else within
        return min(needed, max(shortest, given))

    def _row_growth(self, trial: TrialResult, rows: int) -> float:
        """How many times longer a fit on ``rows`` takes than the sampled trial's fits: what the cost model's rows
        slopes say (fits grow more slowly than their rows), at most in proportion to the rows, and in proportion
        without a cost model. Counted in proportion, a HistGradientBoosting trial on 36,000 of nyc_flights' rows
        made its refit on all 262,000 expected to take 19.7 s; it took 6.1 s, and the run, which had kept time back for
        it, ended at 42 s of its 60."""
        sampled = int(trial.candidate.params["sample_rows"])
        proportional = max(1.0, rows / sampled)
        whole = replace(trial.candidate, params={k: v for k, v in trial.candidate.params.items() if k != "sample_rows"})
        on_rows, on_sample = self._modelled_time(whole, rows), self._modelled_time(whole, sampled)
        if not on_rows or not on_sample:
            return proportional
        return min(proportional, max(1.0, on_rows / on_sample))

    def _refit_cap(self) -> float:
        """Seconds the refits of sampled boosters are planned to take at most (``REFIT_SHARE`` of the limit)."""
        return REFIT_SHARE * self.budget.time_limit if self.budget.time_limit is not None else float("inf")

    def _refit_estimate(self) -> float:
        """Seconds to refit the likely final model (the three best trials) on all training rows, as many times as the
        run refits (``Budget.refits``: with --refit-full, again on every row), over ``ENSEMBLE_MARGIN``: ensembles
        are built to refit within that share of the time left, and the three would not fit in it (ames_housing at
        120 s: 39 s were kept back for a CatBoost and two XGBoost trials, 17 s of that let the ensemble refit 16.7 s,
        CatBoost's refit alone took 15.2 s and was left out, and the run ended at 93 s). Kept back for the first
        refit only, the second was skipped for time in 6 of 19 harness runs at 30 s and 6 of 19 at 120 s (hpc_jobs:
        an ensemble of four families refit in 5.2 s, then 4.2 s were left for the 5.7 s refit on every row). Where the
        best trial's refit may average seeds (``seeds_apply``) under a time limit, the refits of as many more seeds of
        it as fit in ``SEED_SHARE`` of the limit (``SEEDS_KEPT`` at most) are kept back too (the seeds are the best
        trial's, so they are counted on it alone). ``GRACE_S`` more is kept back for the last trials, which may end
        that long past the search's deadline: on wine (142 rows) at 120 s a run whose search left its final LightGBM
        time for one fit ended at 114.4 s of its 114.8 (harness log loss 0.0166; another run of the code before, 11
        seeds' fits in 0.24 s: 0.0041)."""
        ok = sorted((t for t in self.result.trials if t.ok and not np.isnan(t.score)), key=self._sort_key)[:3]
        # a trial with a budget share (the CNN on pictures and sound) is kept as trained when its refit cannot fit;
        # the last trials may end up to GRACE_S past the search's deadline, into the time kept here
        total = GRACE_S + self.budget.refits * sum(self.refit_cost(t) for t in ok
                                                   if not t.candidate.params.get("budget_share")) / ENSEMBLE_MARGIN
        if any(t.sampled for t in ok):
            return min(total, self._refit_cap())
        seeded = bool(ok) and any(seeds_apply(m) for m, _ in members_of(ok[0], self.result.trials))
        if not seeded or self.budget.time_limit is None:
            return total
        one = self.budget.refits * self.refit_cost(ok[0]) / ENSEMBLE_MARGIN  # the likely final model, one seed
        return total + (seed_count(one, SEED_SHARE * self.budget.time_limit, SEEDS_KEPT) - 1) * one


def refit_rounds_share(trial: TrialResult) -> float:
    """A booster's refit rounds over the rounds each of its folds fitted: the folds went ``ROUNDS_PATIENCE`` rounds
    past their best (up to the cap on rounds) and scored their validation rows every round; the refit fits the best
    rounds alone, grown with the rows. 1 for other families. Over 185 refits of the trials of 30 s runs on the 19
    dev tables (``bench/refit_cost.py``), measured over expected refit seconds had a median of 0.77 (LightGBM),
    0.77 (XGBoost) and 0.41 (CatBoost) without this share, 0.81, 0.78 and 0.59 with it, the mean error of the log
    seconds down from 0.36, 0.41 and 0.75 to 0.25, 0.31 and 0.54."""
    rounds_param = get_spec(trial.candidate.family).rounds_param
    refit_rounds = trial.final_params.get(rounds_param) if rounds_param else None
    if trial.rounds is None or not refit_rounds:
        return 1.0
    fitted = trial.rounds + ROUNDS_PATIENCE
    cap = trial.candidate.params.get(rounds_param)
    return float(refit_rounds) / (min(fitted, float(cap)) if cap else fitted)


def seeds_apply(trial: TrialResult) -> bool:
    """Whether the final refit may average several seeds' fits of this trial's configuration (``budget.SEEDS``): a
    family whose fit depends on the seed, fitted on all rows (not a sample) and not given a share of the budget."""
    return (trial.candidate.family != "ensemble" and get_spec(trial.candidate.family).seeded
            and not trial.sampled and not trial.candidate.params.get("budget_share"))


def class_balance(y: np.ndarray, task: str, classes: list[Any]) -> dict[str, Any] | None:
    """The smallest class of the training rows, its share of them, and whether that counts as imbalanced
    (``IMBALANCE_RATIO``); None for regression."""
    if task == "regression" or len(y) == 0:
        return None
    counts = np.bincount(np.asarray(y, dtype=int), minlength=len(classes))
    present = np.flatnonzero(counts)
    smallest = int(present[np.argmin(counts[present])])
    share = float(counts[smallest] / len(y))
    return {"smallest_class": str(classes[smallest]), "smallest_share": round(share, 4),
            "imbalanced": bool(share < IMBALANCE_RATIO / len(present))}


def class_weighting(best: TrialResult, search: SearchResult) -> dict[str, Any] | None:
    """How the chosen model weighs classes ("balanced", "none", or "mixed" for an ensemble of both), with the
    class balance behind the choice and the balanced variants that were tried; None for regression."""
    if search.class_balance is None:
        return None
    by_name = {t.candidate.name: t for t in search.trials}
    members = best.candidate.params.get("members") if best.candidate.family == "ensemble" else None
    chosen = [by_name[name] for name in members if name in by_name] if members else [best]
    kinds = {t.candidate.params.get("class_weight") or "none" for t in chosen}
    weighting = kinds.pop() if len(kinds) == 1 else "mixed"
    balanced = [t.candidate.name for t in search.trials if t.candidate.params.get("class_weight") == "balanced"]
    return {"class_weight": weighting, **search.class_balance, "balanced_trials": len(balanced),
            "balanced_variants": [n for n in balanced if by_name[n].candidate.source == "balanced"]}
