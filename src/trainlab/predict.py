"""Predictor: a loaded bundle that checks rows against the training schema, then predicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.bundle import Manifest, load_bundle
from trainlab.bundle.io import Model
from trainlab.data.load import load_table
from trainlab.data.prepare import make_features
from trainlab.data.schema import Schema


class Predictor:
    """Predictions from a trained model, for raw rows with the training columns (extra columns are ignored)."""

    def __init__(self, model: Model, schema: Schema, manifest: Manifest | None = None) -> None:
        self.model = model
        self.schema = schema
        self.manifest = manifest

    @classmethod
    def load(cls, folder: str | Path) -> Predictor:
        manifest, model = load_bundle(folder)
        return cls(model, Schema.from_dict(manifest.schema), manifest)

    @property
    def task(self) -> str:
        return self.schema.task

    @property
    def classes(self) -> list[Any]:
        return list(self.schema.classes)

    def output(self, rows: pd.DataFrame | str | Path) -> np.ndarray:
        """Raw model output: class probabilities, or predictions for regression."""
        frame = rows if isinstance(rows, pd.DataFrame) else load_table(rows)
        checked = self.schema.check_rows(frame)
        return self.model.output(make_features(checked, self.schema))

    def predict(self, rows: pd.DataFrame | str | Path) -> np.ndarray:
        """Predicted class labels, or numbers for regression."""
        out = self.output(rows)
        if self.task == "regression":
            return out
        return np.asarray(self.classes, dtype=object)[out.argmax(axis=1)]

    def predict_proba(self, rows: pd.DataFrame | str | Path) -> pd.DataFrame:
        """One probability column per class, named by the class."""
        if self.task == "regression":
            raise TypeError("predict_proba is for classifiers; this model predicts numbers. Use predict.")
        return pd.DataFrame(self.output(rows), columns=[str(c) for c in self.classes])

    def predictions_table(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows' predictions as a table: 'prediction', plus 'proba_<class>' columns for classifiers."""
        out = self.output(rows)
        if self.task == "regression":
            return pd.DataFrame({"prediction": out})
        table = pd.DataFrame({"prediction": np.asarray(self.classes, dtype=object)[out.argmax(axis=1)]})
        for i, cls in enumerate(self.classes):
            table[f"proba_{cls}"] = out[:, i]
        return table
