"""The search adapted to the table's shape: tables with far more columns than rows (wide).

On a wide table (more feature columns than training rows, and at least ``WIDE_MIN_COLUMNS`` of them) every
family's preprocessing ends in a feature screen that keeps the columns most associated with the target (fitted
inside each fold, and searchable), the families that declare ``wide_defaults`` (strongly regularized linear
models) run first with them, and the rest follow in their usual order.
"""

from __future__ import annotations

from dataclasses import replace

from trainlab.data.checks import Finding
from trainlab.models.registry import ModelSpec, Param
from trainlab.search.trial import TrainingData

WIDE_MIN_COLUMNS = 300
SCREEN_MIN = 20
"""The screen keeps at least this many columns, else as many as there are training rows (at most 1,000)."""
SCREEN_MAX = 1000


def shape_families(families: list[ModelSpec], data: TrainingData) -> tuple[list[ModelSpec], list[Finding]]:
    """The families as they run on this table's shape, and findings for the run that say what changed and why."""
    n_rows, n_features = data.features.shape
    families, wide = for_wide(families, n_rows, n_features)
    return families, [Finding("info", "wide_table", wide)] if wide else []


def is_wide(n_rows: int, n_features: int) -> bool:
    """Whether a table of ``n_rows`` training rows and ``n_features`` feature columns counts as wide."""
    return n_features >= WIDE_MIN_COLUMNS and n_features > n_rows


def screen_size(n_rows: int, n_features: int) -> int:
    """Columns the default screen keeps: about one per training row, within [SCREEN_MIN, SCREEN_MAX]."""
    return min(n_features, max(SCREEN_MIN, min(n_rows, SCREEN_MAX)))


def for_wide(families: list[ModelSpec], n_rows: int, n_features: int) -> tuple[list[ModelSpec], str | None]:
    """The families as they run on this table, and a sentence for the run saying what changed (None: nothing)."""
    if not is_wide(n_rows, n_features):
        return families, None
    keep = screen_size(n_rows, n_features)
    space = Param("int", min(SCREEN_MIN, n_features), min(n_features, 10 * keep), log=True)
    shaped = [replace(s, defaults={**s.defaults, **s.wide_defaults, "screen": keep},
                      space={**s.space, "screen": space}) for s in families]
    shaped.sort(key=lambda s: not s.wide_defaults)  # stable: the regularized families first, the rest as before
    first = ", ".join(s.key for s in shaped if s.wide_defaults) or "none"
    note = (f"Wide table ({n_features} feature columns, {n_rows} training rows): every model sees the {keep} "
            f"columns a univariate F-test ranks highest on its training rows (the number is tuned); strongly "
            f"regularized families ({first}) run first.")
    return shaped, note
