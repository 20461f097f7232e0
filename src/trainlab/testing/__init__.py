"""Checks for code that plugs into trainlab: the conformance suite every model family must pass."""

from trainlab.testing.conformance import case_id, cases, check_declaration, check_family, sample_table, skip_reason

__all__ = ["case_id", "cases", "check_declaration", "check_family", "sample_table", "skip_reason"]
