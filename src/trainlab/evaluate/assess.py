"""What the test rows say beyond the scores: how sure each score is, and how the model treats groups of people."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trainlab.evaluate.fairness import fairness_report
from trainlab.evaluate.metrics import Context, metrics_for, predicted_labels
from trainlab.evaluate.uncertainty import bootstrap_intervals, interval_method


def assess_rows(y: np.ndarray, output: np.ndarray, ctx: Context, rows: pd.DataFrame, classes: list[Any],
                sensitive: tuple[str, ...] = (), seed: int = 0) -> dict[str, Any]:
    """95 % bootstrap intervals of every metric, and fairness by group for the ``sensitive`` columns of ``rows``.

    ``rows`` are the labelled rows in the order of ``y`` and ``output``; they need the sensitive columns only.
    """
    record: dict[str, Any] = {
        "intervals": bootstrap_intervals(y, output, ctx, metrics_for(ctx.task), seed=seed),
        "interval_method": interval_method(len(y), ctx.task, seed),
        "fairness": None,
    }
    if sensitive:
        pred = predicted_labels(output, ctx) if ctx.task != "regression" else np.asarray(output, dtype=float)
        positive = str(classes[ctx.positive_index]) if ctx.task == "binary" else "positive"
        record["fairness"] = fairness_report(y, output, pred, rows, list(sensitive), ctx.task, ctx.positive_index,
                                             positive, seed)
    return record
