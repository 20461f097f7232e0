"""Drift monitoring: new rows compared with the reference statistics stored in the bundle at training time.

Per feature: PSI over the reference bins (missing values are a bin of their own) and a test suited to the
column type (Kolmogorov-Smirnov plus a Wasserstein distance in reference standard deviations for numbers,
chi-squared for categories), the missing-value and new-category rates. The same for the model's predictions,
and, when the rows carry labels, the performance now against the test score at training time.

A column drifts when an effect size passes its threshold *and* the test says the change is not sampling
noise; a large sample of the same distribution has tiny effect sizes, so it is not flagged however small its
p-values get, and a handful of rows with a large PSI by chance is not flagged either.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trainlab.data.load import load_table
from trainlab.data.prepare import make_features
from trainlab.data.profile import MISSING_BIN, NEW, OTHER, numeric_bins, prediction_values
from trainlab.errors import BundleError, DataError
from trainlab.evaluate.metrics import METRICS, Context, compute_metrics
from trainlab.predict import Predictor
from trainlab.run import encode_target

EPSILON = 1e-4


@dataclass(frozen=True)
class DriftThresholds:
    """When a change counts as drift: effect sizes, the p-value that rules out noise, the performance drop."""

    psi: float = 0.2
    distance: float = 0.25
    new_categories: float = 0.05
    missing_change: float = 0.1
    p_value: float = 0.01
    performance_drop: float = 0.1


@dataclass
class ColumnDrift:
    """The comparison of one column (or of the predictions) with its reference."""

    name: str
    kind: str
    psi: float
    test: str
    statistic: float
    p_value: float
    distance: float | None
    missing_reference: float
    missing_now: float
    new_category_rate: float | None
    drifted: bool
    reasons: list[str]
    bins: list[str]
    reference: list[float]
    now: list[float]


@dataclass
class DriftReport:
    """Everything ``monitor`` found; ``drifted`` decides the exit code of ``trainlab monitor``."""

    model: str
    rows: int
    reference_rows: int
    thresholds: DriftThresholds
    features: list[ColumnDrift]
    prediction: ColumnDrift | None
    performance: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.features if f.drifted]

    @property
    def drifted(self) -> bool:
        degraded = bool(self.performance and self.performance.get("degraded"))
        return bool(self.drifted_features) or bool(self.prediction and self.prediction.drifted) or degraded

    def summary(self) -> str:
        """One line a scheduler's log can show."""
        if not self.drifted:
            return f"No drift in {self.rows} rows against the training reference ({self.reference_rows} rows)."
        parts = []
        if self.drifted_features:
            parts.append(f"{len(self.drifted_features)} of {len(self.features)} features drifted "
                         f"({', '.join(self.drifted_features)})")
        if self.prediction and self.prediction.drifted:
            parts.append("the predictions drifted")
        if self.performance and self.performance.get("degraded"):
            p = self.performance
            parts.append(f"{p['metric']} fell from {p['training']:.4f} to {p['now']:.4f}")
        return f"Drift in {self.rows} rows: " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update({"drifted": self.drifted, "drifted_features": self.drifted_features, "summary": self.summary()})
        return data


def monitor(predictor: Predictor, data: pd.DataFrame | str | Path, model: str = "",
            thresholds: DriftThresholds | None = None) -> DriftReport:
    """Compare ``data`` with the reference stored in ``predictor``'s bundle."""
    thresholds = thresholds or DriftThresholds()
    manifest = predictor.manifest
    reference = manifest.reference if manifest is not None else {}
    if not reference.get("features"):
        raise BundleError(f"The bundle of model '{model}' has no reference statistics to compare with (it was "
                          "saved before drift monitoring existed). Retrain it with this trainlab version.")
    frame = data if isinstance(data, pd.DataFrame) else load_table(data)
    schema = predictor.schema
    features = make_features(schema.check_rows(frame), schema)
    columns = [compare_column(name, profile, features[name], thresholds)
               for name, profile in reference["features"].items() if name in features.columns]
    output = predictor.model.output(features)
    values, _ = prediction_values(output, schema)
    prediction = compare_column("prediction", reference["prediction"], values, thresholds) \
        if reference.get("prediction") else None
    report = DriftReport(model=model, rows=len(frame), reference_rows=int(reference.get("rows", 0)),
                         thresholds=thresholds, features=columns, prediction=prediction)
    if schema.target in frame.columns:
        report.performance = _performance(frame, output, predictor, thresholds, report.notes)
    else:
        report.notes.append(f"No '{schema.target}' column: performance not measured (add the labels to measure it).")
    return report


def compare_column(name: str, profile: dict[str, Any], values: pd.Series, thresholds: DriftThresholds) -> ColumnDrift:
    """Compare one column's new values with its reference profile (from ``trainlab.data.profile``)."""
    if profile["kind"] == "numeric":
        return _numeric(name, profile, pd.to_numeric(values, errors="coerce").astype(float), thresholds)
    return _categorical(name, profile, values, thresholds)


def psi(reference: np.ndarray, now: np.ndarray) -> float:
    """Population stability index of two sets of bin shares (empty bins count as a share of 1e-4)."""
    ref = np.clip(np.asarray(reference, dtype=float), EPSILON, None)
    new = np.clip(np.asarray(now, dtype=float), EPSILON, None)
    return float(np.sum((new - ref) * np.log(new / ref)))


def _numeric(name: str, profile: dict[str, Any], values: pd.Series, th: DriftThresholds) -> ColumnDrift:
    n = max(len(values), 1)
    present = values.dropna().to_numpy()
    edges = profile["edges"]
    counts = np.bincount(numeric_bins(present, edges), minlength=len(edges) + 1) if edges else np.array([len(present)])
    now = np.append(counts / n, 1 - len(present) / n)
    ref = np.append(profile["proportions"] or [1 - profile["missing_rate"]], profile["missing_rate"])
    statistic, p_value, distance = 0.0, 1.0, 0.0
    quantiles = np.asarray(profile["quantiles"], dtype=float)
    if len(present) and len(quantiles):
        statistic = _ks_statistic(present, quantiles)
        n_ref = profile["rows"] * (1 - profile["missing_rate"])
        n_eff = len(present) * n_ref / (len(present) + n_ref)
        p_value = float(stats.kstwobign.sf(np.sqrt(n_eff) * statistic))
        scale = profile["std"] if profile["std"] else 1.0
        distance = float(stats.wasserstein_distance(present, quantiles)) / scale
    labels = [*_edge_labels(edges), MISSING_BIN]
    column = ColumnDrift(name=name, kind="numeric", psi=psi(ref, now), test="ks", statistic=statistic,
                         p_value=p_value, distance=distance, missing_reference=profile["missing_rate"],
                         missing_now=float(now[-1]), new_category_rate=None, drifted=False, reasons=[],
                         bins=labels, reference=ref.tolist(), now=now.tolist())
    return _judge(column, th)


def _categorical(name: str, profile: dict[str, Any], values: pd.Series, th: DriftThresholds) -> ColumnDrift:
    n = max(len(values), 1)
    present = values.dropna().astype(str)
    top = list(profile["proportions"])
    known = set(profile["known"])
    counts = present.value_counts()
    is_new = ~counts.index.isin(list(known)) if profile["known_complete"] else np.zeros(len(counts), dtype=bool)
    n_new = int(counts[is_new].sum())
    in_top = [int(counts.get(c, 0)) for c in top]
    n_other = len(present) - sum(in_top) - n_new
    observed = np.array([*in_top, n_other, n_new, n - len(present)], dtype=float)
    ref = np.array([*profile["proportions"].values(), profile["other"], 0.0, profile["missing_rate"]])
    statistic, p_value = _chi2_two_samples(ref * profile["rows"], observed)
    column = ColumnDrift(name=name, kind="categorical", psi=psi(ref, observed / n), test="chi2",
                         statistic=float(statistic), p_value=float(p_value), distance=None,
                         missing_reference=profile["missing_rate"], missing_now=float(observed[-1] / n),
                         new_category_rate=n_new / len(present) if len(present) else 0.0, drifted=False,
                         reasons=[], bins=[*top, OTHER, NEW, MISSING_BIN], reference=ref.tolist(),
                         now=(observed / n).tolist())
    return _judge(column, th)


def _judge(c: ColumnDrift, th: DriftThresholds) -> ColumnDrift:
    """Flag the column when an effect size passes its threshold and the change is not sampling noise."""
    significant = c.p_value < th.p_value
    if c.psi >= th.psi and significant:
        c.reasons.append(f"PSI {c.psi:.3f} ≥ {th.psi}")
    if c.distance is not None and c.distance >= th.distance and significant:
        c.reasons.append(f"distance {c.distance:.3f} std ≥ {th.distance}")
    if c.new_category_rate is not None and c.new_category_rate >= th.new_categories and significant:
        c.reasons.append(f"{c.new_category_rate:.1%} new categories ≥ {th.new_categories:.0%}")
    if abs(c.missing_now - c.missing_reference) >= th.missing_change:
        c.reasons.append(f"missing {c.missing_reference:.1%} → {c.missing_now:.1%}")
    c.drifted = bool(c.reasons)
    return c


def _chi2_two_samples(reference: np.ndarray, now: np.ndarray) -> tuple[float, float]:
    """Chi-squared test that two samples' counts per bin come from one distribution (bins empty in both dropped)."""
    table = np.vstack([reference, now])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _ks_statistic(present: np.ndarray, quantiles: np.ndarray) -> float:
    """Largest gap between the new values' distribution and the reference's (read from its 101 quantiles)."""
    grid = np.union1d(present, quantiles)
    new_cdf = np.searchsorted(np.sort(present), grid, side="right") / len(present)
    ref_cdf = np.searchsorted(quantiles, grid, side="right") / len(quantiles)
    return float(np.max(np.abs(new_cdf - ref_cdf)))


def _edge_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all"]
    cuts = [f"{e:.4g}" for e in edges]
    return [f"≤ {cuts[0]}", *[f"{a} – {b}" for a, b in itertools.pairwise(cuts)], f"> {cuts[-1]}"]


def _performance(frame: pd.DataFrame, output: np.ndarray, predictor: Predictor, th: DriftThresholds,
                 notes: list[str]) -> dict[str, Any] | None:
    """The ranking metric on the labelled rows now, against its test value at training time."""
    schema = predictor.schema
    labelled = frame[schema.target].notna().to_numpy().copy()
    if schema.task != "regression":
        known = frame[schema.target].isin(schema.classes).to_numpy()
        if (labelled & ~known).any():
            notes.append(f"{int((labelled & ~known).sum())} rows have a class the model never saw; "
                         "left out of the performance.")
        labelled = labelled & known
    if labelled.sum() < 2:
        notes.append(f"Fewer than two labelled rows in '{schema.target}': performance not measured.")
        return None
    rows = frame[labelled]
    manifest = predictor.manifest
    metrics = manifest.metrics if manifest is not None else {}
    metric = metrics.get("ranking_metric") or ("rmse" if schema.task == "regression" else "log_loss")
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    try:
        now = compute_metrics(encode_target(rows, schema), output[labelled],
                              Context(schema.task, positive, len(schema.classes)))
    except ValueError as exc:
        raise DataError(f"Column '{schema.target}' of the new rows cannot be scored: {exc}") from exc
    training = metrics.get("test", {}).get(metric)
    result: dict[str, Any] = {"metric": metric, "rows": int(labelled.sum()), "now": now.get(metric),
                              "training": training, "all_now": now, "all_training": metrics.get("test", {}),
                              "degraded": False, "change": None}
    if training is not None and now.get(metric) is not None and not np.isnan(now[metric]):
        worse = (training - now[metric]) if METRICS[metric].greater_is_better else (now[metric] - training)
        result["change"] = -worse
        result["degraded"] = bool(worse > th.performance_drop * max(abs(training), 1e-12))
    return result

