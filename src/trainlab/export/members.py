"""Each trained member of a bundle as one ONNX graph from the raw feature columns to its output, by the converter
its family declares (``ModelSpec.onnx``)."""

from __future__ import annotations

import io
from typing import Any

import onnx
from onnx import TensorProto

from trainlab.export import convert
from trainlab.export.convert import MISSING_TEXT, OPSET, ExportError
from trainlab.export.graph import Builder, aligned, joined, tensor
from trainlab.models.fitted import TrainedModel

Column = tuple[str, str]
"""A raw feature column: its name and role (numeric, boolean or categorical)."""


def member_graph(member: TrainedModel, columns: list[Column]) -> tuple[onnx.ModelProto, str]:
    """The member's graph, with one input per column (numbers and booleans as floats, categories as text) and the
    name of its output: class probabilities (rows x the classes it saw), or predictions [N, 1]."""
    kind = member.spec.onnx
    if kind in ("skl2onnx", "lightgbm", "xgboost"):
        model = convert.sklearn_graph(member.preprocessor, _estimator(member, kind), _skl_inputs(columns))
        return convert.fix_knn_distances(model), "variable" if member.task == "regression" else "probabilities"
    if kind == "catboost":
        prepared = convert.preprocessing_graph(member.preprocessor, _skl_inputs(columns))
        model = aligned(convert.catboost_graph(member.estimator))
        out = "predictions" if member.task == "regression" else "probabilities"
        prepared = aligned(prepared)
        return _chain(prepared, prepared.graph.output[0].name, model, "features", out), out
    if kind == "torch":
        return neural_graph(member.estimator, columns), "output"
    raise ExportError(f"No ONNX converter for the {member.spec.name(member.task)} model ({member.family}).")


def _estimator(member: TrainedModel, kind: str) -> Any:
    estimator = member.estimator
    if kind == "lightgbm":
        booster = getattr(estimator, "booster", None) or estimator.booster_
        cls = convert.BoosterRegressor if member.task == "regression" else convert.BoosterClassifier
        return cls(booster)
    if kind == "xgboost":
        return convert.xgboost_model(estimator.model_)
    return estimator


def _skl_inputs(columns: list[Column]) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [(name, StringTensorType([None, 1]) if role == "categorical" else FloatTensorType([None, 1]))
            for name, role in columns]


def _chain(first: onnx.ModelProto, out: str, then: onnx.ModelProto, into: str, keep: str) -> onnx.ModelProto:
    """``then`` with its input ``into`` fed by ``first``'s output ``out`` (renamed so that the names meet)."""
    for node in then.graph.node:
        node.input[:] = [out if name == into else name for name in node.input]
    then.graph.input[0].name = out
    return joined(first, then, [keep])


def neural_graph(estimator: Any, columns: list[Column]) -> onnx.ModelProto:
    """The neural network: its input encoding (``network.Encoding``: robust z-scores, missing flags, category
    indices) and layers through ``torch.onnx``, behind nodes that gather the raw columns into its two inputs."""
    encoding = estimator.encoding_
    b = Builder("encode/")
    kinds = dict(columns)
    inputs = [tensor(name, TensorProto.STRING if kinds[name] == "categorical" else TensorProto.FLOAT)
              for name, _ in columns]
    numbers = [c.name for c in encoding.numeric]
    if not numbers:
        raise ExportError("The neural network has no numeric feature; its ONNX export needs at least one.")
    b.op("Concat", *numbers, out="numbers", axis=1)
    codes = []
    for column in encoding.categorical:
        keys = list(column.categories) + ([MISSING_TEXT] if convert_missing(column.categories) else [])
        values = list(range(1, len(column.categories) + 1))
        if convert_missing(column.categories):
            values.append(column.categories.index("__missing__") + 1)
        codes.append(b.op("LabelEncoder", column.name, domain="ai.onnx.ml", keys_strings=keys or ["\x00"],
                          values_int64s=values or [0], default_int64=0))
    if codes:
        b.op("Concat", *codes, out="categories", axis=1)
    encoder = b.model(inputs, [tensor("numbers", TensorProto.FLOAT, len(numbers))]
                      + ([tensor("categories", TensorProto.INT64, len(codes))] if codes else []))
    network = aligned(_torch_network(estimator, has_categories=bool(codes)))
    return joined(encoder, network, ["output"])


def convert_missing(categories: list[str]) -> bool:
    """Whether the network learned a vector for missing values (the recipe's imputer fills them in as text)."""
    from trainlab.data.prepare import MISSING

    return MISSING in categories


def _torch_network(estimator: Any, has_categories: bool) -> onnx.ModelProto:
    import torch

    from trainlab.models.neural.network import CLIP

    encoding = estimator.encoding_
    flags = [j for j, c in enumerate(encoding.numeric) if c.flag_missing]

    class Exported(torch.nn.Module):
        """The encoding's numeric arithmetic, the network, and its output step (softmax, or the target's scale)."""

        def __init__(self) -> None:
            super().__init__()
            self.net = estimator.net_
            self.center = torch.tensor([c.center for c in encoding.numeric], dtype=torch.float32)
            self.scale = torch.tensor([c.scale for c in encoding.numeric], dtype=torch.float32)

        def forward(self, numbers: torch.Tensor, categories: torch.Tensor | None = None) -> torch.Tensor:
            missing = ~torch.isfinite(numbers)
            z = (torch.where(missing, self.center, numbers) - self.center) / self.scale
            encoded = z / torch.sqrt(1.0 + (z / CLIP) ** 2)
            if flags:
                encoded = torch.cat([encoded, missing[:, flags].float()], dim=1)
            if categories is None:
                categories = torch.zeros((numbers.shape[0], 0), dtype=torch.int64)
            out = self.net(encoded, categories)
            if estimator.task == "regression":
                return out * estimator.target_scale_ + estimator.target_mean_
            return torch.softmax(out, dim=1)

    rows = 2
    example: tuple[Any, ...] = (torch.zeros((rows, len(encoding.numeric))),)
    names = ["numbers"]
    if has_categories:
        example += (torch.zeros((rows, len(encoding.categorical)), dtype=torch.int64),)
        names.append("categories")
    buffer = io.BytesIO()
    module = Exported().eval()
    with torch.no_grad():
        torch.onnx.export(module, example, buffer, dynamo=False,  # type: ignore[arg-type]
                          opset_version=OPSET[""], input_names=names, output_names=["output"],
                          dynamic_axes={n: {0: "N"} for n in [*names, "output"]})
    return onnx.load_from_string(buffer.getvalue())
