"""The lifecycle commands of `trainlab`: models list|show|promote|rollback, monitor, retrain; and what
`trainlab train --register/--mlflow` does after its run. A thin face over ``trainlab.lifecycle``."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from trainlab.cli.console import err, out

if TYPE_CHECKING:
    from trainlab.lifecycle.registry import ModelVersion
    from trainlab.run import Run

models_app = typer.Typer(no_args_is_help=True, help="The model registry: versions, champion, promotion, rollback.")

RegistryOption = Annotated[Path | None, typer.Option(
    "--registry", help="Registry file (default: $TRAINLAB_REGISTRY, else ./trainlab.db).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def tracking_before(mlflow: bool) -> str | None:
    """The MLflow URI a run will log to, checked before training so a missing extra fails fast."""
    from trainlab.lifecycle.tracking import require_mlflow, tracking_uri

    uri = tracking_uri(mlflow)
    if uri is not None:
        require_mlflow(uri)
    return uri


def after_train(run: Run, register: str | None, registry: Path | None, mlflow_uri: str | None) -> None:
    """Register the run's model and log it to MLflow, as asked on `trainlab train`; reported on stderr."""
    from trainlab.lifecycle.registry import register_run

    if register:
        version = register_run(run, register, registry)
        role = " (champion)" if "champion" in version.aliases else \
            f"; promote it with: trainlab models promote {register} {version.version}"
        err.print(f"Registered {version.ref}{role}", highlight=False)
    if mlflow_uri:
        _log_to_mlflow(run, mlflow_uri, register)


def _log_to_mlflow(run: Run, uri: str, name: str | None) -> None:
    from trainlab.lifecycle.tracking import log_run

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its database set-up lines are noise on a terminal
    tracked = log_run(run, uri, registered_name=name)
    version = f", model version {name} v{tracked.model_version}" if tracked.model_version else ""
    err.print(f"Logged to MLflow ({uri}): run {tracked.run_id}{version}", highlight=False)


@models_app.command("list")
def list_models(registry: RegistryOption = None, as_json: JsonOption = False) -> None:
    """Every registered model: its versions, its champion and the champion's test score."""
    from trainlab.lifecycle.registry import Registry

    reg = Registry(registry)
    rows = []
    for name in reg.names():
        versions = reg.versions(name)
        champion = next((v for v in versions if "champion" in v.aliases), None)
        rows.append({"name": name, "versions": len(versions), "latest": versions[-1].version,
                     "champion": champion.version if champion else None,
                     "score": _score(champion) if champion else "", "updated": versions[-1].created_at})
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"Models in {reg.path}")
    for column in ("name", "versions", "latest", "champion", "score", "updated"):
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(v) if v is not None else "—" for v in row.values()])
    out.print(table if rows else f"No models registered in {reg.path} yet.")


@models_app.command("show")
def show_model(name: Annotated[str, typer.Argument(help="Registered model name.")],
               registry: RegistryOption = None, as_json: JsonOption = False) -> None:
    """The versions of NAME with their lineage and evaluation, and the history of its champion."""
    from trainlab.lifecycle.registry import Registry

    reg = Registry(registry)
    versions, history = reg.versions(name), reg.history(name)
    if as_json:
        out.print_json(json.dumps({"versions": [v.to_dict() for v in versions], "history": history}, default=str))
        return
    table = Table(title=f"{name} — {len(versions)} version(s)")
    for column in ("version", "aliases", "family", "test score", "parent", "created", "by", "data", "evaluation"):
        table.add_column(column)
    for v in versions:
        table.add_row(str(v.version), ", ".join(v.aliases), v.family or "", _score(v),
                      str(v.parent_version or ""), v.created_at, v.created_by, _short(v.data_path),
                      v.evaluation.get("decision", ""))
    out.print(table)
    for h in history:
        out.print(f"[dim]{h['at']} {h['by']}: {h['action']} {h['alias']} → v{h['version']} {h['note']}[/]",
                  highlight=False)


@models_app.command("promote")
def promote(name: Annotated[str, typer.Argument(help="Registered model name.")],
            version: Annotated[int, typer.Argument(help="Version number to make champion.")],
            registry: RegistryOption = None) -> None:
    """Make VERSION the champion of NAME."""
    from trainlab.lifecycle.registry import Registry

    promoted = Registry(registry).promote(name, version, note="trainlab models promote")
    out.print(f"{promoted.ref} is now the champion of '{name}' ({_score(promoted)}).", highlight=False)


@models_app.command("rollback")
def rollback(name: Annotated[str, typer.Argument(help="Registered model name.")],
             registry: RegistryOption = None) -> None:
    """Undo the last promotion of NAME: its champion goes back to the version before."""
    from trainlab.lifecycle.registry import Registry

    champion = Registry(registry).rollback(name, note="trainlab models rollback")
    out.print(f"Rolled back: {champion.ref} is the champion of '{name}' again ({_score(champion)}).", highlight=False)


def monitor(
    model: Annotated[str, typer.Argument(help="NAME, NAME@alias, NAME@VERSION, or a bundle folder.")],
    data: Annotated[Path, typer.Argument(help="New rows to compare with the training reference.")],
    registry: RegistryOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the HTML report and JSON summary.")] = Path(
        "monitoring"),
    psi: Annotated[float, typer.Option(help="PSI at which a column (recommenders: item popularity) drifts.")] = 0.2,
    distance: Annotated[float, typer.Option(help="Numeric shift, in standard deviations, that counts as drift.")] = 0.25,
    as_json: JsonOption = False,
    member: Annotated[str | None, typer.Option(help="The table to read inside a zip archive of several.")] = None,
) -> None:
    """Check DATA for drift against MODEL's training reference. Exit 0: no drift, 1: drift, 2: error."""
    from trainlab.errors import TrainlabError

    recommender = _recommender_bundle(model, registry)
    if recommender is not None:
        from trainlab.cli.recommend import monitor_recommender

        drifted = monitor_recommender(recommender, model, data, out_dir, psi, as_json)
        raise typer.Exit(1 if drifted else 0)
    try:
        report, paths = _monitor(model, data, registry, out_dir, psi, distance, member)
    except TrainlabError:
        raise
    except Exception as exc:  # a scheduler reads exit 1 as drift: anything unforeseen must be 2
        err.print(f"[bold red]Error:[/] monitoring failed: {type(exc).__name__}: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    if as_json:
        out.print_json(json.dumps({**report.to_dict(), "files": [str(p) for p in paths]}, default=str))
    else:
        _print_drift(report, paths)
    raise typer.Exit(1 if report.drifted else 0)


def _recommender_bundle(model: str, registry: Path | None) -> Path | None:
    """The bundle of MODEL (a folder or a registered name) when it holds a recommender, else None."""
    from trainlab.bundle.recommender import is_recommender
    from trainlab.lifecycle.registry import resolve_bundle

    path = Path(model)
    if not (path / "manifest.json").is_file():
        try:
            path = resolve_bundle(model, registry)
        except Exception:  # not a registered name: the table path says so in its own words
            return None
    return path if is_recommender(path) else None


def _monitor(model: str, data: Path, registry: Path | None, out_dir: Path, psi: float,
             distance: float, member: str | None = None) -> tuple[Any, list[Path]]:
    from trainlab.data.load import load_table
    from trainlab.lifecycle.drift import DriftThresholds
    from trainlab.lifecycle.drift import monitor as check
    from trainlab.lifecycle.drift_html import render_html
    from trainlab.lifecycle.registry import load_predictor

    predictor, label = load_predictor(model, registry)
    report = check(predictor, load_table(data, member), label, DriftThresholds(psi=psi, distance=distance))
    stem = label.replace("@", "-v").replace("/", "_").strip("._") or "model"
    folder = out_dir / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "drift.json", folder / "drift.html"]
    _write(paths[0], json.dumps(report.to_dict(), indent=2, default=str))
    _write(paths[1], render_html(report))
    return report, paths


def _print_drift(report: Any, paths: list[Path]) -> None:
    table = Table(title=f"Drift of {report.model}: {report.rows} new rows vs {report.reference_rows} training rows")
    for column in ("column", "status", "PSI", "test", "p-value", "distance", "missing ref → now", "new categories"):
        table.add_column(column)
    columns = [*report.features, *([report.prediction] if report.prediction else [])]
    for c in columns:
        status = "[red]drift[/]: " + "; ".join(c.reasons) if c.drifted else "[green]ok[/]"
        table.add_row(c.name, status, f"{c.psi:.3f}", c.test, f"{c.p_value:.2g}",
                      "" if c.distance is None else f"{c.distance:.3f}",
                      f"{c.missing_reference:.1%} → {c.missing_now:.1%}",
                      "" if c.new_category_rate is None else f"{c.new_category_rate:.1%}")
    out.print(table)
    perf = report.performance
    if perf:
        colour = "red" if perf["degraded"] else "green"
        out.print(f"[{colour}]{perf['metric']}[/]: {perf['training']:.4f} at training, {perf['now']:.4f} now "
                  f"({perf['rows']} labelled rows)", highlight=False)
    for note in report.notes:
        out.print(f"[dim]{note}[/]", highlight=False)
    out.print(("[bold red]" if report.drifted else "[bold green]") + report.summary() + "[/]", highlight=False)
    out.print(f"Report: {paths[1]}   Summary: {paths[0]}", highlight=False)


def retrain(
    name: Annotated[str, typer.Argument(help="Registered model whose champion is challenged.")],
    data: Annotated[Path, typer.Argument(help="New labelled rows.")],
    mode: Annotated[str, typer.Option(
        help="replace: learn from the new rows only; append: recorded training data + new rows; "
             "window: the most recent rows of both, as many as the champion learned from; "
             "auto: replace for table models, append for recommenders.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Promote the challenger even if it is not better.")] = False,
    held_out: Annotated[float, typer.Option(help="Share of the new rows held out to compare the two.")] = 0.2,
    window_rows: Annotated[int | None, typer.Option(help="Rows kept by --mode window.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds for training (default: the champion's).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the challenger's run folder.")] = None,
    registry: RegistryOption = None,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Log the challenger's run to MLflow.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Train a challenger on DATA with the champion's configuration; promote it only if it scores better."""
    from trainlab.lifecycle.retrain import RetrainOptions
    from trainlab.lifecycle.retrain import retrain as run_retrain

    options = RetrainOptions(mode=mode, force=force, held_out=held_out, window_rows=window_rows,
                             time_limit=time_limit, out_dir=out_dir)
    uri = tracking_before(mlflow)
    err.print(f"Training a challenger for the champion of '{name}' with its configuration on {data} ({mode})…",
              highlight=False)
    result = run_retrain(name, data, options, registry)
    if uri:
        _log_to_mlflow(result.run, uri, name)
    if as_json:
        out.print_json(json.dumps(result.to_dict(), default=str))
        return
    out.print(f"{'[bold green]' if result.promoted else '[bold yellow]'}{result.decision}[/]", highlight=False)
    out.print(f"Challenger {result.challenger.ref} trained on {result.train_rows} rows (mode {result.mode}); "
              f"run folder {result.challenger.run_folder}", highlight=False)


def _score(version: ModelVersion) -> str:
    metrics = version.metrics
    metric = metrics.get("ranking_metric")
    value = metrics.get("test", {}).get(metric) if metric else None
    return f"{metric} {value:.4f}" if isinstance(value, int | float) else ""


def _short(path: str | None) -> str:
    if not path:
        return ""
    return path if len(path) <= 40 else "…" + path[-39:]


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
