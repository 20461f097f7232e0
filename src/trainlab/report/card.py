"""The model card: what the model is for, what it learned from, how it was chosen, how sure its figures are,
how it treats groups of people and what it cannot do, built from the report's plain data.

``card_sections`` gives the card as sections (a title, paragraphs, bullets, an optional table), which the HTML
report shows as one of its sections; ``card_markdown`` writes the same as ``model_card.md`` for the bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.bundle.io import add_documents
from trainlab.bundle.manifest import Manifest
from trainlab.report.model import calibration_summary, load_report

Section = dict[str, Any]
CARD_FILE = "model_card.md"
NO_USE_GIVEN = ("Not stated. Describe what this model is for, whom it affects and what it must not be used for: "
                "train again with --intended-use \"...\", or edit this section before the model is deployed.")
NOT_FOR = ("Not for: rows unlike the training data (check them with `trainlab monitor`), decisions about people "
           "without a person reviewing them, or any use the intended use above does not cover.")


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.1f}"


def _data_section(run: dict[str, Any], analysis: dict[str, Any]) -> Section:
    data = run.get("data_summary") or {}
    split = run.get("split") or {}
    bullets = [f"Source: `{run.get('data', '?')}` (fingerprint `{str(run.get('data_fingerprint', ''))[:16]}`).",
               f"{_number(data.get('rows'))} rows with a target, {_number(data.get('columns'))} columns; target "
               f"`{run.get('target')}`, task {run.get('task')}.",
               f"Split: {split.get('kind', '?')}, {_number(split.get('train_rows'))} training rows and "
               f"{_number(split.get('test_rows'))} test rows; validation by {split.get('validation', '?')}."]
    if data.get("roles"):
        bullets.append("Columns by role: " + ", ".join(f"{n} {role}" for role, n in data["roles"].items()) + ".")
    if data.get("class_counts"):
        total = sum(data["class_counts"].values()) or 1
        bullets.append("Class balance: " + ", ".join(f"{k} {v:,} ({100 * v / total:.0f} %)"
                                                     for k, v in data["class_counts"].items()) + ".")
    if data.get("target_range"):
        low, mid, high = data["target_range"]
        bullets.append(f"Target from {_number(low)} to {_number(high)} (median {_number(mid)}).")
    if data.get("time_span"):
        bullets.append(f"Time span: {data['time_span'][0]} to {data['time_span'][1]}.")
    config = run.get("config") or {}
    if config.get("sensitive"):
        used = "left out of the features (--exclude-sensitive)" if config.get("exclude_sensitive") \
            else "used as features too (leave them out with --exclude-sensitive)"
        bullets.append(f"Sensitive columns: {', '.join(config['sensitive'])}; {used}.")
    return {"title": "Training data", "bullets": bullets}


def _choice_section(run: dict[str, Any], leaderboard: list[dict[str, Any]]) -> Section:
    config = run.get("config") or {}
    budget = config.get("budget") or {}
    limit = budget.get("time_limit")
    budget_words = (f"a time limit of {limit:g} s" if limit else "") + \
        (f"{' and ' if limit else ''}at most {budget['max_trials']} trials" if budget.get("max_trials") else "")
    ok = [row for row in leaderboard if row.get("status") == "ok"]
    families = sorted({str(row.get("family")) for row in ok})
    spread = run.get("validation_spread") or {}
    refit = run.get("refit") or {}
    bullets = [f"Search: {len(leaderboard)} trials ({len(ok)} finished) over {len(families)} families "
               f"({', '.join(families)}), under {budget_words or 'no budget'}, seed {run.get('seed')}.",
               f"Ranked by out-of-fold {run.get('ranking_metric')}; chosen: **{run.get('best_model')}**."]
    if spread.get("fold_sd") is not None:
        bullets.append(f"Its validation {spread['metric']} varies by ±{spread['fold_sd']:.4f} (standard deviation) "
                       f"across {spread['folds']} folds.")
    if refit.get("tested"):
        bullets.append(f"Final model: refit on every row, test rows included; the test scores are those of "
                       f"{refit['tested']}.")
    else:
        made = refit.get("bagged") or f"refit on all {_number(refit.get('rows'))} training rows"
        bullets.append(f"Final model: {made}"
                       + ("; then refit on every row, test rows included." if refit.get("full") == "done" else "."))
    seeds = refit.get("full_seeds") if refit.get("full") == "done" else refit.get("seeds")
    if seeds and seeds > 1:
        bullets.append(f"The saved model averages {seeds} fits of its configuration, each with its own seed.")
    return {"title": "How it was chosen", "bullets": bullets}


def _metrics_section(run: dict[str, Any], analysis: dict[str, Any]) -> Section:
    metrics = run.get("test_metrics") or {}
    intervals = run.get("test_intervals") or {}
    rows = [[name, _number(value), f"{_number(intervals[name]['low'])} – {_number(intervals[name]['high'])}"
             if name in intervals else "–"] for name, value in metrics.items()]
    paragraphs = [f"Scored once on the {_number((run.get('split') or {}).get('test_rows'))} held-out test rows; "
                  "intervals by stratified bootstrap (1,000 resamples, 95 %)."]
    comparison = analysis.get("comparison")
    if comparison and comparison.get("verdict"):
        paragraphs.append(comparison["verdict"])
    cal = calibration_summary(run.get("calibration"))
    if cal and cal["method"] != "none":
        paragraphs.append(f"Calibration: {cal['name']} (out-of-fold log loss {_number(cal['oof_log_loss_before'])} "
                          f"before, {_number(cal['oof_log_loss_after'])} after).")
    elif cal:
        reason = cal.get("reason") or "no calibrator lowered the out-of-fold log loss enough"
        paragraphs.append(f"Calibration: none ({reason}).")
    diagnosis = analysis.get("diagnosis") or {}
    if diagnosis.get("headline"):
        paragraphs.append(f"Diagnosis: {diagnosis['headline']}")
    return {"title": "Metrics", "paragraphs": paragraphs,
            "table": {"columns": ["metric", "test", "95 % interval"], "rows": rows}}


def _fairness_section(fairness: dict[str, Any] | None) -> Section | None:
    if not fairness:
        return None
    paragraphs = [f"Measured on {fairness['rows']:,} test rows with fairlearn's MetricFrame. A gap is flagged when it "
                  f"is at least {100 * fairness['flag_gap']:.0f} points and its 95 % bootstrap interval excludes zero; "
                  f"groups under {fairness['min_group_rows']} rows are shown, not judged."
                  + (f" The positive class '{fairness['positive_class']}' is read as the outcome the model flags."
                     if fairness.get("positive_class") else "")]
    paragraphs += fairness.get("binning", [])
    rows = []
    for column in fairness["columns"]:
        paragraphs.append(column["verdict"])
        paragraphs.append(f"{column['column']}: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}"
                                                              for k, v in column["summary"].items()) + ".")
        for group in column["groups"]:
            measures = {k: v for k, v in group.items() if k != "group"}
            rows.append([column["column"], group["group"],
                         "; ".join(f"{k.replace('_', ' ')} {_number(v, 3)}" for k, v in measures.items())])
    return {"title": "Fairness by group", "paragraphs": paragraphs,
            "table": {"columns": ["column", "group", "measures"], "rows": rows}}


def _limits_section(run: dict[str, Any], manifest_extras: dict[str, Any]) -> Section:
    bullets = [f"{f.get('level', 'note').capitalize()}: {f.get('message')}" for f in run.get("findings") or []]
    if manifest_extras.get("gap_fill"):
        bullets.append("Rows missing values that every training row had are filled from similar training rows "
                       "(gap filling); an ONNX export leaves this step out.")
    bullets.append("Drift reference: the bundle keeps statistics of every feature and of the predictions; "
                   "`trainlab monitor` compares new rows with them.")
    bullets.append("The scores hold for rows like the test rows; they say nothing of other populations or times.")
    return {"title": "Known limitations", "bullets": bullets}


def card_sections(report: dict[str, Any], manifest_extras: dict[str, Any] | None = None) -> list[Section]:
    """The model card of a run as sections, from the report's plain data (``report.model.load_report``)."""
    run, analysis = report["run"], report["analysis"]
    config = run.get("config") or {}
    intended = config.get("intended_use")
    sections: list[Section | None] = [
        {"title": "Intended use", "paragraphs": [intended or NO_USE_GIVEN, NOT_FOR]},
        _data_section(run, analysis),
        _choice_section(run, report["leaderboard"]),
        _metrics_section(run, analysis),
        _fairness_section(run.get("fairness")),
        _limits_section(run, manifest_extras or {}),
        {"title": "Versions", "paragraphs": [", ".join(f"{k} {v}" for k, v in (run.get("versions") or {}).items())]},
    ]
    return [s for s in sections if s is not None]


def card_markdown(report: dict[str, Any], manifest_extras: dict[str, Any] | None = None) -> str:
    """The model card as Markdown, as ``model_card.md`` in the bundle."""
    run = report["run"]
    lines = [f"# Model card: {run.get('best_model')} predicting `{run.get('target')}`", "",
             f"Trained by trainlab on {run.get('created', '?')} (run `{report['name']}`).", ""]
    for section in card_sections(report, manifest_extras):
        lines += [f"## {section['title']}", ""]
        for paragraph in section.get("paragraphs", []):
            lines += [paragraph, ""]
        lines += [f"- {b}" for b in section.get("bullets", [])]
        if section.get("bullets"):
            lines.append("")
        table = section.get("table")
        if table and table["rows"]:
            lines += ["| " + " | ".join(table["columns"]) + " |", "|" + "---|" * len(table["columns"])]
            lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in table["rows"]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_model_card(run_folder: Path) -> Path:
    """Write ``model_card.md`` into the run's bundle (``run_folder/model``), from the files of the run folder."""
    bundle = Path(run_folder) / "model"
    extras = Manifest.read(bundle).extras
    add_documents(bundle, {CARD_FILE: card_markdown(load_report(run_folder), extras if isinstance(extras, dict) else {})})
    return bundle / CARD_FILE
