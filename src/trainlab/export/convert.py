"""One bundle member (fitted preprocessing and estimator) as an ONNX graph from raw feature columns to its outputs.

scikit-learn pipelines go through skl2onnx, with the LightGBM and XGBoost converters of onnxmltools registered
into it; CatBoost writes its own ONNX and PyTorch's network goes through ``torch.onnx``, each then joined to the
converted preprocessing with ``onnx.compose``. A few fitted steps skl2onnx cannot convert as they are (imputers
that treat NaN as missing text, missing-value indicators, one-hot encoders with infrequent categories) are
rewritten first into equivalent steps it can (``convertible``), and the parity check in ``trainlab.export.onnx``
confirms the result.
"""

from __future__ import annotations

import copy
import functools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxmltools.convert.lightgbm._parse import WrappedBooster
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder

from trainlab.errors import ConfigError

OPSET = {"": 21, "ai.onnx.ml": 3}
"""Operator sets of every graph in an export: RegexFullMatch (booleans) needs 20; ai.onnx.ml 3 has the tree
ensembles in single and double precision."""
MISSING_TEXT = ""
"""A missing category or boolean is given to the ONNX file as an empty string."""
UNKNOWN = "\x00unknown"
"""Stands for a category the encoder never saw (no real value holds a NUL character)."""


class ExportError(ConfigError):
    """A model (or one part of it) cannot be written as ONNX; the message names the part."""


class BoosterClassifier(ClassifierMixin, BaseEstimator, WrappedBooster):
    """A LightGBM classifier's booster as skl2onnx takes it (onnxmltools' converter reads the booster)."""

    def __init__(self, booster: Any = None) -> None:
        WrappedBooster.__init__(self, booster)


class BoosterRegressor(RegressorMixin, BaseEstimator, WrappedBooster):
    """A LightGBM regressor's booster as skl2onnx takes it."""

    def __init__(self, booster: Any = None) -> None:
        WrappedBooster.__init__(self, booster)


class MissingFlags(BaseEstimator, TransformerMixin):
    """1.0 where the chosen columns are NaN: a missing-value indicator skl2onnx can convert."""

    def __init__(self, *, columns: tuple[int, ...] = ()) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> MissingFlags:
        return self

    def transform(self, X: Any) -> np.ndarray:
        return np.isnan(np.asarray(X, dtype=float)[:, list(self.columns)]).astype(float)


class KnownCategories(BaseEstimator, TransformerMixin):
    """Text columns with every value outside ``keep[j]`` replaced by ``other[j]``: how a one-hot encoder with
    infrequent categories groups rare and unseen values, as a step skl2onnx can convert."""

    def __init__(self, *, keep: tuple[tuple[str, ...], ...] = (), other: tuple[str, ...] = ()) -> None:
        self.keep = keep
        self.other = other

    def fit(self, X: Any, y: Any = None) -> KnownCategories:
        return self

    def transform(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=object)
        return np.column_stack([np.where(np.isin(X[:, j], list(keep)), X[:, j], other)
                                for j, (keep, other) in enumerate(zip(self.keep, self.other, strict=True))])


def convertible(step: Any) -> Any:
    """A fitted preprocessing step rewritten, where needed, into an equivalent one skl2onnx converts."""
    if isinstance(step, ColumnTransformer):
        twin = copy.deepcopy(step)
        twin.transformers_ = [(name, convertible(inner) if len(columns) else "drop", columns)
                              for name, inner, columns in twin.transformers_]
        return twin
    if isinstance(step, Pipeline):
        return Pipeline([(name, convertible(inner)) for name, inner in step.steps])
    if isinstance(step, SimpleImputer):
        return _imputer(step)
    if isinstance(step, OneHotEncoder) and step._infrequent_enabled:
        return _grouped_one_hot(step)
    return step


def _imputer(step: SimpleImputer) -> Any:
    twin = copy.deepcopy(step)
    if twin.statistics_.dtype == object:  # text: the ONNX input marks a missing value with an empty string
        twin.missing_values = MISSING_TEXT
    if not twin.add_indicator:
        return twin
    flags = MissingFlags(columns=tuple(int(i) for i in twin.indicator_.features_))
    twin.add_indicator, twin.indicator_ = False, None
    return FeatureUnion([("impute", twin), ("flags", flags)])


def _grouped_one_hot(step: OneHotEncoder) -> Pipeline:
    keep, other, categories = [], [], []
    for j in range(len(step.categories_)):
        shown = [str(c) for c in step._compute_transformed_categories(j)]
        frequent = [c for c in shown if c != "infrequent_sklearn"]
        keep.append(tuple(frequent))
        other.append("infrequent_sklearn" if len(shown) > len(frequent) else UNKNOWN)
        categories.append(frequent + (["infrequent_sklearn"] if len(shown) > len(frequent) else []))
    encoder = OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False, dtype=step.dtype)
    encoder.fit(np.array([[c[0] if c else UNKNOWN for c in categories]], dtype=object))
    return Pipeline([("group", KnownCategories(keep=tuple(keep), other=tuple(other))), ("onehot", encoder)])


@functools.cache
def register_converters() -> None:
    """Teach skl2onnx trainlab's steps, histogram boosting's subclasses, and LightGBM and XGBoost (onnxmltools)."""
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import get_converter, get_shape_calculator
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from xgboost import XGBClassifier, XGBRegressor

    from trainlab.models.trees import CategoricalHGBClassifier, CategoricalHGBRegressor

    classifier = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    hgb = {**classifier, "raw_scores": [True, False]}
    for ours, theirs in ((CategoricalHGBClassifier, HistGradientBoostingClassifier),
                         (CategoricalHGBRegressor, HistGradientBoostingRegressor)):
        alias = sklearn_operator_name_map[theirs]
        shape, convert = get_shape_calculator(alias), get_converter(alias)
        update_registered_converter(ours, alias, *_plain(shape, convert),
                                    options=hgb if ours is CategoricalHGBClassifier else None)

    update_registered_converter(BoosterClassifier, "TrainlabLightGbmClassifier",
                                calculate_linear_classifier_output_shapes, convert_lightgbm, options=classifier)
    update_registered_converter(BoosterRegressor, "TrainlabLightGbmRegressor", calculate_linear_regressor_output_shapes,
                                convert_lightgbm)
    update_registered_converter(XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes,
                                convert_xgboost, options=classifier)
    update_registered_converter(XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes,
                                convert_xgboost)
    update_registered_converter(MissingFlags, "TrainlabMissingFlags", _flags_shape, _convert_flags)
    update_registered_converter(KnownCategories, "TrainlabKnownCategories", _known_shape, _convert_known)


def _plain(shape: Any, convert: Any) -> tuple[Any, Any]:
    """skl2onnx's registered functions for a class, as plain functions it accepts for another class."""
    def shape_of(operator: Any) -> None:
        shape(operator)

    def converted(scope: Any, operator: Any, container: Any) -> None:
        convert(scope, operator, container)

    return shape_of, converted


def _flags_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([rows, len(operator.raw_operator.columns)])


def _convert_flags(scope: Any, operator: Any, container: Any) -> None:
    columns = list(operator.raw_operator.columns)
    index, picked, isnan = (scope.get_unique_variable_name(n) for n in ("flag_columns", "flagged", "isnan"))
    container.add_initializer(index, onnx.TensorProto.INT64, [len(columns)], columns)
    container.add_node("Gather", [operator.inputs[0].full_name, index], [picked], axis=1,
                       name=scope.get_unique_operator_name("Gather"))
    container.add_node("IsNaN", [picked], [isnan], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node("Cast", [isnan], [operator.outputs[0].full_name], to=onnx.TensorProto.FLOAT,
                       name=scope.get_unique_operator_name("Cast"))


def _known_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import StringTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = StringTensorType([rows, len(operator.raw_operator.keep)])


def _convert_known(scope: Any, operator: Any, container: Any) -> None:
    step = operator.raw_operator
    columns = []
    for j, (keep, other) in enumerate(zip(step.keep, step.other, strict=True)):
        index, column, mapped = (scope.get_unique_variable_name(n) for n in ("column_index", "column", "grouped"))
        container.add_initializer(index, onnx.TensorProto.INT64, [1], [j])
        container.add_node("Gather", [operator.inputs[0].full_name, index], [column], axis=1,
                           name=scope.get_unique_operator_name("Gather"))
        container.add_node("LabelEncoder", [column], [mapped], op_domain="ai.onnx.ml", op_version=2,
                           keys_strings=list(keep) or [other], values_strings=list(keep) or [other],
                           default_string=other, name=scope.get_unique_operator_name("LabelEncoder"))
        columns.append(mapped)
    container.add_node("Concat", columns, [operator.outputs[0].full_name], axis=1,
                       name=scope.get_unique_operator_name("Concat"))


def sklearn_graph(preprocessor: Any, estimator: Any, inputs: list[tuple[str, Any]]) -> onnx.ModelProto:
    """A converted pipeline of the fitted ``preprocessor`` and an estimator skl2onnx knows, from ``inputs``."""
    from skl2onnx import convert_sklearn

    register_converters()
    pipeline = Pipeline([("prepare", convertible(preprocessor)), ("model", estimator)])
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "classes_") else None
    return convert_sklearn(pipeline, initial_types=inputs, target_opset=OPSET, options=options)


def preprocessing_graph(preprocessor: Any, inputs: list[tuple[str, Any]]) -> onnx.ModelProto:
    """The fitted preprocessing alone: its output is one tensor named 'variable'."""
    from skl2onnx import convert_sklearn

    register_converters()
    return convert_sklearn(convertible(preprocessor), initial_types=inputs, target_opset=OPSET)


def catboost_graph(estimator: Any) -> onnx.ModelProto:
    """CatBoost's own ONNX export of the fitted model (numeric features only)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catboost.onnx"
        estimator.model_.save_model(str(path), format="onnx")
        model = onnx.load(str(path))
    graph = model.graph
    for node in [n for n in graph.node if n.op_type == "ZipMap"]:  # its class probabilities as a tensor
        for other in graph.node:
            other.output[:] = ["probabilities" if name == node.input[0] else name for name in other.output]
        graph.node.remove(node)
        kept = [o for o in graph.output if o.name != "probabilities"]
        del graph.output[:]
        graph.output.extend([*kept, onnx.helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT,
                                                                       ["N", len(estimator.classes_)])])
    return model



def hgb_model(estimator: Any) -> Any:
    """A copy of a histogram gradient boosting model whose trees skl2onnx 1.20 can write (it fails on the unsigned
    node numbers of scikit-learn 1.9's trees)."""
    twin = copy.deepcopy(estimator)
    for trees in twin._predictors:
        for tree in trees:
            wider = [(name, np.int64 if np.issubdtype(kind, np.unsignedinteger) else kind)
                     for name, (kind, _) in tree.nodes.dtype.fields.items()]
            tree.nodes = tree.nodes.astype(wider)
    return twin


def xgboost_model(estimator: Any) -> Any:
    """A copy of an XGBoost model with features named f0, f1, ... as onnxmltools' converter reads them."""
    twin = copy.deepcopy(estimator)
    booster = twin.get_booster()
    booster.feature_names = [f"f{i}" for i in range(booster.num_features())]
    return twin


def fix_knn_distances(model: onnx.ModelProto) -> onnx.ModelProto:
    """Two repairs of skl2onnx 1.20's k-nearest-neighbours graphs under weights='distance': it negates the
    distances after TopK (opset 11 and later), which gives every neighbour the same weight, and it floors them at
    1e-6, where scikit-learn gives a neighbour at distance 0 all the weight (the floor becomes 1e-30)."""
    graph = model.graph
    constants = {i.name: i for i in graph.initializer}
    topk_values = {n.output[0] for n in graph.node if n.op_type == "TopK"}
    for node in list(graph.node):
        if node.op_type == "Mul" and node.input[0] in topk_values and _constant(constants, node.input[1]) == -1:
            for other in graph.node:
                other.input[:] = [node.input[0] if name == node.output[0] else name for name in other.input]
                if other.op_type == "Max" and other.input[0] == node.input[0]:
                    floor = constants[other.input[1]]
                    floor.CopyFrom(onnx.numpy_helper.from_array(np.full(1, 1e-30, floor_dtype(floor)), floor.name))
            graph.node.remove(node)
    return model


def _constant(constants: dict[str, onnx.TensorProto], name: str) -> float | None:
    value = onnx.numpy_helper.to_array(constants[name]) if name in constants else None
    return float(value.ravel()[0]) if value is not None and value.size == 1 else None


def floor_dtype(tensor: onnx.TensorProto) -> Any:
    return onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
