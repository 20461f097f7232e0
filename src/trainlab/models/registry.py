"""ModelSpec: how a model family describes itself, and the registry every family file adds itself to."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.data.text import REDUCED_VOCAB, TEXT_DEFAULTS
from trainlab.errors import ConfigError, did_you_mean
from trainlab.models.persist import load_estimator, save_estimator

Estimator = Any
Builder = Callable[[str, dict[str, Any], int, int], Estimator]
Saver = Callable[[Estimator, Path], list[str]]
# Fits with a validation set watched for early stopping; returns the number of boosting rounds that was best.
EarlyStopper = Callable[[Estimator, Any, Any, Any, Any, Any], int | None]
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
    validation fold stops improving, and the refit uses the number of rounds that was best (an ``early_stop``
    that returns None only watches the validation fold: the neural network on pictures and sound). ``bag`` says
    whether a trial keeps its fold models, so that they can stand in for a refit (False for forests: already
    bags of trees, and large). ``seeded``: its fit depends on the seed (row and column sampling, random initial
    weights), so the final refit may average fits of several seeds (``search.budget.SEEDS``). ``needs_text``
    families run only on tables with a text column; ``text_defaults`` replace some defaults there and
    ``text_space`` joins the search space there (see ``with_text``).
    ``wide_defaults`` replace some defaults on tables with more columns than rows (strong regularization);
    families that declare them run first there.

    ``onnx`` names the converter ``trainlab.export`` writes the family's models with ('skl2onnx', 'lightgbm',
    'xgboost', 'catboost' or 'torch'; None: they cannot be exported), and ``onnx_numeric_only`` says that it
    takes numeric and boolean features only.
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
    needs_text: bool = False
    text_defaults: dict[str, Any] = field(default_factory=dict)
    text_space: dict[str, Param] = field(default_factory=dict)
    extra: str | None = None
    max_rows: int | None = None
    sample_weight: bool = True
    cost: int = 1
    early_stop: EarlyStopper | None = None
    rounds_param: str = ""
    bag: bool = True
    seeded: bool = False
    onnx: str | None = None
    onnx_numeric_only: bool = False
    wide_defaults: dict[str, Any] = field(default_factory=dict)

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

    def skip_reason(self, task: str, n_rows: int, has_text: bool = False) -> str | None:
        """Why this family cannot run here, or None when it can."""
        if task not in self.tasks:
            return f"does not support {task} tasks"
        if self.needs_text and not has_text:
            return "reads text columns only, and the table has none"
        if self.requires and importlib.util.find_spec(self.requires) is None:
            return f"needs '{self.requires}': pip install 'trainlab[{self.extra}]'"
        if self.max_rows is not None and n_rows > self.max_rows:
            return f"too slow on {n_rows} training rows (limit {self.max_rows})"
        return None

    def export_problem(self, categorical: list[str]) -> str | None:
        """Why this family's models on data with these categorical columns cannot be exported to ONNX, or None."""
        if self.onnx is None:
            return "does not export to ONNX"
        if self.onnx_numeric_only and categorical:
            return (f"exports to ONNX with numeric features only, and {', '.join(repr(c) for c in categorical[:3])}"
                    f"{' …' if len(categorical) > 3 else ''} {'is' if len(categorical) == 1 else 'are'} categorical")
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


TEXT_SPACE: dict[str, Param] = {
    "text_words": Param("choice", choices=("1-1", "1-2", "1-3")),
    "text_chars": Param("choice", choices=("off", "2-4", "2-5", "1-5", "3-6")),
    "text_vocab": Param("int", 5_000, 300_000, log=True),
    "text_svd": Param("int", 16, 256, log=True),
}
"""Text settings every family searches when the table has text ('text_svd' only where text is reduced)."""
TEXT_COST = {"sparse": 0, "neural": 1}
"""What text adds to a family's cost on a small corpus, by recipe: nothing for sparse linear models; one for the
network's own text encoder; two for every recipe that reduces the TF-IDF terms with TruncatedSVD first (the
default), which pays for the SVD and then fits on ``text_svd`` more dense columns (measured on 8,200 review
snippets, per fold: linear 1.9 s, NB-SVM 2.0 s, extra trees 7.4 s, a random forest more than 37 s)."""
TEXT_CHARS_UNIT = 2_000_000
"""Characters of text (all text columns, all training rows) up to which text costs only ``TEXT_COST``; each tenfold
beyond adds one to every family's cost (measured: tokenizing and counting is linear in characters, about 1 s per
million on one core, and every trial of every family does it on each fold)."""


def text_cost(recipe: str, chars: int) -> int:
    """What text adds to the cost of a family of this recipe on ``chars`` characters of training text."""
    size = 0 if chars <= TEXT_CHARS_UNIT else math.ceil(math.log10(chars / TEXT_CHARS_UNIT))
    return TEXT_COST.get(recipe, 2) + size


def with_text(spec: ModelSpec, chars: int = 0) -> ModelSpec:
    """``spec`` on a table with ``chars`` characters of text: its space and defaults gain the text settings (the
    network's text encoder its own, ``text_space``), its cost what text adds (``text_cost``)."""
    if spec.recipe == "neural":
        space = dict(spec.text_space)
        text: dict[str, Any] = {}
    else:
        space = {k: p for k, p in TEXT_SPACE.items() if k != "text_svd" or spec.recipe != "sparse"} | spec.text_space
        text = {k: TEXT_DEFAULTS[k] for k in space if k in TEXT_DEFAULTS}
        text |= {} if spec.recipe == "sparse" else {"text_vocab": REDUCED_VOCAB}
    return replace(spec, space={**spec.space, **space}, defaults={**spec.defaults, **text, **spec.text_defaults},
                   cost=spec.cost + text_cost(spec.recipe, chars))


def text_chars(features: Any, columns: list[str]) -> int:
    """Characters of text in these columns of a frame (missing: none)."""
    return int(sum(features[c].fillna("").astype(str).str.len().sum() for c in columns))


REGISTRY: dict[str, ModelSpec] = {}
FIT_DEADLINE: ContextVar[float | None] = ContextVar("FIT_DEADLINE", default=None)
"""The ``time.monotonic()`` moment by which the fit under way must end, where a family can stop early (the
neural network between epochs); set by ``fit_model``'s ``deadline``."""
ROUNDS_PATIENCE = 50
"""Rounds a booster (LightGBM, XGBoost, CatBoost) fits past its best validation score before it stops."""


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
                    exclude: tuple[str, ...], has_text: bool = False) -> tuple[list[ModelSpec], dict[str, str]]:
    """Families to train, cheapest first, and the skipped ones with their reason."""
    for key in (*(include or ()), *exclude):
        get_spec(key)
    chosen, skipped = [], {}
    for spec in sorted(REGISTRY.values(), key=lambda s: s.cost):
        if (include is not None and spec.key not in include) or spec.key in exclude:
            continue
        reason = spec.skip_reason(task, n_rows, has_text)
        if reason is None:
            chosen.append(spec)
        elif (task in spec.tasks and not spec.needs_text) or include is not None:
            skipped[spec.key] = reason
    if not chosen:
        raise ConfigError(f"No model family can run on this {task} task: "
                          + "; ".join(f"{k}: {r}" for k, r in skipped.items()) + ". Change --models.")
    return chosen, skipped


def exportable_families(families: list[ModelSpec], categorical: list[str],
                        dates: list[str]) -> tuple[list[ModelSpec], dict[str, str]]:
    """The families whose models export to ONNX on data with these categorical and date columns (``--exportable``),
    and the others with their reason."""
    if dates:
        raise ConfigError(f"--exportable: column(s) {', '.join(repr(d) for d in dates)} hold dates, which ONNX cannot "
                          "take apart into their parts. Drop them (or give their parts as numeric columns) to export.")
    kept = [s for s in families if s.export_problem(categorical) is None]
    skipped = {s.key: str(s.export_problem(categorical)) for s in families if s not in kept}
    if not kept:
        raise ConfigError("--exportable leaves no model family to train: " + "; ".join(f"{k} {r}" for k, r in
                                                                                       skipped.items()) + ".")
    return kept, skipped


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
