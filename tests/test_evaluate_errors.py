"""Confusion matrix, mistakes, segments and curves against hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.evaluate.curves import calibration, classification_curves, regression_curves
from trainlab.evaluate.errors import confident_mistakes, confusion, segment_errors


def test_confusion_counts_match_a_hand_count():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0, 2])
    result = confusion(y, pred, ["a", "b", "c"])
    assert result["counts"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert result["rates"][0] == [0.5, 0.5, 0.0]
    assert result["per_class"]["a"] == {"support": 2, "true_positives": 1, "false_positives": 1, "false_negatives": 1,
                                       "precision": 0.5, "recall": 0.5}
    assert result["per_class"]["b"]["false_positives"] == 1
    assert result["per_class"]["c"]["false_negatives"] == 1


def test_confident_mistakes_are_original_rows_surest_first():
    rows = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["a", "b", "a", "b"]}, index=[10, 11, 12, 13])
    y = np.array([0, 1, 0, 1])
    proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    mistakes = confident_mistakes(rows, y, proba, ["a", "b"])
    assert [m["index"] for m in mistakes] == [12, 11]
    assert mistakes[0]["row"] == {"x": 3, "y": "a"}
    assert mistakes[0]["predicted"] == "b" and mistakes[0]["confidence"] == pytest.approx(0.8)


def test_segment_errors_point_at_the_planted_weak_segment():
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], size=600)
    wrong = np.where(colour == "red", rng.random(600) < 0.6, rng.random(600) < 0.1).astype(float)
    frame = pd.DataFrame({"colour": colour, "size": rng.normal(size=600)})
    segments = segment_errors(frame, wrong, ["size", "colour"])
    assert segments[0]["feature"] == "colour"
    assert segments[0]["worst"] == "red"
    assert segments[0]["lift"] > 2
    sizes = next(s for s in segments if s["feature"] == "size")
    assert len(sizes["segments"]) == 5 and sum(s["rows"] for s in sizes["segments"]) == 600


def test_calibration_bins_and_brier():
    truth = np.array([0, 0, 1, 1], dtype=float)
    prob = np.array([0.1, 0.1, 0.9, 0.9])
    cal = calibration(truth, prob)
    assert cal["counts"] == [2, 2]
    assert cal["brier"] == pytest.approx(0.01)


def test_binary_curves_use_the_positive_class():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.35, 0.65], [0.2, 0.8]])
    curves = classification_curves(y, proba, ["no", "yes"], positive_index=0)
    assert curves["positive_class"] == "no"
    assert curves["roc"]["auc"] == pytest.approx(1.0)


def test_regression_curves_sample_large_inputs():
    y = np.arange(5000, dtype=float)
    curves = regression_curves(y, y + 1)
    assert curves["sampled"] and len(curves["actual"]) == 2000
    assert curves["residual_quantiles"]["p50"] == pytest.approx(-1)
