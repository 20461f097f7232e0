"""The holdout test split and the validation folds, of one kind declared once: random, stratified, time or group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from trainlab.config import SplitConfig
from trainlab.data.schema import Schema
from trainlab.errors import DataError

LARGE_DATA_ROWS = 20_000
LARGE_VALID_ROWS = 100_000
"""The one validation holdout of large data holds a fifth of the rows, at most this many: every trial scores them,
and early stopping every round (on a 3-million-row table, 480,000 rows took a LightGBM trial 8.9 s of its 16 s)."""
MEDIA_VALID_ROWS = 5_000
"""On pictures and sound the one validation holdout holds at most this many rows (a fifth, or fewer)."""
SMALL_DATA_ROWS = 1_000
REPEATS = 3
"""Under ``SMALL_DATA_ROWS`` training rows, random and stratified folds are drawn ``REPEATS`` times, each time on a
new shuffle: on a few hundred rows one partition's noise can decide between models, and the fits are cheap."""
Fold = tuple[np.ndarray, np.ndarray]


@dataclass
class Split:
    """Row positions of the train and test parts, and folds as positions inside the train part."""

    kind: str
    train: np.ndarray
    test: np.ndarray
    folds: list[Fold]
    repeats: int = 1

    def describe(self) -> dict[str, object]:
        if len(self.folds) == 1:
            validation = "one validation split (large data, pictures and sound, or folds too slow for the time limit)"
        else:
            validation = f"{len(self.folds) // self.repeats}-fold cross-validation"
            if self.repeats > 1:
                validation += f", repeated {self.repeats} times on new shuffles (a small table)"
        return {"kind": self.kind, "train_rows": len(self.train), "test_rows": len(self.test),
                "validation": validation}


def make_split(frame: pd.DataFrame, schema: Schema, config: SplitConfig, seed: int, one_holdout: bool = False) -> Split:
    """Split rows into train and test, then the train part into folds of the same kind (``one_holdout``: one
    validation split, whatever the size of the table)."""
    kind = config.kind if (schema.task != "regression" or config.kind not in ("stratified",)) else "random"
    train, test = holdout(frame, schema, config, kind, seed, config.test_size)
    folds = make_folds(frame.iloc[train], schema, config, kind, seed, one_holdout)
    return Split(kind=kind, train=train, test=test, folds=folds, repeats=1 if len(folds) == 1 else repeats(len(train), kind))


def repeats(n_train: int, kind: str) -> int:
    """How many times the validation folds are drawn (``REPEATS`` on small random or stratified training parts)."""
    return REPEATS if n_train < SMALL_DATA_ROWS and kind in ("random", "stratified") else 1


def holdout(frame: pd.DataFrame, schema: Schema, config: SplitConfig, kind: str, seed: int,
            size: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions (train, test) with ``size`` of the rows on the test side."""
    positions = np.arange(len(frame))
    if kind == "time":
        order = np.argsort(_time_values(frame, config.time_column or ""), kind="stable")
        cut = round(len(frame) * (1 - size))
        return np.sort(order[:cut]), np.sort(order[cut:])
    if kind == "group":
        groups = frame[config.group_column].astype(str).to_numpy()
        if len(np.unique(groups)) < 2:
            raise DataError(f"Column '{config.group_column}' given to --group-column has one group only: "
                            "a split by group needs at least two.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=size, random_state=seed)
        train, test = next(splitter.split(positions, groups=groups))
        return np.sort(train), np.sort(test)
    stratify = strata(frame[schema.target]) if kind == "stratified" else None
    try:
        train, test = train_test_split(positions, test_size=size, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(f"The test split of {size:.0%} cannot hold every class of '{schema.target}' "
                        f"({exc}). Use a larger --test-size or collect more rows of the rare classes.") from exc
    return np.sort(train), np.sort(test)


def media_valid_size(n_train: int) -> float:
    """The validation share on pictures and sound: a fifth, at most ``MEDIA_VALID_ROWS`` rows (the CNN is kept as
    the trial trained it, so every row held out is a row it never learns from: 11,400 of Fashion-MNIST's 57,000)."""
    return min(0.2, MEDIA_VALID_ROWS / max(n_train, 1))


def make_folds(train: pd.DataFrame, schema: Schema, config: SplitConfig, kind: str, seed: int,
               one_holdout: bool = False) -> list[Fold]:
    """Validation folds over the train part; one validation split on large data, on pictures and sound (a network
    on files cannot afford k fits), and where asked (``one_holdout``)."""
    positions = np.arange(len(train))
    if any(c.role in ("image", "audio") for c in schema.features):
        fit, valid = holdout(train, schema, config, kind, seed + 1, media_valid_size(len(train)))
        return [(fit, valid)]
    if one_holdout or len(train) > LARGE_DATA_ROWS:
        fit, valid = holdout(train, schema, config, kind, seed + 1, min(0.2, LARGE_VALID_ROWS / len(train)))
        return [(fit, valid)]
    n = config.folds
    if kind == "time":
        order = np.argsort(_time_values(train, config.time_column or ""), kind="stable")
        return [(order[a], order[b]) for a, b in TimeSeriesSplit(n_splits=n).split(positions)]
    if kind == "group":
        groups = train[config.group_column].astype(str).to_numpy()
        n = min(n, len(np.unique(groups)))
        if n < 2:
            raise DataError(f"The training part holds one group of '{config.group_column}': "
                            "cross-validation by group needs at least two. Use more groups.")
        return list(GroupKFold(n_splits=n).split(positions, groups=groups))
    r = repeats(len(train), kind)
    if kind == "stratified":
        y = strata(train[schema.target])
        counts = np.bincount(y)
        n = max(2, min(n, int(counts[counts > 0].min())))
        if r > 1:
            return list(RepeatedStratifiedKFold(n_splits=n, n_repeats=r, random_state=seed).split(positions, y))
        return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(positions, y))
    if r > 1:
        return list(RepeatedKFold(n_splits=n, n_repeats=r, random_state=seed).split(positions))
    return list(KFold(n_splits=n, shuffle=True, random_state=seed).split(positions))


def strata(target: pd.Series) -> np.ndarray:
    """Each row's class as its rank among the classes' texts: the strata of the text labels (as scikit-learn's
    splitters order them), found from the distinct values rather than by sorting one string a row."""
    codes, uniques = pd.factorize(target)
    ranks = np.argsort(np.argsort(np.asarray([str(v) for v in uniques]), kind="stable"), kind="stable")
    return ranks[codes]


def _time_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    s = frame[column]
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy()
    parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    if parsed.isna().any():
        bad = s[parsed.isna()].iloc[0]
        raise DataError(f"Column '{column}' given to --time-column has a value that is not a date or time: "
                        f"{bad!r}. Fix it, or choose a column of dates or numbers.")
    return parsed.to_numpy()
