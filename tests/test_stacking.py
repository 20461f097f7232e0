"""Stacking: non-negative blend weights fitted on out-of-fold predictions and scored by cross-fitting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import trainlab
from trainlab.evaluate.metrics import METRICS, Context
from trainlab.search.stacking import fit_weights, stack_ensemble
from trainlab.search.trial import Candidate, TrainingData, TrialResult, score_oof


def _data(y: np.ndarray, task: str, metric: str) -> TrainingData:
    half = len(y) // 2
    n_classes = 0 if task == "regression" else int(y.max()) + 1
    return TrainingData(schema=None, features=pd.DataFrame(), y=y, weights=None,  # type: ignore[arg-type]
                        folds=[(np.arange(half), np.arange(half, len(y))), (np.arange(half, len(y)), np.arange(half))],
                        context=Context(task, 1, n_classes), metric=METRICS[metric], seed=0)


def _trial(name: str, oof: np.ndarray, data: TrainingData, fit_time: float = 1.0) -> TrialResult:
    """A finished trial of a family of its own (ensembles take the best trial of each family)."""
    score, metrics = score_oof(data, oof)
    return TrialResult(Candidate(name, name, {}), "ok", score=score, metrics=metrics, oof=oof, fit_time_s=fit_time)


def test_weights_recover_the_blend_that_made_the_target() -> None:
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 2000))
    y = 0.7 * a + 0.3 * b
    weights = fit_weights(np.stack([a, b, c]), y, "regression")
    assert np.allclose(weights, [0.7, 0.3, 0.0], atol=0.02)
    assert abs(weights.sum() - 1) < 1e-9 and (weights >= 0).all()


def test_log_loss_weights_prefer_the_calibrated_member() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    p_true = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(scale=0.1, size=len(y)), 0.01, 0.99)
    good = np.column_stack([1 - p_true, p_true])
    noise = rng.uniform(size=len(y))
    bad = np.column_stack([1 - noise, noise])
    weights = fit_weights(np.stack([bad, good]), y, "binary")
    assert weights[1] > 0.9


def test_the_stacked_score_is_cross_fitted_and_its_members_fit_the_time_left() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=600)
    data = _data(y, "regression", "rmse")
    trials = [_trial(f"m{i}", y + rng.normal(scale=0.5 + 0.2 * i, size=len(y)), data, fit_time=i + 1.0)
              for i in range(4)]
    stacked = stack_ensemble(trials, data)
    assert stacked is not None
    assert stacked.score < min(t.score for t in trials)  # independent errors: the blend beats each member
    final = np.sum([w * t.oof for t, w in zip(stacked.trials, stacked.weights, strict=True)], axis=0)
    assert stacked.score != score_oof(data, final)[0]  # the reported score is not the in-sample one
    cheap = stack_ensemble(trials, data, refit_cost=lambda t: t.fit_time_s, time_left=3.0)
    assert cheap is not None and {t.candidate.name for t in cheap.trials} <= {"m0", "m1"}
    assert stack_ensemble(trials, data, refit_cost=lambda t: t.fit_time_s, time_left=1.5) is None


def test_a_stacked_ensemble_is_on_the_leaderboard_beside_the_greedy_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("abcd"))
    frame["y"] = frame.a * 2 + np.sin(3 * frame.b) + rng.normal(scale=0.3, size=len(frame))
    run = trainlab.train(frame, target="y", max_trials=4, models=("linear", "decision_tree", "knn"),
                         out_dir=tmp_path, report=False)
    board = run.leaderboard.set_index("model")
    assert board.loc["ensemble_stacked", "family"] == "ensemble"
    stacked = next(t for t in run.trials if t.candidate.name == "ensemble_stacked")
    assert abs(sum(stacked.candidate.params["members"].values()) - 1) < 1e-9
    assert set(stacked.candidate.params["members"]) <= set(board.index)
