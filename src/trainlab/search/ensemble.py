"""Weighted averages of trained models' outputs, and greedy ensemble selection on out-of-fold predictions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainlab.evaluate.metrics import is_better
from trainlab.models.fitted import TrainedModel
from trainlab.search.trial import TrainingData, TrialResult, score_oof


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


@dataclass
class Selection:
    """The trials picked by ensemble selection, their weights, and the ensemble's out-of-fold score."""

    trials: list[TrialResult]
    weights: list[float]
    score: float
    metrics: dict[str, float]
    oof: np.ndarray


def select_ensemble(trials: list[TrialResult], data: TrainingData, max_members: int = 20,
                    rounds: int = 30) -> Selection | None:
    """Greedy selection with replacement (Caruana et al., 2004) over the best ``max_members`` trials.

    Starts from the best single trial and adds a trial only when it improves the out-of-fold score, so the
    ensemble is never worse than its best member on out-of-fold data. None when fewer than two trials finished.
    """
    metric = data.metric
    ranked = sorted((t for t in trials if t.ok and not np.isnan(t.score)),
                    key=lambda t: -t.score if metric.greater_is_better else t.score)
    pool = [t for t in ranked if t.oof is not None][:max_members]
    oofs = [t.oof for t in pool if t.oof is not None]
    if len(pool) < 2:
        return None
    picks = [0]
    total = oofs[0].copy()
    best_score = pool[0].score
    for _ in range(rounds):
        step_best, step_index = best_score, None
        for i, oof in enumerate(oofs):
            score, _ = score_oof(data, (total + oof) / (len(picks) + 1))
            if is_better(score, step_best, metric):
                step_best, step_index = score, i
        if step_index is None:
            break
        picks.append(step_index)
        total = total + oofs[step_index]
        best_score = step_best
    counts = Counter(picks)
    chosen = sorted(counts)
    weights = [counts[i] / len(picks) for i in chosen]
    blended = np.sum([w * oofs[i] for i, w in zip(chosen, weights, strict=True)], axis=0)
    score, metrics = score_oof(data, blended)
    return Selection(trials=[pool[i] for i in chosen], weights=weights, score=score, metrics=metrics, oof=blended)
