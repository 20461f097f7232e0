"""Run: walks a table through the steps of training and owns the run folder, the record of the run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.bundle import save_bundle
from trainlab.bundle.io import Model
from trainlab.bundle.manifest import library_versions
from trainlab.config import TrainConfig, make_config
from trainlab.data.checks import CheckedData, Finding, check_data
from trainlab.data.load import fingerprint, load_table
from trainlab.data.prepare import make_features
from trainlab.data.schema import Schema
from trainlab.data.split import Split, make_split
from trainlab.evaluate.metrics import Context, compute_metrics, resolve_metric
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec, select_families
from trainlab.predict import Predictor
from trainlab.search.budget import Budget
from trainlab.search.scheduler import Listener, SearchResult, run_defaults
from trainlab.search.trial import TrainingData, TrialResult

LEADERBOARD_FIRST = ["model", "family", "status", "error"]
TIME_COLUMNS = ["fit_time_s", "predict_time_s"]


@dataclass
class Run:
    """The outcome of ``train``: leaderboard, best model, test scores, and the run folder they are saved in."""

    config: TrainConfig
    folder: Path
    schema: Schema
    findings: list[Finding]
    split: dict[str, Any]
    leaderboard: pd.DataFrame
    best_model: str
    test_metrics: dict[str, float]
    predictor: Predictor
    trials: list[TrialResult] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bundle_path(self) -> Path:
        return self.folder / "model"

    def predict(self, rows: pd.DataFrame | str | Path) -> np.ndarray:
        return self.predictor.predict(rows)

    def predict_proba(self, rows: pd.DataFrame | str | Path) -> pd.DataFrame:
        return self.predictor.predict_proba(rows)

    def save(self, path: str | Path) -> Path:
        """Copy the best model's bundle to ``path`` (written atomically)."""
        manifest = self.predictor.manifest
        details = {k: getattr(manifest, k) for k in ("metrics", "config", "data_fingerprint", "reference", "extras")}
        save_bundle(self.predictor.model, self.schema, Path(path), **details)
        return Path(path)


def train(data: pd.DataFrame | str | Path, target: str | None = None, *, config: TrainConfig | None = None,
          listener: Listener | None = None, **options: Any) -> Run:
    """Train, compare and save models for ``target``; options are those of ``trainlab train`` (time_limit=30, ...)."""
    started = time.monotonic()
    if config is None:
        if target is None:
            raise TypeError("train() needs target='column' or config=TrainConfig(...)")
        config = make_config(target, **options)
    notify: Callable[[str, dict[str, Any]], None] = listener or (lambda kind, info: None)
    budget = Budget(config.budget.time_limit, config.budget.max_trials, started=started)

    notify("stage", {"name": "Loading and checking the data"})
    frame = load_table(data)
    checked = check_data(frame, config)
    schema = checked.schema
    metric = resolve_metric(config.metric, schema.task)
    split = make_split(checked.frame, schema, config.split, config.seed)
    training = _training_data(checked, split, config)
    families, skipped = select_families(schema.task, len(split.train), config.models, config.exclude_models)
    prepared_at = budget.elapsed()
    budget.reserve_s = _reserve(config, len(split.train))

    notify("stage", {"name": f"Training {len(families)} model families", "metric": metric.name})
    search = run_defaults(training, families, budget, listener)
    search.skipped = {**skipped, **search.skipped}
    best = _best_trial(search, metric.greater_is_better)

    notify("stage", {"name": f"Refitting {best.candidate.name} on all training rows and testing it"})
    model = fit_model(get_spec(best.candidate.family), best.candidate.params, schema, training.features,
                      training.y, training.weights, config.seed, config.jobs)
    test_metrics = _test_metrics(model, checked.frame.iloc[split.test], schema, config)
    folder = _run_folder(config, data)
    leaderboard = make_leaderboard(search, metric.name, metric.greater_is_better)
    details = {"metrics": {"ranking_metric": metric.name, "validation": best.metrics, "test": test_metrics},
               "config": config.to_dict(), "data_fingerprint": fingerprint(frame),
               "extras": {"model_name": best.candidate.name}}
    manifest = save_bundle(model, schema, folder / "model", **details)
    timings = {"prepare_s": prepared_at, "total_s": budget.elapsed()}
    run = Run(config=config, folder=folder, schema=schema, findings=checked.findings, split=split.describe(),
              leaderboard=leaderboard, best_model=best.candidate.name, test_metrics=test_metrics,
              predictor=Predictor(model, schema, manifest), trials=search.trials, skipped=search.skipped,
              timings=timings)
    write_run_folder(run, data, manifest.data_fingerprint, metric.name)
    run.timings["total_s"] = budget.elapsed()
    notify("done", {"run": run})
    return run


def _training_data(checked: CheckedData, split: Split, config: TrainConfig) -> TrainingData:
    schema = checked.schema
    train = checked.frame.iloc[split.train]
    metric = resolve_metric(config.metric, schema.task)
    weights = train[config.weight_column].to_numpy(dtype=float) if config.weight_column else None
    n_classes = len(schema.classes)
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    return TrainingData(schema=schema, features=make_features(train, schema), y=encode_target(train, schema),
                        weights=weights, folds=split.folds, context=Context(schema.task, positive, n_classes),
                        metric=metric, seed=config.seed, n_jobs=config.jobs)


def encode_target(frame: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Class labels as their index in ``schema.classes``; numbers as floats for regression."""
    y = frame[schema.target]
    if schema.task == "regression":
        return y.to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(schema.classes)}
    return np.array([index[v] for v in y], dtype=int)


def _reserve(config: TrainConfig, n_train: int) -> float:
    """Seconds kept back from trials for the refit, the test scoring and saving."""
    if config.budget.time_limit is None:
        return 0.0
    return min(0.25 * config.budget.time_limit, 1.0 + n_train / 20_000)


def _best_trial(search: SearchResult, greater_is_better: bool) -> TrialResult:
    ok = [t for t in search.trials if t.ok and not np.isnan(t.score)]
    if not ok:
        reasons = "; ".join(f"{t.candidate.name}: {t.error}" for t in search.trials) or "no model had time to run"
        from trainlab.errors import TrainlabError

        raise TrainlabError(f"No model could be trained ({reasons}). Raise --time-limit or check the data "
                            "with 'trainlab doctor'.")
    return sorted(ok, key=lambda t: -t.score if greater_is_better else t.score)[0]


def _test_metrics(model: Model, test: pd.DataFrame, schema: Schema, config: TrainConfig) -> dict[str, float]:
    y = encode_target(test, schema)
    weights = test[config.weight_column].to_numpy(dtype=float) if config.weight_column else None
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    ctx = Context(schema.task, positive, len(schema.classes), weights)
    return compute_metrics(y, model.output(make_features(test, schema)), ctx)


def make_leaderboard(search: SearchResult, metric: str, greater_is_better: bool) -> pd.DataFrame:
    """One row per model, best first: model, family, status, error, validation metrics, times."""
    rows = []
    for t in search.trials:
        row: dict[str, Any] = {"model": t.candidate.name, "family": t.candidate.family, "status": t.status,
                               "error": t.error}
        row[f"val_{metric}"] = t.score
        row.update({f"val_{k}": v for k, v in t.metrics.items() if k != metric})
        row.update({"fit_time_s": round(t.fit_time_s, 4), "predict_time_s": round(t.predict_time_s, 4)})
        rows.append(row)
    board = pd.DataFrame(rows)
    if board.empty:
        return board
    middle = [c for c in board.columns if c not in LEADERBOARD_FIRST + TIME_COLUMNS]
    board = board[LEADERBOARD_FIRST + middle + TIME_COLUMNS]
    board["_failed"] = board["status"] != "ok"
    board = board.sort_values(["_failed", f"val_{metric}"], ascending=[True, not greater_is_better],
                              na_position="last", kind="stable")
    return board.drop(columns="_failed").reset_index(drop=True)


def _run_folder(config: TrainConfig, data: Any) -> Path:
    stem = Path(str(data)).stem if isinstance(data, str | Path) else "dataframe"
    name = config.name or f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder = config.out_dir / name
    n = 1
    while folder.exists() and config.name is None:
        n += 1
        folder = config.out_dir / f"{name}-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_run_folder(run: Run, data: Any, data_fingerprint: str, metric: str) -> None:
    """run.json, leaderboard.csv/.json and trials.csv: the run's record, written atomically file by file."""
    record = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(data) if isinstance(data, str | Path) else "DataFrame",
        "data_fingerprint": data_fingerprint,
        "config": run.config.to_dict(),
        "seed": run.config.seed,
        "versions": library_versions(),
        "task": run.schema.task,
        "target": run.schema.target,
        "ranking_metric": metric,
        "split": run.split,
        "schema": run.schema.to_dict(),
        "findings": [f.to_dict() for f in run.findings],
        "skipped_families": run.skipped,
        "best_model": run.best_model,
        "test_metrics": run.test_metrics,
        "timings": run.timings,
        "budget_kind": "trials (repeatable)" if run.config.budget.max_trials and not run.config.budget.time_limit
        else "wall clock (not exactly repeatable)",
    }
    _write_text(run.folder / "run.json", json.dumps(record, indent=2, default=str))
    _write_text(run.folder / "leaderboard.csv", run.leaderboard.to_csv(index=False))
    _write_text(run.folder / "leaderboard.json", run.leaderboard.to_json(orient="records", indent=2))
    trials = pd.DataFrame([{"number": t.number, "model": t.candidate.name, "family": t.candidate.family,
                            "source": t.candidate.source, "params": json.dumps(t.candidate.params, default=str),
                            "score": t.score, "fit_time_s": t.fit_time_s, "status": t.status, "error": t.error}
                           for t in run.trials])
    _write_text(run.folder / "trials.csv", trials.to_csv(index=False))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
