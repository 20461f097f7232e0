"""The consoles and table printers the commands share: results on stdout, progress and messages on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console()
err = Console(stderr=True)


def print_findings(findings: list[Any]) -> None:
    for f in findings:
        colour = {"warning": "yellow", "info": "dim"}.get(f.level, "red")
        out.print(f"[{colour}]{f.level.capitalize()}:[/] {escape(f.message)}", highlight=False)


TERMINAL_METRICS = ("accuracy", "f1", "log_loss", "roc_auc", "r2", "mae", "rmse")


def board_table(board: pd.DataFrame, title: str, limit: int = 15) -> Table:
    """The leaderboard's main columns and best rows, then the failed ones; all of it is in leaderboard.csv."""
    ranking = board.columns[4]
    extra = [c for c in board.columns[5:] if c.startswith("val_") and c[4:] in TERMINAL_METRICS][:2]
    shown = ["model", "status", ranking, *extra, "fit_time_s", "predict_time_s"]
    rows = pd.concat([board[board["status"] == "ok"].head(limit), board[board["status"] == "failed"]])
    hidden = len(board) - len(rows)
    caption = f"{hidden} more rows (pruned or lower) in leaderboard.csv" if hidden else None
    table = Table(title=title, caption=caption)
    for column in shown:
        table.add_column(column, justify="right" if board[column].dtype.kind == "f" else "left")
    for _, row in rows.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) else escape(str(v)) for v in row[shown]]
        if row["status"] != "ok":
            cells[shown.index("status")] = escape(f"failed: {str(row['error'])[:80]}")
        table.add_row(*cells)
    return table


def write_table(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() in (".parquet", ".pq"):
        table.to_parquet(tmp, index=False)
    else:
        table.to_csv(tmp, index=False)
    tmp.replace(path)


def scores_with_intervals(metrics: dict[str, float], intervals: dict[str, dict[str, float]] | None) -> str:
    """'roc_auc 0.8405 [0.7861, 0.8873], ...': each score with its 95 % interval where there is one."""
    parts = []
    for name, value in metrics.items():
        interval = (intervals or {}).get(name)
        bounds = f" [{interval['low']:.4f}, {interval['high']:.4f}]" if interval else ""
        parts.append(f"{name} {value:.4f}{bounds}")
    return ", ".join(parts)


SUMMARY_WORDS = {"demographic_parity_difference": "demographic parity difference",
                 "demographic_parity_ratio": "demographic parity ratio",
                 "equalized_odds_difference": "equalized odds difference", "equalized_odds_ratio": "equalized odds ratio",
                 "accuracy_difference": "accuracy difference", "mae_difference": "MAE difference"}


def print_fairness(fairness: dict[str, Any] | None) -> None:
    """One table per sensitive column (a row per group), its differences and ratios, and the verdict."""
    if not fairness:
        return
    for note in fairness.get("binning", []):
        out.print(f"[dim]{escape(note)}[/]", highlight=False)
    for column in fairness["columns"]:
        groups = column["groups"]
        measures = [k for k in groups[0] if k != "group"] if groups else []
        table = Table(title=f"Fairness by {column['column']} (test rows)")
        for name in ["group", *measures]:
            table.add_column(name.replace("_", " "), justify="left" if name == "group" else "right")
        for row in groups:
            table.add_row(escape(row["group"]), *[_cell(row[m]) for m in measures])
        out.print(table)
        summary = ", ".join(f"{SUMMARY_WORDS.get(k, k)} {v:.3f}" for k, v in column["summary"].items())
        out.print(escape(summary), highlight=False)
        colour = "yellow" if column["flagged"] else "green"
        out.print(f"[{colour}]{escape(column['verdict'])}[/]", highlight=False)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.3f}"
