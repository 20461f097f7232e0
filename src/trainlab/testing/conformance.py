"""The checks every registered ModelSpec must pass, generated from the registry.

    >>> from trainlab.testing import cases, check_family
    >>> for key, task in cases():  # doctest: +SKIP
    ...     check_family(key, task)

Each check raises AssertionError naming the family, the task and what went wrong. A family that cannot run
here (an extra not installed) is reported by ``skip_reason`` instead of failing.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.config import TASKS
from trainlab.data.prepare import RECIPES, make_features
from trainlab.data.schema import Schema, infer_schema
from trainlab.models import REGISTRY, ModelSpec, model_output
from trainlab.models.fitted import TrainedModel, fit_model
from trainlab.models.registry import with_text

N_ROWS = 90
SEED = 3


def cases() -> list[tuple[str, str]]:
    """(family key, task) for every registered family and every table task it declares (recommenders have their
    own checks: ``trainlab.testing.recommend``)."""
    return [(key, task) for key, spec in REGISTRY.items() for task in spec.tasks if task in TASKS]


def case_id(case: tuple[str, str]) -> str:
    return f"{case[0]}-{case[1]}"


def skip_reason(key: str, task: str) -> str | None:
    """Why the family cannot be checked on this machine (e.g. its extra is missing), or None."""
    return REGISTRY[key].skip_reason(task, N_ROWS, has_text=True)


def sample_table(task: str, n: int = N_ROWS, seed: int = SEED, text: bool = False) -> tuple[pd.DataFrame, Schema]:
    """A small table with numbers, missing values, a category and a date, and a learnable target; with ``text``,
    also a free-text column whose words follow the target."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    signal = x1 + 0.8 * (colour == "red") + 0.3 * x2
    if task == "regression":
        y: Any = 3 * signal + rng.normal(0, 0.3, n)
    elif task == "binary":
        y = np.where(signal > 0.3, "yes", "no")
    else:
        y = np.select([signal > 0.8, signal > -0.3], ["high", "mid"], "low")
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour,
                          "day": pd.date_range("2024-01-01", periods=n, freq="D"), "y": y})
    frame.loc[::9, "x2"] = np.nan
    if text:
        words = np.where(signal > 0.3, "bright warm", "dull cold")
        filler = rng.choice(["a note on the day", "written by the clerk", "seen at the desk today"], n)
        frame["note"] = [f"{f} {w} {i}" for i, (f, w) in enumerate(zip(filler, words, strict=True))]
    return frame, infer_schema(frame, "y", task=task)


def encoded(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    if schema.task == "regression":
        return frame[schema.target].to_numpy(dtype=float)
    return np.array([schema.classes.index(v) for v in frame[schema.target]])


def check_declaration(spec: ModelSpec) -> None:
    """The family describes itself completely: key, names, tasks, recipe, defaults and a valid search space."""
    where = f"family {spec.key!r}"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.key), f"{where}: key must be lower_snake_case"
    assert "default" in spec.names, f"{where}: names needs a 'default' entry"
    assert spec.tasks and set(spec.tasks) <= set(TASKS), f"{where}: tasks {spec.tasks} not within {TASKS}"
    assert spec.recipe in RECIPES, f"{where}: recipe {spec.recipe!r} not one of {RECIPES}"
    assert spec.cost >= 0, f"{where}: cost must be >= 0"
    for name, param in spec.space.items():
        assert param.kind in ("int", "float", "choice"), f"{where}: parameter {name!r} has kind {param.kind!r}"
        if param.kind == "choice":
            assert param.choices, f"{where}: choice parameter {name!r} has no choices"
        else:
            assert param.low < param.high, f"{where}: parameter {name!r} has low >= high"
            assert not param.log or param.low > 0, f"{where}: log-scaled parameter {name!r} needs low > 0"


def check_family(key: str, task: str) -> None:
    """Fit on a small table, then: valid outputs with the defaults and with the low end of the search space,
    repeatable with the seed, weights accepted, unseen values handled, a save/load round trip giving the same
    outputs, and (multiclass) a class absent from the training rows."""
    spec = with_text(REGISTRY[key]) if REGISTRY[key].needs_text else REGISTRY[key]
    where = f"family {key!r} on {task}"
    check_declaration(spec)
    frame, schema = sample_table(task, text=spec.needs_text)
    features, y = make_features(frame, schema), encoded(frame, schema)
    model = fit_model(spec, spec.defaults, schema, features, y, None, SEED)
    out = model.output(features)
    _check_output(out, schema, where)
    odd = frame.head(5).copy()
    odd["colour"] = "purple"
    odd[["x1", "x2"]] = np.nan
    _check_output(model.output(make_features(odd, schema)), schema, f"{where} on unseen categories and missing values")
    _check_round_trip(model, features, out, where)
    # The cheap end of the space (fewest trees or rounds) keeps the remaining fits quick.
    low = {**spec.defaults, **{name: _low(p) for name, p in spec.space.items()}}
    where_low = f"{where} with the low end of its search space {low}"
    first = fit_model(spec, low, schema, features, y, None, SEED).output(features)
    _check_output(first, schema, where_low)
    again = fit_model(spec, low, schema, features, y, None, SEED).output(features)
    assert np.allclose(first, again, atol=1e-6), f"{where_low}: two fits with the same seed differ"
    if spec.sample_weight:
        weights = np.where(np.arange(len(y)) % 2 == 0, 1.0, 3.0)
        _check_output(fit_model(spec, low, schema, features, y, weights, SEED).output(features), schema,
                      f"{where_low} and sample weights")
    if task == "multiclass":
        _check_absent_class(spec, low, schema, features, y, where_low)


def _check_absent_class(spec: ModelSpec, params: dict[str, Any], schema: Schema, features: pd.DataFrame,
                        y: np.ndarray, where: str) -> None:
    """Training rows without class 1 (a fold or a chronological split can lack one): still one column per class,
    zero for the absent one, and the same after save and load."""
    keep = y != 1
    model = fit_model(spec, params, schema, features[keep], y[keep], None, SEED)
    out = model.output(features)
    where = f"{where} trained without class 1"
    _check_output(out, schema, where)
    assert np.allclose(out[:, 1], 0.0), f"{where}: the absent class got probability {out[:, 1].max():.3f}"
    _check_round_trip(model, features, out, where)


def _low(param: Any) -> Any:
    if param.kind == "choice":
        return param.choices[0]
    return int(param.low) if param.kind == "int" else float(param.low)


def _check_output(out: np.ndarray, schema: Schema, where: str) -> None:
    if schema.task == "regression":
        assert out.ndim == 1, f"{where}: regression output must be one number per row, got shape {out.shape}"
        assert np.isfinite(out).all(), f"{where}: regression output has NaN or infinite values"
        return
    assert out.shape[1] == len(schema.classes), f"{where}: {out.shape[1]} probability columns for " \
                                                f"{len(schema.classes)} classes"
    assert np.isfinite(out).all() and (out >= 0).all(), f"{where}: probabilities must be finite and >= 0"
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-6), f"{where}: probabilities of a row must sum to 1"


def _check_round_trip(model: TrainedModel, features: pd.DataFrame, expected: np.ndarray, where: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = model.spec.save(model.estimator, folder)
        present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        assert sorted(written) == present, f"{where}: save() returned {written} but wrote {present}"
        for name in present:
            assert not name.endswith((".pkl", ".pickle", ".joblib")), f"{where}: {name} is a pickle"
        loaded = model.spec.load(folder, model.task)
    prepared = model.preprocessor.transform(features)
    again = model_output(loaded, prepared, model.task, model.n_classes)
    assert np.allclose(expected, again, atol=1e-6), f"{where}: outputs differ after save and load"
