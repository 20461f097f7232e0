"""ModelSpec: how a model family describes itself, and the registry every family file adds itself to."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.errors import ConfigError, did_you_mean
from trainlab.models.persist import load_estimator, save_estimator

Estimator = Any
Builder = Callable[[str, dict[str, Any], int, int], Estimator]
Saver = Callable[[Estimator, Path], list[str]]
# Fits with a validation set watched for early stopping; returns the number of boosting rounds that was best.
EarlyStopper = Callable[[Estimator, Any, Any, Any, Any, Any], int]
Loader = Callable[[Path, str], Estimator]


@dataclass(frozen=True)
class Param:
    """One searchable hyperparameter, declared as data: 'int', 'float' (optionally log-scaled) or 'choice'.

    ``tasks`` names the tasks it applies to (all when empty); ``ModelSpec.for_task`` drops it elsewhere.
    """

    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()
    tasks: tuple[str, ...] = ()


CLASS_WEIGHT = Param("choice", choices=(None, "balanced"), tasks=("binary", "multiclass"))
"""Searchable class weighting of every family that fits with sample weights: "balanced" weighs each fitted row
by n / (k * rows of its class), computed in ``fit_model`` on the rows being fitted (see ``class_weights``)."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything trainlab needs to know about one family; nothing outside its file names its key.

    A boosting family may give ``early_stop`` and ``rounds_param``: trials then stop adding rounds when the
    validation fold stops improving, and the refit uses the number of rounds that was best. ``bag`` says
    whether a trial keeps its fold models, so that they can stand in for a refit (False for forests: already
    bags of trees, and large).
    """

    key: str
    names: dict[str, str]
    tasks: tuple[str, ...]
    recipe: str
    build: Builder
    defaults: dict[str, Any]
    space: dict[str, Param] = field(default_factory=dict)
    save: Saver = save_estimator
    load: Loader = load_estimator
    requires: str | None = None
    extra: str | None = None
    max_rows: int | None = None
    sample_weight: bool = True
    cost: int = 1
    early_stop: EarlyStopper | None = None
    rounds_param: str = ""
    bag: bool = True

    def name(self, task: str) -> str:
        """The family's display name for a task, e.g. 'Logistic regression' or 'Ridge regression'."""
        return self.names.get(task) or self.names["default"]

    def for_task(self, task: str) -> ModelSpec:
        """This family with the parameters that do not apply to ``task`` left out of its space and defaults."""
        dropped = {name for name, p in self.space.items() if p.tasks and task not in p.tasks}
        if not dropped:
            return self
        return replace(self, space={k: p for k, p in self.space.items() if k not in dropped},
                       defaults={k: v for k, v in self.defaults.items() if k not in dropped})

    def skip_reason(self, task: str, n_rows: int) -> str | None:
        """Why this family cannot run here, or None when it can."""
        if task not in self.tasks:
            return f"does not support {task} tasks"
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"needs '{self.requires}': pip install 'trainlab[{self.extra}]'"
        if self.max_rows is not None and n_rows > self.max_rows:
            return f"too slow on {n_rows} training rows (limit {self.max_rows})"
        return None


class BoosterAdapter:
    """Base of the gradient-boosting families' thin estimators: the options they are built with, stored
    as scikit-learn expects (keyword-only, nothing else happens before ``fit``)."""

    def __init__(self, *, task: str = "binary", params: dict[str, Any] | None = None, seed: int = 0,
                 n_jobs: int = 1) -> None:
        self.task = task
        self.params = params
        self.seed = seed
        self.n_jobs = n_jobs


REGISTRY: dict[str, ModelSpec] = {}
FIT_DEADLINE: ContextVar[float | None] = ContextVar("FIT_DEADLINE", default=None)
"""The ``time.monotonic()`` moment by which the fit under way must end, where a family can stop early (the
neural network between epochs); set by ``fit_model``'s ``deadline``."""


def register(spec: ModelSpec) -> ModelSpec:
    """Add a family to the registry; called once at the bottom of each family file."""
    if spec.key in REGISTRY:
        raise RuntimeError(f"model family {spec.key!r} registered twice")
    REGISTRY[spec.key] = spec
    return spec


def get_spec(key: str) -> ModelSpec:
    if key not in REGISTRY:
        raise ConfigError(f"Unknown model family {key!r}.{did_you_mean(key, REGISTRY)} "
                          f"Known families: {', '.join(REGISTRY)}.")
    return REGISTRY[key]


def select_families(task: str, n_rows: int, include: tuple[str, ...] | None,
                    exclude: tuple[str, ...]) -> tuple[list[ModelSpec], dict[str, str]]:
    """Families to train, cheapest first, and the skipped ones with their reason."""
    for key in (*(include or ()), *exclude):
        get_spec(key)
    chosen, skipped = [], {}
    for spec in sorted(REGISTRY.values(), key=lambda s: s.cost):
        if (include is not None and spec.key not in include) or spec.key in exclude:
            continue
        reason = spec.skip_reason(task, n_rows)
        if reason is None:
            chosen.append(spec)
        elif task in spec.tasks or include is not None:
            skipped[spec.key] = reason
    if not chosen:
        raise ConfigError(f"No model family can run on this {task} task: "
                          + "; ".join(f"{k}: {r}" for k, r in skipped.items()) + ". Change --models.")
    return chosen, skipped


def model_output(estimator: Estimator, features: Any, task: str, n_classes: int) -> np.ndarray:
    """Class probabilities with one column per class (also for classes a fold never saw), or predictions."""
    if task == "regression":
        return np.asarray(estimator.predict(features), dtype=float).ravel()
    proba = np.asarray(estimator.predict_proba(features), dtype=float)
    proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
    seen = np.asarray(getattr(estimator, "classes_", np.arange(proba.shape[1])), dtype=int)
    if proba.shape[1] == n_classes and np.array_equal(seen, np.arange(n_classes)):
        return proba
    full = np.zeros((proba.shape[0], n_classes))
    full[:, seen] = proba
    return full
