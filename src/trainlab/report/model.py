"""The report as plain data, read from a run folder (run.json, leaderboard.csv, trials.csv, analysis.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab.errors import TrainlabError

ANALYSIS_FILE = "analysis.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainlabError(f"Cannot read '{path}': {exc}. Rerun the training, or give a complete run folder.") from exc


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def clean(value: Any) -> Any:
    """JSON-safe values: NaN becomes None, nested containers are cleaned too."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def load_report(folder: str | Path) -> dict[str, Any]:
    """Everything the report shows, as plain data: the run's record, leaderboard, tuning trials and analysis."""
    folder = Path(folder)
    if not (folder / "run.json").is_file() and not (folder / ANALYSIS_FILE).is_file():
        raise TrainlabError(f"'{folder}' is not a trainlab run folder: it has no run.json. Give a folder under "
                            "runs/, e.g. 'trainlab report runs/<name>'.")
    run = _read_json(folder / "run.json") if (folder / "run.json").is_file() else {}
    analysis = _read_json(folder / ANALYSIS_FILE) if (folder / ANALYSIS_FILE).is_file() else {}
    board = pd.read_csv(folder / "leaderboard.csv") if (folder / "leaderboard.csv").is_file() else pd.DataFrame()
    trials = pd.read_csv(folder / "trials.csv") if (folder / "trials.csv").is_file() else pd.DataFrame()
    return {"folder": str(folder), "name": folder.name, "run": run, "analysis": analysis,
            "leaderboard": _records(board), "tuning": tuning_summary(trials), "usage": usage(folder, run, analysis)}


def tuning_summary(trials: pd.DataFrame) -> dict[str, Any]:
    """The tuning trials in order, and per family the number of trials, default and best score and best parameters."""
    if trials.empty:
        return {"trials": [], "families": []}
    trials = trials.copy()
    rows = _records(trials)
    families = []
    for family, group in trials.groupby("family", sort=False):
        ok = group[(group["status"] == "ok") & group["score"].notna()]
        default = ok.loc[ok["source"] == "default", "score"] if "source" in ok else pd.Series(dtype=float)
        families.append({"family": str(family), "trials": len(group), "ok": len(ok),
                         "default_score": clean(float(default.iloc[0])) if len(default) else None,
                         "scores": [clean(float(s)) for s in ok["score"]]})
    return {"trials": rows, "families": families}


def best_params(trials: list[dict[str, Any]], model: str, family: str, greater_is_better: bool) -> dict[str, Any]:
    """The parameters of the chosen model's trial (else of its family's best trial); an ensemble's members as
    'name': 'share' entries."""
    ok = [t for t in trials if t.get("family") == family and t.get("status") == "ok" and t.get("score") is not None]
    named = [t for t in trials if t.get("model") == model]
    if not named and not ok:
        return {}
    best = named[0] if named else max(ok, key=lambda t: t["score"] if greater_is_better else -t["score"])
    try:
        params = dict(json.loads(best.get("params") or "{}"))
    except json.JSONDecodeError:
        return {}
    members = params.get("members")
    if isinstance(members, dict):
        return {f"member {name}": f"{100 * float(w):.0f} % of the blend" for name, w in members.items()}
    return params


def usage(folder: Path, run: dict[str, Any], analysis: dict[str, Any]) -> dict[str, str]:
    """The exact commands and Python lines to use the model."""
    bundle = Path(analysis.get("bundle") or folder / "model")
    target = run.get("target") or analysis.get("target", "target")
    return {"predict": f"trainlab predict {bundle} new_rows.csv -o predictions.csv",
            "explain": f"trainlab explain {bundle} new_rows.csv",
            "evaluate": f"trainlab evaluate {bundle} labeled_rows.csv",
            "python": (f"import trainlab\npredictor = trainlab.load({str(bundle)!r})\n"
                       f"predictions = predictor.predict('new_rows.csv')  # rows with the training columns, no {target!r}\n"
                       "explanations = predictor.explain('new_rows.csv')")}


GREATER_IS_BETTER = {"roc_auc", "accuracy", "balanced_accuracy", "precision", "recall", "f1", "mcc", "r2"}


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers for machines (summary.json): no plots, the same figures."""
    run, analysis = report["run"], report["analysis"]
    test = analysis.get("test", {})
    metric = run.get("ranking_metric") or analysis.get("ranking_metric")
    greater = metric in GREATER_IS_BETTER
    best = run.get("best_model") or analysis.get("model")
    best_family = next((r.get("family") for r in report["leaderboard"] if r.get("model") == best), best)
    diagnosis = dict(analysis.get("diagnosis") or {})
    return clean({
        "run": report["name"], "kind": analysis.get("kind", "run"), "task": run.get("task") or analysis.get("task"),
        "target": run.get("target") or analysis.get("target"), "data": run.get("data") or analysis.get("data"),
        "split": run.get("split"),
        "ranking_metric": metric, "best_model": best,
        "best_params": best_params(report["tuning"]["trials"], str(best), str(best_family), greater),
        "test_metrics": test.get("metrics") or run.get("test_metrics"),
        "test_intervals": test.get("intervals") or run.get("test_intervals"),
        "interval_method": test.get("interval_method"),
        "validation_spread": run.get("validation_spread"),
        "comparison": analysis.get("comparison"),
        "fairness": test.get("fairness") or run.get("fairness"),
        "train_metrics": analysis.get("train_metrics"),
        "leaderboard": report["leaderboard"],
        "tuning": {"trials": len(report["tuning"]["trials"]), "families": report["tuning"]["families"]},
        "curves": {k: v for k, v in (test.get("curves") or {}).items() if k in ("kind", "positive_class")}
        | _curve_numbers(test.get("curves") or {}),
        "confusion": test.get("confusion"), "segments": test.get("segments"), "mistakes": test.get("mistakes"),
        "diagnosis": diagnosis, "importance": test.get("importance"), "threshold": analysis.get("threshold"),
        "calibration": calibration_summary(run.get("calibration")),
        "class_weights": run.get("class_weights"), "refit": run.get("refit"),
        "timings": run.get("timings"), "analysis_seconds": analysis.get("seconds"),
        "usage": report["usage"],
    })


CALIBRATION_NAMES = {"sigmoid": "Platt scaling (sigmoid)", "isotonic": "isotonic regression",
                     "temperature": "temperature scaling", "sigmoid_ovr": "per-class Platt scaling (one-vs-rest)"}


def calibration_summary(record: Any) -> dict[str, Any] | None:
    """How the probabilities were calibrated: method, its name in words, out-of-fold log loss before and after."""
    if not isinstance(record, dict):
        return None
    method = str(record.get("method", "none"))
    return {"method": method, "name": CALIBRATION_NAMES.get(method, method),
            "tried": [CALIBRATION_NAMES.get(str(m), str(m)) for m in record.get("candidates") or {}],
            "oof_log_loss_before": record.get("oof_log_loss_before"),
            "oof_log_loss_after": record.get("oof_log_loss_after"), "reason": record.get("reason")}


def _curve_numbers(curves: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "roc" in curves:
        out["roc_auc"] = curves["roc"]["auc"]
    if "pr" in curves:
        out["average_precision"] = curves["pr"]["average_precision"]
    if "calibration" in curves:
        out["brier"] = curves["calibration"]["brier"]
    if "residual_quantiles" in curves:
        out["residual_quantiles"] = curves["residual_quantiles"]
    return out
