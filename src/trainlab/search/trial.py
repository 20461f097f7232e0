"""One trial: a candidate configuration scored on the validation folds, with its out-of-fold predictions."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.schema import Schema
from trainlab.data.split import Fold
from trainlab.evaluate.metrics import Context, Metric, compute_metrics, is_better
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.search.sampling import rounds_for

EARLY_STOP_ROWS = 50_000
"""Validation rows a trial on a sample watches for early stopping, at most (or as many as it fits on): on a
3-million-row table a fold's 480,000 validation rows, scored after every round, made the first trial miss a 60 s
limit; all validation rows are still predicted and scored once."""
PROJECTION_SLACK = 0.8
"""A trial stops early when its folds left would end past the deadline even at 80 % of their projected time."""
PREDICT_ROW_WEIGHT = 0.5
"""What predicting a validation row costs against fitting on a training row, for ``fit_deadline``: a LightGBM fit on
25,600 rows of a 13-class table (2 threads) was stopped by its deadline after 197 rounds in 8.2 s, and predicting its
6,400 validation rows took 0.74 s (0.36 of a training row's time, rounded up)."""
FIRST_FOLD_EXTRA_S = 2.0
"""What the first fold of a trial may spend once (a library's import, a worker's warm-up): projected from the first
fold alone, each fold left takes the first one's time less this."""


@dataclass(frozen=True)
class Candidate:
    """A configuration to try: a unique model name, its family and parameters, and where it came from."""

    name: str
    family: str
    params: dict[str, Any]
    source: str = "default"


@dataclass
class TrainingData:
    """The training part of the table, ready for trials: features, encoded target, weights and folds."""

    schema: Schema
    features: pd.DataFrame
    y: np.ndarray
    weights: np.ndarray | None
    folds: list[Fold]
    context: Context
    metric: Metric
    seed: int
    n_jobs: int = 1

    def oof_template(self) -> np.ndarray:
        shape = (len(self.y),) if self.context.task == "regression" else (len(self.y), self.context.n_classes)
        return np.full(shape, np.nan)

    def validated_rows(self) -> np.ndarray:
        """Positions that appear in some validation fold (all rows under k-fold)."""
        rows = np.zeros(len(self.y), dtype=bool)
        for _, valid in self.folds:
            rows[valid] = True
        return rows


@dataclass
class TrialResult:
    """What a trial measured. ``oof`` holds out-of-fold outputs, NaN on rows never validated.

    ``fold_models`` are the models fitted on each fold's training rows, kept (in memory only) for families
    that bag, until the scheduler drops them from trials that can no longer be chosen.
    """

    candidate: Candidate
    status: str
    score: float = float("nan")
    metrics: dict[str, float] = field(default_factory=dict)
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0
    error: str = ""
    oof: np.ndarray | None = None
    number: int = 0
    fold_scores: list[float] = field(default_factory=list)
    refit_params: dict[str, Any] | None = None
    fold_models: list[Any] | None = None
    rounds: float | None = None
    """Boosters: the mean round count the folds stopped at, on ``fit_rows`` rows each (the refit's cost model)."""
    fit_rows: int | None = None

    @property
    def final_params(self) -> dict[str, Any]:
        """Parameters for the refit on all training rows (early-stopped rounds filled in)."""
        return self.refit_params if self.refit_params is not None else self.candidate.params

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def sampled(self) -> bool:
        """Whether the trial fitted its folds on a sample of their rows (``sample_rows``): its refit on all rows
        takes longer than its folds did, and its fold models saw part of the rows only."""
        return bool(self.candidate.params.get("sample_rows"))

    @property
    def fold_seconds(self) -> float | None:
        """Seconds a fold took to fit and predict, the mean of those timed (a trial stopped on the way times some
        of its folds); None when none was timed."""
        if self.ok:
            return self.fit_time_s + self.predict_time_s
        timed = len(self.fold_scores)
        return (self.fit_time_s + self.predict_time_s) / timed if timed and self.fit_time_s > 0 else None


def _context(data: TrainingData, rows: np.ndarray) -> Context:
    """The metric context for these rows: the task's, with their sample weights."""
    weights = data.weights[rows] if data.weights is not None else None
    return Context(data.context.task, data.context.positive_index, data.context.n_classes, weights)


def ranking_score(data: TrainingData, oof: np.ndarray) -> float:
    """The ranking metric alone of out-of-fold outputs, on the rows that were validated (cheaper than all metrics)."""
    rows = data.validated_rows()
    return data.metric.compute(data.y[rows], oof[rows], _context(data, rows))


def score_oof(data: TrainingData, oof: np.ndarray) -> tuple[float, dict[str, float]]:
    """The ranking score and all metrics of out-of-fold outputs, on the rows that were validated."""
    rows = data.validated_rows()
    metrics = compute_metrics(data.y[rows], oof[rows], _context(data, rows))
    return metrics[data.metric.name], metrics


def run_trial(candidate: Candidate, data: TrainingData, deadline: float,
              prune_worse_than: float | None = None) -> TrialResult:
    """Fit and score the candidate on every fold; a raising candidate becomes a failed result, never a crash.

    With ``prune_worse_than``, a trial whose first fold scores worse than that is stopped as 'pruned'. A
    ``sample_rows`` parameter fits each fold on a stratified sample of that many of its training rows (all of
    its validation rows are still predicted); the refit on all training rows ignores it.
    """
    spec = get_spec(candidate.family)
    oof = data.oof_template()
    sums, counts = np.zeros_like(oof), np.zeros(len(oof))  # repeated folds validate a row more than once: averaged
    fit_s = predict_s = 0.0
    fold_scores: list[float] = []
    rounds: list[float] = []
    stopped: list[int] = []
    models = []
    sampled = bool(candidate.params.get("sample_rows"))
    durations: list[float] = []
    for i, (fit_rows, valid_rows) in enumerate(data.folds):
        if (why := cannot_finish(durations, len(data.folds), deadline)) is not None:
            return TrialResult(candidate, "failed", error=why, fit_time_s=fit_s, predict_time_s=predict_s,
                               fold_scores=fold_scores)
        fitted = sample_of(fit_rows, data, candidate.params.get("sample_rows"))
        weights = data.weights[fitted] if data.weights is not None else None
        try:
            t0 = time.perf_counter()
            # a sampled trial stops early on at most EARLY_STOP_ROWS validation rows (all of them are scored)
            watched = sample_of(valid_rows, data, max(EARLY_STOP_ROWS, len(fitted))) if sampled else valid_rows
            valid = (data.features.iloc[watched], data.y[watched])
            model = fit_model(spec, candidate.params, data.schema, data.features.iloc[fitted], data.y[fitted],
                              weights, data.seed, data.n_jobs, valid=valid,
                              deadline=fit_deadline(deadline, len(fitted), len(valid_rows)))
            t1 = time.perf_counter()
            output = model.output(data.features.iloc[valid_rows])
            t2 = time.perf_counter()
            fold_scores.append(_fold_score(data, output, valid_rows))
            sums[valid_rows] += output
            counts[valid_rows] += 1
        except Exception as exc:  # any library error fails this candidate only
            return TrialResult(candidate, "failed", error=_reason(exc), fit_time_s=fit_s, predict_time_s=predict_s)
        fit_s += t1 - t0
        predict_s += t2 - t1
        durations.append(t2 - t0)
        models.append(model)
        if model.best_rounds is not None:  # more rows in the refit need more rounds (search/sampling.py)
            rounds.append(rounds_for(model.best_rounds, len(fitted), len(data.y), sampled))
            stopped.append(model.best_rounds)
        if i == 0 and len(data.folds) > 1 and prune_worse_than is not None \
                and not is_better(fold_scores[0], prune_worse_than, data.metric):
            return TrialResult(candidate, "pruned", score=fold_scores[0], fit_time_s=fit_s, predict_time_s=predict_s,
                               error="first fold worse than the median of earlier trials", fold_scores=fold_scores)
    seen = counts > 0
    oof[seen] = sums[seen] / (counts[seen] if oof.ndim == 1 else counts[seen, None])
    try:
        score, metrics = score_oof(data, oof)
    except ValueError as exc:
        return TrialResult(candidate, "failed", error=_reason(exc))
    n = len(data.folds)
    refit = {**candidate.params, spec.rounds_param: max(1, round(float(np.mean(rounds))))} if rounds else None
    return TrialResult(candidate, "ok", score=score, metrics=metrics, fit_time_s=fit_s / n,
                       predict_time_s=predict_s / n, oof=oof, fold_scores=fold_scores, refit_params=refit,
                       fold_models=models if spec.bag else None, rounds=float(np.mean(stopped)) if stopped else None,
                       fit_rows=len(fitted))


def fit_deadline(deadline: float, fit_rows: int, valid_rows: int) -> float:
    """When a fold's fit stops adding trees (boosters) so that predicting its validation rows still ends by
    ``deadline``: the time left is shared by rows, a validation row weighing ``PREDICT_ROW_WEIGHT`` of a training row.
    With the whole time left to the fit, a LightGBM default on a 32,000-row, 13-class table (one validation holdout,
    30 s) grew trees until its deadline, was still predicting a second later and was stopped, and the run's best model
    was a logistic regression (log loss 1.88; LightGBM's plain default 0.97)."""
    now = time.monotonic()
    if not np.isfinite(deadline) or deadline <= now:
        return deadline
    return now + (deadline - now) * fit_rows / (fit_rows + PREDICT_ROW_WEIGHT * valid_rows)


def cannot_finish(durations: list[float], folds: int, deadline: float) -> str | None:
    """Why a trial that has timed ``durations`` of its ``folds`` folds stops now (None: it goes on). A trial that does
    not score every fold is lost, so it stops as soon as its folds are known not to fit: when the next one, as long
    as the mean so far, would end past the deadline; or when the folds left, each as long as the mean of the timed folds
    after the first (which pays one-off costs such as a library's import; after the first fold, its time less
    ``FIRST_FOLD_EXTRA_S``), would end past it even at ``PROJECTION_SLACK`` of that time (fold times vary). At 120 s
    on a 127-row, 3-class table, one CatBoost configuration (depth 8, 15 folds of repeated cross-validation) took 10 s
    a fold and was cut at the deadline after 5 folds and 50 s, all of them lost."""
    done = len(durations)
    if not done:
        return None
    now = time.monotonic()
    if now + sum(durations) / done > deadline:
        return f"time limit reached after {done} of {folds} folds"
    each = float(np.mean(durations[1:])) if done >= 2 else max(0.0, durations[0] - FIRST_FOLD_EXTRA_S)
    if now + PROJECTION_SLACK * (folds - done) * each > deadline:
        return (f"stopped after {done} of {folds} folds: the {folds - done} left, at {each:.1f} s each, would end "
                "past the time limit")
    return None


def sample_of(rows: np.ndarray, data: TrainingData, size: int | None) -> np.ndarray:
    """``size`` of ``rows``, stratified by class for classification (all of them when there are fewer)."""
    if size is None or len(rows) <= size:
        return rows
    from sklearn.model_selection import train_test_split

    classify = data.context.task != "regression"
    kept, _ = train_test_split(rows, train_size=int(size), random_state=data.seed,
                               stratify=data.y[rows] if classify else None)
    return np.sort(kept)


def _fold_score(data: TrainingData, output: np.ndarray, rows: np.ndarray) -> float:
    try:
        return data.metric.compute(data.y[rows], output, _context(data, rows))
    except ValueError:
        return float("nan")


def _reason(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (in {last[0].name})" if last else ""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}{where}"[:300]
