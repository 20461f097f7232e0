"""What a model wrapper wraps, and the base that makes a wrapper look like the model inside it."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Protocol

import numpy as np
import pandas as pd


class Outputs(Protocol):
    """Anything that turns features into outputs: class probabilities, or predictions for regression."""

    @property
    def task(self) -> str: ...

    @property
    def n_classes(self) -> int: ...

    def output(self, features: pd.DataFrame) -> np.ndarray: ...


class Wrapped:
    """Base of dataclasses that change a ``model``'s outputs (calibration, gap filling).

    The task, the class count and every attribute the wrapper lacks (``estimator``, ``members``, ``family``...)
    are the inner model's, so code that inspects models (explanations, learning curves) sees the model that
    was trained.
    """

    model: Outputs

    @property
    def task(self) -> str:
        return self.model.task

    @property
    def n_classes(self) -> int:
        return self.model.n_classes

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in {f.name for f in fields(self)}:  # type: ignore[arg-type]
            raise AttributeError(name)
        return getattr(self.model, name)
