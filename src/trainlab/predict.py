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
from trainlab.errors import ConfigError
from trainlab.evaluate.contributions import explained_classes
from trainlab.evaluate.importance import explain_rows
from trainlab.evaluate.metrics import Context, predicted_labels
from trainlab.evaluate.words import is_exact, word_weights

TOP_WORDS = 10


class Predictor:
    """Predictions from a trained model, for raw rows with the training columns (extra columns are ignored)."""

    def __init__(self, model: Model, schema: Schema, manifest: Manifest | None = None) -> None:
        self.model = model
        self.schema = schema
        self.manifest = manifest
        stored = (manifest.extras.get("threshold") if manifest else None) or {}
        self.threshold: float | None = stored.get("threshold")
        """Binary models: the positive-class probability from which a row is predicted positive (None: 0.5)."""

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
        return np.asarray(self.classes, dtype=object)[self._labels(out)]

    def _labels(self, out: np.ndarray) -> np.ndarray:
        if self.threshold is not None and not 0 < self.threshold < 1:
            raise ConfigError(f"Decision threshold {self.threshold!r} must be between 0 and 1 (exclusive), "
                              "e.g. 0.3 to predict the positive class more often.")
        return predicted_labels(out, self._context())

    def _context(self) -> Context:
        positive = self.classes.index(self.schema.positive_class) if self.schema.positive_class is not None else 1
        return Context(self.task, positive, max(len(self.classes), 2), threshold=self.threshold)

    def predict_proba(self, rows: pd.DataFrame | str | Path) -> pd.DataFrame:
        """One probability column per class, named by the class."""
        if self.task == "regression":
            raise TypeError("predict_proba is for classifiers; this model predicts numbers. Use predict.")
        return pd.DataFrame(self.output(rows), columns=[str(c) for c in self.classes])

    def explain(self, rows: pd.DataFrame | str | Path, top: int = 5) -> list[dict[str, Any]]:
        """Each row's prediction with its ``top`` contributing features: value, contribution and direction; for
        text columns, also ``words``: the words that pushed it, with signed weights (``evaluate/words.py``)."""
        frame = rows if isinstance(rows, pd.DataFrame) else load_table(rows)
        features = make_features(self.schema.check_rows(frame), self.schema)
        stored = (self.manifest.extras.get("background") if self.manifest else None) or []
        background = pd.DataFrame(stored, columns=features.columns).astype(features.dtypes.to_dict()) if stored else features
        explanations = explain_rows(self.model, features, background, self.classes, self._context(), top=top)
        texts = self.schema.by_role("text")
        if texts and explanations:
            explained = explained_classes(self.model.output(features), self.task, self._context().positive_index)
            for column in texts:
                method = "exact (linear)" if is_exact(self.model, column) else "occlusion (each word left out)"
                for entry, words in zip(explanations, word_weights(self.model, features, column, explained,
                                                           top=max(top, TOP_WORDS)), strict=True):
                    entry.setdefault("words", {})[column] = {"method": method, "words": words}
        return explanations

    def predictions_table(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows' predictions as a table: 'prediction', plus 'proba_<class>' columns for classifiers; the
        picture or sound paths first, when the model reads files."""
        out = self.output(rows)
        files = {c.name: rows[c.name].to_numpy() for c in self.schema.features if c.role in ("image", "audio")}
        if self.task == "regression":
            return pd.DataFrame({**files, "prediction": out})
        labels = np.asarray(self.classes, dtype=object)[self._labels(out)]
        return pd.DataFrame({**files, "prediction": labels,  # one constructor: a column at a time took 3 ms a request
                             **{f"proba_{cls}": out[:, i] for i, cls in enumerate(self.classes)}})
