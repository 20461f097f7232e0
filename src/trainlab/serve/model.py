"""The model a server answers for: rows in (JSON or a file), predictions and probabilities out."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from trainlab.errors import SchemaError, TrainlabError
from trainlab.predict import Predictor

T = TypeVar("T")
SCALARS = (str, int, float, bool)
NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}


class RequestProblem(Exception):
    """A request the server cannot answer: the HTTP status, the field at fault and what to do."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message


@dataclass
class ServedModel:
    """A loaded bundle with the name and version the server publishes it under."""

    name: str
    version: str
    path: Path
    predictor: Predictor

    @classmethod
    def load(cls, path: str | Path, name: str | None = None) -> ServedModel:
        """Load and verify the bundle at ``path``; the name defaults to the run folder's name."""
        folder = Path(path)
        predictor = Predictor.load(folder)
        digest = hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()[:12]
        default = folder.resolve().parent.name if folder.name == "model" else folder.resolve().name
        return cls(name=safe_name(name or default), version=digest, path=folder, predictor=predictor)

    @property
    def task(self) -> str:
        return self.predictor.task

    def metadata(self) -> dict[str, Any]:
        """What a client needs to call the model: inputs, classes, metrics, versions."""
        manifest = self.predictor.manifest
        schema = self.predictor.schema
        inputs = [{"name": c.name, "role": c.role, "dtype": c.dtype, "required": True,
                   **({"categories": c.categories} if c.categories else {})} for c in schema.features]
        return plain_json({
            "name": self.name, "version": self.version, "task": schema.task, "target": schema.target,
            "classes": [_py(c) for c in schema.classes], "positive_class": _py(schema.positive_class),
            "inputs": inputs,
            "model": manifest.extras.get("model_name") if manifest else None,
            "metrics": manifest.metrics if manifest else {},
            "versions": manifest.versions if manifest else {},
        })

    def predict(self, frame: pd.DataFrame, explain: int = 0) -> dict[str, Any]:
        """Predictions (and class probabilities) as plain JSON-ready data; ``explain``: top features per row."""
        table = self.table(frame)
        result: dict[str, Any] = {"model": self.name, "version": self.version,
                                  "predictions": plain_json(table["prediction"].tolist())}
        if self.task != "regression":
            keys = [str(c) for c in self.predictor.classes]
            proba = table[[f"proba_{c}" for c in self.predictor.classes]].to_numpy(dtype=float)
            result["probabilities"] = [{k: _finite(p) for k, p in zip(keys, row, strict=True)} for row in proba]
        if explain:
            result["explanations"] = plain_json(self._guard(frame, lambda: self.predictor.explain(frame, top=explain)))
        unseen = unseen_categories(frame, self.predictor)
        if unseen:
            result["warnings"] = unseen
        return result

    def table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows' predictions exactly as ``trainlab predict`` writes them: 'prediction', 'proba_<class>'."""
        return self._guard(frame, lambda: self.predictor.predictions_table(frame))

    def _guard(self, frame: pd.DataFrame, call: Callable[[], T]) -> T:
        """Run ``call``; rows that do not fit the model become a 422 naming the column."""
        try:
            return call()
        except SchemaError as exc:
            message = str(exc)
            features = self.predictor.schema.features
            field = next((c.name for c in features if c.name not in frame.columns or f"'{c.name}'" in message), None)
            raise RequestProblem(422, field, message) from exc
        except TrainlabError as exc:
            raise RequestProblem(422, None, str(exc)) from exc


def resolve_model(ref: str, registry: str | Path | None = None) -> tuple[Path, str | None]:
    """A bundle folder, or a registered ``NAME[@alias|@version]`` resolved to its verified bundle; with its name."""
    path = Path(ref)
    if path.is_dir() or "/" in ref or "\\" in ref:
        return path, None
    from trainlab.lifecycle.registry import parse_ref, resolve_bundle

    return resolve_bundle(ref, registry), parse_ref(ref)[0]


def rows_from_json(body: Any, max_rows: int) -> pd.DataFrame:
    """One row (an object) or a batch (a list of objects) as a DataFrame; RequestProblem names what is wrong."""
    if isinstance(body, dict):
        rows: list[Any] = [body]
    elif isinstance(body, list):
        rows = body
    else:
        raise RequestProblem(422, "body", f"The body must be a JSON object (one row) or a list of objects (a batch), "
                                          f"got {JSON_TYPES.get(type(body), 'null')}.")
    if not rows:
        raise RequestProblem(422, "body", "The batch is empty: send at least one row.")
    if len(rows) > max_rows:
        raise RequestProblem(413, "body", f"The batch has {len(rows)} rows; this server takes at most {max_rows} per "
                                          "request. Split it, or upload a file to /predict/file.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestProblem(422, f"[{i}]", f"Row {i} must be a JSON object of column: value, "
                                                f"got {JSON_TYPES.get(type(row), 'null')}.")
        for key, value in row.items():
            if value is not None and not isinstance(value, SCALARS):
                raise RequestProblem(422, key, f"Column '{key}' in row {i} must be a number, text, true/false or "
                                               f"null, got {JSON_TYPES.get(type(value), 'a value')}.")
    return pd.DataFrame.from_records(rows)


def unseen_categories(frame: pd.DataFrame, predictor: Predictor) -> list[str]:
    """Warnings for category values the model never saw in training (they are treated as unknown)."""
    notes = []
    for col in predictor.schema.features:
        if col.role != "categorical" or not col.categories or len(col.categories) < col.n_unique:
            continue
        if col.name not in frame.columns:
            continue
        values = frame[col.name].dropna().astype(str)
        new = sorted(set(values) - set(col.categories))
        if new:
            shown = ", ".join(repr(v) for v in new[:3])
            notes.append(f"Column '{col.name}': {shown} not seen in training; treated as an unknown category.")
    return notes


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars as Python values and NaN/infinity as None, so strict JSON can hold it."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    value = _py(value)
    return None if isinstance(value, float) and not math.isfinite(value) else value


def safe_name(name: str) -> str:
    """A model name that fits in a URL path: letters, digits, '.', '_' and '-'."""
    cleaned = NAME_CHARS.sub("-", name).strip("-.")
    return cleaned or "model"


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
