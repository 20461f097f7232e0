"""Which features the model relies on: permutation importance on held-out rows (any model) and a SHAP summary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import media_blocks
from trainlab.evaluate.contributions import Contributions, contributions, native_contributions
from trainlab.evaluate.metrics import Context, Metric, predicted_labels

BATCH_ROWS = 50_000
"""Shuffled rows predicted in one call by ``permutation_importance``."""
PERMUTED_MAX = 100
"""Features shuffled at most: on wider tables, those with the largest mean |contribution| (or, without
contributions, whose values follow the model's output most closely)."""
SAMPLED_MAX = 200
"""Sampling Shapley values (for models without exact contributions) walk every feature for every row: past this
many features the SHAP summary is left out."""


@dataclass
class Importance:
    """Permutation importance (score lost when a feature is shuffled, mean and spread) and mean |SHAP|."""

    metric: str
    permutation: dict[str, dict[str, float]]
    shap: dict[str, float]
    shap_method: str
    shap_unit: str
    rows: int

    def ranking(self) -> list[str]:
        """Features by permutation importance, most important first."""
        return sorted(self.permutation, key=lambda f: -self.permutation[f]["mean"])

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "rows": self.rows, "ranking": self.ranking(), "permutation": self.permutation,
                "shap": {"method": self.shap_method, "unit": self.shap_unit, "mean_abs": self.shap}}


def permutation_importance(model: Any, features: pd.DataFrame, y: np.ndarray, metric: Metric, ctx: Context,
                           *, repeats: int = 3, seed: int = 0,
                           columns: list[str] | None = None) -> dict[str, dict[str, float]]:
    """For each feature: how much the metric worsens when that column is shuffled (positive = the model uses it).

    A picture or sound column counts as one feature: all the columns made from its files are shuffled together.

    The shuffled copies are predicted together, up to ``BATCH_ROWS`` rows a call: an ensemble or a pipeline
    spends most of a small call on overhead, so one call for all copies is several times faster. ``columns``
    limits the features shuffled (default: all).
    """
    rng = np.random.default_rng(seed)
    sign = 1.0 if metric.greater_is_better else -1.0
    baseline = metric.compute(y, model.output(features), ctx)
    n = len(features)
    every = feature_columns(list(features.columns))
    groups = every if columns is None else {name: every.get(name, [name]) for name in columns}
    shuffles = [(name, rng.permutation(n)) for name in groups for _ in range(repeats)]
    drops: dict[str, list[float]] = {name: [] for name in groups}
    per_call = max(1, BATCH_ROWS // max(n, 1))
    for start in range(0, len(shuffles), per_call):
        batch = shuffles[start:start + per_call]
        copies = []
        for column, order in batch:
            shuffled = features.copy()
            shuffled[groups[column]] = features[groups[column]].to_numpy()[order]
            copies.append(shuffled)
        output = model.output(pd.concat(copies, ignore_index=True))
        for i, (column, _) in enumerate(batch):
            drops[column].append(sign * (baseline - metric.compute(y, output[i * n:(i + 1) * n], ctx)))
    result = {column: {"mean": float(np.mean(d)), "std": float(np.std(d))} for column, d in drops.items()}
    return dict(sorted(result.items(), key=lambda kv: -kv[1]["mean"]))


def feature_columns(columns: list[str]) -> dict[str, list[str]]:
    """Each feature and its model-input columns: a column for itself, or every column made from one picture or
    sound column (its raw block and its ``<column>_`` features)."""
    media = [block.column for block in media_blocks(columns)]
    groups: dict[str, list[str]] = {name: [] for name in media}
    for column in map(str, columns):
        owner = next((m for m in media if column.startswith((f"{m}#", f"{m}_"))), None)
        groups.setdefault(owner or column, []).append(column)
    return groups


def feature_importance(model: Any, features: pd.DataFrame, y: np.ndarray, metric: Metric, ctx: Context,
                       background: pd.DataFrame, *, shap_rows: int = 300, seed: int = 0,
                       shap_seconds: float = math.inf) -> Importance:
    """Permutation importance on these held-out rows, and the mean |contribution| on up to ``shap_rows`` of them
    (left out when a model of many members would take more than ``shap_seconds``).

    With more than ``PERMUTED_MAX`` features, only the ``PERMUTED_MAX`` with the largest contributions are shuffled.
    """
    sample = features.sample(min(shap_rows, len(features)), random_state=seed) if len(features) else features
    if media_blocks(list(features.columns)):  # thousands of pixel columns: no per-column contributions
        contrib: Contributions | None = Contributions(np.zeros((0, 0)), np.zeros(0), [], "",
                                                      "not computed for picture and sound inputs")
    else:
        contrib = native_contributions(model, sample, background, positive_index=ctx.positive_index,
                                       seconds=shap_seconds)
        if contrib is None and features.shape[1] <= SAMPLED_MAX:
            contrib = contributions(model, sample, background, positive_index=ctx.positive_index, seed=seed)
    shap = contrib.mean_abs() if contrib is not None else {}
    columns = None
    if len(feature_columns(list(features.columns))) > PERMUTED_MAX:
        order = shap or _follows_output(model, features)
        columns = sorted(feature_columns(list(features.columns)), key=lambda c: -order.get(c, 0.0))[:PERMUTED_MAX]
    permutation = permutation_importance(model, features, y, metric, ctx, seed=seed, columns=columns)
    method = contrib.method if contrib is not None else (
        f"not computed: the model has no exact contributions, and sampling them over {features.shape[1]} "
        f"features would take too long (at most {SAMPLED_MAX})")
    return Importance(metric=metric.name, permutation=permutation, shap=shap, shap_method=method,
                      shap_unit=contrib.unit if contrib is not None else "", rows=len(features))


def _follows_output(model: Any, features: pd.DataFrame) -> dict[str, float]:
    """|Spearman correlation| of each numeric feature with the model's first output column (0 for the others)."""
    output = np.asarray(model.output(features), dtype=float)
    score = pd.Series(output[:, -1] if output.ndim == 2 else output, index=features.index).rank()
    numeric = features.select_dtypes("number").rank()
    found = numeric.corrwith(score).abs().fillna(0.0)
    return {str(k): float(v) for k, v in found.items()}


def explain_rows(model: Any, features: pd.DataFrame, background: pd.DataFrame, classes: list[Any], ctx: Context,
                 *, top: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """Each row's prediction with its ``top`` contributing features: value, contribution and direction."""
    contrib = contributions(model, features, background, positive_index=ctx.positive_index, seed=seed)
    output = model.output(features)
    labels = predicted_labels(output, ctx) if ctx.task != "regression" else np.zeros(len(output), dtype=int)
    rows = []
    for i in range(len(features)):
        order = np.argsort(-np.abs(contrib.values[i]), kind="stable")[:top]
        entry: dict[str, Any] = {"base": float(contrib.base[i]), "unit": contrib.unit, "method": contrib.method}
        if contrib.explained is None:
            entry["prediction"] = float(output[i])
        else:
            k = int(contrib.explained[i])
            entry.update({"prediction": classes[int(labels[i])], "explained_class": classes[k],
                          "probability": float(output[i, k])})
        entry["contributions"] = [
            {"feature": contrib.features[j], "value": _plain(features.iloc[i, j]),
             "contribution": float(contrib.values[i, j]),
             "direction": "raises" if contrib.values[i, j] > 0 else "lowers"} for j in order]
        rows.append(entry)
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and np.isnan(value) else value
