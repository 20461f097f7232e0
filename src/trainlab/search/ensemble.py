"""Weighted averages of trained models' outputs, and greedy ensemble selection on out-of-fold predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trainlab.models.fitted import TrainedModel


@dataclass
class EnsembleModel:
    """Averages members' class probabilities (or predictions) with fixed weights that sum to one."""

    members: list[TrainedModel]
    weights: list[float]

    @property
    def task(self) -> str:
        return self.members[0].task

    @property
    def n_classes(self) -> int:
        return self.members[0].n_classes

    def output(self, features: pd.DataFrame) -> np.ndarray:
        total = None
        for model, weight in zip(self.members, self.weights, strict=True):
            part = weight * model.output(features)
            total = part if total is None else total + part
        assert total is not None
        return total
