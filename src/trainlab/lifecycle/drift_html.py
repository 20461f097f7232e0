"""The drift report as one offline HTML page: a summary, a table of every column, and bar charts of the shares
per bin (training reference against now) as inline PNG images."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from trainlab.lifecycle.drift import ColumnDrift, DriftReport

MAX_PLOTS = 24
STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child,td:nth-child(3){text-align:left}.drift{color:#b00020;font-weight:600}.ok{color:#2e7d32}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem}img{width:100%}"""


def render_html(report: DriftReport) -> str:
    """The whole page; it needs no network (no scripts, no external images or fonts)."""
    verdict = "drift" if report.drifted else "ok"
    columns = [*report.features, *([report.prediction] if report.prediction else [])]
    ranked = sorted(columns, key=lambda c: (not c.drifted, -c.psi))[:MAX_PLOTS]
    th = report.thresholds
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Drift — {_e(report.model)}</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Drift report — {_e(report.model)}</h1>",
        f"<p class='{verdict}'>{_e(report.summary())}</p>",
        f"<p>New rows: {report.rows}; training reference: {report.reference_rows} rows. A column drifts when "
        f"PSI ≥ {th.psi}, a numeric distance ≥ {th.distance} standard deviations or new categories ≥ "
        f"{th.new_categories:.0%}, with p &lt; {th.p_value} (not sampling noise); or when its missing rate "
        f"moves by {th.missing_change:.0%} or more.</p>",
        _performance(report.performance),
        "<h2>Columns</h2>", _table(columns),
        *[f"<p>{_e(n)}</p>" for n in report.notes],
        "<h2>Distributions: training reference vs now</h2><div class='plots'>",
        *[f"<figure><img alt='{_e(c.name)}' src='data:image/png;base64,{_plot(c)}'></figure>" for c in ranked],
        "</div></body></html>",
    ]
    return "\n".join(parts)


def _table(columns: list[ColumnDrift]) -> str:
    head = ("column", "kind", "status", "PSI", "test", "statistic", "p-value", "distance (std)", "missing ref → now",
            "new categories")
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for c in columns:
        status = "<span class='ok'>ok</span>"
        if c.drifted:
            status = f"<span class='drift'>drift: {_e('; '.join(c.reasons))}</span>"
        cells = [_e(c.name), c.kind, status, f"{c.psi:.3f}", c.test, f"{c.statistic:.3f}", f"{c.p_value:.2g}",
                 "" if c.distance is None else f"{c.distance:.3f}",
                 f"{c.missing_reference:.1%} → {c.missing_now:.1%}",
                 "" if c.new_category_rate is None else f"{c.new_category_rate:.1%}"]
        rows.append("<tr>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    return "\n".join([*rows, "</table>"])


def _performance(perf: dict[str, Any] | None) -> str:
    if not perf:
        return ""
    verdict = "drift" if perf["degraded"] else "ok"
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_num(perf['all_training'].get(k))}</td><td>{_num(v)}</td></tr>"
                   for k, v in perf["all_now"].items())
    return (f"<h2>Performance ({perf['rows']} labelled rows)</h2><p class='{verdict}'>{_e(perf['metric'])}: "
            f"{_num(perf['training'])} at training (test set), {_num(perf['now'])} now.</p>"
            f"<table><tr><th>metric</th><th>at training</th><th>now</th></tr>{rows}</table>")


def _plot(column: ColumnDrift) -> str:
    import numpy as np
    from matplotlib.figure import Figure

    keep = [i for i, (a, b) in enumerate(zip(column.reference, column.now, strict=True)) if a > 0 or b > 0]
    x = np.arange(len(keep))
    fig = Figure(figsize=(4.8, 3.0), dpi=90)
    ax = fig.subplots()
    ax.bar(x - 0.2, [column.reference[i] for i in keep], 0.4, label="training", color="#90a4ae")
    ax.bar(x + 0.2, [column.now[i] for i in keep], 0.4, label="now", color="#d32f2f" if column.drifted else "#1976d2")
    ax.set_xticks(x, [column.bins[i] for i in keep], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("share of rows")
    ax.set_title(f"{column.name} — PSI {column.psi:.3f}" + (" (drift)" if column.drifted else ""), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "—"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
