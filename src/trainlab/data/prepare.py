"""Features from the schema, and per-family preprocessing recipes as scikit-learn transformers.

``make_features`` is stateless (it only follows the schema), so it runs the same at training and predict
time. The recipes are fitted inside each fold on training rows only.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from trainlab.data.media.features import classic_columns, media_features, neural_columns
from trainlab.data.schema import Schema

RECIPES = ("scaled", "tree", "booster", "catboost", "neural")
TRUE_WORDS = {"true", "yes", "y", "t", "1"}
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
DATE_ATTRIBUTES = {"dayofweek": "day_of_week"}  # the feature keeps its name; pandas 4 drops .dt.dayofweek
MISSING = "__missing__"
MAX_CODES = 255
"""Category codes per column at most (rarer values share one code): histogram boosting splits up to 255."""


def make_features(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Model inputs: numbers as floats, booleans as 0/1, dates as their parts, categories as text, picture and
    sound files as their decoded values and features (``data.media``)."""
    out: dict[str, pd.Series] = {}
    media = []
    for col in schema.features:
        s = frame[col.name]
        if col.role in ("image", "audio"):
            media.append(media_features(s, col.name, col.media))
        elif col.role == "numeric":
            out[col.name] = pd.to_numeric(s, errors="coerce").astype(float)
        elif col.role == "boolean":
            out[col.name] = s.map(lambda v: np.nan if pd.isna(v) else float(str(v).strip().lower() in TRUE_WORDS))
        elif col.role == "datetime":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                when = pd.to_datetime(s, errors="coerce", format="mixed")
            for part in DATE_PARTS:
                out[f"{col.name}_{part}"] = getattr(when.dt, DATE_ATTRIBUTES.get(part, part)).astype(float)
        else:
            out[col.name] = s.astype(object).where(s.notna(), np.nan).map(
                lambda v: v if isinstance(v, float) and np.isnan(v) else str(v)).astype(object)
    table = pd.DataFrame(out, index=frame.index)
    return pd.concat([table, *media], axis=1) if media else table


def feature_groups(schema: Schema) -> tuple[list[str], list[str]]:
    """Names of the numeric and the categorical columns that ``make_features`` produces."""
    numeric: list[str] = []
    categorical: list[str] = []
    for col in schema.features:
        if col.role == "datetime":
            numeric += [f"{col.name}_{part}" for part in DATE_PARTS]
        elif col.role == "categorical":
            categorical.append(col.name)
        elif col.role in ("image", "audio"):
            numeric += classic_columns(col.name, col.media)
        else:
            numeric.append(col.name)
    return numeric, categorical


def build_preprocessor(schema: Schema, recipe: str) -> ColumnTransformer:
    """An unfitted transformer for one recipe: 'scaled', 'tree', 'booster', 'catboost' or 'neural' (that of
    catboost, with the decoded pictures and spectrograms passed through for the network's encoders)."""
    numeric, categorical = feature_groups(schema)
    raw = [name for col in schema.features if col.role in ("image", "audio") for name in neural_columns(col.name, col.media)]
    if recipe == "scaled":
        num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                        ("scale", StandardScaler())])
        cat = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)),
                        ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                                                 max_categories=30, sparse_output=False))])
    elif recipe == "tree":
        num = SimpleImputer(strategy="median", keep_empty_features=True)
        cat = _ordinal()
    elif recipe == "booster":
        num = "passthrough"
        cat = _ordinal()
    elif recipe in ("catboost", "neural"):
        num = "passthrough"
        cat = SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)
    else:
        raise ValueError(f"unknown recipe {recipe!r}; known: {RECIPES}")
    parts = [("num", num, numeric), ("cat", cat, categorical)]
    if recipe == "neural" and raw:
        parts.append(("media", "passthrough", raw))
    transformer = ColumnTransformer(parts, verbose_feature_names_out=False, remainder="drop")
    return transformer.set_output(transform="pandas")


def _ordinal() -> Pipeline:
    """Categories as integer codes (unseen: -1); integers mark them as categorical to families that care."""
    return Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)),
                     ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                min_frequency=3, max_categories=MAX_CODES, dtype=np.int64))])
