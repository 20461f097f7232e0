"""Interactions tables (who interacted with what, how strongly, when): columns, checks with fixes, id maps,
the per-user split and the user-item matrices the recommender families learn from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from trainlab.config import RecommendConfig
from trainlab.data.checks import Finding
from trainlab.errors import ConfigError, DataError, did_you_mean, list_names

NAME_HINTS = {
    "user": ("user_id", "userid", "user", "customer_id", "customer", "visitor_id", "member_id", "uid"),
    "item": ("item_id", "itemid", "item", "movie_id", "movieid", "product_id", "product", "song_id", "iid"),
    "rating": ("rating", "ratings", "stars", "score", "plays", "count", "weight"),
    "time": ("timestamp", "time", "ts", "date", "datetime", "created_at"),
}


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", str(name).lower().split(":")[0])


def suggest_columns(columns: list[str]) -> dict[str, str]:
    """Columns whose names make their role clear: {'user': 'user_id', 'item': 'movie_id', 'rating': 'stars'}."""
    found: dict[str, str] = {}
    for role, hints in NAME_HINTS.items():
        for hint in hints:
            match = [c for c in columns if _plain(c) == hint and c not in found.values()]
            if match:
                found[role] = match[0]
                break
    return found


@dataclass
class Interactions:
    """The checked interactions, one row per (user, item) pair, ids mapped to indices 0..n-1.

    ``strength`` is the rating (1.0 without one), ``positive`` whether it counts as a positive (``--positive``),
    ``time`` seconds or None. ``users``/``items`` map an index back to its id (as text).
    """

    users: list[str]
    items: list[str]
    user: np.ndarray
    item: np.ndarray
    strength: np.ndarray
    positive: np.ndarray
    time: np.ndarray | None
    columns: dict[str, str | None]
    findings: list[Finding] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def matrix(self, rows: np.ndarray, positive_only: bool = True) -> sparse.csr_matrix:
        """The users x items matrix of ``rows`` (a boolean mask): strengths of the (positive) interactions."""
        keep = rows & self.positive if positive_only else rows
        return sparse.csr_matrix((self.strength[keep].astype(np.float32), (self.user[keep], self.item[keep])),
                                 shape=(self.n_users, self.n_items))


def resolve_columns(frame: pd.DataFrame, config: RecommendConfig) -> dict[str, str | None]:
    """The user, item, rating and time columns: as given, else suggested from the names; each checked to exist."""
    columns = [str(c) for c in frame.columns]
    suggested = suggest_columns(columns)
    chosen = {"user": config.user or suggested.get("user"), "item": config.item or suggested.get("item"),
              "rating": config.rating, "time": config.time_column}
    problems = []
    for role in ("user", "item"):
        if chosen[role] is None:
            problems.append(f"No column of {role} ids was given and none is named like one ({', '.join(columns[:8])}): "
                            f"name it with --{role} COLUMN.")
    option = {"user": "--user", "item": "--item", "rating": "--rating", "time": "--time-column"}
    for role, name in chosen.items():
        if name is not None and name not in columns:
            problems.append(f"Column {name!r} ({option[role]}) not found.{did_you_mean(name, columns)} "
                            f"Columns: {list_names(columns)}.")
    if chosen["user"] is not None and chosen["user"] == chosen["item"]:
        problems.append(f"Options --user and --item both name column {chosen['user']!r}: give two columns.")
    if problems:
        raise ConfigError(" ".join(problems))
    return chosen


def _ids(values: pd.Series, name: str, findings: list[Finding]) -> pd.Series:
    """Ids as text; whole numbers stored as floats (42.0, from a column with gaps) read as 42."""
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if len(whole) and bool(np.all(np.mod(whole, 1) == 0)):
            findings.append(Finding("warning", "float_ids", f"Column {name!r} holds whole-number ids stored as "
                                    f"floats (e.g. {whole.iloc[0]!r}); they are read as {int(whole.iloc[0])}. Fix: write "
                                    "the ids without decimals so they match at recommend time.", name))
            return values.map(lambda v: str(int(v)) if pd.notna(v) else v)
    text = values.astype("string")
    floaty = text.str.fullmatch(r"-?\d+\.0+", na=False)
    if floaty.any():
        findings.append(Finding("warning", "float_ids", f"Column {name!r} has {int(floaty.sum())} ids written like "
                                f"floats (e.g. {text[floaty].iloc[0]!r}); read without the '.0'. Fix: write the ids "
                                "without decimals.", name))
        text = text.mask(floaty, text.str.replace(r"\.0+$", "", regex=True))
    return text.astype(object)


def _strength(frame: pd.DataFrame, rating: str | None, findings: list[Finding]) -> pd.Series:
    if rating is None:
        return pd.Series(1.0, index=frame.index)
    values = pd.to_numeric(frame[rating], errors="coerce")
    bad = values.isna() & frame[rating].notna()
    if bad.any():
        raise DataError(f"Column {rating!r} (--rating) has {int(bad.sum())} values that are not numbers, e.g. "
                        f"{frame.loc[bad, rating].iloc[0]!r} in row {int(np.flatnonzero(bad)[0]) + 2}. "
                        "Fix: give a numeric rating or strength column, or leave --rating out.")
    return values


def _times(frame: pd.DataFrame, column: str | None) -> pd.Series | None:
    if column is None:
        return None
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    parsed = pd.to_datetime(raw, errors="coerce", utc=True)
    if parsed.isna().mean() > 0.5:
        raise DataError(f"Column {column!r} (--time-column) is neither numbers nor dates, e.g. {raw.iloc[0]!r}. "
                        "Fix: give a timestamp or date column, or leave --time-column out (random split).")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds()


def check_interactions(frame: pd.DataFrame, config: RecommendConfig) -> Interactions:
    """Check and encode an interactions table; each problem that can be fixed is fixed and said, with the fix."""
    cols = resolve_columns(frame, config)
    findings: list[Finding] = []
    user_col, item_col = str(cols["user"]), str(cols["item"])
    table = pd.DataFrame({"user": _ids(frame[user_col], user_col, findings),
                          "item": _ids(frame[item_col], item_col, findings),
                          "strength": _strength(frame, cols["rating"], findings)})
    times = _times(frame, cols["time"])
    table["time"] = times if times is not None else np.arange(len(frame), dtype=float)
    missing = table[["user", "item", "strength", "time"]].isna().any(axis=1)
    if missing.any():
        findings.append(Finding("warning", "missing_values", f"{int(missing.sum())} rows have no user, item, rating "
                                "or time; they are left out. Fix: fill them in or drop them.", None))
        table = table[~missing]
    negative = table["strength"] < 0
    if negative.any():
        findings.append(Finding("warning", "rating_range", f"{int(negative.sum())} ratings in {cols['rating']!r} are "
                                f"below 0 (lowest {table['strength'].min():g}); they are left out: a strength must be "
                                "0 or more. Fix: shift the scale so the lowest rating is 0 or more.", cols["rating"]))
        table = table[~negative]
    table = _dedupe(table, findings)
    if config.positive is not None:
        low, high = table["strength"].min(), table["strength"].max()
        if config.positive > high:
            raise ConfigError(f"Option --positive {config.positive:g} is above every rating in {cols['rating']!r} "
                              f"(they range {low:g}..{high:g}): no interaction would count. Choose a value in range.")
    _sparse_findings(table, findings)
    return _encode(table, cols, config, findings)


def _dedupe(table: pd.DataFrame, findings: list[Finding]) -> pd.DataFrame:
    """One row per (user, item): the latest one is kept."""
    table = table.sort_values("time", kind="stable")
    dup = table.duplicated(["user", "item"], keep="last")
    if dup.any():
        findings.append(Finding("warning", "duplicates", f"{int(dup.sum())} interactions repeat a (user, item) pair "
                                "already in the table; the latest of each pair is kept. Fix: aggregate them first "
                                "(e.g. sum plays into one row) if repeats should count more.", None))
        table = table[~dup]
    return table


def _sparse_findings(table: pd.DataFrame, findings: list[Finding]) -> None:
    if table["user"].nunique() < 2 or table["item"].nunique() < 2:
        raise DataError(f"The interactions table has {table['user'].nunique()} user(s) and {table['item'].nunique()} "
                        "item(s) after the checks: a recommender needs at least two of each.")
    for role in ("user", "item"):
        counts = table[role].value_counts()
        single = int((counts == 1).sum())
        if single:
            findings.append(Finding("warning", f"single_{role}", f"{single} {role}s have only one interaction: they "
                                    "stay in training but cannot be tested, and their recommendations lean on "
                                    f"popularity. Fix: leave them, or drop {role}s with fewer than 2 interactions.",
                                    None))


def _encode(table: pd.DataFrame, cols: dict[str, str | None], config: RecommendConfig,
            findings: list[Finding]) -> Interactions:
    user_codes, users = pd.factorize(table["user"], sort=True)
    item_codes, items = pd.factorize(table["item"], sort=True)
    strength = table["strength"].to_numpy(dtype=float)
    positive = strength >= config.positive if config.positive is not None else np.ones(len(table), dtype=bool)
    return Interactions(users=[str(u) for u in users], items=[str(i) for i in items],
                        user=user_codes.astype(np.int32), item=item_codes.astype(np.int32),
                        strength=strength, positive=positive,
                        time=table["time"].to_numpy(dtype=float) if cols["time"] else None,
                        columns=cols, findings=findings)


@dataclass
class InteractionSplit:
    """Which interactions train, validate (choose the model) and test it, as boolean masks; per user."""

    kind: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "train_rows": int(self.train.sum()), "valid_rows": int(self.valid.sum()),
                "test_rows": int(self.test.sum()), **self.info}


def split_interactions(data: Interactions, config: RecommendConfig) -> InteractionSplit:
    """Per user: the latest interactions (time split) or a random share of them as test, the ones before as
    validation, with RecBole's rounding (a share rounds down; a user with more than one training row left gives
    one row to a share that rounded to nothing). Users with one interaction stay in training."""
    kind = config.split_kind
    rng = np.random.default_rng(config.seed)
    key = data.time if kind == "time" and data.time is not None else rng.random(len(data.user))
    order = np.lexsort((key, data.user))
    users = data.user[order]
    counts = np.bincount(data.user, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(order)) - starts[users]
    n_test, n_valid = _shares(counts, config.test_size, config.valid_size)
    from_end = counts[users] - position  # 1 for a user's last row
    test, valid = np.zeros(len(order), bool), np.zeros(len(order), bool)
    test[order] = from_end <= n_test[users]
    valid[order] = (from_end > n_test[users]) & (from_end <= n_test[users] + n_valid[users])
    train = ~(test | valid)
    trained = np.bincount(data.user[train & data.positive], minlength=data.n_users) > 0
    tested = np.bincount(data.user[test & data.positive], minlength=data.n_users) > 0
    info = {"users": data.n_users, "items": data.n_items, "test_users": int(tested.sum()),
            "cold_start_test_users": int((tested & ~trained).sum())}
    return InteractionSplit(kind=kind, train=train, valid=valid, test=test, info=info)


def _shares(counts: np.ndarray, test: float, valid: float) -> tuple[np.ndarray, np.ndarray]:
    n_test = np.floor(counts * test).astype(int)
    n_valid = np.floor(counts * valid).astype(int)
    for n, share in ((n_test, test), (n_valid, valid)):
        rest = counts - n_test - n_valid
        bump = (rest > 1) & (n == 0) & (counts * share > 0)
        n[bump] += 1
    return n_test, n_valid


def read_new_interactions(frame: pd.DataFrame, columns: dict[str, Any], source: str = "the new interactions"
                          ) -> pd.DataFrame:
    """New interactions for a saved recommender (fold-in, evaluate, retrain, monitor), read with the training
    columns ``columns`` (user, item, rating, time, positive): a table of user, item (ids as text), strength,
    positive (bool) and time (NaN without one); rows missing an id are left out."""
    names = [str(c) for c in frame.columns]
    user_col, item_col = str(columns.get("user")), str(columns.get("item"))
    missing = [c for c in (user_col, item_col) if c not in names]
    if missing:
        raise DataError(f"{source} has no {' or '.join(repr(c) for c in missing)} column (the model was trained on "
                        f"columns {user_col!r} and {item_col!r}).{did_you_mean(missing[0], names)} Columns: "
                        f"{list_names(names)}.")
    findings: list[Finding] = []
    rating = columns.get("rating") if columns.get("rating") in names else None
    positive = columns.get("positive")
    table = pd.DataFrame({"user": _ids(frame[user_col], user_col, findings),
                          "item": _ids(frame[item_col], item_col, findings),
                          "strength": _strength(frame, rating, findings)})
    time_col = columns.get("time")
    table["time"] = _times(frame, time_col) if time_col in names else np.nan
    table = table[table["user"].notna() & table["item"].notna() & table["strength"].notna()]
    table["positive"] = table["strength"] >= positive if positive is not None and rating else True
    return table.reset_index(drop=True)
