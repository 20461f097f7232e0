"""Run: walks a table through the steps of training and owns the run folder, the record of the run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.bundle import save_bundle
from trainlab.bundle.early import EarlyModel
from trainlab.bundle.io import add_documents
from trainlab.bundle.manifest import library_versions
from trainlab.config import TrainConfig, make_config
from trainlab.data.checks import CheckedData, Finding, check_data
from trainlab.data.load import fingerprint, load_table
from trainlab.data.media.unzip import content_key, holds_media
from trainlab.data.prepare import make_features
from trainlab.data.profile import data_summary, profile_reference
from trainlab.data.schema import Schema
from trainlab.data.split import Split, make_split
from trainlab.errors import ConfigError, DataError
from trainlab.evaluate.analysis import analyze_run, background_records
from trainlab.evaluate.metrics import Context, resolve_metric
from trainlab.evaluate.uncertainty import fold_spread
from trainlab.final import encode_target, finish, fold_scores, runner_up
from trainlab.models.registry import exportable_families, select_families
from trainlab.predict import Predictor
from trainlab.report import write_model_card, write_report
from trainlab.report.card import CARD_FILE
from trainlab.search.budget import Budget
from trainlab.search.executor import Executor, InProcessExecutor, ProcessExecutor, gpu_visible
from trainlab.search.journal import TrialJournal
from trainlab.search.ray_executor import RayExecutor
from trainlab.search.scheduler import PLANS, Listener, Scheduler, SearchResult, class_weighting
from trainlab.search.shape import shape_families
from trainlab.search.trial import Candidate, TrainingData, TrialResult
from trainlab.search.validation import validation_after_slow_folds, validation_before_search

LEADERBOARD_FIRST = ["model", "family", "status", "error"]
SMALL_TABLE_ROWS = 20_000
MAX_AUTO_WORKERS = 8
TIME_COLUMNS = ["fit_time_s", "predict_time_s"]
REPORT_FIXED_S = 4.0
"""Seconds the analysis and report take beyond the learning curve's share of the limit, kept back for them."""
REPORT_WRITE_S = 2.5
"""Of those, the seconds kept for writing report.html once the analysis is done (its plots: 1.8-4 s on a slow
2-core machine, matplotlib's import included), so that the analysis ends in time for it."""


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
    timings: dict[str, float | None] = field(default_factory=dict)
    test_intervals: dict[str, dict[str, float]] = field(default_factory=dict)
    validation_spread: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] | None = None

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
        card = self.bundle_path / CARD_FILE
        if card.is_file():
            add_documents(Path(path), {CARD_FILE: card.read_text(encoding="utf-8")})
        return Path(path)


def train(data: pd.DataFrame | str | Path, target: str | None = None, *, config: TrainConfig | None = None,
          listener: Listener | None = None, resume: str | Path | None = None, report: bool = True,
          started: float | None = None, **options: Any) -> Run:
    """Train, compare and save models for ``target``; options are those of ``trainlab train`` (time_limit=30, ...).

    ``resume`` names the folder of an interrupted run: its finished trials are kept and the search goes on.
    ``report=False`` skips the analysis and report.html (the estimators' ``fit`` into a temporary folder).
    ``started`` is the ``time.monotonic()`` reading the time limit counts from (default: now); the command line
    passes the moment its entry point was called, and ``trainlab.train`` the moment it was, so imports count too.
    """
    started = time.monotonic() if started is None else started
    if config is None:
        if target is None:
            raise TypeError("train() needs target='column' or config=TrainConfig(...)")
        config = make_config(target, **options)
    notify: Callable[[str, dict[str, Any]], None] = listener or (lambda kind, info: None)
    budget = Budget(config.budget.time_limit, config.budget.max_trials, started=started)

    if config.distributed:
        return _train_distributed(data, config, notify, started)
    notify("stage", {"name": "Loading and checking the data"})
    frame = _load(data, config)
    checked = check_data(frame, config)
    if "unpacked" in frame.attrs:
        where = frame.attrs["unpacked"]
        checked.findings.append(Finding("info", "unpacked", f"Unpacked the pictures or sound files of "
                                        f"'{where['archive']}' into '{where['folder']}' (kept for the report and "
                                        "later runs of the same archive)."))
    schema = checked.schema
    metric = resolve_metric(config.metric, schema.task)
    split = make_split(checked.frame, schema, config.split, config.seed)
    training = training_data(checked, split, config)
    families, skipped = select_families(schema.task, len(split.train), config.models, config.exclude_models,
                                        has_text=bool(schema.by_role("text")))
    if config.exportable:
        families, unexportable = exportable_families(families, schema.by_role("categorical"), schema.by_role("datetime"))
        skipped.update(unexportable)
    families = [replace(s, defaults={**s.defaults, "device": config.device}) if "device" in s.defaults else s
                for s in families]  # a family with a device parameter trains where --device says
    families, shaped = shape_families(families, training)
    checked.findings.extend(shaped)
    resumed_on_one = None if resume is None else _validated_on_one_split(Path(resume))
    split, training = validation_before_search(checked, split, training, families, config, resumed_on_one)
    executor = _executor(training, config)  # before the run folder: a cluster that does not answer leaves none
    try:
        folder = Path(resume) if resume is not None else _run_folder(config, data)
    except BaseException:
        executor.close()
        raise
    details = {"config": config.to_dict(), "data_fingerprint": fingerprint(frame)}
    _write_running(folder, data, details, split)
    prepared_at = budget.elapsed()
    budget.reserve_s = reserve_seconds(config, len(split.train), report, spent=prepared_at)
    if config.refit_full:  # the second refit, on every row, is kept time for too
        budget.refits = 1 + (len(split.train) + len(split.test)) / max(1, len(split.train))

    notify("stage", {"name": f"Training {len(families)} model families", "metric": metric.name})
    early = EarlyModel(training, folder / "model", details, budget)
    refold = resume is None and config.budget.max_trials is None and len(split.folds) > 1
    search, refit_cost = _search(executor, training, families, config, budget, folder,
                                 _both(listener, early.on_event), early, refold)
    if search.too_slow is not None:  # a booster's timed folds said they do not fit: one holdout, searched again
        split, training = validation_after_slow_folds(search.too_slow, checked, split, training, config)
        _write_running(folder, data, details, split)
        TrialJournal(folder / "search").clear()
        notify("stage", {"name": "Searching again on one validation holdout (the folds were too slow)"})
        search, refit_cost = _search(_executor(training, config), training, families, config, budget, folder,
                                     _both(listener, early.on_event), early, refold=False)
    search.skipped = {**skipped, **search.skipped}
    checked.findings.extend(sampled_finding(search.trials, len(training.y)))
    final = finish(search, refit_cost, checked, split, training, config, budget, notify,
                   lambda part: training_data(checked, part, config))
    for trial in search.trials:  # fold models served the final choice; a Run (and an estimator's run_) drops them
        trial.fold_models = None
    model, best = final.model, final.best
    test_output = final.test_output if final.test_output is not None else \
        model.output(make_features(checked.frame.iloc[split.test], schema))
    leaderboard = make_leaderboard(search, metric.name, metric.greater_is_better)
    scores = fold_scores(best, training)
    spread = {"metric": metric.name, "folds": len(scores), "fold_sd": fold_spread(scores)}
    details.update({"metrics": {"ranking_metric": metric.name, "validation": best.metrics, "test": final.test_metrics,
                                "test_intervals": final.assessment["intervals"],
                                "interval_method": final.assessment["interval_method"], "validation_spread": spread,
                                "fairness": final.assessment["fairness"]},
                    "extras": {"model_name": best.candidate.name,
                               "data_summary": data_summary(checked.frame, schema, config.split.time_column),
                               "background": background_records(training.features, config.seed),
                               "threshold": final.threshold, "calibration": final.calibration,
                               "class_weights": class_weighting(best, search), "refit": final.refit},
                    "reference": profile_reference(training.features, schema, test_output)})
    manifest = save_bundle(model, schema, folder / "model", **details)
    timings = {"prepare_s": prepared_at, "first_model_s": early.seconds_after(prepared_at), "total_s": budget.elapsed()}
    run = Run(config=config, folder=folder, schema=schema, findings=checked.findings, split=split.describe(),
              leaderboard=leaderboard, best_model=best.candidate.name, test_metrics=final.test_metrics,
              predictor=Predictor(model, schema, manifest), trials=search.trials, skipped=search.skipped,
              timings=timings, test_intervals=final.assessment["intervals"], validation_spread=spread,
              fairness=final.assessment["fairness"])
    write_run_folder(run, data, manifest.data_fingerprint, metric.name)
    if report:
        notify("stage", {"name": "Evaluating and explaining the best model, writing report.html"})
        analyze_run(folder, model, schema, checked.frame, split, config, leaderboard, best.candidate.name,
                    time_left=max(0.0, budget.to_limit() - REPORT_WRITE_S), threshold=final.threshold,
                    runner_up=runner_up(best, search, metric.greater_is_better))
        write_report(folder)
    write_model_card(folder)
    run.timings["total_s"] = budget.elapsed()
    notify("done", {"run": run})
    return run


def _train_distributed(data: Any, config: TrainConfig, notify: Callable[[str, dict[str, Any]], None],
                       started: float) -> Run:
    """``--distributed``: LightGBM and XGBoost data-parallel on the Ray cluster from a table in parts
    (``trainlab.distributed``); the same run folder, leaderboard and bundle as a local run come out (no search, no
    report)."""
    from trainlab.distributed import as_frame, fit_distributed

    if not isinstance(data, str | Path):
        raise ConfigError("Option --distributed reads a table in parts on the cluster: give a quoted glob such as "
                          "'parts/*.parquet' or a folder of Parquet or CSV files, not a DataFrame.")
    notify("stage", {"name": f"Training LightGBM and XGBoost data-parallel on the Ray cluster ({config.ray})"})
    fit = fit_distributed(data, config, workers=max(2, config.jobs or 2))
    folder = _run_folder(config, data)
    schema, best = fit.checked.schema, fit.best
    details = {"config": config.to_dict(), "data_fingerprint": f"parts:{_data_name(data)}",
               "metrics": {"ranking_metric": fit.metric, "validation": best.validation, "test": best.test_metrics},
               "extras": {"model_name": best.name, "distributed": {
                   "workers": fit.workers, "rows": fit.rows, "first_worker_rows": best.first_worker_rows,
                   "seconds": fit.seconds, "models": {m.name: {"seconds": m.seconds, "validation": m.validation,
                                                                "test": m.test_metrics} for m in fit.models}}}}
    manifest = save_bundle(best.model, schema, folder / "model", **details)
    trials = [TrialResult(Candidate(m.name, m.model.family, dict(m.model.params)), "ok",
                          score=m.validation[fit.metric], metrics=m.validation, fit_time_s=m.seconds)
              for m in fit.models]
    run = Run(config=config, folder=folder, schema=schema, findings=fit.checked.findings,
              split={"kind": "random", "rows": fit.rows}, leaderboard=as_frame(fit),
              best_model=best.name, test_metrics=best.test_metrics,
              predictor=Predictor(best.model, schema, manifest), trials=trials,
              timings={"prepare_s": None, "first_model_s": None, "total_s": time.monotonic() - started})
    write_run_folder(run, data, manifest.data_fingerprint, fit.metric)
    notify("done", {"run": run})
    return run


def sampled_finding(trials: list[TrialResult], n_rows: int) -> list[Finding]:
    """A finding that says which trials fitted on a sample of the rows, and how large (long tables)."""
    sizes = [int(t.candidate.params["sample_rows"]) for t in trials if t.sampled]
    if not sizes:
        return []
    return [Finding("info", "sampled_trials",
                    f"{len(sizes)} of {len(trials)} trials fitted on stratified samples of {min(sizes)} to "
                    f"{max(sizes)} rows (grown with the time left, see large_table); the final model refits on all "
                    f"{n_rows} training rows (run.json 'refit' says with which rounds).")]


def _write_running(folder: Path, data: Any, details: dict[str, Any], split: Split) -> None:
    """run.json while the run goes on: its settings and how it validates (what a resumed run validates as)."""
    _write_text(folder / "run.json", json.dumps({"status": "running", "data": _data_name(data), **details,
                                                "split": split.describe()}, indent=2))


def _search(executor: Executor, training: TrainingData, families: list[Any], config: TrainConfig, budget: Budget,
            folder: Path, listener: Listener, early: EarlyModel,
            refold: bool = False) -> tuple[SearchResult, Callable[[TrialResult, float], float]]:
    """Run the scheduler on the executor (closed at the end); returns what it found and its refit-cost estimate.
    ``refold``: the search may stop early when a booster's timed folds say one holdout should replace them."""
    try:
        scheduler = Scheduler(training, budget, PLANS[config.preset], executor, listener, TrialJournal(folder / "search"),
                              named=config.models, refold=refold)
        search = scheduler.run(families)
    finally:
        executor.close()
        early.wait()
    return search, scheduler.refit_cost


def _both(first: Listener | None, second: Listener) -> Listener:
    def listen(kind: str, info: dict[str, Any]) -> None:
        second(kind, info)
        if first is not None:
            first(kind, info)
    return listen


def _executor(training: TrainingData, config: TrainConfig) -> Executor:
    """Ray tasks with --ray; worker processes under a time limit (an overdue trial can be stopped), in-process otherwise."""
    if config.ray is not None:
        return RayExecutor(training, config.ray, config.jobs or 1)
    workers, _ = parallelism(config, len(training.y))
    if workers > 1 or config.budget.time_limit is not None:
        return ProcessExecutor(training, workers, gpu=config.device != "cpu" and gpu_visible())
    return InProcessExecutor(training)


def parallelism(config: TrainConfig, n_rows: int) -> tuple[int, int]:
    """Trials side by side and threads per trial: ``--jobs`` when given, else one single-threaded trial per core
    on small tables under a time limit (their fits gain little from threads: 0.15 s with one thread or two for a
    LightGBM fit on 3,000 rows) and one trial at a time on every core otherwise."""
    cores = os.cpu_count() or 1
    if config.jobs is not None:
        return config.jobs, max(1, cores // config.jobs)
    if n_rows >= SMALL_TABLE_ROWS:
        return 1, cores
    if config.budget.time_limit is None or config.ray is not None:
        return 1, 1
    return min(cores, MAX_AUTO_WORKERS), 1


def training_data(checked: CheckedData, split: Split, config: TrainConfig) -> TrainingData:
    """The training part of ``split`` as trials see it: features, encoded target, weights, folds and metric."""
    schema = checked.schema
    train = checked.frame.iloc[split.train]
    metric = resolve_metric(config.metric, schema.task)
    weights = train[config.weight_column].to_numpy(dtype=float) if config.weight_column else None
    n_classes = len(schema.classes)
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    _, threads = parallelism(config, len(train))
    return TrainingData(schema=schema, features=make_features(train, schema), y=encode_target(train, schema),
                        weights=weights, folds=split.folds, context=Context(schema.task, positive, n_classes),
                        metric=metric, seed=config.seed, n_jobs=threads)


def reserve_seconds(config: TrainConfig, n_train: int, report: bool, spent: float = 0.0) -> float:
    """Seconds kept back from trials for testing and saving, and for the analysis and report when asked for.

    The analysis gives its learning curve about 15% of the limit; importance, explanations and the report's
    plots take ``REPORT_FIXED_S`` more on small tables (measured on german_credit: 2.3 s analysis, 2.6 s report
    with its imports; on a slow 2-core machine the plots alone took 1.8-4 s). At most half of what the limit
    leaves after the ``spent`` seconds (the imports, loading and checks) is kept back, so that at a short limit
    the trials get as long as the analysis: 60 x 3,000 columns at 10 s spent 4.5 s before its search, which
    then had 0.5 s with half of the limit kept back.
    """
    if config.budget.time_limit is None:
        return 0.0
    limit = config.budget.time_limit
    # bench/scale_growth.py, 3-million-row table at 60 s (2.4 million training rows): testing and saving took 26 s
    # after the refit while the intervals were drawn from all 600,000 test rows (15 s) and the drift reference
    # profiled every training row (4.6 s); with both on samples, 6.8 s
    saving = 0.5 + n_train / 300_000
    return min(0.5 * max(limit - spent, 0.0), saving + (0.15 * limit + REPORT_FIXED_S if report else 0.0))


def make_leaderboard(search: SearchResult, metric: str, greater_is_better: bool) -> pd.DataFrame:
    """One row per model, best first: model, family, status, error, validation metrics, times."""
    rows = []
    for t in search.trials:
        row: dict[str, Any] = {"model": t.candidate.name, "family": t.candidate.family, "status": t.status,
                               "error": t.error}
        row[f"val_{metric}"] = t.score
        row[f"val_{metric}_fold_sd"] = fold_spread(t.fold_scores) if t.ok else None
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


def resume(folder: str | Path, listener: Listener | None = None) -> Run:
    """Continue an interrupted run from its folder: same data (checked by fingerprint), config and split."""
    folder = Path(folder)
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        config = TrainConfig.from_dict(record["config"])
        data = record["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"'{folder}' is not a run folder trainlab can resume (no readable run.json: {exc}). "
                          "Give the folder of a run started by 'trainlab train'.") from exc
    if data == "DataFrame" or not Path(data).exists():
        raise DataError(f"The data of run '{folder}' ({data}) is not available as a file, so the run cannot be "
                        "resumed. Start a new run instead.")
    if fingerprint(_load(data, config)) != record.get("data_fingerprint"):
        raise DataError(f"The file '{data}' changed since run '{folder}' started (its fingerprint differs): "
                        "resuming would mix two datasets. Start a new run instead.")
    return train(data, config=config, listener=listener, resume=folder)


def _validated_on_one_split(folder: Path) -> bool:
    """Whether the run in ``folder`` validated on one split (its run.json says so; older runs' first record did not
    say, and they used folds unless the table was large, which a resumed run finds again)."""
    try:
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return str((record.get("split") or {}).get("validation", "")).startswith("one validation split")


def _load(data: pd.DataFrame | str | Path, config: TrainConfig) -> pd.DataFrame:
    """The table of ``data``; a zip of pictures or sound is unpacked into ``<out_dir>/unzipped/<name>-<hash>``,
    one folder per archive content, so the files stay beside the runs that read them."""
    if isinstance(data, str | Path) and config.member is None and holds_media(Path(data)):
        return load_table(data, unpack_into=config.out_dir / "unzipped" / content_key(Path(data)))
    return load_table(data, config.member)


def _data_name(data: Any) -> str:
    return str(Path(data).resolve()) if isinstance(data, str | Path) else "DataFrame"


def _run_folder(config: TrainConfig, data: Any) -> Path:
    stem = Path(str(data)).stem if isinstance(data, str | Path) else "dataframe"
    if any(c in stem for c in "*?["):  # a glob of parts: the run is named after their folder
        stem = Path(str(data)).parent.name or "parts"
    name = config.name or f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder = config.out_dir / name
    if config.name is not None and (folder / "run.json").exists():
        raise ConfigError(f"Run folder '{folder}' already holds a run named {name!r}. Continue it with "
                          f"'trainlab train --resume {folder}', choose another --name, or delete the folder.")
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
        "status": "finished",
        "data": _data_name(data),
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
        "test_intervals": run.test_intervals,
        "validation_spread": run.validation_spread,
        "fairness": run.fairness,
        "data_summary": run.predictor.manifest.extras.get("data_summary") if run.predictor.manifest else None,
        "calibration": run.predictor.manifest.extras.get("calibration") if run.predictor.manifest else None,
        "class_weights": run.predictor.manifest.extras.get("class_weights") if run.predictor.manifest else None,
        "refit": run.predictor.manifest.extras.get("refit") if run.predictor.manifest else None,
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
    _write_text(run.folder / "trials.json", trials.to_json(orient="records", indent=2))


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
