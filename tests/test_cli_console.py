"""What the terminal shows: text with brackets intact, a leaderboard that fits a screen."""

from __future__ import annotations

import pandas as pd

from trainlab.cli.console import board_table, out, print_findings
from trainlab.data.checks import Finding


def test_messages_with_brackets_are_printed_intact() -> None:
    with out.capture() as captured:
        print_findings([Finding("warning", "extra", "needs 'torch': pip install 'trainlab[nn]'")])
    assert "pip install 'trainlab[nn]'" in captured.get()


def test_the_terminal_leaderboard_keeps_the_best_and_the_failed_rows_and_counts_the_rest() -> None:
    rows = [{"model": f"m{i}", "family": "linear", "status": "ok", "error": "", "val_roc_auc": 0.9 - i / 100,
             "val_accuracy": 0.8, "fit_time_s": 0.1, "predict_time_s": 0.01} for i in range(20)]
    rows += [{"model": "p", "family": "linear", "status": "pruned", "error": "first fold worse",
              "val_roc_auc": 0.5, "val_accuracy": float("nan"), "fit_time_s": 0.1, "predict_time_s": 0.01},
             {"model": "f", "family": "svm", "status": "failed", "error": "[boom] in fit", "val_roc_auc": float("nan"),
              "val_accuracy": float("nan"), "fit_time_s": 0.0, "predict_time_s": 0.0}]
    table = board_table(pd.DataFrame(rows), "Leaderboard", limit=5)
    assert table.row_count == 6
    assert table.caption == "16 more rows (pruned or lower) in leaderboard.csv"
    with out.capture() as captured:
        out.print(table)
    assert "[boom]" in captured.get()
