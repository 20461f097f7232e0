"""A planted informative feature tops the importance; pure noise is near the bottom; contributions add up."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from trainlab.bundle import load_bundle, save_bundle
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.evaluate import contributions as contributions_module
from trainlab.evaluate.analysis import encode_labels
from trainlab.evaluate.contributions import contributions, native_contributions
from trainlab.evaluate.importance import explain_rows, feature_importance
from trainlab.evaluate.metrics import Context, resolve_metric
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.search.ensemble import EnsembleModel


def _planted(task: str, n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal, weak, noise = rng.normal(size=(3, n))
    colour = rng.choice(["red", "green", "blue"], size=n)
    value = 3 * signal + 0.7 * weak + (colour == "red") + 0.3 * rng.normal(size=n)
    y = np.where(value > 0.3, "yes", "no") if task == "binary" else value
    return pd.DataFrame({"signal": signal, "weak": weak, "noise": noise, "colour": colour, "y": y})


def _fit(frame: pd.DataFrame, family: str):
    schema = infer_schema(frame, "y")
    train, test = frame.iloc[:350], frame.iloc[350:]
    spec = get_spec(family)
    params = dict(spec.defaults)
    if family in ("random_forest", "lightgbm", "xgboost", "catboost"):
        params.update({"n_estimators": 60} if family != "catboost" else {"iterations": 60})
    model = fit_model(spec, params, schema, make_features(train, schema), encode_labels(train, schema), None, 0)
    return schema, model, make_features(train, schema), make_features(test, schema), encode_labels(test, schema)


FAMILIES = ["linear", "lightgbm", "xgboost", "catboost", "random_forest"]


@pytest.mark.parametrize("family", FAMILIES)
def test_planted_signal_tops_importance_and_noise_is_near_the_bottom(family):
    frame = _planted("binary")
    schema, model, train_x, test_x, test_y = _fit(frame, family)
    ctx = Context("binary", schema.classes.index(schema.positive_class), 2)
    imp = feature_importance(model, test_x, test_y, resolve_metric(None, "binary"), ctx, train_x.head(50),
                             shap_rows=60)
    ranking = imp.ranking()
    assert ranking[0] == "signal"
    assert "noise" in ranking[-2:]
    shap_order = list(imp.shap)
    assert shap_order[0] == "signal" and "noise" in shap_order[-2:]


@pytest.mark.parametrize("family", FAMILIES)
def test_contributions_add_up_to_the_output(family):
    frame = _planted("binary", seed=3)
    schema, model, train_x, test_x, _ = _fit(frame, family)
    positive = schema.classes.index(schema.positive_class)
    rows = test_x.head(20)
    c = contributions(model, rows, train_x.head(40), positive_index=positive)
    total = c.values.sum(axis=1) + c.base
    proba = model.output(rows)[:, positive]
    if c.unit == "log-odds":
        np.testing.assert_allclose(1 / (1 + np.exp(-total)), proba, atol=1e-4)
    else:
        assert c.method.startswith("sampling Shapley")
        np.testing.assert_allclose(total, proba, atol=1e-6)


def test_ensemble_contributions_are_the_weighted_sum_of_members():
    frame = _planted("regression", seed=4)
    _, linear, train_x, test_x, _ = _fit(frame, "linear")
    _, booster, *_ = _fit(frame, "lightgbm")
    ensemble = EnsembleModel([linear, booster], [0.3, 0.7])
    rows = test_x.head(15)
    c = contributions(ensemble, rows, train_x)
    np.testing.assert_allclose(c.values.sum(axis=1) + c.base, ensemble.output(rows), atol=1e-6)
    assert c.method.startswith("weighted sum")


def test_members_that_would_explain_past_the_time_given_are_not_explained(monkeypatch):
    frame = _planted("regression", seed=4)
    _, linear, train_x, test_x, _ = _fit(frame, "linear")
    ensemble = EnsembleModel([linear] * 4, [0.25] * 4)
    rows = test_x.head(10)
    explain_one = contributions_module._single

    def slow(*args, **kwargs):  # a member that takes 0.2 s at least, however fast the machine
        time.sleep(0.2)
        return explain_one(*args, **kwargs)

    monkeypatch.setattr(contributions_module, "_single", slow)
    skipped = native_contributions(ensemble, rows, train_x, seconds=0.3)
    assert skipped is not None and skipped.values.size == 0 and skipped.mean_abs() == {}
    assert "4 members" in skipped.method and "time left" in skipped.method
    done = native_contributions(ensemble, rows, train_x)
    assert done is not None
    np.testing.assert_allclose(done.values.sum(axis=1) + done.base, ensemble.output(rows), atol=1e-6)


def test_explain_rows_lists_top_features_with_direction():
    frame = _planted("binary", seed=5)
    schema, model, train_x, test_x, _ = _fit(frame, "lightgbm")
    ctx = Context("binary", schema.classes.index(schema.positive_class), 2)
    rows = explain_rows(model, test_x.head(3), train_x.head(30), schema.classes, ctx, top=2)
    assert len(rows) == 3
    first = rows[0]
    assert first["prediction"] in schema.classes and first["explained_class"] == schema.positive_class
    assert len(first["contributions"]) == 2
    assert {c["direction"] for r in rows for c in r["contributions"]} <= {"raises", "lowers"}
    assert rows[0]["contributions"][0]["feature"] == "signal" or abs(test_x["signal"].iloc[0]) < 0.3


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_tree_shap_works_on_models_loaded_from_a_bundle(family, tmp_path):
    frame = _planted("binary", seed=6)
    schema, model, train_x, test_x, _ = _fit(frame, family)
    save_bundle(model, schema, tmp_path / "bundle")
    _, loaded = load_bundle(tmp_path / "bundle")
    positive = schema.classes.index(schema.positive_class)
    rows = test_x.head(10)
    c = contributions(loaded, rows, train_x.head(20), positive_index=positive)
    assert c.method.startswith("TreeSHAP")
    total = c.values.sum(axis=1) + c.base
    np.testing.assert_allclose(1 / (1 + np.exp(-total)), loaded.output(rows)[:, positive], atol=1e-4)


@pytest.mark.parametrize("family", ["lightgbm", "random_forest"])
def test_multiclass_explains_the_predicted_class(family):
    rng = np.random.default_rng(8)
    signal, noise = rng.normal(size=(2, 450))
    frame = pd.DataFrame({"signal": signal, "noise": noise,
                          "y": np.select([signal < -0.5, signal > 0.5], ["low", "high"], "mid")})
    _schema, model, train_x, test_x, test_y = _fit(frame, family)
    rows = test_x.head(12)
    c = contributions(model, rows, train_x.head(30))
    np.testing.assert_array_equal(c.explained, model.output(rows).argmax(axis=1))
    assert next(iter(c.mean_abs())) == "signal"
    imp = feature_importance(model, test_x, test_y, resolve_metric(None, "multiclass"), Context("multiclass", 1, 3),
                             train_x.head(30), shap_rows=40)
    assert imp.ranking() == ["signal", "noise"]
