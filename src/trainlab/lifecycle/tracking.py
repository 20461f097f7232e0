"""Experiment tracking in MLflow: parameters, metrics, the run's files and the bundle; models in MLflow's registry.

Used when ``--mlflow`` is given or ``MLFLOW_TRACKING_URI`` is set; without a URI the store is a SQLite file,
``./mlflow.db``, with artefacts in ``./mlartifacts`` beside it. MLflow is the optional extra ``trainlab[mlflow]``
(mlflow-skinny, SQLAlchemy and Alembic), imported only here and only when tracking is asked for.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlab.errors import MissingDependencyError

if TYPE_CHECKING:
    from trainlab.run import Run

ENV_VAR = "MLFLOW_TRACKING_URI"
DEFAULT_URI = "sqlite:///mlflow.db"
EXPERIMENT = "trainlab"
MAX_PARAM_CHARS = 500


@dataclass
class Tracked:
    """Where a run went in MLflow."""

    uri: str
    experiment_id: str
    run_id: str
    artifact_uri: str
    model_version: str | None = None


def tracking_uri(requested: bool) -> str | None:
    """The MLflow store to log to: ``$MLFLOW_TRACKING_URI``, else ./mlflow.db when ``requested``, else None."""
    uri = os.environ.get(ENV_VAR)
    if uri:
        return uri
    return DEFAULT_URI if requested else None


def require_mlflow(uri: str) -> Any:
    """The ``mlflow`` module, or MissingDependencyError with the pip command (checked before a run starts)."""
    for module in ["mlflow"] + (["sqlalchemy", "alembic"] if uri.startswith("sqlite:") else []):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingDependencyError("mlflow-skinny" if module == "mlflow" else module, "mlflow",
                                         "Tracking runs in MLflow") from exc
    mlflow = importlib.import_module("mlflow")
    return mlflow


def log_run(run: Run, uri: str, registered_name: str | None = None, experiment: str = EXPERIMENT) -> Tracked:
    """Log ``run`` to MLflow at ``uri``; with ``registered_name`` also add its bundle as a version in MLflow's registry."""
    mlflow = require_mlflow(uri)
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_id = _experiment(client, experiment, uri)
    manifest = run.predictor.manifest
    tags = {"trainlab.run_folder": str(run.folder.resolve()), "trainlab.best_model": run.best_model,
            "trainlab.task": run.schema.task, "trainlab.target": run.schema.target,
            "trainlab.data_fingerprint": manifest.data_fingerprint if manifest else ""}
    created = client.create_run(experiment_id, run_name=run.folder.name, tags=tags)
    run_id = created.info.run_id
    try:
        params = [Param(k, v) for k, v in flatten(run.config.to_dict()).items()]
        stamp = created.info.start_time
        metrics = [Metric(f"test_{k}", v, stamp, 0) for k, v in run.test_metrics.items() if _finite(v)]
        validation = manifest.metrics.get("validation", {}) if manifest else {}
        metrics += [Metric(f"val_{k}", v, stamp, 0) for k, v in validation.items() if _finite(v)]
        client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("trainlab.version", _version())])
        for path in sorted(run.folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                client.log_artifact(run_id, str(path))
        client.log_artifacts(run_id, str(run.bundle_path), "model")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    artifact_uri = client.get_run(run_id).info.artifact_uri
    tracked = Tracked(uri=uri, experiment_id=experiment_id, run_id=run_id, artifact_uri=artifact_uri)
    if registered_name:
        tracked.model_version = register_model(client, registered_name, f"{artifact_uri}/model", run_id)
    return tracked


def register_model(client: Any, name: str, source: str, run_id: str) -> str:
    """Add ``source`` (the bundle logged with the run) as a new version of ``name`` in MLflow's registry."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, description="A trainlab model bundle (load with trainlab.load).")
    except MlflowException as exc:
        if "RESOURCE_ALREADY_EXISTS" not in str(exc.error_code):
            raise
    version = client.create_model_version(name, source=source, run_id=run_id, tags={"format": "trainlab-bundle"})
    return str(version.version)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config as MLflow params: {'split.test_size': '0.2', ...} (long values shortened)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
            flat[name] = text[:MAX_PARAM_CHARS]
    return flat


def _experiment(client: Any, name: str, uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _version() -> str:
    from trainlab import __version__

    return __version__
