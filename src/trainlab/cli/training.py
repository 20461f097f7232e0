"""Commands of the training steps: train (and resume), predict, doctor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trainlab.cli.console import board_table, err, out, print_fairness, print_findings, scores_with_intervals, write_table
from trainlab.cli.lifecycle import after_train, tracking_before
from trainlab.data.media.unzip import holds_media


def train(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Argument(
        help="Table to learn from: CSV, TSV, Parquet, Excel, JSON or JSON lines; also compressed "
             "(.gz, .bz2, .xz, .zst) or in a .zip; or a folder (or a .zip of one) with one subfolder of pictures, "
             "sound files or .txt files per class (the label).")] = None,
    member: Annotated[str | None, typer.Option(help="The table to read inside a zip archive of several.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Column to predict.")] = None,
    task: Annotated[str | None, typer.Option(
        help="binary, multiclass or regression (inferred if omitted), or recommend for an interactions table.")] = None,
    user: Annotated[str | None, typer.Option(help="--task recommend: column of user ids (suggested if omitted).")] = None,
    item: Annotated[str | None, typer.Option(help="--task recommend: column of item ids (suggested if omitted).")] = None,
    rating: Annotated[str | None, typer.Option(help="--task recommend: column of ratings or strengths.")] = None,
    positive: Annotated[float | None, typer.Option(
        help="--task recommend: only ratings of at least this count as positive (default: every interaction).")] = None,
    k: Annotated[int, typer.Option("--k", help="--task recommend: length of the lists that are scored.")] = 10,
    item_features: Annotated[Path | None, typer.Option(
        "--item-features", help="--task recommend: a table of the items' side features (id, genre, year, ...), read "
                                "by the hybrid_knn family; items listed there without interactions can be recommended.")
    ] = None,
    user_features: Annotated[Path | None, typer.Option(
        "--user-features", help="--task recommend: a table of the users' side features (id, age, country, ...); a user "
                                "unknown at training listed there gets the items of the users most like them.")
    ] = None,
    split: Annotated[str, typer.Option(
        help="--task recommend: auto (by time with --time-column), time or random.")] = "auto",
    metric: Annotated[str | None, typer.Option(help="Metric that ranks models (default: roc_auc, log_loss, rmse).")] = None,
    test_size: Annotated[float | None, typer.Option(
        help="Share of rows held out for the final test (default 0.2; 0.1 of each user's with --task recommend).")] = None,
    time_column: Annotated[str | None, typer.Option(help="Split by time: test on the latest rows.")] = None,
    group_column: Annotated[str | None, typer.Option(help="Keep each group's rows on one side of every split.")] = None,
    weight_column: Annotated[str | None, typer.Option(help="Column of sample weights.")] = None,
    no_stratify: Annotated[bool, typer.Option("--no-stratify", help="Plain random split for classification.")] = False,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    time_limit: Annotated[float | None, typer.Option(
        help="Seconds for the whole run (default 60, or none when --max-trials is given).")] = None,
    max_trials: Annotated[int | None, typer.Option(help="Stop after this many trials (repeatable runs).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same split and models.")] = 0,
    preset: Annotated[str, typer.Option(help="fast, balanced or best.")] = "balanced",
    models: Annotated[str | None, typer.Option(help="Only these families, comma-separated (e.g. lightgbm,linear).")] = None,
    exclude_models: Annotated[str | None, typer.Option(help="Leave out these families, comma-separated.")] = None,
    jobs: Annotated[int | None, typer.Option(
        help="Trials run side by side, each in a worker process with cores/jobs threads. Default: with a time "
             "limit and under 20,000 training rows, one single-threaded trial per core; otherwise one trial at a "
             "time on every core.")] = None,
    ray: Annotated[str | None, typer.Option(
        help="Run the trials on a Ray cluster: auto (RAY_ADDRESS or the one started on this machine) or HOST:PORT. "
             "Needs pip install 'trainlab\\[ray]'; see docs/ray.md.")] = None,
    distributed: Annotated[bool, typer.Option(
        "--distributed", help="With --ray and a table in parts (a quoted glob 'parts/*.parquet' or a folder): train "
                              "LightGBM and XGBoost data-parallel on the cluster with Ray Data and Ray Train, so "
                              "that no machine holds the whole table. See docs/ray.md.")] = False,
    device: Annotated[str, typer.Option(help="Where neural networks train: auto (GPU if present), cpu or cuda.")] = "auto",
    sensitive: Annotated[str | None, typer.Option(
        help="Columns that describe groups of people (comma-separated, e.g. sex,age): fairness by group is measured "
             "on the test rows and shown in the terminal, the report and the model card.")] = None,
    exclude_sensitive: Annotated[bool, typer.Option(
        help="Leave the --sensitive columns out of the features (they still define the groups).")] = False,
    intended_use: Annotated[str | None, typer.Option(
        help="What the model is for (and not for), in a sentence or two, for the model card.")] = None,
    exportable: Annotated[bool, typer.Option(
        "--exportable", help="Only families whose models export to ONNX (trainlab export --format onnx).")] = False,
    refit_full: Annotated[bool, typer.Option(
        help="After testing, refit the best model on all rows (test rows included) before saving.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that holds run folders.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run folder name (default: <data>-<time>).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue an interrupted run from its folder.")] = None,
    register: Annotated[str | None, typer.Option(help="Register the best model under this name in the registry.")] = None,
    registry: Annotated[Path | None, typer.Option(help="Registry file (default $TRAINLAB_REGISTRY or trainlab.db).")] = None,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Log the run to MLflow (default store mlflow.db).")] = False,
    no_report: Annotated[bool, typer.Option(
        "--no-report", help="Skip the analysis and report.html (faster); the model and run.json are written.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Train and compare models on DATA, save the best as a bundle, and print the leaderboard."""
    from trainlab.config import make_config
    from trainlab.errors import ConfigError
    from trainlab.run import resume as run_resume
    from trainlab.run import train as run_train

    if resume is not None:
        with _progress(None) as listener:
            run = run_resume(resume, listener=listener)
        _print_run(run, as_json)
        return
    if task == "recommend" and data is not None:
        from trainlab.cli.recommend import train_recommend

        options = {"user": user, "item": item, "rating": rating, "time_column": time_column, "positive": positive,
                   "k": k, "split": split, "time_limit": time_limit or (None if max_trials else 60.0),
                   "max_trials": max_trials, "seed": seed, "models": models, "exclude_models": exclude_models or (),
                   "jobs": jobs, "out_dir": out_dir, "name": name,
                   "item_features": str(item_features) if item_features else None,
                   "user_features": str(user_features) if user_features else None,
                   **({"test_size": test_size} if test_size else {})}
        rec_run = train_recommend(data, options, (ctx.obj or {}).get("started"), as_json)
        if register:
            from trainlab.lifecycle.registry import register_run

            version = register_run(rec_run, register, registry)
            err.print(f"Registered {version.ref}" + (" (champion)" if "champion" in version.aliases else ""),
                      highlight=False)
        return
    if target is None and data is not None and (data.is_dir() or (member is None and holds_media(data))):
        target = "label"  # a folder of class subfolders (or a zip of one): the label is the subfolder
    if data is None or target is None:
        raise ConfigError("Give the data file and the column to predict: trainlab train DATA --target COLUMN "
                          "(or --resume RUN_DIR to continue a run).")
    if time_limit is None and max_trials is None:
        time_limit = 60.0
    config = make_config(target, task=task, metric=metric, test_size=0.2 if test_size is None else test_size,
                         time_column=time_column,
                         group_column=group_column, weight_column=weight_column, stratify=not no_stratify,
                         folds=folds, time_limit=time_limit, max_trials=max_trials, seed=seed, preset=preset,
                         models=models, exclude_models=exclude_models or (), jobs=jobs, refit_full=refit_full,
                         device=device, out_dir=out_dir, name=name, ray=ray, distributed=distributed,
                         sensitive=sensitive or (),
                         exclude_sensitive=exclude_sensitive, intended_use=intended_use, exportable=exportable,
                         member=member)
    mlflow_uri = tracking_before(mlflow)
    with _progress(time_limit) as listener:
        run = run_train(data, config=config, listener=listener, report=not no_report,
                        started=(ctx.obj or {}).get("started"))
    _print_run(run, as_json)
    after_train(run, register, registry, mlflow_uri)


def _print_run(run: Any, as_json: bool) -> None:
    """The leaderboard, skipped families, test scores and how to use the model; or all of it as JSON."""
    if as_json:
        out.print_json(json.dumps({"run": str(run.folder), "best_model": run.best_model,
                                   "test_metrics": run.test_metrics, "test_intervals": run.test_intervals,
                                   "validation_spread": run.validation_spread, "fairness": run.fairness,
                                   "leaderboard": json.loads(run.leaderboard.to_json(orient="records"))}))
        return
    print_findings(run.findings)
    out.print(board_table(run.leaderboard, f"Leaderboard — {run.schema.task}, ranked by validation "
                                            f"{run.leaderboard.columns[4][4:]}"))
    for family, reason in run.skipped.items():
        out.print(f"[dim]Skipped {family}: {escape(reason)}[/]")
    scores = scores_with_intervals(run.test_metrics, run.test_intervals)
    out.print(f"\n[bold]Best model:[/] {run.best_model}   [bold]test set[/] ({run.split['test_rows']} rows, 95 % "
              f"bootstrap intervals in brackets): {escape(scores)}", highlight=False)
    spread = run.validation_spread
    if spread.get("fold_sd") is not None:
        out.print(f"Validation {spread['metric']} varies by ±{spread['fold_sd']:.4f} (standard deviation) across its "
                  f"{spread['folds']} folds.")
    print_fairness(run.fairness)
    first = run.timings.get("first_model_s")
    first_note = f"; first usable model after {first:.1f} s" if first is not None else ""
    out.print(f"Run folder: {run.folder}   ({run.timings['total_s']:.1f} s{first_note})")
    out.print(f"Predict with: trainlab predict {run.bundle_path} new_rows.csv -o predictions.csv")
    if (run.folder / "report.html").is_file():
        out.print(f"Report: {run.folder / 'report.html'} (diagnosis: {_verdict(run.folder)})")


class _progress:
    """A progress display on stderr: which model is training, and how much of the time limit is spent."""

    def __init__(self, time_limit: float | None) -> None:
        self.limit = time_limit
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[spent]}"),
                            TimeElapsedColumn(), console=err, transient=True)
        self.task = self.bar.add_task("Starting", total=time_limit or 1, spent="")

    def __enter__(self) -> Any:
        self.bar.start()
        return self.listen

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def listen(self, kind: str, info: dict[str, Any]) -> None:
        elapsed = info.get("elapsed")
        if kind == "stage":
            self.bar.update(self.task, description=info["name"])
        elif kind == "trial_start":
            self.bar.update(self.task, description=f"Training {info['name']}")
        elif kind == "trial_end":
            trial = info["trial"]
            mark = "[green]✓[/]" if trial.ok else "[red]✗[/]"
            score = f"{trial.score:.4f}" if trial.ok else trial.error
            err.print(f"  {mark} {trial.candidate.name:<24} {score}", highlight=False)
        if elapsed is not None and self.limit:
            self.bar.update(self.task, completed=min(elapsed, self.limit),
                            spent=f"{elapsed:.0f}/{self.limit:.0f} s")


def predict(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Rows to predict, with the training columns.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write predictions here (CSV or Parquet).")] = None,
    threshold: Annotated[float | None, typer.Option(
        help="Binary models: predict the positive class from this probability on (default: the bundle's).")] = None,
    member: Annotated[str | None, typer.Option(help="The table to read inside a zip archive of several.")] = None,
) -> None:
    """Predict DATA with a saved model: the prediction, and class probabilities for classifiers.

    DATA may also be a folder of pictures or clips (with or without class subfolders) or a zip of one: one row per
    file, its path first (inside the zip for a zip, which is unpacked into a temporary folder and removed)."""
    import tempfile

    from trainlab.data.load import load_table
    from trainlab.data.media.unzip import member_names
    from trainlab.predict import Predictor

    predictor = Predictor.load(bundle)
    if threshold is not None:
        predictor.threshold = threshold
    with tempfile.TemporaryDirectory(prefix="trainlab-predict-") as unpacked:
        rows = load_table(data, member, unpack_into=Path(unpacked))
        table = predictor.predictions_table(rows)
        if "unpacked" in rows.attrs:
            for column in table.columns[:list(table.columns).index("prediction")]:
                table[column] = member_names(table[column].astype(str).tolist(), Path(unpacked))
    if output is None:
        out.print(table.to_csv(index=False), end="", highlight=False)
        return
    write_table(table, output)
    err.print(f"Wrote {len(table)} predictions to {output}")


def doctor(
    data: Annotated[Path, typer.Argument(help="Table to check.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression (inferred if omitted).")] = None,
    member: Annotated[str | None, typer.Option(help="The table to read inside a zip archive of several.")] = None,
) -> None:
    """Check DATA without training: the profile of every column and every finding, with how to fix it."""
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.load import load_table

    frame = load_table(data, member)
    checked = check_data(frame, make_config(target, task=task, time_limit=None))
    schema = checked.schema
    table = Table(title=f"{data.name}: {len(frame)} rows, {frame.shape[1]} columns — task {schema.task}")
    for column in ("column", "role", "type", "distinct", "missing", "note"):
        table.add_column(column)
    for col in schema.columns:
        table.add_row(col.name, col.role, col.dtype, str(col.n_unique), str(col.n_missing), col.note)
    out.print(table)
    if schema.classes:
        counts = checked.frame[schema.target].value_counts()
        out.print("Classes: " + ", ".join(f"{k} ({v})" for k, v in counts.items()))
    print_findings(checked.findings) if checked.findings else out.print("[green]No problems found.[/]")


def _verdict(folder: Path) -> str:
    if not (folder / "analysis.json").is_file():
        return "not computed"
    analysis = json.loads((folder / "analysis.json").read_text(encoding="utf-8"))
    return str(analysis.get("diagnosis", {}).get("verdict", "not computed"))
