"""Column roles and task inference; the schema is stored in the bundle and checked again at predict time."""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media.files import kind_of
from trainlab.errors import DataError, SchemaError, did_you_mean, list_names

ROLES = ("numeric", "categorical", "boolean", "datetime", "image", "audio", "text", "id", "constant", "empty")
FEATURE_ROLES = ("numeric", "categorical", "boolean", "datetime", "image", "audio", "text")
ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|index|idx)$|^(id|uuid|guid)[_\s-]|^row(_?num(ber)?)?$", re.I)
BOOL_WORDS = {frozenset({"true", "false"}), frozenset({"yes", "no"}), frozenset({"y", "n"}), frozenset({"t", "f"})}
MAX_CATEGORIES_STORED = 200
NUMERIC_BLOCK_CELLS = 4_000_000
"""Cells of numeric columns ``infer_numeric`` sorts at once (32 MB of float64)."""


@dataclass
class ColumnInfo:
    """What trainlab learned about one input column."""

    name: str
    role: str
    dtype: str
    n_unique: int
    n_missing: int
    categories: list[str] = field(default_factory=list)
    note: str = ""
    media: dict[str, Any] = field(default_factory=dict)
    """Picture and sound columns: how their files are decoded (size, channels; sample rate, mel bands, frames)."""


@dataclass
class Schema:
    """The input columns, their roles, the target and the task of a dataset."""

    target: str
    task: str
    columns: list[ColumnInfo]
    classes: list[Any] = field(default_factory=list)
    positive_class: Any = None
    weight_column: str | None = None

    @property
    def features(self) -> list[ColumnInfo]:
        """Columns that feed the models."""
        return [c for c in self.columns if c.role in FEATURE_ROLES]

    def by_role(self, role: str) -> list[str]:
        return [c.name for c in self.columns if c.role == role]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        d = dict(d)
        d["columns"] = [ColumnInfo(**c) for c in d["columns"]]
        return cls(**d)

    def check_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows for prediction, checked against the training columns: missing ones are an error, extras ignored."""
        frame = frame.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
        missing = [c.name for c in self.features if c.name not in frame.columns]
        if missing:
            # Only a column the model does not know can be a renamed one (never the target, nor another feature).
            known = {c.name for c in self.columns} | {self.target}
            unknown = [c for c in frame.columns if c not in known]
            hints = "".join(did_you_mean(m, unknown) for m in missing[:3])
            raise SchemaError(
                f"The rows lack {len(missing)} column(s) the model was trained on: {list_names(missing)}.{hints} "
                f"Add them (empty values are allowed). Columns given: {list_names(list(frame.columns))}."
            )
        problems = []
        plain = _clear_infinite(frame, [c.name for c in self.features if c.role == "numeric"])
        for col in self.features:
            if col.role == "numeric" and col.name not in plain:
                converted = pd.to_numeric(frame[col.name], errors="coerce")
                bad = converted.isna() & frame[col.name].notna()
                if bad.any():
                    first = frame[col.name][bad].iloc[0]
                    problems.append(
                        f"Column '{col.name}' must be numeric, but row {bad.to_numpy().nonzero()[0][0]} "
                        f"has {first!r}. Fix or empty that value."
                    )
                # As in training (checks.py), infinite values count as missing.
                frame[col.name] = converted.replace([np.inf, -np.inf], np.nan)
        if problems:
            raise SchemaError(" ".join(problems))
        return frame[[c.name for c in self.features]]


def _clear_infinite(frame: pd.DataFrame, names: list[str]) -> set[str]:
    """Those ``names`` held as numpy numbers, with infinite values made missing in ``frame`` (in place), all at once
    rather than column by column (3,000 columns: about 1 s one by one); the rest are left to the caller."""
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    plain = [name for name in names if isinstance(dtypes[name], np.dtype) and dtypes[name].kind in "iuf"]
    floats = [name for name in plain if dtypes[name].kind == "f"]
    if floats:
        infinite = np.isinf(frame[floats].to_numpy())
        if infinite.any():
            frame[floats] = frame[floats].mask(infinite)
    return set(plain)


def infer_schema(frame: pd.DataFrame, target: str, task: str | None = None,
                 weight_column: str | None = None, ignore: tuple[str, ...] = ()) -> Schema:
    """Infer every column's role and the task from the target; ``task`` overrides the inference."""
    if target not in frame.columns:
        raise DataError(
            f"Target column '{target}' not found.{did_you_mean(target, frame.columns)} "
            f"Columns: {list_names(list(frame.columns))}"
        )
    y = frame[target]
    names = [name for name in frame.columns if name not in (target, weight_column, *ignore)]
    numeric = infer_numeric(frame, names)
    columns = [numeric[name] if name in numeric else infer_column(frame[name], name) for name in names]
    task = task or infer_task(y)
    classes: list[Any] = []
    positive = None
    if task != "regression":
        counts = y.dropna().value_counts()
        classes = sorted(_py(v) for v in counts.index)
        if task == "binary" and len(classes) == 2:
            positive = _py(counts.index[-1]) if counts.iloc[0] != counts.iloc[-1] else classes[1]
    return Schema(target=target, task=task, columns=columns, classes=classes,
                  positive_class=positive, weight_column=weight_column)


def infer_task(y: pd.Series) -> str:
    """'binary', 'multiclass' or 'regression', from the target's values."""
    values = y.dropna()
    n_unique = values.nunique()
    if n_unique <= 2:
        return "binary"
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "multiclass"
    as_float = values.astype(float)
    is_integral = bool(np.all(np.mod(as_float, 1) == 0))
    if is_integral and n_unique <= 20 and n_unique <= max(3, 0.05 * len(values)):
        return "multiclass"
    return "regression"


def infer_column(s: pd.Series, name: str) -> ColumnInfo:
    """The role of one column: numeric, categorical, boolean, datetime, text, id, constant or empty."""
    n = len(s)
    non_missing = s.dropna()
    n_unique = int(non_missing.nunique())
    info = ColumnInfo(name=name, role="numeric", dtype=str(s.dtype), n_unique=n_unique, n_missing=int(n - len(non_missing)))
    if len(non_missing) == 0:
        info.role, info.note = "empty", "every value is missing"
    elif n_unique == 1:
        info.role, info.note = "constant", f"one value only ({non_missing.iloc[0]!r})"
    elif pd.api.types.is_bool_dtype(s) or _is_bool_words(non_missing):
        info.role = "boolean"
    elif pd.api.types.is_datetime64_any_dtype(s):
        info.role = "datetime"
    elif kind_of(non_missing) is not None:
        info.role, info.note = str(kind_of(non_missing)), "paths of files"
    elif pd.api.types.is_numeric_dtype(s):
        if _is_integer_key(non_missing, n, name):
            info.role, info.note = "id", "an integer key, unique per row"
    elif _looks_datetime(non_missing):
        info.role = "datetime"
    else:
        text = non_missing.astype(str)
        if n_unique == len(non_missing) and len(non_missing) >= 20 and text.str.count(r"\s").mean() < 1:
            info.role, info.note = "id", "a key, unique per row"
        elif n_unique > 0.5 * len(non_missing) and text.map(lambda v: len(v.split())).mean() >= 4:
            info.role, info.note = "text", "free text, read as words and characters"
        else:
            info.role = "categorical"
            top = text.value_counts().index[:MAX_CATEGORIES_STORED]
            info.categories = [str(v) for v in top]
    return info


def infer_numeric(frame: pd.DataFrame, names: list[str]) -> dict[str, ColumnInfo]:
    """``infer_column`` for every column of ``names`` held as plain numpy numbers (not booleans), computed a block
    of columns of one type at a time rather than column by column: the same roles, counts and notes, at a cost that
    grows with the cells rather than the columns (60 rows x 3,000 columns: 1.3 s column by column)."""
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))
    by_dtype: dict[np.dtype, list[str]] = {}
    for name in names:
        dtype = dtypes[name]
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            by_dtype.setdefault(dtype, []).append(name)
    found: dict[str, ColumnInfo] = {}
    width = max(1, NUMERIC_BLOCK_CELLS // max(len(frame), 1))  # a sorted copy of at most this many cells at once
    for dtype, group in by_dtype.items():
        for start in range(0, len(group), width):
            block = group[start:start + width]
            found.update(zip(block, _numeric_block(frame[block].to_numpy(dtype=dtype), block, dtype), strict=True))
    return found


def _numeric_block(values: np.ndarray, names: list[str], dtype: np.dtype) -> list[ColumnInfo]:
    """The ColumnInfo of each column of ``values`` (rows x columns, all of one numeric ``dtype``)."""
    n = len(values)
    present = ~np.isnan(values) if dtype.kind == "f" else np.ones(values.shape, dtype=bool)
    n_present = present.sum(axis=0)
    ordered = np.sort(values, axis=0)  # NaN last: the present values of a column come first, in order
    changes = ordered[1:] != ordered[:-1]  # row i + 1 starts a new value; rows from n_present on are NaN
    n_unique = (n_present > 0) + (changes & (np.arange(1, max(n, 1))[:, None] < n_present)).sum(axis=0)
    with np.errstate(invalid="ignore"):  # infinity is not whole
        whole = np.ones(len(names), dtype=bool) if dtype.kind in "iu" else ((np.mod(values, 1) == 0) | ~present).all(0)
    infos = []
    for j, name in enumerate(names):
        info = ColumnInfo(name=name, role="numeric", dtype=str(dtype), n_unique=int(n_unique[j]),
                          n_missing=int(n - n_present[j]))
        if n_present[j] == 0:
            info.role, info.note = "empty", "every value is missing"
        elif n_unique[j] == 1:
            info.role, info.note = "constant", f"one value only ({values[np.argmax(present[:, j]), j]!r})"
        elif whole[j] and n_unique[j] == n >= 20 and _is_key_span(ordered[0, j], ordered[-1, j], n, name):
            info.role, info.note = "id", "an integer key, unique per row"
        infos.append(info)
    return infos


def _is_key_span(low: Any, high: Any, n_rows: int, name: str) -> bool:
    """Whether unique whole numbers from ``low`` to ``high`` make a key: named like one, or nearly consecutive."""
    return bool(ID_NAME.search(name)) or float(high) - float(low) + 1 <= 1.5 * n_rows


def _is_integer_key(values: pd.Series, n_rows: int, name: str) -> bool:
    if not pd.api.types.is_integer_dtype(values) and not np.all(np.mod(values.astype(float), 1) == 0):
        return False
    if values.nunique() != n_rows or n_rows < 20:
        return False
    return _is_key_span(values.min(), values.max(), n_rows, name)


def _is_bool_words(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    lowered = frozenset(str(v).strip().lower() for v in values.unique()[:3])
    return len(lowered) == 2 and lowered in BOOL_WORDS


def _looks_datetime(values: pd.Series) -> bool:
    sample = values.astype(str).head(200)
    if not sample.str.contains(r"\d{1,4}[-/.:]\d{1,2}", regex=True).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
