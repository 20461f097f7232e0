"""``export_onnx``: a saved bundle's whole predict path as one ONNX file, checked against the bundle before writing.

The file takes one input per raw feature column, named as the column, shape [N, 1]: float32 for numbers (NaN:
missing), text for categories and booleans (an empty string: missing; a boolean is true when it reads true, yes,
y, t or 1 in any case, as ``make_features`` reads it). Its output is ``probabilities`` [N, classes] in the bundle's
class order, or ``prediction`` [N, 1] for regression.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnx
import pandas as pd

from trainlab.bundle import load_bundle
from trainlab.bundle.io import Model
from trainlab.data.load import load_table
from trainlab.data.prepare import make_features
from trainlab.data.schema import Schema
from trainlab.errors import list_names
from trainlab.export.convert import MISSING_TEXT, ExportError
from trainlab.export.graph import front, joined, renamed, tail
from trainlab.export.members import Column, member_graph
from trainlab.models.calibration import CalibratedModel, Calibrator
from trainlab.models.fitted import TrainedModel
from trainlab.models.missing import GapFilledModel
from trainlab.search.ensemble import EnsembleModel

TOLERANCE = 1e-5
BOOSTER_TOLERANCE = 1e-4
"""Float32 boosters (their converters' thresholds and leaves are float32) may differ by this much."""
BOOSTERS = ("lightgbm", "xgboost", "catboost")
CHECK_ROWS = 200


@dataclass
class ExportResult:
    """What an export wrote and what it left out, without the bundle: for the model card and the terminal.

    ``parts`` lists what the file holds, ``left_out`` what of the bundle's predict path it does not (the model
    card lists these), ``gap_filled_columns`` the columns whose rare gaps the bundle fills and the file does not,
    ``max_difference`` the largest difference from the bundle on ``checked_rows`` rows."""

    path: str
    model: str
    parts: list[str]
    left_out: list[str]
    inputs: dict[str, str]
    output: str
    checked_rows: int
    max_difference: float
    tolerance: float
    size_bytes: int
    seconds: float
    gap_filled_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_onnx(bundle: str | Path, path: str | Path, rows: pd.DataFrame | str | Path | None = None) -> ExportResult:
    """Write the bundle's model to ``path`` as ONNX once onnxruntime's outputs on ``rows`` (default: rows made from
    the sample stored in the bundle) match the bundle's; raises ExportError naming the part that cannot be."""
    started = time.perf_counter()
    manifest, model = load_bundle(bundle)
    schema = Schema.from_dict(manifest.schema)
    columns = _columns(schema)
    gap_columns, left_out, inner = _unwrap(model)
    calibrator = inner.calibrator if isinstance(inner, CalibratedModel) else None
    core = inner.model if isinstance(inner, CalibratedModel) else inner
    members: list[TrainedModel] = core.members if isinstance(core, EnsembleModel) else [cast(TrainedModel, core)]
    weights = core.weights if isinstance(core, EnsembleModel) else [1.0]
    _check_families(members, schema)
    frame = _check_rows(rows, manifest.extras, schema)
    features = make_features(frame, schema)
    untouched = features[gap_columns].notna().all(axis=1).to_numpy() if gap_columns else np.ones(len(frame), bool)
    frame, features = frame[untouched], features[untouched]
    if frame.empty:
        raise ExportError("No row to check the export on: every given row has a missing value in a gap-filled "
                          f"column ({', '.join(gap_columns)}). Give rows with those values filled in (--data).")
    feeds = onnx_inputs(frame, columns)
    member_feeds = {**feeds, **{n: features[n].to_numpy(np.float32).reshape(-1, 1) for n, r in columns if r == "boolean"}}
    tolerance = BOOSTER_TOLERANCE if any(m.spec.onnx in BOOSTERS for m in members) else TOLERANCE
    graphs, outputs = [], []
    for i, member in enumerate(members):
        graph, out = member_graph(member, columns)
        _compare(graph, out, member_feeds, member.output(features), tolerance, _describe(member), schema.task)
        graphs.append(renamed(graph, f"m{i}/", out))
        outputs.append((f"m{i}/{out}", None if schema.task == "regression" else _seen(member)))
    whole = _assemble(columns, graphs, outputs, weights, calibrator, member_count=len(members),
                      n_classes=0 if schema.task == "regression" else members[0].n_classes)
    output = "prediction" if schema.task == "regression" else "probabilities"
    difference = _compare(whole, output, feeds, model.output(features), tolerance, "the whole model", schema.task)
    size = _write(whole, Path(path))
    return ExportResult(path=str(path), model=_summary(members, weights, calibrator), parts=_parts(members, calibrator),
                        left_out=left_out, inputs={n: "float32" if r == "numeric" else "string" for n, r in columns},
                        output=output, checked_rows=len(frame), max_difference=difference, tolerance=tolerance,
                        size_bytes=size, seconds=time.perf_counter() - started, gap_filled_columns=gap_columns)


def _columns(schema: Schema) -> list[Column]:
    dates = schema.by_role("datetime")
    if dates:
        raise ExportError(f"Column(s) {', '.join(repr(d) for d in dates)} hold dates, which the model takes apart "
                          "into year, month, day, weekday and hour; ONNX cannot parse dates. Retrain without them "
                          "(or with their parts as numeric columns) to export.")
    return [(c.name, c.role) for c in schema.features]


def _unwrap(model: Model) -> tuple[list[str], list[str], Any]:
    """The gap-filled columns, what the file leaves out, and the model inside the gap filling."""
    if not isinstance(model, GapFilledModel):
        return [], [], model
    note = (f"gap filling of rare missing values in {len(model.complete)} column(s) ({list_names(model.complete, 4)}): "
            "a row missing one of them is predicted as it is, not averaged over similar training rows (ONNX cannot "
            "search the donor rows)")
    return list(model.complete), [note], model.model


def _check_families(members: list[TrainedModel], schema: Schema) -> None:
    categorical = schema.by_role("categorical")
    problems = []
    for member in members:
        problem = member.spec.export_problem(categorical)
        if problem is not None:
            problems.append(f"the {_describe(member)} model {problem}")
    if problems:
        raise ExportError("Cannot export this model to ONNX: " + "; ".join(sorted(set(problems))) + ". Retrain with "
                          "--exportable (exportable=True), which keeps to the families that export.")


def _check_rows(rows: pd.DataFrame | str | Path | None, extras: dict[str, Any], schema: Schema) -> pd.DataFrame:
    """The rows to check on: given ones, else the bundle's stored sample plus rows that mix its columns' values."""
    if rows is not None:
        frame = rows if isinstance(rows, pd.DataFrame) else load_table(rows)
        return schema.check_rows(frame).head(100_000).reset_index(drop=True)
    stored = pd.DataFrame(extras.get("background") or [])
    if stored.empty:
        raise ExportError("The bundle holds no sample rows to check the export on: give rows (--data FILE).")
    for name in schema.by_role("boolean"):
        stored[name] = stored[name].map(lambda v: None if pd.isna(v) else ("yes" if v else "no"))
    rng = np.random.default_rng(0)
    mixed = stored.apply(lambda s: s.to_numpy()[rng.permutation(len(s))]).reset_index(drop=True)
    frame = pd.concat([stored, mixed], ignore_index=True).head(CHECK_ROWS)
    return schema.check_rows(frame).reset_index(drop=True)


def onnx_inputs(frame: pd.DataFrame, columns: list[Column]) -> dict[str, np.ndarray]:
    """Raw rows as the ONNX file takes them: float32 numbers (NaN: missing), text otherwise ('': missing)."""
    feeds = {}
    for name, role in columns:
        if role == "numeric":
            feeds[name] = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float32).reshape(-1, 1)
        else:
            feeds[name] = frame[name].map(lambda v: MISSING_TEXT if pd.isna(v) else str(v)).to_numpy(object).reshape(-1, 1)
    return feeds


def _compare(model: onnx.ModelProto, output: str, feeds: dict[str, np.ndarray], expected: np.ndarray,
             tolerance: float, part: str, task: str) -> float:
    """Run ``model`` in onnxruntime; ExportError naming ``part`` when it differs from ``expected`` beyond
    ``tolerance`` (for regression, relative to the prediction's size when that is above 1)."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        wanted = {i.name for i in session.get_inputs()}
        got = session.run([output], {k: v for k, v in feeds.items() if k in wanted})[0]
    except Exception as exc:
        raise ExportError(f"The ONNX graph of {part} does not run in onnxruntime: {str(exc)[:300]}") from exc
    expected = np.asarray(expected, dtype=float).reshape(len(got), -1)
    got = np.asarray(got, dtype=float).reshape(expected.shape)
    scale = np.maximum(1.0, np.abs(expected)) if task == "regression" else 1.0
    error = np.nan_to_num(np.abs(got - expected) / scale, nan=np.inf)
    worst = float(error.max()) if error.size else 0.0
    if worst > tolerance:
        row = int(np.unravel_index(error.argmax(), error.shape)[0])
        raise ExportError(f"The ONNX export of {part} does not predict like the bundle: on check row {row} it gives "
                          f"{got[row].round(6).tolist()} where the bundle gives {expected[row].round(6).tolist()} "
                          f"(difference {worst:.2g}, allowed {tolerance:g}). This model cannot be exported faithfully.")
    return worst


def _assemble(columns: list[Column], graphs: list[onnx.ModelProto], outputs: list[tuple[str, np.ndarray | None]],
              weights: list[float], calibrator: Calibrator | None, member_count: int, n_classes: int) -> onnx.ModelProto:
    copies = [f"m{i}/" for i in range(member_count)]
    whole = front(columns, copies)
    shared = [f"{c}{name}" for c in copies for name, _ in columns]
    for graph in graphs:
        whole = joined(whole, graph, shared + [o for o, _ in outputs])
    whole = joined(whole, tail(outputs, weights, calibrator, n_classes), [])
    whole.graph.name = "trainlab"
    onnx.checker.check_model(whole)
    return whole


def _write(model: onnx.ModelProto, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_bytes(model.SerializeToString())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def _seen(member: TrainedModel) -> np.ndarray:
    """The class positions the member's probability columns stand for (a fold may have lacked a class)."""
    classes = getattr(member.estimator, "classes_", None)
    return np.arange(member.n_classes) if classes is None else np.asarray(classes, dtype=int)


def _describe(member: TrainedModel) -> str:
    return f"{member.spec.name(member.task)} ({member.family})"


def _parts(members: list[TrainedModel], calibrator: Calibrator | None) -> list[str]:
    converters = {"skl2onnx": "skl2onnx", "lightgbm": "onnxmltools", "xgboost": "onnxmltools",
                  "catboost": "CatBoost's ONNX export", "torch": "torch.onnx"}
    parts = ["feature step (booleans from text)"]
    parts += sorted({f"{m.family}: preprocessing and model via {converters[m.spec.onnx or '']}" for m in members})
    if len(members) > 1:
        parts.append(f"weighted average of {len(members)} members")
    if calibrator is not None:
        parts.append(f"calibrator ({calibrator.method})")
    return parts


def _summary(members: list[TrainedModel], weights: list[float], calibrator: Calibrator | None) -> str:
    text = (_describe(members[0]) if len(members) == 1 else
            "ensemble of " + ", ".join(f"{_describe(m)} × {w:.3f}" for m, w in zip(members, weights, strict=True)))
    return text + (f", calibrated ({calibrator.method})" if calibrator is not None else "")
