"""Where the model is wrong: confusion matrix, false positives/negatives, confident mistakes, weak segments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MAX_MISTAKES = 10
MAX_BINS = 5
MAX_CATEGORIES = 6


def confusion(y: np.ndarray, pred: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """Counts (rows: true class, columns: predicted class), rates per true class, and per-class FP/FN counts."""
    k = len(classes)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y, pred), 1)
    totals = counts.sum(axis=1, keepdims=True)
    rates = np.divide(counts, totals, out=np.zeros((k, k)), where=totals > 0)
    per_class = {}
    for i, cls in enumerate(classes):
        tp = int(counts[i, i])
        predicted = int(counts[:, i].sum())
        per_class[str(cls)] = {"support": int(totals[i, 0]), "true_positives": tp,
                               "false_positives": predicted - tp, "false_negatives": int(counts[i, :].sum() - tp),
                               "precision": tp / predicted if predicted else None,
                               "recall": tp / int(totals[i, 0]) if totals[i, 0] else None}
    return {"labels": [str(c) for c in classes], "counts": counts.tolist(),
            "rates": np.round(rates, 4).tolist(), "per_class": per_class}


def confident_mistakes(rows: pd.DataFrame, y: np.ndarray, output: np.ndarray, classes: list[Any],
                       pred: np.ndarray | None = None, limit: int = MAX_MISTAKES) -> list[dict[str, Any]]:
    """The wrong predictions the model was surest of, as the original rows with truth, prediction and confidence.

    ``pred`` holds the predicted class indices (default: the most probable class); for regression, the largest
    absolute errors.
    """
    if not classes:
        error = np.abs(output - y)
        order = np.argsort(-error)[:limit]
        extra = [{"actual": float(y[i]), "predicted": float(output[i]), "abs_error": float(error[i])} for i in order]
    else:
        pred = output.argmax(axis=1) if pred is None else pred
        wrong = np.flatnonzero(pred != y)
        order = wrong[np.argsort(-output[wrong, pred[wrong]], kind="stable")][:limit]
        extra = [{"actual": _plain(classes[y[i]]), "predicted": _plain(classes[pred[i]]),
                  "confidence": float(output[i, pred[i]])} for i in order]
    original = rows.iloc[order]
    return [{**extra_i, "row": _record(original.iloc[j]), "index": _plain(original.index[j])}
            for j, extra_i in enumerate(extra)]


def segment_errors(features: pd.DataFrame, wrong: np.ndarray, columns: list[str], min_rows: int | None = None
                   ) -> list[dict[str, Any]]:
    """Error (mistake rate, or absolute error for regression) per slice of each column in ``columns``.

    Numeric columns are cut at quantiles, categorical ones split by their most frequent values; each entry
    lists its segments with row counts and error, and how far the worst segment is above the overall error.
    """
    overall = float(np.mean(wrong)) if len(wrong) else float("nan")
    min_rows = max(5, len(wrong) // 50) if min_rows is None else min_rows
    out = []
    for column in columns:
        if column not in features.columns:
            continue
        labels = _segments(features[column])
        table = pd.DataFrame({"segment": labels, "error": wrong}).groupby("segment", sort=True, observed=True)
        stats = table["error"].agg(["size", "mean"]).reset_index()
        stats = stats[stats["size"] >= min_rows]
        if stats.empty:
            continue
        names = [str(s) for s in stats["segment"]]
        errors = [round(float(e), 5) for e in stats["mean"]]
        segments = [{"segment": s, "rows": int(n), "error": e} for s, n, e in zip(names, stats["size"], errors, strict=True)]
        worst = int(np.argmax(errors))
        out.append({"feature": column, "segments": segments, "worst": names[worst],
                    "worst_error": errors[worst], "overall_error": round(overall, 5),
                    "lift": round(errors[worst] / overall, 3) if overall > 0 else float("nan")})
    return sorted(out, key=lambda s: -s["worst_error"])


def _segments(values: pd.Series) -> pd.Categorical:
    """Segment labels in a meaningful order: value ranges low to high, or categories by frequency."""
    if pd.api.types.is_numeric_dtype(values):
        numeric = values.astype(float).reset_index(drop=True)
        if numeric.nunique() > MAX_BINS:
            binned = pd.qcut(numeric, MAX_BINS, duplicates="drop")
            names = [f"{iv.left:.3g} to {iv.right:.3g}" for iv in binned.cat.categories]
            labels = binned.cat.rename_categories(names).astype(object)
        else:
            names = [f"{v:g}" for v in sorted(numeric.dropna().unique())]
            labels = numeric.map(lambda v: f"{v:g}").astype(object)
        labels = labels.where(numeric.notna(), "missing")
        return pd.Categorical(labels, categories=[*names, "missing"], ordered=True)
    text = values.astype(object).where(values.notna(), "missing").astype(str).reset_index(drop=True)
    top = list(text.value_counts().index[:MAX_CATEGORIES])
    return pd.Categorical(text.where(text.isin(top), "other"), categories=[*top, "other"], ordered=True)


def _record(row: pd.Series) -> dict[str, Any]:
    return {str(k): _plain(v) for k, v in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
