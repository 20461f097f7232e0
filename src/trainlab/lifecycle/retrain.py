"""Retraining: a challenger trained with the champion's configuration on new data, promoted only if better.

The new rows are split once: a held-out part on which champion and challenger are both scored, and the
rest, which the challenger learns from (``replace``), alone or joined to the champion's recorded training
data (``append``) or to its most recent rows (``window``). Every challenger is registered as a version with
its evaluation, promoted or not. Registering and promoting are one transaction after everything else has
worked, so a failed retrain leaves the registry and the champion as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab import run as run_module
from trainlab.config import TrainConfig
from trainlab.data.load import fingerprint, load_table
from trainlab.data.schema import Schema
from trainlab.data.split import holdout
from trainlab.errors import ConfigError, DataError
from trainlab.evaluate.metrics import Context, compute_metrics, is_better, resolve_metric
from trainlab.lifecycle.registry import ModelVersion, Registry, register_run, verified_bundle
from trainlab.predict import Predictor
from trainlab.run import Run
from trainlab.search.scheduler import Listener

MODES = ("auto", "replace", "append", "window")
"""auto: replace for table models, append for recommenders."""
MIN_HELD_OUT = 10


@dataclass(frozen=True)
class RetrainOptions:
    """How to retrain: the data mode, the held-out share of the new rows, and overrides of the champion's config."""

    mode: str = "replace"
    force: bool = False
    held_out: float = 0.2
    window_rows: int | None = None
    time_limit: float | None = None
    out_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"Option --mode must be one of {', '.join(MODES[1:])} (or auto: replace for table "
                              f"models, append for recommenders), got {self.mode!r}.")
        if not 0 < self.held_out < 1:
            raise ConfigError(f"Option --held-out must be between 0 and 1 (exclusive), got {self.held_out!r}.")
        if self.window_rows is not None and self.window_rows < 1:
            raise ConfigError(f"Option --window-rows must be a positive integer, got {self.window_rows!r}.")


@dataclass
class RetrainResult:
    """The decision and the numbers it rests on."""

    name: str
    mode: str
    metric: str
    champion: ModelVersion
    challenger: ModelVersion
    champion_score: float
    challenger_score: float
    champion_metrics: dict[str, float]
    challenger_metrics: dict[str, float]
    held_out_rows: int
    train_rows: int
    promoted: bool
    forced: bool
    decision: str
    run: Run = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "run"}
        data["champion"], data["challenger"] = self.champion.ref, self.challenger.ref
        return data


def retrain(name: str, data: pd.DataFrame | str | Path, options: RetrainOptions | None = None,
            registry: str | Path | None = None, listener: Listener | None = None) -> RetrainResult:
    """Train a challenger for the champion of ``name`` on ``data``; register it, and promote it if it wins."""
    options = options or RetrainOptions()
    from trainlab.lifecycle.recommend import recommender_champion, retrain_recommender

    found = recommender_champion(name, registry)
    if found is not None:
        return retrain_recommender(name, found[0], found[1], data, options, registry, listener)
    if options.mode == "auto":
        options = replace(options, mode="replace")
    reg = Registry(registry)
    champion = reg.get(name)
    predictor = Predictor.load(verified_bundle(champion))
    manifest = predictor.manifest
    assert manifest is not None  # Predictor.load always sets it
    config = challenger_config(manifest.config, manifest.members, options)
    schema = predictor.schema
    new = _labelled(load_table(data), schema, data)
    fit_rows, held_out = _split_new(new, schema, config, options.held_out)
    training = _training_rows(champion, fit_rows, options)

    run = run_module.train(training, config=config, listener=listener)
    data_file = _save_training_rows(training, run.folder)
    metric = resolve_metric(manifest.metrics.get("ranking_metric") or config.metric, schema.task)
    champion_metrics = evaluate(predictor, held_out)
    challenger_metrics = evaluate(run.predictor, held_out)
    old, new_score = champion_metrics[metric.name], challenger_metrics[metric.name]
    better = is_better(new_score, old, metric)
    promoted = better or options.force
    evaluation = {"metric": metric.name, "held_out_rows": len(held_out), "mode": options.mode,
                  "champion": champion.ref, "champion_metrics": champion_metrics,
                  "challenger_metrics": challenger_metrics, "promoted": promoted, "forced": options.force and not better}
    decision = _decision(name, champion, metric.name, old, new_score, len(held_out), better, options.force)
    evaluation["decision"] = decision
    challenger = register_run(run, name, registry, data_path=data_file, parent_version=champion.version,
                              evaluation=evaluation, promote=promoted, note=decision)
    decision = decision.replace("the challenger", challenger.ref)
    return RetrainResult(name=name, mode=options.mode, metric=metric.name, champion=champion, challenger=challenger,
                         champion_score=old, challenger_score=new_score, champion_metrics=champion_metrics,
                         challenger_metrics=challenger_metrics, held_out_rows=len(held_out), train_rows=len(training),
                         promoted=promoted, forced=options.force and not better, decision=decision, run=run)


def challenger_config(recorded: dict[str, Any], members: list[dict[str, Any]], options: RetrainOptions) -> TrainConfig:
    """The champion's configuration, restricted to its model families, with the retrain's overrides."""
    config = TrainConfig.from_dict(recorded)
    families = tuple(dict.fromkeys(m["family"] for m in members))
    budget = replace(config.budget, time_limit=options.time_limit) if options.time_limit is not None else config.budget
    return replace(config, models=families, exclude_models=(), name=None, budget=budget,
                   out_dir=options.out_dir or config.out_dir)


def evaluate(predictor: Predictor, rows: pd.DataFrame) -> dict[str, float]:
    """Every metric of the task for ``predictor`` on labelled ``rows``."""
    schema = predictor.schema
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    ctx = Context(schema.task, positive, len(schema.classes))
    return compute_metrics(run_module.encode_target(rows, schema), predictor.output(rows), ctx)


def _labelled(frame: pd.DataFrame, schema: Schema, source: Any) -> pd.DataFrame:
    where = f"'{source}'" if isinstance(source, str | Path) else "the new data"
    if schema.target not in frame.columns:
        raise DataError(f"{where} has no '{schema.target}' column: retraining needs labelled rows.")
    frame = frame[frame[schema.target].notna()]
    if schema.task != "regression":
        unseen = sorted(set(frame[schema.target].unique()) - set(schema.classes), key=str)
        if unseen:
            raise DataError(f"{where} has class(es) {', '.join(map(repr, unseen[:5]))} in '{schema.target}' that the "
                            f"champion never saw (it knows {', '.join(map(repr, schema.classes))}). A model with "
                            "new classes is a new model: train and register it with 'trainlab train --register'.")
    return frame.reset_index(drop=True)


def _split_new(frame: pd.DataFrame, schema: Schema, config: TrainConfig,
               size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to learn from, held-out rows), split the way the champion's run split its data."""
    kind = config.split.kind
    if kind == "stratified" and schema.task == "regression":
        kind = "random"
    fit, test = holdout(frame, schema, config.split, kind, config.seed, size)
    if len(test) < MIN_HELD_OUT or len(fit) < MIN_HELD_OUT:
        raise DataError(f"The new data has {len(frame)} labelled rows: too few to both train a challenger and "
                        f"hold out at least {MIN_HELD_OUT} rows to compare it with the champion. Give more rows.")
    return frame.iloc[fit].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def _training_rows(champion: ModelVersion, new: pd.DataFrame, options: RetrainOptions) -> pd.DataFrame:
    if options.mode == "replace":
        return new
    old = recorded_training_data(champion)
    rows = pd.concat([old, new], ignore_index=True)
    if options.mode == "window":
        rows = rows.iloc[-(options.window_rows or len(old)):].reset_index(drop=True)
    return rows


def recorded_training_data(version: ModelVersion) -> pd.DataFrame:
    """The table ``version`` was trained on, as recorded in the registry; DataError if gone or changed."""
    path = version.data_path
    if not path or path == "DataFrame":
        raise DataError(f"{version.ref} was trained on an in-memory DataFrame, so no training file is recorded: "
                        "--mode append/window cannot read it. Use --mode replace, or give all rows in the new file.")
    if not Path(path).is_file():
        raise DataError(f"The training data of {version.ref} is gone: '{path}' does not exist. Restore it, or use "
                        "--mode replace with all the rows to learn from in the new file.")
    frame = load_table(path)
    if fingerprint(frame) != version.data_fingerprint:
        raise DataError(f"The training data of {version.ref} at '{path}' has changed since it was registered "
                        "(fingerprint differs), so it is not the data the champion learned from. Restore the "
                        "original, or use --mode replace.")
    return frame


def _save_training_rows(frame: pd.DataFrame, folder: Path) -> Path:
    """The challenger's training rows, kept in its run folder so a later append/window can read them."""
    path, tmp = folder / "training_data.parquet", folder / ".training_data.parquet.tmp"
    try:
        frame.to_parquet(tmp, index=False)
    except (ValueError, TypeError, NotImplementedError):  # columns of mixed types that Parquet cannot hold
        tmp.unlink(missing_ok=True)
        path, tmp = folder / "training_data.csv", folder / ".training_data.csv.tmp"
        frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def _decision(name: str, champion: ModelVersion, metric: str, old: float, new: float, rows: int, better: bool,
              force: bool) -> str:
    numbers = f"{metric} {new:.4f} vs {old:.4f} ({new - old:+.4f}) on {rows} held-out rows"
    if better:
        return f"Promoted the challenger to champion of '{name}': {numbers}, better than {champion.ref}."
    if force:
        return f"Promoted the challenger to champion of '{name}' (--force) although it is not better: {numbers}."
    return f"Kept {champion.ref} as champion of '{name}': the challenger is not better, {numbers}."
