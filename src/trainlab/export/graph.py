"""trainlab's own small steps as ONNX nodes (raw columns to features, class alignment, ensemble weights, the
calibrator), and the joining of converted graphs into one with ``onnx.compose``."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper, version_converter

from trainlab.data.prepare import TRUE_WORDS
from trainlab.export.convert import MISSING_TEXT, OPSET
from trainlab.models.calibration import EPS, Calibrator

IR_VERSION = 10
"""The ONNX file format version of operator set 21."""
TRUE_PATTERN = r"\s*(?i:" + "|".join(sorted(TRUE_WORDS)) + r")\s*"
"""The booleans' rule of ``make_features`` (surrounding spaces stripped, any case) as one regular expression."""


class Builder:
    """Nodes and constants of one hand-built graph, with unique names under a prefix."""

    def __init__(self, prefix: str, dtype: Any = np.float32) -> None:
        self.prefix = prefix
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{self.prefix}{hint}_{self.count}"

    def const(self, value: Any, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype or self.dtype)
        name = self.name("const")
        self.constants.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, domain: str = "", **attrs: Any) -> str:
        output = out or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=self.name(op_type), domain=domain,
                                           **attrs))
        return output

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto]) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.prefix.strip("/") or "trainlab", inputs, outputs, self.constants)
        return aligned(helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSET.items()]))


def tensor(name: str, kind: int, width: int | str | None = 1) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, kind, ["N", width])


def aligned(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` on the operator sets of ``OPSET`` (converted up where older), so that graphs can be joined."""
    versions = {o.domain or "": o.version for o in model.opset_import}
    if versions.get("", OPSET[""]) < OPSET[""]:
        model = version_converter.convert_version(model, OPSET[""])
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in OPSET.items())
    model.ir_version = IR_VERSION
    return model


def front(columns: list[tuple[str, str]], copies: list[str]) -> onnx.ModelProto:
    """Raw columns (``(name, role)``) to features, handed to every member graph as ``{copy}{name}``.

    Numbers pass as they are; a boolean is text, 1.0 where ``make_features`` reads true, 0.0 otherwise, NaN when
    empty; categories stay text."""
    b = Builder("features/")
    inputs = []
    for name, role in columns:
        inputs.append(tensor(name, TensorProto.FLOAT if role == "numeric" else TensorProto.STRING))
        feature = name
        if role == "boolean":
            truth = b.op("Cast", b.op("RegexFullMatch", name, pattern=TRUE_PATTERN), to=TensorProto.FLOAT)
            empty = b.op("Equal", name, b.const([MISSING_TEXT], dtype=object))
            feature = b.op("Where", empty, b.const([np.nan]), truth)
        for copy in copies:
            b.op("Identity", feature, out=f"{copy}{name}")
    kinds = {name: TensorProto.STRING if role == "categorical" else TensorProto.FLOAT for name, role in columns}
    return b.model(inputs, [tensor(f"{copy}{name}", kinds[name]) for copy in copies for name, _ in columns])


def tail(members: list[tuple[str, np.ndarray | None]], weights: list[float], calibrator: Calibrator | None,
         n_classes: int) -> onnx.ModelProto:
    """Members' outputs to the file's output: each classifier's probabilities put under the bundle's classes and
    rescaled to sum to one (``model_output``), weighted and summed, then calibrated; or weighted predictions.

    ``members`` holds each output's name and, for classifiers, the class positions its columns stand for."""
    b = Builder("ensemble/", np.float64)  # in double precision, as trainlab computes it: float32 would move
    parts, inputs = [], []                # a probability of 1 - 1e-7 by 1e-3 through the calibrator's logit
    for (name, seen), weight in zip(members, weights, strict=True):
        inputs.append(tensor(name, TensorProto.FLOAT, 1 if seen is None else len(seen)))
        output = b.op("Cast", name, to=TensorProto.DOUBLE)
        if seen is not None:
            placed = b.op("MatMul", output, b.const(np.eye(n_classes)[seen]))
            total = b.op("Max", b.op("ReduceSum", placed, b.const([1], np.int64), keepdims=1), b.const([1e-12]))
            output = b.op("Div", placed, total)
        parts.append(b.op("Mul", output, b.const([weight])))
    summed = parts[0] if len(parts) == 1 else b.op("Sum", *parts)
    out = _calibrated(b, summed, calibrator) if calibrator is not None else summed
    name = "prediction" if n_classes == 0 else "probabilities"
    b.op("Cast", out, out=name, to=TensorProto.FLOAT)
    return b.model(inputs, [tensor(name, TensorProto.FLOAT, n_classes or 1)])


def _calibrated(b: Builder, proba: str, calibrator: Calibrator) -> str:
    """``Calibrator.apply`` in nodes (models/calibration.py): Platt, isotonic, temperature, one-vs-rest Platt."""
    params = calibrator.params
    if calibrator.method == "temperature":
        logs = b.op("Log", b.op("Clip", proba, b.const(EPS), b.const(1.0)))
        return b.op("Softmax", b.op("Div", logs, b.const(params["temperature"])), axis=1)
    if calibrator.method == "sigmoid_ovr":
        scores = b.op("Sigmoid", b.op("Add", b.op("Mul", _logit(b, proba), b.const(params["a"])), b.const(params["b"])))
        return b.op("Div", scores, b.op("ReduceSum", scores, b.const([1], np.int64), keepdims=1))
    positive = b.op("Slice", proba, b.const([1], np.int64), b.const([2], np.int64), b.const([1], np.int64))
    if calibrator.method == "sigmoid":
        shifted = b.op("Add", b.op("Mul", _logit(b, positive), b.const(params["a"])), b.const(params["b"]))
        calibrated = b.op("Sigmoid", shifted)
    else:
        calibrated = _interpolated(b, positive, params["x"], params["y"])
    return b.op("Concat", b.op("Sub", b.const([1.0]), calibrated), calibrated, axis=1)


def _logit(b: Builder, proba: str) -> str:
    clipped = b.op("Clip", proba, b.const(EPS), b.const(1 - EPS))
    return b.op("Sub", b.op("Log", clipped), b.op("Log", b.op("Sub", b.const(1.0), clipped)))


def _interpolated(b: Builder, x: str, xp: list[float], fp: list[float]) -> str:
    """``np.interp(x, xp, fp)`` for increasing ``xp``: fp[0] plus each segment's rise times the share of it that x
    has passed (0 to 1), which also holds the ends constant outside [xp[0], xp[-1]]."""
    starts, widths = np.asarray(xp[:-1]), np.diff(xp)
    if not len(starts):
        return b.op("Add", b.op("Mul", x, b.const([0.0])), b.const([fp[0]]))
    share = b.op("Div", b.op("Sub", x, b.const([starts])), b.const([np.maximum(widths, 1e-12)]))
    passed = b.op("Clip", share, b.const(0.0), b.const(1.0))
    rise = b.op("ReduceSum", b.op("Mul", passed, b.const([np.diff(fp)])), b.const([1], np.int64), keepdims=1)
    return b.op("Add", rise, b.const([fp[0]]))


def renamed(model: onnx.ModelProto, prefix: str, output: str) -> onnx.ModelProto:
    """A member graph with only ``output`` kept and every name under ``prefix`` (its inputs become
    ``{prefix}{column}``), so that many members join one graph without clashes."""
    kept = onnx.utils.Extractor(aligned(model)).extract_model([i.name for i in model.graph.input], [output])
    kept = aligned(kept)
    return compose.add_prefix(kept, prefix)


def joined(first: onnx.ModelProto, then: onnx.ModelProto, keep: list[str]) -> onnx.ModelProto:
    """``then`` fed by the outputs of ``first`` that have its inputs' names; the outputs ``keep`` stay outputs."""
    have = {o.name for o in first.graph.output}
    io_map = [(i.name, i.name) for i in then.graph.input if i.name in have]
    outputs = [o for o in keep if o in have - {a for a, _ in io_map}] + [o.name for o in then.graph.output]
    return compose.merge_models(first, then, io_map=io_map, outputs=outputs)
