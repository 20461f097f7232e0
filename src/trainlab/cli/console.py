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
