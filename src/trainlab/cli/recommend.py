"""Commands of recommendation: ``train --task recommend`` (its options and output) and ``recommend``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from trainlab.cli.console import err, out, print_findings, write_table


def train_recommend(data: Path, options: dict[str, Any], started: float | None, as_json: bool) -> Any:
    """``trainlab train DATA --task recommend``: search the recommender families and print the leaderboard."""
    from trainlab.config import make_recommend_config
    from trainlab.rec_run import train_recommender

    config = make_recommend_config(**options)

    def listen(kind: str, info: dict[str, Any]) -> None:
        if kind == "stage":
            err.print(f"[dim]{escape(info['name'])}[/]")
        elif kind == "trial_end":
            trial = info["trial"]
            mark, score = ("[green]✓[/]", f"{trial.score:.4f}") if trial.ok else ("[red]✗[/]", escape(trial.error))
            err.print(f"  {mark} {trial.name:<18} {score}", highlight=False)

    run = train_recommender(data, config, listener=None if as_json else listen, started=started)
    if as_json:
        out.print_json(json.dumps({"run": str(run.folder), "best_model": run.best_model, "test_metrics": run.test_metrics,
                                   "leaderboard": json.loads(run.leaderboard.to_json(orient="records"))}))
        return run
    print_findings(run.findings)
    out.print(_board(run.leaderboard, run.config.k))
    for family, reason in run.skipped.items():
        out.print(f"[dim]Skipped {family}: {escape(reason)}[/]")
    split = run.split
    scores = ", ".join(f"{k} {v:.4f}" for k, v in run.test_metrics.items())
    out.print(f"\n[bold]Best model:[/] {run.best_model}   [bold]test[/] ({split['test_users']} users, "
              f"{split['cold_start_test_users']} cold-start, {split['kind']} split): {scores}")
    out.print(f"Run folder: {run.folder}   ({run.timings['total_s']:.1f} s, {len(run.trials)} trials)")
    out.print(f"Recommend with: trainlab recommend {run.bundle_path} --user USER -k {run.config.k}")
    out.print(f"Report: {run.folder / 'report.html'}")
    return run


def _board(board: Any, k: int) -> Table:
    shown = ["model", "status", f"val_ndcg@{k}", f"val_hit@{k}", f"test_ndcg@{k}", f"test_hit@{k}",
             f"test_coverage@{k}", "fit_time_s"]
    table = Table(title=f"Leaderboard — recommend, ranked by validation ndcg@{k} (test: refit on train+validation)")
    for column in shown:
        table.add_column(column, justify="left" if column in ("model", "status") else "right")
    for _, row in board.iterrows():
        cells = []
        for column in shown:
            value = row.get(column)
            cells.append("—" if value is None or value != value else f"{value:.4f}" if isinstance(value, float)
                         else escape(str(value)))
        if row["status"] != "ok":
            cells[1] = escape(f"failed: {str(row['error'])[:80]}")
        table.add_row(*cells)
    return table


def recommend(
    bundle: Annotated[Path, typer.Argument(help="A recommender bundle: the 'model' folder of a recommend run.")],
    users: Annotated[Path | None, typer.Argument(
        help="A table of users (its user column, or its first column) to recommend for.")] = None,
    user: Annotated[str | None, typer.Option("--user", "-u", help="One user's id.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Length of each list.")] = 10,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Also list items the user already has.")] = False,
    similar: Annotated[str | None, typer.Option("--similar", help="List the items most similar to this item.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write user,rank,item,score here.")] = None,
    with_new: Annotated[Path | None, typer.Option(
        "--with", help="New interactions since training (the training's user and item columns) to fold in first: "
                       "known users are re-scored where the model allows, new items rank by popularity.")] = None,
) -> None:
    """Top-k items for a user (--user) or for every user of a table, from a saved recommender."""
    from trainlab.data.load import load_table
    from trainlab.errors import ConfigError
    from trainlab.recommender import Recommender

    model = Recommender.load(bundle)
    if with_new is not None:
        summary = model.fold_in(load_table(with_new), f"'{with_new}'")
        err.print(f"[dim]{escape(model.fold_in_note(summary))}[/]", highlight=False)
    if similar is not None:
        _print(model.similar_items(similar, k), output)
        return
    if (user is None) == (users is None):
        raise ConfigError("Give one user with --user ID or a table of users: trainlab recommend MODEL users.csv -k 10.")
    if user is not None:
        table = model.recommend_many([user], k, exclude_seen=not include_seen)
        if not model.knows(user) and not model.folded.positives.get(user):
            if model.listed_by_features(user):
                err.print(f"[yellow]User {escape(user)} was not seen in training: the items of the users most like "
                          "them by their side features (--user-features) are listed.[/]")
            else:
                err.print(f"[yellow]User {escape(user)} was not seen in training: the most popular items are listed.[/]")
        _print(table if output is not None else table.drop(columns="user"), output)
        return
    frame = load_table(users)  # type: ignore[arg-type]
    column = str(model.state.columns.get("user"))
    ids = frame[column] if column in frame.columns else frame.iloc[:, 0]
    ids = ids.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    table = model.recommend_many(ids.tolist(), k, exclude_seen=not include_seen)
    unknown = sum(not model.knows(u) and not model.folded.positives.get(u) for u in ids)
    if unknown:
        listed = sum(not model.knows(u) and not model.folded.positives.get(u) and model.listed_by_features(u)
                     for u in ids)
        err.print(f"[yellow]{unknown} users were not seen in training: they get the most popular items"
                  + (f", except {listed} listed in the user features, who get those of the users most like them" if listed
                     else "") + ".[/]")
    _print(table, output)


def _print(table: Any, output: Path | None) -> None:
    if output is None:
        out.print(table.to_csv(index=False), end="", highlight=False)
        return
    write_table(table, output)
    err.print(f"Wrote {len(table)} rows to {output}")


def evaluate_recommender(bundle: Path, data: Path, k: int | None, as_json: bool) -> None:
    """``trainlab evaluate MODEL interactions.csv`` for a recommender: ranking metrics on new interactions."""
    from trainlab.data.load import load_table
    from trainlab.recommender import Recommender

    model = Recommender.load(bundle)
    result = model.evaluate(load_table(data), k) if k else model.evaluate(load_table(data))
    if as_json:
        out.print_json(json.dumps(result, default=float))
        return
    k = result["k"]
    table = Table(title=f"{model.name} on {result['positive_rows']} positive new interactions of {result['users']} "
                        f"users ({result['new_users']} unknown at training: given the most popular items)")
    columns = [("model, new interactions", result["metrics"]), ("known users only", result["metrics_known_users"]),
               ("popularity, same", result["popularity"]), ("model at training", result["at_training"])]
    table.add_column("metric")
    for label, _ in columns:
        table.add_column(label, justify="right")
    for name in ("ndcg", "recall", "precision", "map", "hit", "coverage", "popularity_bias"):
        metric = f"{name}@{k}"
        table.add_row(metric, *[f"{values[metric]:.4f}" if isinstance(values.get(metric), float) else "—"
                                for _, values in columns])
    out.print(table)
    if result["left_out_new_item_rows"]:
        out.print(f"[dim]{result['left_out_new_item_rows']} positive interactions with items unknown at training "
                  f"(e.g. {', '.join(result['unknown_items'][:3])}) were left out: the model cannot have listed them. "
                  "Retrain to learn them.[/]", highlight=False)
    lift = result["metrics"][f"ndcg@{k}"] / max(result["popularity"][f"ndcg@{k}"], 1e-12) - 1
    out.print(f"ndcg@{k} {result['metrics'][f'ndcg@{k}']:.4f}: {lift:+.0%} vs popularity on the same interactions.",
              highlight=False)


def monitor_recommender(bundle: Path, label: str, data: Path, out_dir: Path, psi: float, as_json: bool) -> bool:
    """``trainlab monitor MODEL interactions.csv`` for a recommender: drift of item popularity; True if drifted."""
    from datetime import datetime

    from trainlab.data.load import load_table
    from trainlab.lifecycle.recommend import popularity_drift
    from trainlab.recommender import Recommender

    report = popularity_drift(Recommender.load(bundle), load_table(data), label, psi_threshold=psi)
    stem = label.replace("@", "-v").replace("/", "_").strip("._") or "model"
    folder = out_dir / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "drift.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if as_json:
        out.print_json(json.dumps({**report, "files": [str(path)]}))
        return bool(report["drifted"])
    table = Table(title=f"Item popularity of {report['model']}: {report['positive_rows']} positive new interactions vs "
                        f"{report['reference_interactions']} at training")
    for column in ("bin (most popular first)", "items", "share at training", "share now"):
        table.add_column(column, justify="right")
    for b in report["bins"]:
        table.add_row(str(b["bin"]), str(b["items"]), f"{b['share_training']:.1%}", f"{b['share_now']:.1%}")
    out.print(table)
    out.print(f"PSI {report['psi']:.3f} (chi-squared p {report['p_value']:.2g}); total variation between the item "
              f"distributions {report['total_variation']:.3f} (sampling alone gives about "
              f"{report['total_variation_sampling']:.3f} at this size); unknown users {report['new_users_share']:.1%}, "
              f"unknown items {report['new_items_share']:.1%} of the positive interactions.", highlight=False)
    gainers = ", ".join(f"{g['item']} ({g['share_training']:.2%} → {g['share_now']:.2%})" for g in report["gainers"][:3])
    out.print(f"Items that gained the most share: {escape(gainers)}", highlight=False)
    if report["drifted"]:
        out.print("[bold red]Drift: " + escape("; ".join(report["reasons"])) + ". Retrain: trainlab retrain NAME "
                  "new.csv (append).[/]", highlight=False)
    else:
        out.print("[bold green]No drift: item popularity and the share of unknown users and items are as at "
                  "training.[/]", highlight=False)
    out.print(f"Summary: {path}", highlight=False)
    return bool(report["drifted"])
