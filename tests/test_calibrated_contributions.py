"""Explanations of calibrated models: rescaled to the calibrated log-odds where the calibration is linear in them,
labelled as explaining the uncalibrated score where it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.evaluate.contributions import contributions
from trainlab.models.calibration import CalibratedModel, Calibrator
from trainlab.models.fitted import TrainedModel, fit_model
from trainlab.models.registry import get_spec
from trainlab.run import encode_target


def _logit(p: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(p) - np.log1p(-p))


def _fit(family: str, frame: pd.DataFrame) -> tuple[TrainedModel, pd.DataFrame]:
    schema = infer_schema(frame, "y")
    features = make_features(frame, schema)
    params = {**get_spec(family).defaults, **({"n_estimators": 60} if family == "lightgbm" else {})}
    return fit_model(get_spec(family), params, schema, features, encode_target(frame, schema), None, 0), features


@pytest.fixture
def binary() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue", "green"], 300)
    score = frame["a"] - 0.7 * frame["b"] + (frame["colour"] == "red") + rng.normal(0, 1, 300)
    frame["y"] = np.where(score > 0, "yes", "no")
    return frame


@pytest.mark.parametrize("family", ["lightgbm", "linear"])
@pytest.mark.parametrize("positive", [1, 0], ids=["second-class", "first-class"])
def test_sigmoid_calibrated_contributions_add_up_to_the_calibrated_log_odds(binary: pd.DataFrame, family: str,
                                                                             positive: int) -> None:
    model, features = _fit(family, binary)
    calibrated = CalibratedModel(model, Calibrator("sigmoid", {"a": 0.6, "b": -0.4}))
    rows = features.head(40)
    found = contributions(calibrated, rows, features.head(100), positive_index=positive)
    proba = calibrated.output(rows)[:, positive]
    assert np.allclose(found.values.sum(axis=1) + found.base, _logit(proba), atol=1e-6)
    assert found.unit == "calibrated log-odds" and "scaled by the Platt calibration" in found.method
    raw = contributions(model, rows, features.head(100), positive_index=positive)
    assert np.allclose(found.values, 0.6 * raw.values)  # the ranking of features within a row is unchanged


def test_temperature_scaled_contributions_are_the_raw_ones_over_t() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(240, 2)), columns=["a", "b"])
    frame["y"] = np.select([frame["a"] > 0.4, frame["b"] > 0], ["alpha", "beta"], "gamma")
    model, features = _fit("lightgbm", frame)
    calibrated = CalibratedModel(model, Calibrator("temperature", {"temperature": 2.0}))
    rows = features.head(30)
    found = contributions(calibrated, rows, features)
    raw = contributions(model, rows, features)
    assert np.array_equal(found.explained, raw.explained)  # the predicted class is the same after scaling
    assert np.allclose(found.values, raw.values / 2.0) and np.allclose(found.base, raw.base / 2.0)
    margins = model.estimator.booster_.predict(model.preprocessor.transform(rows), raw_score=True)
    explained = margins[np.arange(len(rows)), found.explained]
    assert np.allclose(found.values.sum(axis=1) + found.base, explained / 2.0, atol=1e-6)
    assert "divided by the calibration temperature 2" in found.method


def test_isotonic_calibration_keeps_raw_contributions_and_says_so(binary: pd.DataFrame) -> None:
    model, features = _fit("lightgbm", binary)
    iso = Calibrator("isotonic", {"x": [0.0, 0.5, 1.0], "y": [0.01, 0.4, 0.99]})
    rows = features.head(20)
    found = contributions(CalibratedModel(model, iso), rows, features)
    raw = contributions(model, rows, features)
    assert np.allclose(found.values, raw.values) and found.unit == "log-odds"
    assert found.method.endswith("contributions explain the model's score before isotonic calibration; "
                                 "the ranking holds")
