"""The binary decision threshold: chosen on out-of-fold predictions, applied by metrics and the Predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.errors import ConfigError
from trainlab.evaluate.analysis import encode_labels
from trainlab.evaluate.metrics import Context, compute_metrics, predicted_labels
from trainlab.evaluate.threshold import choose_threshold
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.predict import Predictor


def _imbalanced(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positives are rare and the model under-confident: the best f1 threshold is well below 0.5."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    p = np.clip(0.08 + 0.3 * y + rng.normal(0, 0.08, n), 0.001, 0.999)
    return y, np.column_stack([1 - p, p])


def test_threshold_is_chosen_for_f1_and_beats_the_default():
    y, oof = _imbalanced()
    chosen = choose_threshold(y, oof, Context("binary", 1, 2), "f1")
    assert chosen is not None and chosen["threshold"] < 0.4
    assert chosen["oof_score"] > chosen["oof_score_at_default"] + 0.1
    at = compute_metrics(y, oof, Context("binary", 1, 2, threshold=chosen["threshold"]))["f1"]
    assert at == pytest.approx(chosen["oof_score"])


@pytest.mark.parametrize(("task", "metric"), [("binary", "roc_auc"), ("binary", "accuracy"), ("multiclass", "f1")])
def test_no_threshold_for_threshold_free_metrics_accuracy_or_multiclass(task, metric):
    y, oof = _imbalanced()
    assert choose_threshold(y, oof, Context(task, 1, 2), metric) is None


def test_predicted_labels_apply_the_threshold_to_the_positive_class():
    proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    assert predicted_labels(proba, Context("binary", 1, 2)).tolist() == [0, 1, 0]
    assert predicted_labels(proba, Context("binary", 1, 2, threshold=0.25)).tolist() == [1, 1, 0]
    assert predicted_labels(proba, Context("binary", 0, 2, threshold=0.65)).tolist() == [0, 1, 0]


def test_predictor_applies_its_threshold_and_rejects_a_bad_one():
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(size=300) > 1.5, "yes", "no")})
    schema = infer_schema(frame, "y")
    model = fit_model(get_spec("linear"), {"C": 1.0}, schema, make_features(frame, schema),
                      encode_labels(frame, schema), None, 0)
    predictor = Predictor(model, schema)
    default = (predictor.predict(frame) == "yes").sum()
    predictor.threshold = 0.1
    assert (predictor.predict(frame) == "yes").sum() > default
    assert (predictor.predictions_table(frame)["prediction"] == "yes").sum() > default
    predictor.threshold = 1.5
    with pytest.raises(ConfigError, match="between 0 and 1"):
        predictor.predict(frame)
