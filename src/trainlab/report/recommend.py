"""The report of a recommendation run: one offline HTML file built from the run folder's files
(run.json, leaderboard.csv, trials.csv, recommend.json); it never calls a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from trainlab.report import plots
from trainlab.report.html import TEMPLATES, fmt
from trainlab.report.model import clean


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    return clean(json.loads(pd.read_csv(path).to_json(orient="records")))


def write_recommend_report(folder: str | Path) -> Path:
    """Write ``report.html`` in a recommendation run's folder from the files in it."""
    folder = Path(folder)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    insights = json.loads((folder / "recommend.json").read_text(encoding="utf-8"))
    board, trials = _records(folder / "leaderboard.csv"), _records(folder / "trials.csv")
    k = run["config"]["k"]
    metrics = [c[4:] for c in (board[0] if board else {}) if c.startswith("val_")]
    baseline = next((r for r in board if r["family"] == "popularity"), None)
    images = {"times": plots.model_times(board), "tuning": plots.tuning(trials, run["ranking_metric"], True)}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.ChainableUndefined)
    env.filters["fmt"] = fmt
    html = env.get_template("recommend.html").render(run=run, board=board, trials=trials, metrics=metrics, k=k,
                                                     baseline=baseline, insights=clean(insights), img=images,
                                                     name=folder.name, bundle=str(folder / "model"))
    path = folder / "report.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
