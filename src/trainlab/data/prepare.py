"""Features from the schema, and per-family preprocessing recipes as scikit-learn transformers.

``make_features`` is stateless (it only follows the schema), so it runs the same at training and predict
time. The recipes are fitted inside each fold on training rows only.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from trainlab.data.media.features import classic_columns, media_features, neural_columns
from trainlab.data.schema import Schema
from trainlab.data.text import TEXT_DEFAULTS, RawText, TextVectorizer, clean_texts

RECIPES = ("sparse", "scaled", "tree", "booster", "histogram", "catboost", "neural")
"""'sparse' is 'scaled' for linear models: the same columns, with text as sparse TF-IDF rather than SVD components."""
TRUE_WORDS = {"true", "yes", "y", "t", "1"}
DATE_PARTS = ("year", "month", "day", "dayofweek", "hour")
DATE_ATTRIBUTES = {"dayofweek": "day_of_week"}  # the feature keeps its name; pandas 4 drops .dt.dayofweek
MISSING = "__missing__"
MAX_CODES = 255
"""Category codes per column at most for trees and scikit-learn's histogram boosting (rarer values share one code):
histogram boosting splits up to 255."""
BOOSTER_CODES = 4_096
"""Category codes per column at most for LightGBM and XGBoost, which split categories of any count. Capped at
``MAX_CODES``, a 30,000-row regression whose shop column holds 1,000 shops (24 rows each) lost the effect of the 745
rarest: trainlab's RMSE at 30 s was 1.84, LightGBM's plain default (every shop a category) 1.16."""
EXACT32 = (np.float32, np.int8, np.int16, np.uint8, np.uint16)
"""Number types whose every value a float32 holds exactly: such columns become float32 features."""


LABELS = "object"
"""The dtype of the features' column labels: plain Python strings. pandas 3 makes them Arrow strings, which
scikit-learn's feature-name checks iterate one by one (2.4 ms against 0.5 ms for one picture's 1,100 columns, three
checks a prediction)."""


def make_features(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Model inputs: numbers as floats, booleans as 0/1, dates as their parts, categories as text, picture and
    sound files as their decoded values and features (``data.media``)."""
    out: dict[str, pd.Series] = {}
    media = []
    numbers = plain_numbers(frame, [col.name for col in schema.features if col.role == "numeric"])
    converted = set(numbers.columns)
    for col in schema.features:
        if col.name in converted:
            continue
        s = frame[col.name]
        if col.role in ("image", "audio"):
            media.append(media_features(s, col.name, col.media))
        elif col.role == "numeric":
            out[col.name] = as_float(s)
        elif col.role == "boolean":
            out[col.name] = as_flag(s)
        elif col.role == "datetime":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                when = pd.to_datetime(s, errors="coerce", format="mixed")
            for part in DATE_PARTS:
                out[f"{col.name}_{part}"] = getattr(when.dt, DATE_ATTRIBUTES.get(part, part)).astype(float)
        elif col.role == "text":
            out[col.name] = clean_texts(s).astype(object)
        else:
            out[col.name] = as_text(s)
    table = pd.DataFrame(out, index=frame.index)
    if converted:  # back in the schema's order
        table = pd.concat([table, numbers], axis=1)[_table_columns(schema)]
    features = pd.concat([table, *media], axis=1) if media else table
    features.columns = pd.Index(features.columns.tolist(), dtype=LABELS)
    return features


def plain_numbers(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``as_float`` of those ``names`` held as numpy numbers (not booleans), converted a block at a time rather than
    column by column (3,000 columns: 0.6 s one by one)."""
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    plain = [name for name in names if isinstance(dtypes[name], np.dtype) and dtypes[name].kind in "iuf"]
    if not plain:
        return pd.DataFrame(index=frame.index)
    blocks = [pd.DataFrame(frame[group].to_numpy(dtype=dtype), columns=group, index=frame.index)  # one block each
              for dtype, group in ((np.float32, [n for n in plain if dtypes[n] in EXACT32]),
                                   (np.float64, [n for n in plain if dtypes[n] not in EXACT32]))]
    return pd.concat(blocks, axis=1)


def _table_columns(schema: Schema) -> list[str]:
    """The names of ``make_features``'s columns, in order, those of pictures and sound (which come last) aside."""
    names: list[str] = []
    for col in schema.features:
        if col.role == "datetime":
            names += [f"{col.name}_{part}" for part in DATE_PARTS]
        elif col.role not in ("image", "audio"):
            names.append(col.name)
    return names


def as_float(s: pd.Series) -> pd.Series:
    """Numbers as floats: 32-bit where the column's type holds only values exact in 32 bits (float32, int8, int16:
    half the memory of a long table's features), 64-bit otherwise; what is not a number is missing."""
    exact32 = s.dtype in EXACT32
    return pd.to_numeric(s, errors="coerce").astype(np.float32 if exact32 else np.float64)


def as_flag(s: pd.Series) -> pd.Series:
    """Yes/no values as 1.0 and 0.0 (missing: NaN), by their distinct values."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    flags = np.array([float(str(v).strip().lower() in TRUE_WORDS) for v in uniques] + [np.nan])
    return pd.Series(flags[codes], index=s.index, name=s.name)


def as_text(s: pd.Series) -> pd.Series:
    """Categories as text (missing: NaN), by their distinct values, so a long column costs its distinct values."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    texts = np.array([str(v) for v in uniques] + [np.nan], dtype=object)
    return pd.Series(texts[codes], index=s.index, name=s.name, dtype=object)


def feature_groups(schema: Schema) -> tuple[list[str], list[str]]:
    """Names of the numeric and the categorical columns that ``make_features`` produces (text columns aside)."""
    numeric: list[str] = []
    categorical: list[str] = []
    for col in schema.features:
        if col.role == "datetime":
            numeric += [f"{col.name}_{part}" for part in DATE_PARTS]
        elif col.role == "categorical":
            categorical.append(col.name)
        elif col.role in ("image", "audio"):
            numeric += classic_columns(col.name, col.media)
        elif col.role != "text":
            numeric.append(col.name)
    return numeric, categorical


def build_preprocessor(schema: Schema, recipe: str, text: dict[str, Any] | None = None, seed: int = 0,
                       screen: int | None = None, numeric: list[str] | None = None) -> ColumnTransformer | Pipeline:
    """An unfitted transformer for one recipe: 'sparse', 'scaled', 'tree', 'booster', 'histogram' (the booster's, with
    fewer category codes: ``MAX_CODES``), 'catboost' or 'neural' (that
    of catboost, with the decoded pictures and spectrograms passed through for the network's encoders; a sound's
    MFCC statistics are left to the classic families: beside the CNN an MLP fitted them in a few epochs, then the
    validation loss rose while the CNN still learned, and the epoch kept was the MLP's (spoken digits: 0.80 with
    them, 0.93 without). A picture's thumbnail and gradient histograms stay: without them Fashion-MNIST's
    network lost 4 points in a short budget).

    Text columns become TF-IDF terms (sparse, for the 'sparse' recipe), stay text for the network's own encoder
    ('neural', see ``RawText``) or become TF-IDF's SVD components (the others);
    ``text`` holds the ``text_*`` settings (``TEXT_DEFAULTS`` for those it lacks). With ``screen``, only the
    ``screen`` prepared columns most associated with the target (ANOVA F-test, on the rows it is fitted on) come
    out: the feature screen of tables with far more columns than rows. ``numeric`` names the numeric columns to
    prepare (default: all of them; the wide screen passes those ``screen_numeric`` kept).
    """
    every_numeric, categorical = feature_groups(schema)
    numeric = every_numeric if numeric is None else numeric
    media = [col for col in schema.features if col.role in ("image", "audio")]
    raw = [name for col in media for name in neural_columns(col.name, col.media)]
    if recipe == "neural":
        statistics = {name for col in media if col.role == "audio" for name in classic_columns(col.name, col.media)}
        numeric = [name for name in numeric if name not in statistics]
    if recipe in ("scaled", "sparse"):
        num = Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
                        ("scale", StandardScaler())])
        cat = Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)),
                        ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                                                 max_categories=30, sparse_output=False))])
    elif recipe == "tree":
        num = SimpleImputer(strategy="median", keep_empty_features=True)
        cat = _ordinal(MAX_CODES)
    elif recipe in ("booster", "histogram"):
        num = "passthrough"
        cat = _ordinal(BOOSTER_CODES if recipe == "booster" else MAX_CODES)
    elif recipe in ("catboost", "neural"):
        num = "passthrough"
        cat = SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)
    else:
        raise ValueError(f"unknown recipe {recipe!r}; known: {RECIPES}")
    texts = schema.by_role("text")
    settings = {**TEXT_DEFAULTS, **(text or {})}
    sparse = recipe == "sparse" and bool(texts)
    blocks = [("num", num, numeric), ("cat", cat, categorical)]
    blocks += [(f"text:{name}", RawText(column=name) if recipe == "neural" else
                TextVectorizer(column=name, words=settings["text_words"], chars=settings["text_chars"],
                               vocab=settings["text_vocab"], svd=0 if sparse else settings["text_svd"],
                               weight=settings["text_weight"], seed=seed),
                [name]) for name in texts]
    if recipe == "neural" and raw:
        blocks.append(("media", "passthrough", raw))
    transformer = ColumnTransformer(blocks, verbose_feature_names_out=False, remainder="drop",
                                    sparse_threshold=1.0 if sparse else 0.0)
    if screen is not None and recipe != "catboost":  # CatBoost's text categories have no F-statistic
        score = f_regression if schema.task == "regression" else f_classif
        pipeline = Pipeline([("columns", transformer), ("screen", SelectKBest(score, k=screen))])
        return pipeline if sparse else pipeline.set_output(transform="pandas")
    return transformer if sparse else transformer.set_output(transform="pandas")


def passthrough_columns(preprocessor: Any) -> list[str] | None:
    """The columns a fitted preprocessing puts out, in order, when all it does is pass them through (every block
    'passthrough', dropped or without columns, the rest dropped): the neural recipe on pictures and sound, the
    booster recipe on numbers. None when it changes any value."""
    if not isinstance(preprocessor, ColumnTransformer) or preprocessor.remainder != "drop":
        return None
    if any(step not in ("passthrough", "drop") and len(names) for _, step, names in preprocessor.transformers):
        return None
    return [str(name) for name in preprocessor.get_feature_names_out()]


def screen_numeric(features: pd.DataFrame, y: np.ndarray, schema: Schema, keep: int) -> list[str] | None:
    """The ``keep`` numeric feature columns an F-test ranks highest on these rows (a missing value counts as its
    column's median, as the recipes impute it), in their order; None when there are no more than ``keep``.

    The wide screen's first step, computed for every column at once: the recipe then prepares only these (and the
    other columns) before its own screen picks among the prepared ones, so a fold's preprocessing costs the columns
    kept, not all of them (60 rows x 3,000 columns: 0.4 s a fold with all). The final screen's numeric columns are
    among these: scaling leaves a column's F-statistic as it is."""
    numeric = feature_groups(schema)[0]
    if len(numeric) <= keep:
        return None
    values = features[numeric].to_numpy(dtype=float, na_value=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a column empty or constant on these rows has no median or no F-statistic
        values = np.where(np.isnan(values), np.nan_to_num(np.nanmedian(values, axis=0)), values)
        scores = (f_regression if schema.task == "regression" else f_classif)(values, y)[0]
    best = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")[:keep]
    return [numeric[i] for i in sorted(best)]


def text_settings(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A family's parameters split into its own and the ``text_*`` settings of its preprocessing."""
    own = {k: v for k, v in params.items() if not k.startswith("text_")}
    return own, {k: v for k, v in params.items() if k.startswith("text_")}


def _ordinal(codes: int) -> Pipeline:
    """Categories as integer codes, at most ``codes`` (unseen: -1); integers mark them as categorical to families
    that care."""
    return Pipeline([("impute", SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)),
                     ("ordinal", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                min_frequency=3, max_categories=codes, dtype=np.int64))])
