"""trainlab: from a labeled table to a trained, evaluated, explained model that is ready to use.

    >>> import trainlab
    >>> run = trainlab.train("examples/german_credit.csv", target="creditability", time_limit=30)  # doctest: +SKIP
    >>> run.leaderboard.head()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

# OpenMP threads that wait by spinning steal the cores of every other busy process or thread: on 2 cores beside one
# busy process, a LightGBM fit on 3,000 rows took 12 s with 2 threads at libgomp's default spin count, 0.86 s at
# 10,000 spins (0.16 s on a quiet machine, where sleeping at once, OMP_WAIT_POLICY=PASSIVE, took 2.1 s). Set
# before any model library loads OpenMP; a value already set is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from trainlab.config import BudgetConfig, SplitConfig, TrainConfig
from trainlab.errors import (
    BundleError,
    ConfigError,
    DataError,
    MissingDependencyError,
    SchemaError,
    TrainlabError,
)

if TYPE_CHECKING:
    from trainlab.estimators import Classifier, Regressor
    from trainlab.predict import Predictor
    from trainlab.rec_run import RecommendRun
    from trainlab.recommender import Recommender
    from trainlab.run import Run

__version__ = "0.1.0"
__all__ = [
    "BudgetConfig",
    "BundleError",
    "Classifier",
    "ConfigError",
    "DataError",
    "MissingDependencyError",
    "Predictor",
    "RecommendRun",
    "Recommender",
    "Regressor",
    "Run",
    "SchemaError",
    "SplitConfig",
    "TrainConfig",
    "TrainlabError",
    "__version__",
    "load",
    "load_recommender",
    "train",
    "train_recommender",
]


def train(data: Any, target: str | None = None, **options: Any) -> Run:
    """Train and compare models on a table (path or DataFrame); see ``trainlab.run.train``."""
    options.setdefault("started", time.monotonic())  # the time limit counts the import below (about 1 s) too
    from trainlab.run import train as run_train

    return run_train(data, target, **options)


def load(path: Any) -> Predictor:
    """Load a saved model bundle after verifying its manifest and checksums."""
    from trainlab.predict import Predictor

    return Predictor.load(path)


def train_recommender(data: Any, **options: Any) -> RecommendRun:
    """Train and compare recommenders on an interactions table; see ``trainlab.rec_run.train_recommender``."""
    options.setdefault("started", time.monotonic())
    from trainlab.rec_run import train_recommender as run_train

    return run_train(data, **options)


def load_recommender(path: Any) -> Recommender:
    """Load a saved recommender bundle after verifying its manifest and checksums."""
    from trainlab.recommender import Recommender

    return Recommender.load(path)


def __getattr__(name: str) -> Any:
    if name in ("Classifier", "Regressor"):
        from trainlab import estimators

        return getattr(estimators, name)
    if name in ("RecommendRun", "Recommender"):
        from trainlab.rec_run import RecommendRun
        from trainlab.recommender import Recommender

        return {"RecommendRun": RecommendRun, "Recommender": Recommender}[name]
    if name in ("Run", "Predictor"):
        from trainlab.predict import Predictor
        from trainlab.run import Run

        return {"Run": Run, "Predictor": Predictor}[name]
    raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
