"""Bad-input findings: errors that stop a run and warnings that are shown and kept, each naming the column."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from trainlab.config import TrainConfig
from trainlab.data.compact import compact_column
from trainlab.data.media.check import check_media
from trainlab.data.schema import Schema, infer_schema
from trainlab.data.text import MAX_TEXT_CHARS
from trainlab.errors import DataError, did_you_mean, list_names, raise_all

MIN_ROWS = 10
LEAKAGE_SAMPLE = 5000
LEAKAGE_TREES = 100
"""Columns the per-column tree check looks at, at most: on wider tables a vectorized screen picks them first."""
LEAKAGE_WIDE_TREES = 20
"""The same with more columns than rows: the screen's ranks past the first few are chance there, while a column
that predicts the target almost perfectly ranks first (each tree check costs about 14 ms on this 2-core machine)."""
DUPLICATE_PROBE = 20
"""Columns the duplicate-row check compares first on a wide table (``count_duplicates``)."""


@dataclass
class Finding:
    """One observation about the data: level is 'error', 'warning' or 'info'."""

    level: str
    code: str
    message: str
    column: str | None = None
    items: list[str] = field(default_factory=list)
    """Every name behind the finding (e.g. each unreadable file) where the message shows a few."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckedData:
    """The table after checks: rows and columns the models may use, its schema, and every finding."""

    frame: pd.DataFrame
    schema: Schema
    findings: list[Finding]


def check_data(frame: pd.DataFrame, config: TrainConfig) -> CheckedData:
    """Run every check; raise one DataError listing all errors, return the cleaned table otherwise."""
    findings: list[Finding] = []
    frame = _dedupe_columns(frame, findings)
    _require_option_columns(frame, config)
    frame = _clean_target(frame, config.target, findings)
    frame = _clean_values(frame, config.target, findings)
    split = config.split
    ignore = tuple(c for c in (split.time_column, split.group_column) if c)
    if config.exclude_sensitive:
        ignore += config.sensitive
    schema = infer_schema(frame, config.target, config.task, config.weight_column, ignore=ignore)
    frame, media = check_media(frame, schema)
    findings += [Finding(**f) for f in media]
    errors = _target_errors(frame, schema, config)
    errors += _weight_errors(frame, config.weight_column)
    _column_findings(frame, schema, findings)
    if not schema.features:
        errors.append(
            "No usable feature left: every column other than the target is constant, empty or an ID "
            f"({list_names([f'{c.name} ({c.role})' for c in schema.columns]) or 'no other columns'}). "
            "Add columns that describe each row."
        )
    if len(frame) < MIN_ROWS:
        errors.append(f"Only {len(frame)} rows with a target: trainlab needs at least {MIN_ROWS} to train and test.")
    raise_all(errors, DataError)
    duplicates = count_duplicates(frame)
    if duplicates:
        findings.append(Finding("warning", "duplicate_rows",
                                f"{duplicates} rows are exact duplicates of another row; they are kept. "
                                "If they are repeated exports, remove them so test rows do not also appear in training."))
    findings += _leakage_findings(frame, schema)
    return CheckedData(frame=frame.reset_index(drop=True), schema=schema, findings=findings)


def count_duplicates(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row exactly (``frame.duplicated().sum()``). On a wide table only the rows that
    repeat another on the first ``DUPLICATE_PROBE`` columns are compared on all of them: a row repeated in full is
    repeated there, and without any such row the other columns are never read (3,000 columns: 0.3 s)."""
    if frame.shape[1] > 2 * DUPLICATE_PROBE:
        maybe = frame.iloc[:, :DUPLICATE_PROBE].duplicated(keep=False).to_numpy()
        frame = frame[maybe]
    return int(frame.duplicated().sum()) if len(frame) else 0


def _dedupe_columns(frame: pd.DataFrame, findings: list[Finding]) -> pd.DataFrame:
    names = [str(c) for c in frame.columns]
    seen: dict[str, int] = {}
    renamed = []
    for name in names:
        if name in seen:
            seen[name] += 1
            renamed.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            renamed.append(name)
    repeated = [n for n, k in seen.items() if k]
    mangled = [n for n in names if "." in n and n.rsplit(".", 1)[0] in seen and n.rsplit(".", 1)[1].isdigit()]
    if repeated or mangled:
        which = repeated or [m.rsplit(".", 1)[0] for m in mangled]
        findings.append(Finding("warning", "duplicate_columns",
                                f"Column name(s) {list_names(sorted(set(which)))} appear more than once; the copies "
                                "are kept as '<name>.1', '<name>.2'. Rename them in the file so each name is unique.",
                                which[0]))
    frame = frame.copy(deep=False)
    frame.columns = renamed
    return frame


def _require_option_columns(frame: pd.DataFrame, config: TrainConfig) -> None:
    problems = []
    options = {"--target": config.target, "--weight-column": config.weight_column,
               "--time-column": config.split.time_column, "--group-column": config.split.group_column}
    named = [*options.items(), *(("--sensitive", c) for c in config.sensitive)]
    for option, column in named:
        if column is not None and column not in frame.columns:
            label = f"Target column '{column}'" if option == "--target" else f"Column '{column}' given to {option}"
            problems.append(f"{label} not found.{did_you_mean(column, frame.columns)} "
                            f"Columns: {list_names(list(frame.columns))}")
    raise_all(problems, DataError)


def _clean_target(frame: pd.DataFrame, target: str, findings: list[Finding]) -> pd.DataFrame:
    y = frame[target]
    missing = int(y.isna().sum())
    if missing == len(frame):
        raise DataError(f"Target column '{target}' has no values: all {len(frame)} rows are empty. "
                        "Choose the column that holds the answers, or fill it in.")
    if missing:
        findings.append(Finding("warning", "missing_target",
                                f"Dropped {missing} rows with a missing target '{target}' "
                                f"({missing / len(frame):.1%} of the rows).", target))
        frame = frame[y.notna()]
    return frame


def _clean_values(frame: pd.DataFrame, target: str, findings: list[Finding]) -> pd.DataFrame:
    frame = frame.copy(deep=False)
    for name in frame.columns:
        s = frame[name]
        if pd.api.types.is_float_dtype(s):
            n_inf = int(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).sum())
            if n_inf:
                findings.append(Finding("warning", "infinite_values",
                                        f"Column '{name}' has {n_inf} infinite values; they are treated as missing.", name))
                frame[name] = s.replace([np.inf, -np.inf], np.nan)
        elif not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and name != target:
            frame[name] = _fix_mixed(s, name, findings)
    return frame


def _fix_mixed(s: pd.Series, name: str, findings: list[Finding]) -> pd.Series:
    """A text column as text, a numeric one with a few stray values as numbers. Works on the distinct values
    (``pd.factorize``), so that a long column costs its distinct values, not its rows (nyc_flights: 1.7 s to 0.1 s)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return s
    values = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    counts = np.bincount(codes[codes >= 0], minlength=len(values))
    numeric = pd.to_numeric(values, errors="coerce").notna().to_numpy()
    share = float(counts[numeric].sum() / counts.sum())
    if 0.9 <= share < 1:
        stray = int(counts[~numeric].sum())
        first = values[~numeric].iloc[0]  # factorize keeps the order of first appearance
        findings.append(Finding("warning", "mixed_types",
                                f"Column '{name}' is numeric except {stray} values such as {first!r}; "
                                "those are treated as missing. Fix them in the file if they mean something.", name))
        return pd.to_numeric(s, errors="coerce")
    if 0 < share < 0.9 and values.map(type).nunique() > 1:
        findings.append(Finding("warning", "mixed_types",
                                f"Column '{name}' mixes numbers and text ({share:.0%} numbers); it is treated as "
                                "categorical.", name))
    if share == 1:
        return pd.to_numeric(s, errors="coerce")
    # any NaN stays missing (a NaN other than np.nan itself, e.g. from assigning None, too); few distinct texts
    # are kept as a category, not one object a row (data/compact.py)
    texts = np.array([str(v) for v in values] + [np.nan], dtype=object)
    return compact_column(pd.Series(texts[codes], index=s.index, name=s.name, dtype=object))


def _target_errors(frame: pd.DataFrame, schema: Schema, config: TrainConfig) -> list[str]:
    y = frame[schema.target]
    errors = []
    if schema.task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            errors.append(f"Target column '{schema.target}' holds text (e.g. {y.iloc[0]!r}), so it cannot be a "
                          "regression target. Use --task binary or --task multiclass, or give a numeric column.")
        return errors
    counts = y.value_counts()
    if len(counts) < 2:
        errors.append(f"Column '{schema.target}' has one class ({counts.index[0]!r}) after dropping rows with a "
                      "missing target: a classifier needs two. Check the target column, or use --task regression.")
        return errors
    if schema.task == "binary" and len(counts) > 2:
        errors.append(f"Option --task binary was given, but target '{schema.target}' has {len(counts)} classes. "
                      "Use --task multiclass.")
    smallest = counts.idxmin()
    if config.split.stratify and counts.min() < 2:
        errors.append(f"Class {smallest!r} of target '{schema.target}' has {counts.min()} row: a stratified split "
                      "needs at least 2 rows per class, one on each side. Remove that class or collect more rows.")
    return errors


def _weight_errors(frame: pd.DataFrame, weight_column: str | None) -> list[str]:
    if weight_column is None:
        return []
    w = pd.to_numeric(frame[weight_column], errors="coerce")
    if w.isna().any() or (w < 0).any() or w.sum() <= 0:
        return [f"Weight column '{weight_column}' must hold non-negative numbers with a positive sum and no "
                f"missing values; found {int(w.isna().sum())} missing or non-numeric and {int((w < 0).sum())} negative."]
    return []


def _column_findings(frame: pd.DataFrame, schema: Schema, findings: list[Finding]) -> None:
    for col in schema.columns:
        if col.role in ("constant", "empty"):
            findings.append(Finding("warning", f"{col.role}_column",
                                    f"Column '{col.name}' is dropped: {col.note}.", col.name))
        elif col.role == "id":
            findings.append(Finding("info", "id_column", f"Column '{col.name}' is dropped: {col.note}.", col.name))
        elif col.role == "text":
            findings.extend(_text_findings(frame[col.name], col.name))
        elif col.role == "categorical" and col.n_unique > 50 and col.n_unique > 0.1 * len(frame):
            findings.append(Finding("warning", "high_cardinality",
                                    f"Column '{col.name}' has {col.n_unique} distinct values for {len(frame)} rows; "
                                    "rare values are grouped. Consider a coarser version of it.", col.name))


def _text_findings(values: pd.Series, name: str) -> list[Finding]:
    """A text column: said as such, with its empty texts counted and its over-long texts said to be cut."""
    texts = values.where(values.notna(), "").astype(str)
    found = [Finding("info", "text_column", f"Column '{name}' is free text: the models read its words and "
                                            f"characters (TF-IDF; median {int(texts.str.len().median())} characters).",
                     name)]
    empty = int((texts.str.strip() == "").sum())
    if empty:
        found.append(Finding("warning", "empty_text", f"Column '{name}' has {empty} empty text(s) "
                                                      f"({empty / len(texts):.1%} of the rows); they count as no words. "
                                                      "Fill them in if the text is known.", name))
    long = int((texts.str.len() > MAX_TEXT_CHARS).sum())
    if long:
        found.append(Finding("warning", "long_text", f"Column '{name}' has {long} text(s) longer than "
                                                     f"{MAX_TEXT_CHARS} characters; only their first {MAX_TEXT_CHARS} "
                                                     "are read (the longest has "
                                                     f"{int(texts.str.len().max())}).", name))
    return found


def _leakage_findings(frame: pd.DataFrame, schema: Schema) -> list[Finding]:
    """Flag a single feature that predicts the target almost perfectly: usually a leak of the answer."""
    sample = frame.sample(min(len(frame), LEAKAGE_SAMPLE), random_state=0)
    y = sample[schema.target]
    classify = schema.task != "regression"
    if classify and y.value_counts(normalize=True).iloc[0] >= 0.95:
        return []
    target = pd.factorize(y)[0] if classify else y.to_numpy(dtype=float)
    codes = _leak_codes(sample, schema)
    found = []
    for name in _leak_candidates(codes, target, classify):
        try:
            score = _leak_score(codes[name].to_numpy().reshape(-1, 1), target, classify)
        except ValueError:
            continue
        if score >= 0.99:
            found.append(Finding("warning", "leakage",
                                 f"Column '{name}' alone predicts the target '{schema.target}' almost perfectly "
                                 f"({'balanced accuracy' if classify else 'R2'} {score:.3f}). It may leak the answer; "
                                 "drop it if it is only known after the outcome.", name))
    return found


def _leak_codes(sample: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The features the leak check reads, as floats: numbers as they are (missing: NaN; trees handle it natively,
    while a sentinel such as -1e300 overflows their float32 inputs), other columns as codes. Text, pictures and
    sound are left out: one value per row predicts nothing as codes (media are checked by hash). The numeric
    columns are converted in one block (3,000 columns one by one: 0.6 s)."""
    columns = [col for col in schema.features if col.role not in ("text", "image", "audio")]
    numeric = [i for i, col in enumerate(columns) if col.role == "numeric"]
    values = np.empty((len(sample), len(columns)))
    values[:, numeric] = sample[[columns[i].name for i in numeric]].to_numpy(dtype=float, na_value=np.nan)
    for i, col in enumerate(columns):
        if col.role != "numeric":
            values[:, i] = pd.factorize(sample[col.name])[0]
    return pd.DataFrame(values, columns=[col.name for col in columns], index=sample.index)


def _leak_candidates(codes: pd.DataFrame, target: np.ndarray, classify: bool) -> list[str]:
    """The columns worth the tree check: all of them up to ``LEAKAGE_TREES``; on a wider table the
    ``LEAKAGE_TREES`` (``LEAKAGE_WIDE_TREES`` with more columns than rows) that best predict the target from a few
    quantile bins (training accuracy of the majority class per bin, or the share of the target's variance between
    bins), computed for every column at once."""
    trees = LEAKAGE_WIDE_TREES if codes.shape[1] > len(codes) else LEAKAGE_TREES
    if codes.shape[1] <= trees:
        return list(codes.columns)
    n = len(codes)
    bins = int(np.clip(n // 20, 2, 32))
    binned = np.minimum((codes.rank(pct=True).to_numpy() * bins).astype(int, copy=False), bins - 1)
    binned[np.isnan(codes.to_numpy())] = bins  # missing values: a bin of their own
    slots = np.arange(codes.shape[1]) * (bins + 1) + binned  # (rows, columns): one slot per column and bin
    width = codes.shape[1] * (bins + 1)
    if classify:
        classes = int(target.max()) + 1
        counts = np.bincount((slots * classes + target[:, None]).ravel(), minlength=width * classes)
        score = counts.reshape(codes.shape[1], bins + 1, classes).max(axis=2).sum(axis=1) / n
    else:
        centred = np.broadcast_to((target - target.mean())[:, None], slots.shape)
        sums = np.bincount(slots.ravel(), weights=centred.ravel(), minlength=width)
        sizes = np.bincount(slots.ravel(), minlength=width)
        between = (sums**2 / np.maximum(sizes, 1)).reshape(codes.shape[1], bins + 1).sum(axis=1)
        score = between / max(float(np.sum((target - target.mean()) ** 2)), 1e-12)
    top = np.argsort(-score, kind="stable")[:trees]
    return [codes.columns[i] for i in sorted(top)]


def _leak_score(x: np.ndarray, y: np.ndarray, classify: bool) -> float:
    """Mean over 3 folds of a depth-6 tree's balanced accuracy (or R2) from one column.

    Computed by hand rather than with cross_val_score, whose overhead is most of the cost on small tables.
    """
    splitter = StratifiedKFold(3) if classify else KFold(3)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer rows than folds is fine here
        for fit, valid in splitter.split(x, y):
            tree = (DecisionTreeClassifier if classify else DecisionTreeRegressor)(max_depth=6, random_state=0)
            pred, truth = tree.fit(x[fit], y[fit]).predict(x[valid]), y[valid]
            if classify:
                scores.append(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))
            else:
                total = np.sum((truth - truth.mean()) ** 2)
                scores.append(1 - np.sum((truth - pred) ** 2) / total if total > 0 else 0.0)
    return float(np.mean(scores))
