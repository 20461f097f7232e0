"""Over- or underfitting: training vs validation vs test skill, a learning curve, and a verdict in plain words.

Skill is put on one scale for every task so that one set of rules reads it: R² for regression, and
2·AUC − 1 (the Gini coefficient; 0 = guessing, 1 = perfect ranking) for classification.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

OVERFIT_GAP = 0.15
MILD_GAP = 0.08
UNDERFIT_SKILL = 0.30
WEAK_SKILL = 0.60
BETTER_BY = 0.05
STILL_RISING = 0.01


def skill(metrics: dict[str, float], task: str) -> float:
    """One number on a common scale: R² for regression, 2·AUC − 1 for classification (NaN if unavailable)."""
    if task == "regression":
        return float(metrics.get("r2", math.nan))
    auc = metrics.get("roc_auc", math.nan)
    return 2 * float(auc) - 1 if auc is not None else math.nan


SKILL_NAME = {"regression": "R²", "binary": "Gini (2·AUC − 1)", "multiclass": "Gini (2·AUC − 1, one-vs-rest)"}


@dataclass
class LearningCurve:
    """Training examples -> training and validation skill, and how it was made (subsample, stop reason)."""

    sizes: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    validation: list[float] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


@dataclass
class Diagnosis:
    skill_name: str
    train: float
    validation: float
    test: float
    best_other: float
    best_other_name: str
    verdict: str
    more_data_helps: bool
    headline: str
    advice: list[str]
    curve: LearningCurve

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _rising(curve: LearningCurve) -> bool:
    v = [x for x in curve.validation if math.isfinite(x)]
    return len(v) >= 3 and v[-1] - v[-2] > STILL_RISING and v[-1] > v[0]


def diagnose(task: str, train: float, validation: float, test: float, curve: LearningCurve,
             best_other: float = math.nan, best_other_name: str = "") -> Diagnosis:
    """The verdict — 'overfitting', 'underfitting' or 'good fit' — with whether more data would help, and advice."""
    val = validation if _finite(validation) else test
    gap = train - val if _finite(train, val) else math.nan
    more = _rising(curve)
    richer = _finite(best_other, val) and best_other - val > BETTER_BY
    advice: list[str] = []
    if _finite(gap) and gap > max(OVERFIT_GAP, 0.25 * abs(train)):
        verdict = "overfitting"
        headline = (f"Overfitting: the model scores {train:.2f} on the rows it learned from but {val:.2f} on rows "
                    f"it has not seen (gap {gap:.2f}). It memorises part of the training data.")
        advice += ["Regularize: shallower trees or fewer leaves, more rows per leaf, stronger penalties "
                   "(a longer --time-limit lets the tuner search these).",
                   "Try a simpler model family, or drop noisy and near-duplicate features."]
        if more:
            advice.append("Add training data: the validation score still rises with more rows.")
    elif _finite(train) and (train < UNDERFIT_SKILL or (train < WEAK_SKILL and richer)):
        verdict = "underfitting"
        headline = (f"Underfitting: the model scores only {train:.2f} even on its own training rows and "
                    f"{val:.2f} on unseen rows; it is too simple for the pattern in the data.")
        if richer:
            advice.append(f"Use a richer model: {best_other_name} reaches {best_other:.2f} in cross-validation.")
        advice += ["Give the model more capacity (deeper trees, more boosting rounds, weaker regularization).",
                   "Add features that carry the signal: interactions, ratios, domain knowledge."]
    else:
        verdict = "good fit"
        headline = (f"Good fit: training {train:.2f}, validation {val:.2f}, test {test:.2f}; the scores agree, "
                    "so the test score is a fair estimate of performance on new data.")
        if _finite(gap) and gap > MILD_GAP:
            advice.append(f"Training and validation differ by {gap:.2f}: somewhat stronger regularization may help.")
        if _finite(train) and train < WEAK_SKILL:
            advice.append("The signal is weak: the features explain little of the target. Better features "
                          "would help more than another model.")
        if richer:
            advice.append(f"{best_other_name} does better in cross-validation ({best_other:.2f}).")
    if more and verdict != "overfitting":
        advice.append("More training data would help: the validation score still rises at the full training size.")
    if _finite(test, val) and abs(test - val) > max(OVERFIT_GAP, 0.2 * abs(val)):
        advice.append(f"The test score ({test:.2f}) differs from cross-validation ({val:.2f}) by more than chance "
                      "usually explains: check that the test rows come from the same population (or time).")
    return Diagnosis(SKILL_NAME.get(task, "skill"), train, validation, test, best_other, best_other_name, verdict,
                     more, headline, advice, curve)


def learning_curve(fit_and_score: Any, n_fit: int, *, fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0),
                   seconds: float = 10.0, expected_full_fit_s: float | None = None, min_rows: int = 20) -> LearningCurve:
    """Train and validation skill at growing shares of ``n_fit`` rows, within ``seconds``.

    ``fit_and_score(n_rows)`` fits on the first ``n_rows`` of a shuffled training part and returns
    (train skill, validation skill). When the full curve would not fit in time, the largest size is cut
    down to a subsample (said in ``note``); a point that would end after the time is up, at the pace of the one
    before, is left out with the ones after it.
    """
    started = time.monotonic()
    cap = n_fit
    notes = []
    if expected_full_fit_s and expected_full_fit_s > 0:
        total = expected_full_fit_s * sum(fractions)
        if total > seconds:
            cap = max(min_rows, int(n_fit * seconds / total))
            notes.append(f"on a subsample of up to {cap:,} of {n_fit:,} training rows to stay within the time limit")
    curve = LearningCurve()
    last_s = 0.0
    for fraction in fractions:
        n = max(min_rows, round(cap * fraction))
        if n > n_fit or (curve.sizes and n <= curve.sizes[-1]):
            continue
        # the next point takes about as long per row as the last one did
        if curve.sizes and time.monotonic() - started + last_s * n / curve.sizes[-1] > seconds:
            notes.append(f"stopped at {curve.sizes[-1]:,} rows: the time for the curve ran out")
            break
        point_started = time.monotonic()
        train, valid = fit_and_score(n)
        last_s = time.monotonic() - point_started
        curve.sizes.append(n)
        curve.train.append(float(train))
        curve.validation.append(float(valid))
    curve.note = "; ".join(notes)
    curve.seconds = round(time.monotonic() - started, 3)
    return curve


def subsample_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """Sorted positions of at most ``limit`` of ``n`` rows, drawn at random."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
