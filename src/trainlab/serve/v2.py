"""The Open Inference Protocol (KServe v2): one input tensor per column, labels and probabilities out (JSON); inputs
also with the binary data extension, and pictures or sound as BYTES (``v2_bytes``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trainlab.serve.model import RequestProblem, ServedModel

NUMERIC_TYPES = {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
DATATYPES = NUMERIC_TYPES | {"BYTES", "BOOL"}


def model_metadata(model: ServedModel) -> dict[str, Any]:
    """The v2 model metadata: one input per training column, 'predict' and (classifiers) 'proba' outputs."""
    inputs = [{"name": c.name, "datatype": "FP64" if c.role == "numeric" else "BYTES", "shape": [-1]}
              for c in model.predictor.schema.features]
    return {"name": model.name, "versions": [model.version], "platform": "trainlab", "inputs": inputs,
            "outputs": _output_specs(model)}


def _output_specs(model: ServedModel) -> list[dict[str, Any]]:
    if model.task == "regression":
        return [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    classes = model.predictor.classes
    return [{"name": "predict", "datatype": label_datatype(classes), "shape": [-1]},
            {"name": "proba", "datatype": "FP64", "shape": [-1, len(classes)]}]


def label_datatype(classes: list[Any]) -> str:
    """INT64, FP64 or BOOL when every class label is of that kind, BYTES otherwise."""
    if all(isinstance(c, bool | np.bool_) for c in classes):
        return "BOOL"
    if all(isinstance(c, int | np.integer) for c in classes):
        return "INT64"
    if all(isinstance(c, float | np.floating) for c in classes):
        return "FP64"
    return "BYTES"


def request_frame(body: Any, max_rows: int) -> tuple[pd.DataFrame, list[str] | None]:
    """The rows of an inference request and the names of the outputs it asks for (None: all)."""
    if not isinstance(body, dict):
        raise RequestProblem(400, "body", "An inference request is a JSON object with an 'inputs' list.")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestProblem(400, "inputs", "'inputs' must be a non-empty list of tensors "
                                            "({'name', 'shape', 'datatype', 'data'}), one per column.")
    columns: dict[str, list[Any]] = {}
    for i, tensor in enumerate(inputs):
        name, values = _tensor_values(tensor, i)
        if name in columns:
            raise RequestProblem(400, name, f"Input '{name}' is given twice.")
        columns[name] = values
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in columns.items())
        raise RequestProblem(400, "inputs", f"Every input must hold the same number of rows; got {sizes}.")
    n = lengths.pop()
    if n == 0:
        raise RequestProblem(400, "inputs", "The inputs hold no rows: send at least one.")
    if n > max_rows:
        raise RequestProblem(413, "inputs", f"{n} rows in one request; this server takes at most {max_rows}.")
    return pd.DataFrame(columns), _requested_outputs(body.get("outputs"))


def _tensor_values(tensor: Any, i: int) -> tuple[str, list[Any]]:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise RequestProblem(400, f"inputs[{i}]", f"Input {i} must be an object with a 'name' (text).")
    name = tensor["name"]
    datatype, shape, data = tensor.get("datatype"), tensor.get("shape"), tensor.get("data")
    if datatype not in DATATYPES:
        raise RequestProblem(400, name, f"Input '{name}' has datatype {datatype!r}; use one of "
                                        f"{', '.join(sorted(DATATYPES))}.")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape) \
            or not 1 <= len(shape) <= 2 or (len(shape) == 2 and shape[1] != 1):
        raise RequestProblem(400, name, f"Input '{name}' must have shape [rows] or [rows, 1], got {shape!r}.")
    if data is None and isinstance(tensor.get("parameters"), dict) and "binary_data_size" in tensor["parameters"]:
        raise RequestProblem(400, name, f"Input '{name}' says it is binary data, but the request has no "
                                        "Inference-Header-Content-Length header.")
    values = _flatten(data, name)
    if len(values) != math.prod(shape):
        raise RequestProblem(400, name, f"Input '{name}' has shape {shape} but {len(values)} values.")
    for value in values:
        if value is not None and not isinstance(value, str | bytes | int | float | bool):
            raise RequestProblem(400, name, f"Input '{name}' holds a {type(value).__name__}; values must be "
                                            "numbers, text, true/false or null.")
    return name, values


def _flatten(data: Any, name: str) -> list[Any]:
    if not isinstance(data, list):
        raise RequestProblem(400, name, f"Input '{name}' needs 'data': a list of values.")
    flat: list[Any] = []
    for value in data:
        flat.extend(_flatten(value, name) if isinstance(value, list) else [value])
    return flat


def _requested_outputs(outputs: Any) -> list[str] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs):
        raise RequestProblem(400, "outputs", "'outputs' must be a list of objects with a 'name'.")
    return [o["name"] for o in outputs]


def infer(model: ServedModel, frame: pd.DataFrame, wanted: list[str] | None, request_id: Any) -> dict[str, Any]:
    """Run the model on the request's rows and answer in the protocol's response form."""
    known = [spec["name"] for spec in _output_specs(model)]
    unknown = [w for w in wanted or [] if w not in known]
    if unknown:
        raise RequestProblem(400, "outputs", f"Unknown output {unknown[0]!r}; this model gives {', '.join(known)}.")
    table = model.table(frame)
    n = len(frame)
    tensors: dict[str, dict[str, Any]] = {}
    if model.task == "regression":
        numbers = [_num(v) for v in table["prediction"]]
        tensors["predict"] = {"name": "predict", "datatype": "FP64", "shape": [n], "data": numbers}
    else:
        classes = model.predictor.classes
        datatype = label_datatype(classes)
        labels = table["prediction"].tolist()
        data = [str(c) for c in labels] if datatype == "BYTES" else [_plain(c) for c in labels]
        tensors["predict"] = {"name": "predict", "datatype": datatype, "shape": [n], "data": data}
        proba = table[[f"proba_{c}" for c in classes]].to_numpy(dtype=float)
        tensors["proba"] = {"name": "proba", "datatype": "FP64", "shape": [n, len(classes)],
                            "data": [_num(v) for v in proba.ravel()]}
    response: dict[str, Any] = {"model_name": model.name, "model_version": model.version,
                                "outputs": [tensors[name] for name in (wanted or known)]}
    if request_id is not None:
        response["id"] = str(request_id)
    return response


def _num(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
