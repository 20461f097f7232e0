"""How long a configuration will take: a per-family model of seconds per fold, learned from recorded trials.

``costs.json`` (written by ``bench/portfolio/build.py``) holds, per family, the coefficients of a ridge fit of the
log of a fold's fit-and-predict seconds on the log of its fitting rows (with a second slope above ``KNEE_ROWS``),
columns, classes and category levels and on the family's numeric parameters (log-scaled where the search space is).
A short probe, timed once per machine and cached, scales the recorded seconds to the machine the run is on.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trainlab.data.media import block_columns
from trainlab.data.prepare import MAX_CODES
from trainlab.models.registry import REGISTRY

if TYPE_CHECKING:
    from trainlab.search.trial import TrainingData

PROBE_ROWS = 10_000
LEVELS_PER_COLUMN = MAX_CODES
"""A categorical column counts its distinct values up to this many (what the trees and histogram boosting keep; the
recorded trials were counted so) in
``category_levels``. Without the levels the cost model expected CatBoost to fold 8 times faster than it did on
ames_housing (39 categorical columns, 272 levels) and 9 times slower on caravan (85 numeric columns); fitted
without each dev dataset in turn, the error of its log seconds on the held-out dataset fell from 1.24 to 0.96
for CatBoost, 0.49 to 0.29 for LightGBM and 0.44 to 0.31 for XGBoost (the number of categorical columns instead:
1.10, 0.37, 0.38)."""
KNEE_ROWS = 4_000
"""Above this many fitting rows a fold's seconds grow with a slope of their own (``log_rows_over``): on small
tables fixed costs hide how a fit scales. With one slope, fitted on trials of 127-4,500 rows, CatBoost's default
was expected to fit diamonds' 28,800 rows in 0.6 s and took 10.0 s."""
FACTOR_RANGE = (0.25, 4.0)  # a probe disturbed by a busy moment cannot scale every prediction by more than this


def cost_features(family: str, shape: dict[str, Any], params: dict[str, Any]) -> tuple[list[str], list[float]]:
    """Names and values of the regressors for one fold of ``family`` on a table of this ``shape`` (rows, columns,
    classes and folds of the trial's data; ``fit_rows``, the rows a fold fits on, when known; ``levels``, see
    ``category_levels``) with ``params`` (missing ones take the family's defaults)."""
    spec = REGISTRY[family]
    fit_rows = shape.get("fit_rows") or shape["rows"] * (1 - 1 / max(shape.get("folds", 5), 2))
    fit_rows = min(fit_rows, params.get("sample_rows") or math.inf)
    names = ["bias", "log_rows", "log_rows_over", "log_columns", "log_classes", "log_levels"]
    values = [1.0, math.log(max(fit_rows, 1.0)), max(0.0, math.log(max(fit_rows, 1.0) / KNEE_ROWS)),
              math.log(max(shape["columns"], 1)),
              math.log(max(shape["classes"], 2) if shape["classes"] > 2 else 1), math.log1p(shape.get("levels", 0))]
    full = {**spec.defaults, **params}
    for name, param in sorted(spec.space.items()):
        value = full.get(name)
        if param.kind == "choice" and not all(isinstance(c, int | float) and not isinstance(c, bool)
                                              for c in param.choices):
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            value = param.low if param.kind != "choice" else param.choices[0]
        log = param.log or param.kind == "choice"
        names.append(f"{'log_' if log else ''}{name}")
        values.append(math.log(max(float(value), 1e-12)) if log else float(value))
    return names, values


def table_shape(data: TrainingData) -> dict[str, Any]:
    """The shape ``cost_features`` reads, of this training data: its rows, the columns the classic families read (all
    but the decoded pixels and spectrogram values, which only the network reads: counted, they made the cost model
    expect 32-44 s of LightGBM and logistic regression on the spoken digits' 2,200 spectrogram values, where the fits
    took 2 s), category levels, classes, folds and the rows a fold fits on."""
    columns = [str(c) for c in data.features.columns]
    return {"rows": len(data.y), "columns": len(columns) - len(block_columns(columns)),
            "levels": category_levels(data.features, data.schema.by_role("categorical")),
            "classes": data.context.n_classes, "folds": len(data.folds),
            "fit_rows": len(data.folds[0][0]) if data.folds else None}


def category_levels(features: pd.DataFrame, columns: list[str]) -> int:
    """The distinct values of these categorical columns, summed (each counted up to ``LEVELS_PER_COLUMN``)."""
    return int(sum(min(int(features[c].nunique()), LEVELS_PER_COLUMN) for c in columns if c in features))


@functools.cache
def _costs() -> dict[str, Any]:
    text = resources.files("trainlab.search").joinpath("costs.json").read_text()
    return json.loads(text)


def predict_seconds(family: str, shape: dict[str, Any], params: dict[str, Any]) -> float | None:
    """Expected seconds of a whole trial (all ``shape['folds']`` fits) on this machine; None for a family without a
    cost model."""
    model = _costs().get("families", {}).get(family)
    if model is None:
        return None
    names, values = cost_features(family, shape, params)
    if names != model["features"]:  # the family's space changed since the model was fitted
        return None
    per_fold = math.exp(float(np.dot(model["coef"], values)))
    return per_fold * shape.get("folds", 5) * machine_factor()


def machine_factor() -> float:
    """How much slower this machine runs the probe than the one the trials were recorded on (cached per machine)."""
    reference = _costs().get("probe_s")
    if not reference:
        return 1.0
    low, high = FACTOR_RANGE
    return float(min(high, max(low, _probe_seconds() / reference)))


def _cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trainlab" / "probe.json"


@functools.cache
def _probe_seconds() -> float:
    path = _cache_file()
    key = f"{os.uname().nodename}:{os.cpu_count()}"
    try:
        cached = json.loads(path.read_text())
        if cached.get("machine") == key:
            return float(cached["seconds"])
    except (OSError, ValueError, KeyError):
        pass
    seconds = probe()
    try:  # a cache that cannot be written only means probing again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"machine": key, "seconds": seconds}))
        tmp.replace(path)
    except OSError:
        pass
    return seconds


def probe() -> float:
    """Seconds this machine takes to grow one fixed decision tree on fixed random data, single-threaded (about 0.1 s):
    the yardstick the recorded trial times are scaled by. The best of three, so a busy moment counts less."""
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(PROBE_ROWS, 10))
    y = x[:, 0] + np.sin(x[:, 1]) + rng.normal(scale=0.1, size=PROBE_ROWS)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        DecisionTreeRegressor(max_depth=12, random_state=0).fit(x, y)
        best = min(best, time.perf_counter() - start)
    return best
