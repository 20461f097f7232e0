"""Fairness by group: how the model treats the groups of a sensitive column, measured with fairlearn.

For each sensitive column: a table per group (fairlearn's ``MetricFrame``), the demographic-parity and
equalized-odds differences and ratios, and a verdict in plain words that names the group that is worse off,
by how much, and with a 95 % bootstrap interval of that gap. A gap is flagged only when it is at least
``FLAG_GAP`` and its interval excludes zero, so noise in small groups is not called bias.

For a binary task the positive class is read as the outcome the model flags (a default, a fraud, a disease):
the group flagged more often, wrongly flagged more often, or predicted right less often is the one worse off
(true positive rates are in the table and in equalized odds). Multiclass tasks compare accuracy, regression the
mean absolute error, and the bias of the residuals is shown beside it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn import metrics as skm

from trainlab.evaluate.uncertainty import LEVEL, stratified_counts

FLAG_GAP = 0.10
"""A gap in rates (selection, error) of at least 10 points, with an interval that excludes zero, is flagged."""
MIN_GROUP_ROWS = 10
"""Groups with fewer rows are shown but not judged."""
NUMERIC_BINS = 4
BOOTSTRAP = 1000


def sensitive_groups(frame: pd.DataFrame, column: str) -> tuple[pd.Series, str]:
    """The group of every row, and how it was made: numbers with many values are cut into quartiles (said)."""
    values = frame[column]
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and numeric.nunique() > 2 * NUMERIC_BINS:
        bins = pd.qcut(numeric, NUMERIC_BINS, duplicates="drop")
        whole = bool((numeric == numeric.round()).all())  # whole numbers: (27, 33] reads 28–33
        names = [f"{_number(numeric.min() if i == 0 else iv.left + 1 if whole else iv.left)}–{_number(iv.right)}"
                 for i, iv in enumerate(bins.cat.categories)]
        groups = bins.cat.rename_categories(names).astype(str)
        return groups.rename(column), f"'{column}' is numeric: cut into {len(names)} quantile bins ({', '.join(names)})"
    return values.astype(str).where(values.notna(), "(missing)").rename(column), ""


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3g}"


def _safe_auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(skm.roc_auc_score(y, score)) if len(np.unique(y)) == 2 else math.nan


def _accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(y == pred))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - y)))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _bias(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(pred - y))


def _table(frame: MetricFrame, extra: MetricFrame | None = None) -> pd.DataFrame:
    table = frame.by_group
    if extra is not None:
        table = table.join(extra.by_group)
    table.index = table.index.astype(str)
    return table


def group_fairness(y: np.ndarray, output: np.ndarray, pred: np.ndarray, groups: pd.Series, task: str,
                   positive_index: int = 1, positive_label: str = "positive", seed: int = 0) -> dict[str, Any]:
    """The fairness record of one sensitive column: per-group table, differences and ratios, verdict."""
    g = groups.to_numpy()
    if task == "binary":
        truth, flagged = (y == positive_index).astype(int), (pred == positive_index).astype(int)
        rates = MetricFrame(metrics={"count": count, "selection_rate": selection_rate,
                                     "true_positive_rate": true_positive_rate,
                                     "false_positive_rate": false_positive_rate, "accuracy": _accuracy},
                            y_true=truth, y_pred=flagged, sensitive_features=g)
        auc = MetricFrame(metrics={"roc_auc": _safe_auc}, y_true=truth, y_pred=output[:, positive_index],
                          sensitive_features=g)
        table = _table(rates, auc)
        summary = {"demographic_parity_difference": demographic_parity_difference(truth, flagged, sensitive_features=g),
                   "demographic_parity_ratio": demographic_parity_ratio(truth, flagged, sensitive_features=g),
                   "equalized_odds_difference": equalized_odds_difference(truth, flagged, sensitive_features=g),
                   "equalized_odds_ratio": equalized_odds_ratio(truth, flagged, sensitive_features=g)}
        gaps = [_gap(table, g, "selection_rate", flagged.astype(float), np.ones_like(truth, dtype=bool), True, seed),
                _gap(table, g, "false_positive_rate", flagged.astype(float), truth == 0, True, seed),
                _gap(table, g, "accuracy", (truth == flagged).astype(float), np.ones_like(truth, dtype=bool), False,
                     seed)]
    elif task == "multiclass":
        frame = MetricFrame(metrics={"count": count, "accuracy": _accuracy}, y_true=y, y_pred=pred, sensitive_features=g)
        table = _table(frame)
        summary = {"accuracy_difference": float(frame.difference()["accuracy"])}
        gaps = [_gap(table, g, "accuracy", (y == pred).astype(float), np.ones(len(y), dtype=bool), False, seed)]
    else:
        frame = MetricFrame(metrics={"count": count, "mae": _mae, "rmse": _rmse, "mean_residual": _bias},
                            y_true=y, y_pred=pred, sensitive_features=g)
        table = _table(frame)
        summary = {"mae_difference": float(frame.difference()["mae"])}
        gaps = [_gap(table, g, "mae", np.abs(pred - y), np.ones(len(y), dtype=bool), True, seed)]
    found = [gap for gap in gaps if gap is not None]
    flagged_gaps = [gap for gap in found if gap["flagged"]]
    worst = max(flagged_gaps, key=lambda gap: gap["gap"]) if flagged_gaps else None
    return {"column": str(groups.name), "groups": _records(table), "summary": {k: float(v) for k, v in summary.items()},
            "gaps": found, "flagged": worst is not None, "worse_off": worst["worse_off"] if worst else None,
            "verdict": _verdict(str(groups.name), worst, found, task, positive_label)}


def _gap(table: pd.DataFrame, groups: np.ndarray, measure: str, values: np.ndarray, among: np.ndarray,
         higher_is_worse: bool, seed: int) -> dict[str, Any] | None:
    """The gap in ``measure`` between the worst- and the best-off group with enough rows, and its interval.

    ``values`` per row, averaged over the rows ``among`` (all rows; or the truly negative ones for a false
    positive rate) of a group, give the measure; resampling the rows gives its interval.
    """
    column = table[measure].astype(float)
    rates = {str(k): float(v) for k, v in column.items()
             if ((groups == k) & among).sum() >= MIN_GROUP_ROWS and math.isfinite(float(v))}
    if len(rates) < 2:
        return None
    worst = max(rates, key=lambda k: rates[k]) if higher_is_worse else min(rates, key=lambda k: rates[k])
    best = min(rates, key=lambda k: rates[k]) if higher_is_worse else max(rates, key=lambda k: rates[k])
    counts = stratified_counts(groups.astype(str), BOOTSTRAP, seed)

    def measured(group: str) -> np.ndarray:
        rows = ((groups == group) & among).astype(float)
        return (counts @ (values * rows)) / np.maximum(counts @ rows, 1e-12)

    sign = 1.0 if higher_is_worse else -1.0
    spread = sign * (measured(worst) - measured(best))
    tail = 100 * (1 - LEVEL) / 2
    low, high = (float(v) for v in np.percentile(spread, [tail, 100 - tail]))
    gap = sign * (rates[worst] - rates[best])
    return {"measure": measure, "worse_off": worst, "better_off": best, "worse_value": rates[worst],
            "better_value": rates[best], "gap": gap, "low": low, "high": high,
            "flagged": bool(gap >= FLAG_GAP and low > 0)}


MEASURE_WORDS = {
    "selection_rate": "predicted '{positive}' for {worse:.0%} of '{w}' against {better:.0%} of '{b}'",
    "false_positive_rate": "wrongly predicted '{positive}' for {worse:.0%} of '{w}' rows that are not, against "
                           "{better:.0%} of '{b}'",
    "accuracy": "is right for {worse:.0%} of '{w}' against {better:.0%} of '{b}'",
    "mae": "is off by {worse:.4g} on average for '{w}' against {better:.4g} for '{b}'",
}


def _verdict(column: str, worst: dict[str, Any] | None, gaps: list[dict[str, Any]], task: str, positive: str) -> str:
    if not gaps:
        return f"{column}: too few rows per group (under {MIN_GROUP_ROWS}) to judge."
    if worst is None:
        largest = max(gaps, key=lambda gap: gap["gap"])
        why = (f"under the {_points(FLAG_GAP, task)} that would be flagged" if largest["gap"] < FLAG_GAP
               else "but its interval includes zero, so this many rows cannot tell it from chance")
        return (f"{column}: no group is clearly worse off. The largest gap, in {largest['measure'].replace('_', ' ')}, "
                f"is {_points(largest['gap'], task)} ('{largest['worse_off']}' against '{largest['better_off']}'; "
                f"95 % interval {_points(largest['low'], task)} to {_points(largest['high'], task)}), {why}.")
    words = MEASURE_WORDS[worst["measure"]].format(positive=positive, worse=worst["worse_value"],
                                                   better=worst["better_value"], w=worst["worse_off"],
                                                   b=worst["better_off"])
    return (f"{column}: '{worst['worse_off']}' is worse off. The model {words}: a gap of "
            f"{_points(worst['gap'], task)} (95 % interval {_points(worst['low'], task)} to "
            f"{_points(worst['high'], task)}).")


def _points(value: float, task: str) -> str:
    return f"{value:.4g}" if task == "regression" else f"{100 * value:.0f} points"


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for group, values in table.iterrows():
        record: dict[str, Any] = {"group": str(group)}
        for key, value in values.items():
            number = float(value)
            record[str(key)] = int(number) if key == "count" else (None if not math.isfinite(number) else number)
        rows.append(record)
    return rows


def fairness_report(y: np.ndarray, output: np.ndarray, pred: np.ndarray, frame: pd.DataFrame, columns: list[str],
                    task: str, positive_index: int = 1, positive_label: str = "positive",
                    seed: int = 0) -> dict[str, Any]:
    """Fairness by group for every sensitive column of ``frame`` (rows aligned with ``y`` and ``output``)."""
    frame = frame.reset_index(drop=True)
    results, notes = [], []
    for column in columns:
        groups, note = sensitive_groups(frame, column)
        if note:
            notes.append(note)
        results.append(group_fairness(np.asarray(y), np.asarray(output), np.asarray(pred), groups, task,
                                      positive_index, positive_label, seed))
    return {"rows": len(frame), "columns": results, "binning": notes, "flag_gap": FLAG_GAP,
            "min_group_rows": MIN_GROUP_ROWS, "positive_class": positive_label if task == "binary" else None,
            "flagged": [r["column"] for r in results if r["flagged"]]}
