"""Calibrated probabilities: chosen on out-of-fold predictions only when they lower log loss, kept in the bundle."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.bundle import load_bundle, save_bundle
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.errors import BundleError
from trainlab.models.calibration import (
    CalibratedModel,
    Calibrator,
    calibrate_oof,
    choose_calibration,
    fit_calibrator,
    log_loss,
)
from trainlab.models.fitted import fit_model
from trainlab.models.missing import GapFilledModel
from trainlab.models.registry import get_spec
from trainlab.predict import Predictor
from trainlab.report import write_report
from trainlab.run import encode_target


def _binary_rates(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """True positive rates per row and labels drawn from them."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(0.05, 0.95, n)
    return rate, (rng.random(n) < rate).astype(int)


def _columns(positive: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - positive, positive])


def _multiclass(n: int = 1500, seed: int = 1, sharpen: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax probabilities; the returned probabilities are sharpened by ``sharpen``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3)) * 1.5
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in true])
    shown = np.exp(logits * sharpen)
    return shown / shown.sum(axis=1, keepdims=True), y


def test_over_confident_binary_model_is_calibrated_and_its_log_loss_drops():
    rate, y = _binary_rates()
    over = _columns(np.where(rate > 0.5, 0.995, 0.005))  # right side of 0.5, far too sure
    calibrator, record = choose_calibration(over, y, 2, seed=0)
    assert calibrator is not None and record["method"] in ("sigmoid", "isotonic")
    assert record["oof_log_loss_after"] < 0.8 * record["oof_log_loss_before"]
    assert record["oof_log_loss_after"] == pytest.approx(record["candidates"][record["method"]])
    fixed = calibrator.apply(over)
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)
    assert log_loss(y, fixed, 2) < log_loss(y, over, 2)


def test_well_calibrated_model_is_left_alone():
    rate, y = _binary_rates()
    calibrator, record = choose_calibration(_columns(rate), y, 2, seed=0)
    assert calibrator is None and record["method"] == "none"
    assert record["oof_log_loss_after"] == record["oof_log_loss_before"]
    assert set(record["candidates"]) == {"sigmoid", "isotonic"}


def test_multiclass_well_calibrated_is_left_alone():
    proba, y = _multiclass()
    calibrator, record = choose_calibration(proba, y, 3, seed=0)
    assert calibrator is None and set(record["candidates"]) == {"temperature", "sigmoid_ovr"}


def test_temperature_scaling_undoes_sharpened_multiclass_probabilities():
    proba, y = _multiclass(sharpen=3.0)
    calibrator = fit_calibrator("temperature", proba, y, None, 3)
    assert calibrator.params["temperature"] == pytest.approx(3.0, rel=0.2)
    fixed = calibrator.apply(proba)
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)
    assert (fixed.argmax(axis=1) == proba.argmax(axis=1)).all()  # one temperature keeps every row's ranking
    assert log_loss(y, fixed, 3) < 0.8 * log_loss(y, proba, 3)
    chosen, record = choose_calibration(proba, y, 3, seed=0)
    assert chosen is not None and record["oof_log_loss_after"] < record["oof_log_loss_before"]


def test_isotonic_is_monotone_and_stays_inside_zero_and_one():
    rate, y = _binary_rates()
    noisy = _columns(np.clip(rate ** 2 + np.random.default_rng(3).normal(0, 0.05, len(rate)), 0, 1))
    calibrator = fit_calibrator("isotonic", noisy, y, None, 2)
    grid = np.linspace(-0.1, 1.1, 500)  # beyond the fitted range too
    out = calibrator.apply(_columns(grid))[:, 1]
    assert (np.diff(out) >= 0).all()
    assert out.min() > 0 and out.max() < 1
    assert Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())), 2) == calibrator


def test_platt_scaling_matches_scikit_learns_logistic_regression_on_many_rows():
    from sklearn.linear_model import LogisticRegression

    rate, y = _binary_rates(n=20_000)  # enough rows that the prior on the slope hardly moves it
    shown = _columns(rate ** 0.5)  # too high everywhere: the intercept must come down
    weights = np.random.default_rng(4).uniform(0.5, 2.0, len(y))
    params = fit_calibrator("sigmoid", shown, y, weights, 2).params
    logit = np.log(shown[:, 1] / (1 - shown[:, 1]))
    reference = LogisticRegression(C=1e4).fit(logit[:, None], y, sample_weight=weights)
    assert params["a"] == pytest.approx(reference.coef_[0, 0], abs=2e-3)
    assert params["b"] == pytest.approx(reference.intercept_[0], abs=2e-3) and params["b"] < 0


def _separable(n_classes: int, n: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities with no mistake (a small, nearly separable table), and their labels."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, n_classes, n)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y] += 6
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert (proba.argmax(axis=1) == y).all()
    return proba, y


@pytest.mark.parametrize("n_classes", [2, 3])
def test_out_of_fold_rows_without_mistakes_do_not_sharpen_probabilities_to_certainty(n_classes):
    """A boundary row the model puts at 30 % for its true class must not be pushed towards 0 because no
    out-of-fold row was ever wrong (penguins: one such test row cost 0.3 of log loss at temperature 0.05)."""
    proba, y = _separable(n_classes)
    calibrator, record = choose_calibration(proba, y, n_classes, seed=0)
    assert "isotonic" not in record["candidates"]  # too few rows for its steps
    boundary = np.full((1, n_classes), 0.7 / max(n_classes - 1, 1))
    boundary[0, 0] = 0.3
    kept = boundary if calibrator is None else calibrator.apply(boundary)
    assert kept[0, 0] > 0.15
    if n_classes > 2:
        assert fit_calibrator("temperature", proba, y, None, n_classes).params["temperature"] > 0.5


def test_weights_count_in_the_choice():
    rate, y = _binary_rates()
    over = _columns(np.where(rate > 0.5, 0.995, 0.005))
    weights = np.where(y == 1, 3.0, 1.0)
    calibrator, record = choose_calibration(over, y, 2, weights, seed=0)
    assert calibrator is not None
    assert record["oof_log_loss_before"] == pytest.approx(log_loss(y, over, 2, weights))


def test_rows_never_validated_are_ignored_and_stay_nan():
    rate, y = _binary_rates()
    over = _columns(np.where(rate > 0.5, 0.995, 0.005))
    over[:100] = np.nan
    calibrator, record = choose_calibration(over, y, 2, seed=0)
    assert calibrator is not None and record["rows"] == len(y) - 100
    fixed = calibrate_oof(calibrator, over)
    assert fixed is not None and np.isnan(fixed[:100]).all() and not np.isnan(fixed[100:]).any()


def test_too_few_rows_are_not_calibrated():
    rate, y = _binary_rates(n=20)
    calibrator, record = choose_calibration(_columns(np.round(rate)), y, 2)
    assert calibrator is None and "too few" in record["reason"]


@pytest.mark.parametrize(("data", "message"), [
    ({"method": "sigmoid", "params": {"a": "x", "b": 0.0}}, "not finite numbers"),
    ({"method": "sigmoid", "params": {"a": float("nan"), "b": 0.0}}, "not finite numbers"),
    ({"method": "isotonic", "params": {"x": [0.0, 1.0], "y": [0.9, 0.1]}}, "must be increasing"),
    ({"method": "isotonic", "params": {"x": [0.0, 1.0], "y": [0.5]}}, "'y' must be 2 numbers"),
    ({"method": "temperature", "params": {"temperature": 1.0}}, "'temperature' is not one of sigmoid, isotonic"),
    ({"method": "pickle", "params": {}}, "'pickle' is not one of"),
    ("sigmoid", "must be an object with 'method' and 'params'"),
], ids=["text", "nan", "decreasing", "lengths", "multiclass-on-binary", "unknown", "not-an-object"])
def test_malformed_calibrators_are_refused(data, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Calibrator.from_dict(data, 2)


@pytest.fixture
def over_confident_tree(binary_frame):
    schema = infer_schema(binary_frame, "outcome")
    features = make_features(binary_frame, schema)
    y = encode_target(binary_frame, schema)
    model = fit_model(get_spec("decision_tree"), {"max_depth": None, "min_samples_leaf": 1}, schema, features, y,
                      None, 0)
    calibrator = Calibrator("sigmoid", {"a": 0.3, "b": -0.1})
    return schema, features, CalibratedModel(model, calibrator)


def test_calibrated_model_passes_the_inner_model_through(over_confident_tree):
    _, features, model = over_confident_tree
    raw = model.model.output(features)
    np.testing.assert_allclose(model.output(features), model.calibrator.apply(raw))
    assert model.task == "binary" and model.n_classes == 2
    assert model.family == "decision_tree" and model.estimator is model.model.estimator
    assert getattr(model, "members", None) is None


def test_bundle_round_trip_keeps_the_calibration(tmp_path, over_confident_tree):
    schema, features, model = over_confident_tree
    manifest = save_bundle(model, schema, tmp_path / "model", extras={"calibration": {"oof_log_loss_before": 1.0}})
    assert manifest.extras["calibration"]["method"] == "sigmoid"
    assert manifest.extras["calibration"]["calibrator"] == model.calibrator.to_dict()
    assert not any("calib" in name for name in manifest.files)  # plain data in the manifest, no new file
    loaded_manifest, loaded = load_bundle(tmp_path / "model")
    assert isinstance(loaded, CalibratedModel) and loaded.calibrator == model.calibrator
    np.testing.assert_array_equal(loaded.output(features), model.output(features))
    save_bundle(model.model, schema, tmp_path / "raw", extras=loaded_manifest.extras)
    _, raw = load_bundle(tmp_path / "raw")  # a raw model saved with a calibrated model's extras stays raw
    assert not isinstance(raw, CalibratedModel)


@pytest.mark.parametrize("tamper", [
    lambda c: c["calibrator"]["params"].update(a="1; import os"),
    lambda c: c["calibrator"].update(method="isotonic"),
    lambda c: c.pop("calibrator"),
    lambda c: c["calibrator"]["params"].pop("b"),
], ids=["text-number", "method-mismatch", "calibrator-removed", "parameter-missing"])
def test_tampered_calibration_in_the_manifest_is_refused(tmp_path, over_confident_tree, tamper):
    schema, _, model = over_confident_tree
    save_bundle(model, schema, tmp_path / "model")
    path = tmp_path / "model" / "manifest.json"
    manifest = json.loads(path.read_text())
    tamper(manifest["extras"]["calibration"])
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"calibration in manifest\.json is malformed"):
        Predictor.load(tmp_path / "model")


def _noisy_table(n: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-(x1 + 0.5 * x2))), "yes", "no")
    return pd.DataFrame({"x1": x1, "x2": x2, "noise": rng.choice(["a", "b", "c"], n), "y": y})


def test_train_calibrates_an_over_confident_tree_end_to_end(tmp_path):
    frame, new = _noisy_table(400), _noisy_table(300, seed=6)
    run = trainlab.train(frame, target="y", out_dir=tmp_path, name="calib", models=("decision_tree",),
                         time_limit=None, max_trials=3, folds=5, refit_full=True)  # a refit, not the fold models
    stored = json.loads((run.folder / "run.json").read_text())
    record = stored["calibration"]
    assert record["method"] in ("sigmoid", "isotonic")
    assert record["oof_log_loss_after"] < record["oof_log_loss_before"]
    html = (run.folder / "report.html").read_text()
    assert f"{record['oof_log_loss_before']:.4f} before, {record['oof_log_loss_after']:.4f} after" in html
    assert "Probabilities calibrated by <strong>" in html
    model = run.predictor.model
    assert isinstance(model, GapFilledModel) and isinstance(model.model, CalibratedModel)  # gaps: calibrated, then averaged
    saved = trainlab.load(run.bundle_path)
    assert isinstance(saved.model.model, CalibratedModel)
    rows = new.drop(columns="y")
    pd.testing.assert_frame_equal(saved.predict_proba(rows), run.predict_proba(rows))
    copy = trainlab.load(run.save(tmp_path / "copy"))
    pd.testing.assert_frame_equal(copy.predict_proba(rows), run.predict_proba(rows))
    y = (new["y"] == "yes").to_numpy(dtype=int)
    features = make_features(rows, run.schema)
    assert log_loss(y, model.output(features), 2) < log_loss(y, model.model.model.output(features), 2) - 0.1
    stored["calibration"] = {"method": "none", "oof_log_loss_before": 0.5, "oof_log_loss_after": 0.5,
                             "candidates": {"sigmoid": 0.51, "isotonic": 0.52}}
    (run.folder / "run.json").write_text(json.dumps(stored))
    html = write_report(run.folder).read_text()
    assert ("Probabilities not calibrated: Platt scaling (sigmoid) or isotonic regression did not lower the "
            "out-of-fold log loss (0.5000) enough.") in html


def test_a_multiclass_calibrator_that_would_cost_accuracy_is_not_chosen():
    # labels from softmax probabilities; the model's logits are scaled and shifted per class, so Platt scaling per
    # class lowers the cross-fitted log loss more than one temperature does, but changes predicted classes for worse
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2000, 3)) * 1.5
    true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in true])
    shift, scale = rng.normal(size=3), np.exp(rng.normal(size=3) * 0.5)
    shown = np.exp(logits * scale + shift)
    shown /= shown.sum(axis=1, keepdims=True)
    calibrator, record = choose_calibration(shown, y, 3, seed=0)
    accuracy = record["oof_accuracy"]
    assert record["candidates"]["sigmoid_ovr"] < min(record["candidates"]["temperature"], record["oof_log_loss_before"])
    assert accuracy["sigmoid_ovr"] < accuracy["before"] == accuracy["temperature"]
    assert record["method"] != "sigmoid_ovr" and (calibrator is None or calibrator.method == "temperature")
