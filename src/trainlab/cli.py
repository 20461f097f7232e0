"""The `trainlab` command: a thin face over the public calls, with rich tables and plain-language errors."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from trainlab.cli_lifecycle import after_train, models_app, monitor, retrain, tracking_before
from trainlab.errors import TrainlabError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn a labeled table into a trained, evaluated, explained model, in one command.")
out = Console()
err = Console(stderr=True)


def main() -> None:
    """Entry point: user mistakes print one or two lines and exit with code 2, never a traceback."""
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        app()
    except TrainlabError as exc:
        err.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/]")
        sys.exit(130)


@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(
        help="Table to learn from: CSV, TSV, Parquet, Excel, JSON or JSON lines.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Column to predict.")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression (inferred if omitted).")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric that ranks models (default: roc_auc, log_loss, rmse).")] = None,
    test_size: Annotated[float, typer.Option(help="Share of rows held out for the final test (0.3 for 70/30).")] = 0.2,
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
    jobs: Annotated[int, typer.Option(help="Trials run side by side, each in a worker process.")] = 1,
    device: Annotated[str, typer.Option(help="Where neural networks train: auto (GPU if present), cpu or cuda.")] = "auto",
    refit_full: Annotated[bool, typer.Option(
        help="After testing, refit the best model on all rows (test rows included) before saving.")] = False,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that holds run folders.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run folder name (default: <data>-<time>).")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue an interrupted run from its folder.")] = None,
    register: Annotated[str | None, typer.Option(help="Register the best model under this name in the registry.")] = None,
    registry: Annotated[Path | None, typer.Option(help="Registry file (default $TRAINLAB_REGISTRY or trainlab.db).")] = None,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Log the run to MLflow (default store mlflow.db).")] = False,
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
    if data is None or target is None:
        raise ConfigError("Give the data file and the column to predict: trainlab train DATA --target COLUMN "
                          "(or --resume RUN_DIR to continue a run).")
    if time_limit is None and max_trials is None:
        time_limit = 60.0
    config = make_config(target, task=task, metric=metric, test_size=test_size, time_column=time_column,
                         group_column=group_column, weight_column=weight_column, stratify=not no_stratify,
                         folds=folds, time_limit=time_limit, max_trials=max_trials, seed=seed, preset=preset,
                         models=models, exclude_models=exclude_models or (), jobs=jobs, refit_full=refit_full,
                         device=device, out_dir=out_dir, name=name)
    mlflow_uri = tracking_before(mlflow)
    with _progress(time_limit) as listener:
        run = run_train(data, config=config, listener=listener)
    _print_run(run, as_json)
    after_train(run, register, registry, mlflow_uri)


def _print_run(run: Any, as_json: bool) -> None:
    """The leaderboard, skipped families, test scores and how to use the model; or all of it as JSON."""
    if as_json:
        out.print_json(json.dumps({"run": str(run.folder), "best_model": run.best_model,
                                   "test_metrics": run.test_metrics,
                                   "leaderboard": json.loads(run.leaderboard.to_json(orient="records"))}))
        return
    _print_findings(run.findings)
    out.print(_board_table(run.leaderboard, f"Leaderboard — {run.schema.task}, ranked by validation "
                                            f"{run.leaderboard.columns[4][4:]}"))
    for family, reason in run.skipped.items():
        out.print(f"[dim]Skipped {family}: {reason}[/]")
    scores = ", ".join(f"{k} {v:.4f}" for k, v in run.test_metrics.items())
    out.print(f"\n[bold]Best model:[/] {run.best_model}   [bold]test set[/] ({run.split['test_rows']} rows): {scores}")
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


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Rows to predict, with the training columns.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write predictions here (CSV or Parquet).")] = None,
    threshold: Annotated[float | None, typer.Option(
        help="Binary models: predict the positive class from this probability on (default: the bundle's).")] = None,
) -> None:
    """Predict DATA with a saved model: the prediction, and class probabilities for classifiers."""
    from trainlab.data.load import load_table
    from trainlab.predict import Predictor

    predictor = Predictor.load(bundle)
    if threshold is not None:
        predictor.threshold = threshold
    rows = load_table(data)
    table = predictor.predictions_table(rows)
    if output is None:
        out.print(table.to_csv(index=False), end="", highlight=False)
        return
    _write_table(table, output)
    err.print(f"Wrote {len(table)} predictions to {output}")


@app.command()
def doctor(
    data: Annotated[Path, typer.Argument(help="Table to check.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression (inferred if omitted).")] = None,
) -> None:
    """Check DATA without training: the profile of every column and every finding, with how to fix it."""
    from trainlab.config import make_config
    from trainlab.data.checks import check_data
    from trainlab.data.load import load_table

    frame = load_table(data)
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
    _print_findings(checked.findings) if checked.findings else out.print("[green]No problems found.[/]")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder, e.g. runs/<name>.")],
) -> None:
    """Rebuild report.html and summary.json of a run from the files in its folder."""
    from trainlab.report import write_report

    path = write_report(run_dir)
    err.print(f"Wrote {path} and {path.with_name('summary.json')}")


@app.command()
def explain(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Rows to explain, with the training columns.")],
    top: Annotated[int, typer.Option(help="Contributing features shown per row.")] = 5,
    limit: Annotated[int, typer.Option(help="Explain at most this many rows.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanations as JSON on stdout.")] = False,
) -> None:
    """Explain each prediction of DATA: its top contributing features, their values and direction."""
    from trainlab.data.load import load_table
    from trainlab.predict import Predictor

    rows = load_table(data)
    explained = Predictor.load(bundle).explain(rows.head(limit), top=top)
    if as_json:
        out.print_json(json.dumps(explained, default=str))
        return
    for i, entry in enumerate(explained):
        chance = f" (p({entry['explained_class']}) = {entry['probability']:.3f})" if "probability" in entry else ""
        prediction = entry["prediction"]
        shown = f"{prediction:.4g}" if isinstance(prediction, float) else prediction
        out.print(f"[bold]Row {i}[/]: prediction [bold]{shown}[/]{chance}", highlight=False)
        for c in entry["contributions"]:
            colour = "green" if c["contribution"] > 0 else "red"
            out.print(f"  [{colour}]{c['contribution']:+.4f}[/] {c['feature']} = {c['value']!r} "
                      f"({c['direction']} the {entry['unit']})", highlight=False)
    if len(rows) > limit:
        err.print(f"Explained the first {limit} of {len(rows)} rows; use --limit to explain more.")
    if explained:
        err.print(f"[dim]Contributions by {explained[0]['method']}; base value {explained[0]['base']:.4f}.[/]")


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A model bundle: the 'model' folder of a run.")],
    data: Annotated[Path, typer.Argument(help="Labelled rows: the training columns and the target column.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: evaluation-<data>).")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric for permutation importance (default: the task's).")] = None,
) -> None:
    """Score a saved model on new labelled DATA: metrics, curves, error analysis and importance, in a report."""
    from trainlab.data.load import load_table
    from trainlab.evaluate.analysis import evaluate_saved
    from trainlab.predict import Predictor
    from trainlab.report import write_report

    predictor = Predictor.load(bundle)
    folder = out_dir or Path(f"evaluation-{data.stem}")
    name = predictor.manifest.extras.get("model_name", "model") if predictor.manifest else "model"
    analysis = evaluate_saved(predictor.model, predictor.schema, load_table(data), folder, model_name=str(name),
                              bundle=bundle, data=str(data), metric=metric, threshold=predictor.threshold)
    path = write_report(folder)
    scores = ", ".join(f"{k} {v:.4f}" for k, v in analysis["test"]["metrics"].items())
    out.print(f"[bold]{name}[/] on {analysis['test']['rows']} labelled rows: {scores}", highlight=False)
    out.print(f"Report: {path}")


@app.command()
def serve(
    model: Annotated[str | None, typer.Argument(
        help="A bundle folder, or a registered model NAME[@alias]; omit it for the web UI alone.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[str | None, typer.Option(envvar="TRAINLAB_TOKEN", show_envvar=True,
                                              help="API token required on every endpoint but health.")] = None,
    runs: Annotated[Path, typer.Option(help="Folder of run folders that the web UI lists and trains into.")] = Path("runs"),
    max_request_mb: Annotated[float, typer.Option(help="Largest request body (JSON or upload) in MB.")] = 100.0,
    registry: Annotated[Path | None, typer.Option(help="Model registry file (default ./trainlab.db).")] = None,
) -> None:
    """Serve a model over HTTP (/predict, /v2 Open Inference Protocol) and the no-code web UI on one port."""
    try:
        import uvicorn

        from trainlab.serve.app import ServeSettings, create_app
        from trainlab.serve.model import resolve_model
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart"):
            raise
        from trainlab.errors import MissingDependencyError

        raise MissingDependencyError(exc.name or "fastapi", "serve", "trainlab serve") from exc
    bundle, name = resolve_model(model, registry) if model else (None, None)
    app = create_app(ServeSettings(bundle=bundle, model_name=name, token=token or None, runs_dir=runs,
                                   registry=registry, max_request_mb=max_request_mb))
    if not token and host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]Warning:[/] listening on {host} without --token: anyone who can reach it can use it.")
    served = f"model '{app.state.model.name}' and " if app.state.model else ""
    err.print(f"Serving {served}the web UI on http://{host}:{port}/  (API docs: /docs; Ctrl+C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _verdict(folder: Path) -> str:
    if not (folder / "analysis.json").is_file():
        return "not computed"
    analysis = json.loads((folder / "analysis.json").read_text(encoding="utf-8"))
    return str(analysis.get("diagnosis", {}).get("verdict", "not computed"))


def _print_findings(findings: list[Any]) -> None:
    for f in findings:
        colour = {"warning": "yellow", "info": "dim"}.get(f.level, "red")
        out.print(f"[{colour}]{f.level.capitalize()}:[/] {f.message}", highlight=False)


TERMINAL_METRICS = ("accuracy", "f1", "log_loss", "roc_auc", "r2", "mae", "rmse")


def _board_table(board: pd.DataFrame, title: str) -> Table:
    """The leaderboard's main columns (all of them are in leaderboard.csv)."""
    table = Table(title=title)
    ranking = board.columns[4]
    extra = [c for c in board.columns[5:] if c.startswith("val_") and c[4:] in TERMINAL_METRICS][:2]
    shown = ["model", "status", ranking, *extra, "fit_time_s", "predict_time_s"]
    for column in shown:
        table.add_column(column, justify="right" if board[column].dtype.kind == "f" else "left")
    for _, row in board.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row[shown]]
        if row["status"] != "ok":
            cells[shown.index("status")] = f"failed: {row['error']}"
        table.add_row(*cells)
    return table


def _write_table(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() in (".parquet", ".pq"):
        table.to_parquet(tmp, index=False)
    else:
        table.to_csv(tmp, index=False)
    tmp.replace(path)


app.add_typer(models_app, name="models")
app.command()(monitor)
app.command()(retrain)
