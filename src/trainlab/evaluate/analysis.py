"""The evaluation of a trained model, as one plain dict: test metrics and curves, error analysis, importance,
and (for a run) the over/underfitting diagnosis with a learning curve. Written to the run folder as analysis.json.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.config import TrainConfig
from trainlab.data.media import block_columns
from trainlab.data.prepare import make_features
from trainlab.data.schema import Schema
from trainlab.data.split import Split
from trainlab.errors import DataError, did_you_mean, list_names
from trainlab.evaluate.assess import assess_rows
from trainlab.evaluate.curves import curves_for
from trainlab.evaluate.diagnose import Diagnosis, LearningCurve, diagnose, learning_curve, skill, subsample_rows
from trainlab.evaluate.errors import confident_mistakes, confusion, segment_errors
from trainlab.evaluate.importance import feature_importance
from trainlab.evaluate.media import media_column, media_evaluation, network_curves
from trainlab.evaluate.metrics import Context, compute_metrics, predicted_labels, resolve_metric
from trainlab.evaluate.uncertainty import paired_difference
from trainlab.evaluate.words import text_summary
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec

ANALYSIS_FILE = "analysis.json"
EVAL_ROWS = 5000
MIN_TRAIN_ROWS = 500
"""Training rows scored at least, however little time is left (for the diagnosis's train score)."""
MIN_CURVE_S = 1.0
"""Seconds the analysis must have left to draw a learning curve at all (one point alone shows nothing)."""
PERMUTATION_ROWS = 2000
BACKGROUND_ROWS = 100
SEGMENT_FEATURES = 3
MIN_MISTAKES_FOR_SEGMENTS = 10


def encode_labels(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The target as class indices in ``schema.classes`` (floats for regression); unknown labels are an error."""
    y = frame[schema.target]
    if schema.task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    index = {_label(c): i for i, c in enumerate(schema.classes)}
    unknown = sorted({_label(v) for v in y.dropna()} - set(index))
    if unknown:
        raise DataError(f"Column '{schema.target}' has label(s) the model never saw: {list_names(unknown)}. "
                        f"The model knows: {list_names([str(c) for c in schema.classes])}. Drop those rows.")
    return np.array([index[_label(v)] for v in y], dtype=int)


def _label(value: Any) -> str:
    """A class label as text, so 1, 1.0 and '1' match."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def context_for(schema: Schema, threshold: float | None = None) -> Context:
    """The metric context of a schema; ``threshold`` is a binary model's decision threshold, if it has one."""
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    return Context(schema.task, positive, max(len(schema.classes), 2), threshold=threshold)


def evaluate_rows(model: Any, schema: Schema, rows: pd.DataFrame, metric_name: str | None,
                  background: pd.DataFrame | None = None, seed: int = 0, threshold: float | None = None,
                  seconds: float | None = None, sensitive: tuple[str, ...] = ()) -> dict[str, Any]:
    """Metrics with their 95 % intervals, curves, confusion matrix, confident mistakes, weak segments, importance
    and, for ``sensitive`` columns, fairness by group, on labelled rows.

    With ``seconds``, permutation importance and Shapley values use fewer rows when the model's measured
    prediction speed says that the usual number would take longer than that (each gets half).
    """
    if schema.target not in rows.columns:
        raise DataError(f"The labelled rows lack the target column '{schema.target}'. Add it: evaluation compares "
                        f"the model's predictions with it.{did_you_mean(schema.target, rows.columns)}")
    rows = rows[rows[schema.target].notna()]
    if rows.empty:
        raise DataError(f"No rows with a value in the target column '{schema.target}' to evaluate on.")
    features = make_features(schema.check_rows(rows), schema)
    y = encode_labels(rows, schema)
    ctx = context_for(schema, threshold)
    started = time.monotonic()
    output = model.output(features)
    row_s = (time.monotonic() - started) / max(len(features), 1)
    result: dict[str, Any] = {"rows": len(rows), "seconds_per_row": row_s, "metrics": compute_metrics(y, output, ctx),
                              "curves": curves_for(schema.task, y, output, list(schema.classes), ctx.positive_index),
                              **assess_rows(y, output, ctx, rows, list(schema.classes), sensitive, seed)}
    classes = list(schema.classes) if schema.task != "regression" else []
    pred = predicted_labels(output, ctx) if classes else output
    if classes:
        result["confusion"] = confusion(y, pred, classes)
    result["mistakes"] = confident_mistakes(rows, y, output, classes, pred)
    if media_column(schema) is not None:  # pictures or sound: occlusion maps stand in for per-column importance
        result["media"] = media_evaluation(model, schema, rows, y, output, pred, seed) if classes else None
        result["error_measure"] = "share of wrong predictions" if classes else "mean absolute error"
        return result
    n_features = features.shape[1]
    permutation_rows = min(PERMUTATION_ROWS, max(500, 100_000 // max(n_features, 1)))
    shap_rows = max(10, min(300, 4_000_000 // (n_features + 1) ** 2))
    if seconds is not None:  # rows each step can afford at the measured seconds per predicted row
        permutation_rows = min(permutation_rows, max(100, int(seconds / 2 / (row_s * 3 * n_features + 1e-9))))
        shap_rows = min(shap_rows, max(10, int(seconds / 2 / (row_s * 8 * (n_features + 1) + 1e-9))))
    sample = subsample_rows(len(rows), permutation_rows, seed)
    metric = resolve_metric(metric_name, schema.task)
    held = features.iloc[sample]
    bg = background if background is not None else held.sample(min(BACKGROUND_ROWS, len(held)), random_state=seed)
    importance = feature_importance(model, held, y[sample], metric, ctx, bg, shap_rows=shap_rows, seed=seed,
                                    shap_seconds=math.inf if seconds is None else seconds / 2)
    result["importance"] = importance.to_dict()
    wrong = (pred != y).astype(float) if classes else np.abs(output - y)
    enough = not classes or wrong.sum() >= MIN_MISTAKES_FOR_SEGMENTS
    result["segments"] = segment_errors(features.reset_index(drop=True), wrong,
                                        importance.ranking()[:SEGMENT_FEATURES]) if enough else []
    result["error_measure"] = "mean absolute error" if schema.task == "regression" else "share of wrong predictions"
    if classes:
        result["text"] = [text_summary(model, features, wrong, classes, c) for c in schema.by_role("text")]
    return result


def analyze_run(folder: Path, model: Any, schema: Schema, frame: pd.DataFrame, split: Split, config: TrainConfig,
                leaderboard: pd.DataFrame, best_model: str, time_left: float | None = None,
                threshold: dict[str, Any] | None = None, runner_up: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate the refitted best model of a run and write ``analysis.json`` into its folder.

    With ``runner_up`` (name, family, params and fit_time_s of the best trial of another family), that model is
    fitted on the training rows too and compared with the best on the test rows by a paired bootstrap, when its
    fit fits in half of the time then left.

    ``time_left`` (the seconds this analysis may take) is shared as the steps come, each from what the ones
    before left: importance and explanations a quarter, the learning curve about 15% of the run's time limit
    (1 to 120 s) and at most half; on large data the curve uses subsamples with the best model's own
    parameters, and says so. On a slow or busy machine the later steps shrink instead of running past the limit.
    """
    started = time.monotonic()
    deadline = started + time_left if time_left is not None and math.isfinite(time_left) else math.inf

    def left() -> float | None:
        return max(0.0, deadline - time.monotonic()) if math.isfinite(deadline) else None

    train_rows, test_rows = frame.iloc[split.train], frame.iloc[split.test]
    train_features = make_features(train_rows, schema)
    background = train_features.sample(min(BACKGROUND_ROWS, len(train_features)), random_state=config.seed)
    cut = threshold["threshold"] if threshold else None
    share = left()
    test = evaluate_rows(model, schema, test_rows, config.metric, background, config.seed, cut,
                         seconds=None if share is None else max(1.0, 0.25 * share), sensitive=config.sensitive)
    ctx = context_for(schema, cut)
    y_train = encode_labels(train_rows, schema)
    share = left()  # the training rows' score needs no more rows than a quarter of the time left allows
    affordable = EVAL_ROWS if share is None else int(0.25 * share / max(test["seconds_per_row"], 1e-9))
    seen = subsample_rows(len(train_rows), max(MIN_TRAIN_ROWS, min(EVAL_ROWS, affordable)), config.seed)
    train_metrics = compute_metrics(y_train[seen], model.output(train_features.iloc[seen]), ctx)
    board = _board_skills(leaderboard, schema.task)
    best_row = board.get(best_model, math.nan)
    others = {k: v for k, v in board.items() if k != best_model and math.isfinite(v)}
    other_name = max(others, key=lambda k: others[k]) if others else ""
    share = left()
    if share is not None and share < MIN_CURVE_S:
        curve = LearningCurve(note="left out: the time limit left no time for it (a longer --time-limit gives one)")
    else:
        curve = learning_curve(_curve_fitter(model, schema, train_features, y_train, split, config),
                               len(split.folds[-1][0]) if split.folds else len(train_rows),
                               seconds=curve_seconds(config.budget.time_limit, share),
                               expected_full_fit_s=_fit_seconds(leaderboard, best_model))
    diagnosis: Diagnosis = diagnose(schema.task, skill(train_metrics, schema.task), best_row,
                                    skill(test["metrics"], schema.task), curve,
                                    others.get(other_name, math.nan), other_name)
    analysis = {"kind": "run", "task": schema.task, "target": schema.target, "classes": [str(c) for c in schema.classes],
                "positive_class": None if schema.positive_class is None else str(schema.positive_class),
                "model": best_model, "ranking_metric": resolve_metric(config.metric, schema.task).name,
                "split_profile": split_profile(train_rows, test_rows, schema), "train_metrics": train_metrics,
                "test": test, "diagnosis": diagnosis.to_dict(), "threshold": threshold,
                "comparison": compare_runner_up(model, best_model, runner_up, schema, train_features, y_train,
                                                test_rows, config, cut, left()),
                "network_curves": network_curves(folder / "model"),
                "seconds": round(time.monotonic() - started, 3)}
    write_json(folder / ANALYSIS_FILE, analysis)
    return analysis


def compare_runner_up(model: Any, best_name: str, runner_up: dict[str, Any] | None, schema: Schema,
                      features: pd.DataFrame, y: np.ndarray, test_rows: pd.DataFrame, config: TrainConfig,
                      threshold: float | None, time_left: float | None) -> dict[str, Any] | None:
    """The paired bootstrap of the best model against the runner-up on the test rows (``uncertainty``), when its
    refit takes at most half of ``time_left``."""
    if runner_up is None:
        return None
    expected = 1.25 * float(runner_up.get("fit_time_s") or 0.0)  # its folds saw 4/5 of these rows
    if time_left is not None and math.isfinite(time_left) and expected > 0.5 * time_left:
        return {"first": best_name, "second": runner_up["name"],
                "verdict": f"Not compared with {runner_up['name']}: refitting it would take about {expected:.1f} s, "
                           "more than the time left allows."}
    other = fit_model(get_spec(runner_up["family"]), runner_up["params"], schema, features, y, None, config.seed,
                      config.jobs or 1)
    test_features = make_features(test_rows, schema)
    ctx = context_for(schema, threshold)
    metric = resolve_metric(config.metric, schema.task).name
    comparison = paired_difference(encode_labels(test_rows, schema), model.output(test_features),
                                   other.output(test_features), ctx, metric, (best_name, str(runner_up["name"])),
                                   seed=config.seed)
    return comparison.to_dict()


def curve_seconds(time_limit: float | None, time_left: float | None) -> float:
    """Seconds for the learning curve: 15% of the time limit, at most half of what is left, 1 to 120 s."""
    seconds = 30.0 if time_limit is None else 0.15 * time_limit
    if time_left is not None and math.isfinite(time_left):
        seconds = min(seconds, 0.5 * time_left)
    return min(120.0, max(1.0, seconds))


def evaluate_saved(model: Any, schema: Schema, rows: pd.DataFrame, folder: Path, *, model_name: str,
                   bundle: Path, data: str, metric: str | None = None, seed: int = 0,
                   threshold: float | None = None) -> dict[str, Any]:
    """Score a saved model on new labelled rows and write ``analysis.json`` (kind 'evaluation') into ``folder``."""
    started = time.monotonic()
    test = evaluate_rows(model, schema, rows, metric, seed=seed, threshold=threshold)
    analysis = {"kind": "evaluation", "task": schema.task, "target": schema.target, "data": data,
                "classes": [str(c) for c in schema.classes], "model": model_name, "bundle": str(bundle),
                "ranking_metric": resolve_metric(metric, schema.task).name, "test": test,
                "threshold": None if threshold is None else {"threshold": threshold},
                "network_curves": network_curves(bundle),
                "seconds": round(time.monotonic() - started, 3)}
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / ANALYSIS_FILE, analysis)
    return analysis


def fairness_saved(model: Any, schema: Schema, rows: pd.DataFrame, sensitive: tuple[str, ...], *,
                   threshold: float | None = None, seed: int = 0) -> dict[str, Any]:
    """Fairness by group of a saved model on new labelled rows, with the metrics and their intervals."""
    missing = [c for c in sensitive if c not in rows.columns]
    if missing:
        raise DataError(f"Column(s) {list_names(missing)} given to --sensitive are not in the rows."
                        f"{did_you_mean(missing[0], rows.columns)} Columns: {list_names(list(rows.columns))}.")
    if not sensitive:
        raise DataError("Name the columns to measure fairness on with --sensitive (e.g. --sensitive sex,age).")
    if schema.target not in rows.columns:
        raise DataError(f"The rows lack the target column '{schema.target}': fairness compares the model's "
                        f"predictions with the true outcomes of each group.{did_you_mean(schema.target, rows.columns)}")
    rows = rows[rows[schema.target].notna()].reset_index(drop=True)
    features = make_features(schema.check_rows(rows), schema)
    y = encode_labels(rows, schema)
    ctx = context_for(schema, threshold)
    output = model.output(features)
    return {"rows": len(rows), "metrics": compute_metrics(y, output, ctx),
            **assess_rows(y, output, ctx, rows, list(schema.classes), sensitive, seed)}


def _distinct_members(model: Any) -> tuple[list[tuple[str, dict[str, Any]]], list[float]]:
    """The model's members as (family, parameters) with weights, members that differ only in their number of
    boosting rounds (the fold models of one trial) merged into one with their weighted mean of rounds."""
    groups: dict[str, list[Any]] = {}
    for member, weight in zip(getattr(model, "members", [model]), getattr(model, "weights", [1.0]), strict=True):
        rounds_param = get_spec(member.family).rounds_param
        key = json.dumps([member.family, {k: v for k, v in member.params.items() if k != rounds_param}],
                         sort_keys=True, default=str)
        groups.setdefault(key, []).append((member, float(weight)))
    members, weights = [], []
    for group in groups.values():
        first, total = group[0][0], sum(w for _, w in group)
        params = dict(first.params)
        rounds_param = get_spec(first.family).rounds_param
        if rounds_param in params:
            params[rounds_param] = max(1, round(sum(m.params[rounds_param] * w for m, w in group) / total))
        members.append((first.family, params))
        weights.append(total)
    return members, weights


def _curve_fitter(model: Any, schema: Schema, features: pd.DataFrame, y: np.ndarray, split: Split,
                  config: TrainConfig) -> Any:
    """fit_and_score(n): refit the model's family(ies) and parameters on n rows of the last fold's training part."""
    if split.folds:
        fit_rows, valid_rows = split.folds[-1]
    else:
        order = np.random.default_rng(config.seed).permutation(len(y))
        fit_rows, valid_rows = order[len(y) // 5:], order[: len(y) // 5]
    fit_rows = np.random.default_rng(config.seed).permutation(fit_rows)
    valid_rows = valid_rows[subsample_rows(len(valid_rows), EVAL_ROWS, config.seed)]
    members, weights = _distinct_members(model)
    ctx = context_for(schema)

    def fit_and_score(n: int) -> tuple[float, float]:
        rows = fit_rows[:n]
        fitted = [fit_model(get_spec(family), params, schema, features.iloc[rows], y[rows], None, config.seed,
                            config.jobs or 1) for family, params in members]

        def output(at: np.ndarray) -> np.ndarray:
            return np.sum([w * f.output(features.iloc[at]) for w, f in zip(weights, fitted, strict=True)], axis=0)

        scored = rows[:EVAL_ROWS]
        try:
            return (skill(compute_metrics(y[scored], output(scored), ctx), schema.task),
                    skill(compute_metrics(y[valid_rows], output(valid_rows), ctx), schema.task))
        except ValueError:
            return math.nan, math.nan
    return fit_and_score


def _board_skills(leaderboard: pd.DataFrame, task: str) -> dict[str, float]:
    """Cross-validation skill of every model that ran."""
    if leaderboard.empty:
        return {}
    out = {}
    for _, row in leaderboard.iterrows():
        if row.get("status") != "ok":
            continue
        metrics = {str(k)[4:]: float(v) for k, v in row.items() if str(k).startswith("val_") and pd.notna(v)}
        out[str(row["model"])] = skill(metrics, task)
    return out


def _fit_seconds(leaderboard: pd.DataFrame, model: str) -> float | None:
    if leaderboard.empty or "fit_time_s" not in leaderboard:
        return None
    match = leaderboard.loc[leaderboard["model"] == model, "fit_time_s"]
    return float(match.iloc[0]) if len(match) and pd.notna(match.iloc[0]) else None


def split_profile(train: pd.DataFrame, test: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """How the target is spread in the training and test parts: class counts, or quantiles for numbers."""
    if schema.task == "regression":
        qs = [0.0, 0.25, 0.5, 0.75, 1.0]

        def quantiles(s: pd.Series) -> list[float]:
            return [float(v) for v in pd.to_numeric(s, errors="coerce").quantile(qs)]
        return {"quantiles": qs, "train": quantiles(train[schema.target]), "test": quantiles(test[schema.target])}
    labels = [str(c) for c in schema.classes]

    def counts(s: pd.Series) -> list[int]:
        c = s.astype(str).value_counts()
        return [int(c.get(label, 0)) for label in labels]
    return {"classes": labels, "train": counts(train[schema.target]), "test": counts(test[schema.target])}


def background_records(features: pd.DataFrame, seed: int, rows: int = 50) -> list[dict[str, Any]]:
    """A small random sample of feature rows as plain records, kept in a bundle for model-agnostic explanations;
    none for pictures and sound, whose thousands of columns get no per-column explanations."""
    if block_columns(list(features.columns)):
        return []
    sample = features.sample(min(rows, len(features)), random_state=seed)
    return json.loads(sample.to_json(orient="records"))


def jsonable(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def write_json(path: Path, data: Any) -> None:
    """Write strict JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(jsonable(data), indent=2, default=str, allow_nan=False), encoding="utf-8")
    tmp.replace(path)
