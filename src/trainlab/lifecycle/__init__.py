"""The life of a trained model after its run: registry, drift monitoring, retraining and MLflow tracking.

    >>> from trainlab.lifecycle import register_run, monitor, load_predictor, retrain
    >>> version = register_run(run, "credit")                    # doctest: +SKIP
    >>> predictor, label = load_predictor("credit@champion")      # doctest: +SKIP
    >>> monitor(predictor, "new_rows.csv", label).drifted         # doctest: +SKIP
    >>> retrain("credit", "new_rows.csv").decision                # doctest: +SKIP
"""

from trainlab.lifecycle.drift import ColumnDrift, DriftReport, DriftThresholds, monitor
from trainlab.lifecycle.registry import (
    CHAMPION,
    ModelVersion,
    Registry,
    load_predictor,
    register_run,
    registry_path,
    resolve_bundle,
)
from trainlab.lifecycle.retrain import RetrainOptions, RetrainResult, retrain
from trainlab.lifecycle.tracking import Tracked, log_run, tracking_uri

__all__ = [
    "CHAMPION",
    "ColumnDrift",
    "DriftReport",
    "DriftThresholds",
    "ModelVersion",
    "Registry",
    "RetrainOptions",
    "RetrainResult",
    "Tracked",
    "load_predictor",
    "log_run",
    "monitor",
    "register_run",
    "registry_path",
    "resolve_bundle",
    "retrain",
    "tracking_uri",
]
