"""The ``neural_net`` family: registration, defaults, search space, and saving as JSON plus safetensors.

This module never imports torch itself; the estimator is imported when a model is built or loaded, so
``import trainlab`` works without the ``[nn]`` extra and the family is then skipped with an install hint.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.errors import BundleError, MissingDependencyError
from trainlab.models.registry import CLASS_WEIGHT, ModelSpec, Param, register

WEIGHTS = "network.safetensors"
ARCHITECTURE = "network.json"
HISTORY = "history.json"
FORMAT = "trainlab-neural-net"
FORMAT_VERSION = 1


def _estimator_class() -> Any:
    if importlib.util.find_spec("torch") is None:
        raise MissingDependencyError("torch", "nn", "The neural_net model family")
    from trainlab.models.neural.estimator import NeuralNetModel

    return NeuralNetModel


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return _estimator_class()(task=task, seed=seed, n_jobs=n_jobs, **params)


def early_stop(estimator: Any, features: Any, y: Any, weights: Any, valid_features: Any, valid_y: Any) -> None:
    """On pictures and sound the network stops early on the trial's validation rows (one holdout: a CNN cannot
    afford more) instead of setting a tenth of its training rows aside; elsewhere it fits as usual."""
    from trainlab.data.media import block_columns

    if block_columns([str(c) for c in getattr(features, "columns", [])]):
        estimator.fit(features, y, sample_weight=weights, valid=(valid_features, valid_y))
    else:
        estimator.fit(features, y, sample_weight=weights)
    return None


def save(estimator: Any, folder: Path) -> list[str]:
    """The weights as safetensors; the architecture, input encoding and target scaling as JSON; the training
    curves as JSON: ``{"metric": "roc_auc", "best_epoch": 7, "epochs": [{"epoch": 1, "train_loss": ...,
    "val_loss": ..., "val_metric": ..., "lr": ..., "seconds": ...}, ...]}``."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in estimator.net_.state_dict().items()}, str(folder / WEIGHTS))
    described = {"format": FORMAT, "format_version": FORMAT_VERSION, "params": estimator.get_params(),
                 "architecture": estimator.arch_.to_dict(), "encoding": estimator.encoding_.to_dict(),
                 "best_epoch": estimator.best_epoch_, "trained_on": estimator.device_,
                 "temperature": estimator.temperature_}
    if estimator.task == "regression":
        described["target"] = {"mean": estimator.target_mean_, "scale": estimator.target_scale_}
    else:
        described["classes"] = estimator.classes_.tolist()
    (folder / ARCHITECTURE).write_text(json.dumps(described, indent=1), encoding="utf-8")
    curves = {"metric": estimator.metric_name_, "best_epoch": estimator.best_epoch_, "epochs": estimator.history_}
    (folder / HISTORY).write_text(json.dumps(curves, indent=1), encoding="utf-8")
    return [WEIGHTS, ARCHITECTURE, HISTORY]


def load(folder: Path, task: str) -> Any:
    """Rebuild the network from the JSON description and read the weights; nothing in the files is executed."""
    cls = _estimator_class()
    from safetensors.torch import load_file

    from trainlab.models.neural.network import Architecture, Encoding, build_network

    described = json.loads((folder / ARCHITECTURE).read_text(encoding="utf-8"))
    if described.get("format") != FORMAT or described.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"'{folder / ARCHITECTURE}' is not a trainlab neural_net description "
                          f"(format {described.get('format')!r} version {described.get('format_version')!r}).")
    model = cls(**{**described["params"], "task": task})
    model.arch_ = Architecture(**described["architecture"])
    model.encoding_ = Encoding.from_dict(described["encoding"])
    model.net_ = build_network(model.arch_)
    model.net_.load_state_dict(load_file(str(folder / WEIGHTS)), strict=True)
    model.net_.eval()
    model.best_epoch_ = int(described["best_epoch"])
    model.device_ = str(described["trained_on"])
    model.temperature_ = float(described.get("temperature", 1.0))  # already in the head's weights; 1.0 before it was
    model.history_ = json.loads((folder / HISTORY).read_text(encoding="utf-8"))["epochs"]
    if task == "regression":
        model.target_mean_ = float(described["target"]["mean"])
        model.target_scale_ = float(described["target"]["scale"])
    else:
        model.classes_ = np.asarray(described["classes"])
    return model


SPEC = register(ModelSpec(
    key="neural_net", names={"default": "Neural network (MLP)"}, tasks=("binary", "multiclass", "regression"),
    recipe="neural", build=build, save=save, load=load, requires="torch", extra="nn", seeded=True,
    defaults={"width": 256, "depth": 2, "dropout": 0.2, "lr": 1e-3, "weight_decay": 1e-2, "epochs": 60,
              "batch_size": 256, "device": "auto", "class_weight": None, "channels": None, "flip": False,
              "label_smoothing": None, "embed_dim": 64, "embed_buckets": 32_768, "embed_tokens": 256},
    space={
        "lr": Param("float", 3e-4, 1e-2, log=True),
        "epochs": Param("int", 20, 200, log=True),
        "batch_size": Param("choice", choices=(64, 128, 256, 512, 1024)),
        "width": Param("choice", choices=(64, 128, 256, 512)),
        "depth": Param("int", 1, 5),
        "dropout": Param("float", 0.0, 0.5),
        "weight_decay": Param("float", 1e-5, 1e-1, log=True),
        "class_weight": CLASS_WEIGHT,
    },
    text_space={"embed_dim": Param("choice", choices=(32, 64, 128)),
                "embed_buckets": Param("choice", choices=(8_192, 32_768, 131_072))},
    cost=3, onnx="torch", early_stop=early_stop,
))
