"""Render the report model as one self-contained HTML file (plots inlined as PNG), and summary.json beside it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jinja2

from trainlab.report import media_plots, plots
from trainlab.report.card import card_sections
from trainlab.report.model import GREATER_IS_BETTER, clean, load_report, summary

TEMPLATES = Path(__file__).parent / "templates"


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell: thousands separators for big numbers, ``digits`` significant decimals otherwise."""
    if value is None or isinstance(value, jinja2.Undefined):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or (abs(value) >= 1000 and float(value).is_integer()):
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.1f}"
    return f"{value:.{digits}f}"


def make_plots(report: dict[str, Any], facts: dict[str, Any]) -> dict[str, str | None]:
    """Every plot of the report as base64 PNG (None where the data for it is missing)."""
    analysis = report["analysis"]
    test = analysis.get("test", {})
    metric = facts["ranking_metric"] or ""
    diagnosis = analysis.get("diagnosis") or {}
    return {
        "target_split": plots.target_split(analysis.get("split_profile") or {}),
        "scores": plots.model_scores(report["leaderboard"], metric),
        "times": plots.model_times(report["leaderboard"]),
        "tuning": plots.tuning(report["tuning"]["trials"], metric, metric in GREATER_IS_BETTER),
        "classification_curves": plots.classification_curves(test.get("curves") or {}),
        "regression_curves": plots.regression_curves(test.get("curves") or {}),
        "confusion": plots.confusion(test.get("confusion")),
        "segments": plots.segments(test.get("segments"), test.get("error_measure", "error")),
        "learning_curve": plots.learning_curve(diagnosis.get("curve"), diagnosis.get("skill_name", "skill")),
        "importance": plots.importance(test.get("importance")),
        "network_curves": media_plots.network_curves(analysis.get("network_curves")),
        "saliency": media_plots.saliency(test.get("media")),
        "heat_examples": media_plots.examples(test.get("media")),
    }


def render_html(report: dict[str, Any], facts: dict[str, Any], images: dict[str, str | None]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.ChainableUndefined)
    env.filters["fmt"] = fmt
    card = card_sections(report) if report["run"].get("best_model") else []
    test = report["analysis"].get("test", {})
    return env.get_template("report.html").render(r=report, s=facts, img=images, run=report["run"], card=card,
                                                  a=report["analysis"], test=test,
                                                  gallery=media_plots.gallery(test.get("media")))


def write_report(folder: str | Path) -> Path:
    """Build ``report.html`` and ``summary.json`` in a run (or evaluation) folder from the files in it."""
    started = time.monotonic()
    folder = Path(folder)
    report = load_report(folder)
    facts = summary(report)
    images = make_plots(report, facts)
    html = render_html(report, facts, images)
    facts["report_seconds"] = round(time.monotonic() - started, 3)
    _write(folder / "report.html", html)
    _write(folder / "summary.json", json.dumps(clean(facts), indent=2, allow_nan=False, default=str))
    return folder / "report.html"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
