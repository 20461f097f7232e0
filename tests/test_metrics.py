"""The metrics' own arithmetic against scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from trainlab.evaluate.metrics import METRICS, Context, compute_metrics


def test_the_unweighted_binary_auc_equals_scikit_learns_with_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.integers(0, 2, 500)
        p = np.round(rng.random(500), 1)  # many ties
        proba = np.column_stack([1 - p, p])
        assert METRICS["roc_auc"].compute(y, proba, Context("binary")) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        # the first column as the positive class: rows labelled 0 are the positives, scored by 1 - p
        assert METRICS["roc_auc"].compute(y, proba, Context("binary", positive_index=0)) == \
            pytest.approx(roc_auc_score(y == 0, 1 - p), abs=1e-12)


def test_log_loss_takes_probabilities_a_rounding_past_one() -> None:
    """A weighted blend of members' probabilities can sum to 1.0000000000000002; scikit-learn refuses that."""
    y = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.0, 1.0000000000000002], [0.2, 0.8], [0.7, 0.3]])
    found = compute_metrics(y, proba, Context("binary", 1, 2))["log_loss"]
    assert found == pytest.approx(-np.mean(np.log([0.9, 1.0, 0.8, 0.7])), abs=1e-9)
