"""ONNX export: every exportable family round-trips through onnxruntime; what cannot be exported says why."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import make_binary, make_multiclass, make_regression, skip_without_extra
from trainlab.bundle import save_bundle
from trainlab.cli import app
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.errors import ConfigError
from trainlab.export import export_onnx
from trainlab.models import REGISTRY
from trainlab.models.calibration import CalibratedModel, Calibrator
from trainlab.models.fitted import fit_model
from trainlab.models.missing import with_gap_filling
from trainlab.models.registry import exportable_families
from trainlab.search.ensemble import EnsembleModel

SMALL = {"n_estimators": 20, "iterations": 20, "max_iter": 20, "epochs": 5, "device": "cpu"}
EXPORTABLE = sorted(k for k, s in REGISTRY.items() if s.onnx is not None)
MISSING = [m for m in ("onnx", "onnxruntime", "skl2onnx", "onnxmltools", "torch") if importlib.util.find_spec(m) is None]


@pytest.fixture(autouse=True)
def _onnx_extra() -> None:
    if MISSING:
        skip_without_extra(f"ONNX export needs {', '.join(MISSING)}: pip install 'trainlab[onnx,nn]'")


def table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """The binary table without its date column, with a missing category and a missing yes/no."""
    frame = make_binary(n, seed).drop(columns=["signup"])
    frame.loc[[3, 9], "city"] = np.nan
    frame.loc[[5, 40], "member"] = np.nan
    return frame


def fitted(key: str, frame: pd.DataFrame, target: str, **params: object):
    schema = infer_schema(frame, target)
    spec = REGISTRY[key].for_task(schema.task)
    values = {**spec.defaults, **{k: v for k, v in SMALL.items() if k in spec.defaults}, **params}
    y = frame[target].to_numpy(float) if schema.task == "regression" else np.searchsorted(schema.classes, frame[target])
    return fit_model(spec, values, schema, make_features(frame, schema), y, None, seed=0), schema


def exported(model, schema, tmp_path: Path, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, object]:
    """The model saved as a bundle, exported, and run by onnxruntime on ``rows``: (onnx, bundle, result)."""
    import onnxruntime as ort

    from trainlab.export.onnx import onnx_inputs

    save_bundle(model, schema, tmp_path / "model")
    result = export_onnx(tmp_path / "model", tmp_path / "model.onnx", rows=rows)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    columns = [(c.name, c.role) for c in schema.features]
    got = session.run(None, onnx_inputs(schema.check_rows(rows), columns))[0]
    return got, model.output(make_features(schema.check_rows(rows), schema)), result


@pytest.mark.parametrize("key", EXPORTABLE)
def test_every_exportable_family_round_trips_on_a_binary_table(key: str, tmp_path: Path) -> None:
    frame = table()
    if REGISTRY[key].onnx_numeric_only:
        frame = frame.drop(columns=["city"])
    model, schema = fitted(key, frame, "outcome")
    fresh = table(60, seed=5).drop(columns=[c for c in ("city",) if c not in frame.columns])
    got, expected, result = exported(model, schema, tmp_path, fresh)
    assert got.shape == (60, 2)
    np.testing.assert_allclose(got, expected, atol=result.tolerance)
    assert result.output == "probabilities" and result.checked_rows == 60
    assert result.inputs == {"age": "float32", "income": "float32", "member": "string",
                             **({"city": "string"} if "city" in frame.columns else {})}


@pytest.mark.parametrize("key", ["linear", "lightgbm", "random_forest", "neural_net"])
def test_multiclass_probabilities_come_in_the_bundles_class_order(key: str, tmp_path: Path) -> None:
    model, schema = fitted(key, make_multiclass(), "label")
    got, expected, result = exported(model, schema, tmp_path, make_multiclass(50, seed=7))
    assert got.shape == (50, 3)
    np.testing.assert_allclose(got, expected, atol=result.tolerance)


@pytest.mark.parametrize("key", ["linear", "xgboost", "decision_tree", "neural_net"])
def test_regression_exports_one_prediction_column(key: str, tmp_path: Path) -> None:
    model, schema = fitted(key, make_regression(), "price")
    got, expected, result = exported(model, schema, tmp_path, make_regression(40, seed=8))
    assert result.output == "prediction" and got.shape == (40, 1)
    np.testing.assert_allclose(got[:, 0], expected, rtol=result.tolerance, atol=result.tolerance)


@pytest.mark.parametrize("calibrator", [
    Calibrator("sigmoid", {"a": 0.4, "b": -0.3}),
    Calibrator("isotonic", {"x": [0.0, 0.2, 0.2, 0.7, 1.0], "y": [0.01, 0.1, 0.3, 0.8, 0.95]}),
], ids=["platt", "isotonic"])
def test_a_calibrated_ensemble_exports_its_weights_and_calibrator(calibrator: Calibrator, tmp_path: Path) -> None:
    frame = table()
    members = [fitted(key, frame, "outcome")[0] for key in ("linear", "lightgbm", "naive_bayes")]
    schema = infer_schema(frame, "outcome")
    model = CalibratedModel(EnsembleModel(members, [0.5, 0.3, 0.2]), calibrator)
    got, expected, result = exported(model, schema, tmp_path, table(60, seed=6))
    np.testing.assert_allclose(got, expected, atol=result.tolerance)
    assert f"calibrator ({calibrator.method})" in result.parts and "weighted average of 3 members" in result.parts


def test_temperature_scaling_of_a_multiclass_ensemble(tmp_path: Path) -> None:
    members = [fitted(key, make_multiclass(), "label")[0] for key in ("linear", "decision_tree")]
    schema = infer_schema(make_multiclass(), "label")
    model = CalibratedModel(EnsembleModel(members, [0.7, 0.3]), Calibrator("temperature", {"temperature": 1.7}))
    got, expected, result = exported(model, schema, tmp_path, make_multiclass(40, seed=9))
    np.testing.assert_allclose(got, expected, atol=result.tolerance)


def test_gap_filling_is_left_out_said_and_checked_on_rows_it_does_not_touch(tmp_path: Path) -> None:
    frame = table()
    model, schema = fitted("linear", frame, "outcome")
    gap_filled = with_gap_filling(model, make_features(frame, schema), seed=0)
    rows = table(60, seed=3)
    rows.loc[[0, 1], "age"] = np.nan
    save_bundle(gap_filled, schema, tmp_path / "model")
    result = export_onnx(tmp_path / "model", tmp_path / "model.onnx", rows=rows)
    assert result.left_out and "gap filling" in result.left_out[0] and "age" in result.left_out[0]
    assert result.gap_filled_columns == gap_filled.complete
    assert result.checked_rows == int(make_features(rows, schema)[gap_filled.complete].notna().all(axis=1).sum()) < 60


def test_catboost_on_a_categorical_column_is_refused_naming_it(tmp_path: Path) -> None:
    model, schema = fitted("catboost", table(), "outcome")
    save_bundle(model, schema, tmp_path / "model")
    with pytest.raises(ConfigError, match=r"CatBoost \(catboost\) model exports to ONNX with numeric features only, "
                                          r"and 'city' is categorical.*--exportable"):
        export_onnx(tmp_path / "model", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_a_date_column_is_refused_naming_it(tmp_path: Path) -> None:
    frame = make_binary(120)
    model, schema = fitted("linear", frame, "outcome")
    save_bundle(model, schema, tmp_path / "model")
    with pytest.raises(ConfigError, match=r"'signup' hold dates.*Retrain without them"):
        export_onnx(tmp_path / "model", tmp_path / "model.onnx")


def test_exportable_keeps_the_families_that_export_on_this_data() -> None:
    families = list(REGISTRY.values())
    kept, skipped = exportable_families(families, categorical=["city"], dates=[])
    assert {"catboost", "hist_gradient_boosting"} <= set(skipped) and "'city' is categorical" in skipped["catboost"]
    assert {s.key for s in kept} == set(EXPORTABLE) - {"catboost"}
    assert "catboost" in {s.key for s in exportable_families(families, categorical=[], dates=[])[0]}
    with pytest.raises(ConfigError, match="--exportable: column\\(s\\) 'signup' hold dates"):
        exportable_families(families, categorical=[], dates=["signup"])


def test_cli_export_writes_a_file_onnxruntime_loads(tmp_path: Path) -> None:
    import onnxruntime as ort

    model, schema = fitted("decision_tree", table(), "outcome")
    save_bundle(model, schema, tmp_path / "model")
    table(50, seed=4).to_csv(tmp_path / "rows.csv", index=False)
    result = CliRunner().invoke(app, ["export", str(tmp_path / "model"), "--format", "onnx", "--data",
                                      str(tmp_path / "rows.csv"), "-o", str(tmp_path / "out" / "model.onnx")])
    assert result.exit_code == 0, result.output
    assert "Checked on" in result.output and "largest difference from the bundle" in result.output
    session = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["age", "income", "city", "member"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    one = {"age": np.array([[30.0]], np.float32), "income": np.array([[55.0]], np.float32),
           "city": np.array([["north"]], object), "member": np.array([[" Yes"]], object)}
    proba = session.run(None, one)[0]
    assert proba.shape == (1, 2) and abs(float(proba.sum()) - 1) < 1e-6


def test_cli_export_of_an_unexportable_model_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    model, schema = fitted("linear", make_binary(120), "outcome")
    save_bundle(model, schema, tmp_path / "model")
    done = subprocess.run([sys.executable, "-m", "trainlab", "export", str(tmp_path / "model"), "-o",
                           str(tmp_path / "model.onnx")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Error: Column(s) 'signup' hold dates" in done.stderr.replace("\n", " ")


def test_train_exportable_skips_what_cannot_export_and_its_model_exports(tmp_path: Path) -> None:
    import trainlab

    run = trainlab.train(table(), target="outcome", out_dir=tmp_path, name="exportable", exportable=True,
                         models=("catboost", "hist_gradient_boosting", "linear"), time_limit=None, max_trials=2,
                         folds=2, report=False)
    assert run.skipped["hist_gradient_boosting"] == "does not export to ONNX"
    assert "numeric features only, and 'city'" in run.skipped["catboost"]
    result = export_onnx(run.bundle_path, tmp_path / "model.onnx")
    assert result.checked_rows > 0 and result.max_difference <= result.tolerance
