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
        err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/]")
        sys.exit(130)


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Table to learn from: CSV, TSV, Parquet, Excel, JSON or JSON lines.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression (inferred if omitted).")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric that ranks models (default: roc_auc, log_loss, rmse).")] = None,
    test_size: Annotated[float, typer.Option(help="Share of rows held out for the final test (0.3 for 70/30).")] = 0.2,
    time_column: Annotated[str | None, typer.Option(help="Split by time: test on the latest rows.")] = None,
    group_column: Annotated[str | None, typer.Option(help="Keep each group's rows on one side of every split.")] = None,
    weight_column: Annotated[str | None, typer.Option(help="Column of sample weights.")] = None,
    no_stratify: Annotated[bool, typer.Option("--no-stratify", help="Plain random split for classification.")] = False,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    time_limit: Annotated[float | None, typer.Option(help="Seconds for the whole run.")] = 60.0,
    max_trials: Annotated[int | None, typer.Option(help="Stop after this many trials (repeatable runs).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same split and models.")] = 0,
    preset: Annotated[str, typer.Option(help="fast, balanced or best.")] = "balanced",
    models: Annotated[str | None, typer.Option(help="Only these families, comma-separated (e.g. lightgbm,linear).")] = None,
    exclude_models: Annotated[str | None, typer.Option(help="Leave out these families, comma-separated.")] = None,
    jobs: Annotated[int, typer.Option(help="Threads per model.")] = 1,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that holds run folders.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run folder name (default: <data>-<time>).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Train and compare models on DATA, save the best as a bundle, and print the leaderboard."""
    from trainlab.config import make_config
    from trainlab.run import train as run_train

    config = make_config(target, task=task, metric=metric, test_size=test_size, time_column=time_column,
                         group_column=group_column, weight_column=weight_column, stratify=not no_stratify,
                         folds=folds, time_limit=time_limit, max_trials=max_trials, seed=seed, preset=preset,
                         models=models, exclude_models=exclude_models or (), jobs=jobs, out_dir=out_dir, name=name)
    with _progress(time_limit) as listener:
        run = run_train(data, config=config, listener=listener)
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
    out.print(f"Run folder: {run.folder}   ({run.timings['total_s']:.1f} s)")
    out.print(f"Predict with: trainlab predict {run.bundle_path} new_rows.csv -o predictions.csv")


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
) -> None:
    """Predict DATA with a saved model: the prediction, and class probabilities for classifiers."""
    from trainlab.data.load import load_table
    from trainlab.predict import Predictor

    predictor = Predictor.load(bundle)
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
