"""MLflow tracking against a real local MLflow store (SQLite backend): params, metrics, artefacts, registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from lifecycle_helpers import fast_train, make_table
from trainlab.errors import MissingDependencyError
from trainlab.lifecycle.tracking import flatten, log_run, require_mlflow, tracking_uri


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return fast_train(make_table(400, 0), tmp_path_factory.mktemp("runs"), name="tracked")


def test_mlflow_receives_the_run_with_metrics_artefacts_and_model_version(run: Any, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracked = log_run(run, uri, registered_name="credit")
    again = log_run(run, uri, registered_name="credit")
    client = MlflowClient(tracking_uri=uri)
    logged = client.get_run(tracked.run_id)
    assert logged.info.status == "FINISHED" and logged.info.run_name == "tracked"
    assert logged.data.metrics["test_roc_auc"] == pytest.approx(run.test_metrics["roc_auc"])
    assert "val_roc_auc" in logged.data.metrics
    assert logged.data.params["models"] == "linear" and logged.data.params["split.folds"] == "2"
    assert logged.data.tags["trainlab.best_model"] == run.best_model
    top = {a.path for a in client.list_artifacts(tracked.run_id)}
    assert {"run.json", "leaderboard.csv", "trials.csv", "report.html", "model"} <= top
    bundle = {a.path for a in client.list_artifacts(tracked.run_id, "model")}
    assert "model/manifest.json" in bundle
    assert Path(tracked.artifact_uri.removeprefix("file://"), "model", "manifest.json").is_file()
    assert str(tmp_path / "mlartifacts") in tracked.artifact_uri
    versions = client.search_model_versions("name='credit'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    assert (tracked.model_version, again.model_version) == ("1", "2")
    assert {v.run_id for v in versions} == {tracked.run_id, again.run_id}


def test_tracking_is_on_with_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(False) is None
    assert tracking_uri(True) == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking_uri(False) == "sqlite:///elsewhere.db"


def test_missing_mlflow_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'trainlab\[mlflow\]'"):
        require_mlflow("sqlite:///x.db")


def test_flatten_nested_config_into_params() -> None:
    assert flatten({"a": 1, "split": {"folds": 5, "time_column": None}, "models": ["linear", "lightgbm"]}) == {
        "a": "1", "split.folds": "5", "split.time_column": "None", "models": "linear,lightgbm"}
