"""The report of a run: a plain-data model read from the run folder, rendered as report.html and summary.json."""

from trainlab.report.card import card_markdown, write_model_card
from trainlab.report.html import write_report
from trainlab.report.model import load_report, summary

__all__ = ["card_markdown", "load_report", "summary", "write_model_card", "write_report"]
