"""The tabular network: robust feature encoding as plain data, then embeddings and an MLP in PyTorch.

``Encoding`` turns a prepared frame (numbers with NaN, categories as text) into tensors; its state is
plain JSON. ``TabularMLP`` is rebuilt from ``Architecture`` alone, so a saved model is JSON plus weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from trainlab.data.media import raw_names

CLIP = 3.0  # robust z-scores z become z / sqrt(1 + (z / CLIP)^2): unchanged near 0, never beyond +-CLIP
MAX_EMBEDDING = 16


@dataclass
class NumericColumn:
    """How one numeric column is standardized: (x - center) / scale, with a missing flag when it had NaN."""

    name: str
    center: float
    scale: float
    flag_missing: bool


@dataclass
class CategoricalColumn:
    """One categorical column's vocabulary; index 0 is kept for unseen and rare values."""

    name: str
    categories: list[str]

    @property
    def cardinality(self) -> int:
        return len(self.categories) + 1


@dataclass
class Encoding:
    """The fitted input encoding: numeric columns standardized robustly, categories mapped to indices."""

    numeric: list[NumericColumn] = field(default_factory=list)
    categorical: list[CategoricalColumn] = field(default_factory=list)

    @classmethod
    def fit(cls, frame: pd.DataFrame, min_count: int = 2) -> Encoding:
        """Median and interquartile range (std when that is 0) per number; values seen ``min_count`` times."""
        numeric, categorical = [], []
        for name in frame.columns:
            s = frame[name]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                values = s.to_numpy(dtype=float)
                numeric.append(_numeric_column(str(name), values))
            else:
                counts = s.astype(str).value_counts()
                keep = sorted(str(v) for v, n in counts.items() if n >= min_count)
                categorical.append(CategoricalColumn(str(name), keep))
        return cls(numeric, categorical)

    @property
    def n_numeric_inputs(self) -> int:
        return len(self.numeric) + sum(c.flag_missing for c in self.numeric)

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """A float32 matrix of squashed z-scores and missing flags, and an int64 matrix of category indices."""
        n = len(frame)
        num = np.zeros((n, self.n_numeric_inputs), dtype=np.float32)
        if self.numeric:  # all columns at once (hundreds of picture features: 27 ms a row column by column)
            values = _numbers(frame, self.numeric_names)
            missing = ~np.isfinite(values)
            center = np.array([c.center for c in self.numeric])
            scale = np.array([c.scale for c in self.numeric])
            z = (np.where(missing, center, values) - center) / scale
            num[:, :len(self.numeric)] = z / np.sqrt(1.0 + (z / CLIP) ** 2)
            flags = [j for j, c in enumerate(self.numeric) if c.flag_missing]
            num[:, len(self.numeric):] = missing[:, flags]
        cat = np.zeros((n, len(self.categorical)), dtype=np.int64)
        for j, ccol in enumerate(self.categorical):
            index = {v: i + 1 for i, v in enumerate(ccol.categories)}
            cat[:, j] = frame[ccol.name].astype(str).map(index).fillna(0).to_numpy(dtype=np.int64)
        return num, cat

    @cached_property
    def numeric_names(self) -> pd.Index:
        return pd.Index([c.name for c in self.numeric], dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return {"numeric": [asdict(c) for c in self.numeric], "categorical": [asdict(c) for c in self.categorical]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoding:
        return cls([NumericColumn(**c) for c in d["numeric"]], [CategoricalColumn(**c) for c in d["categorical"]])


def columns(frame: pd.DataFrame, names: list[str] | pd.Index) -> np.ndarray:
    """The named columns of an all-number frame as one array, found by position (``frame[names]`` checks each
    name again: 5 ms for the 1,100 columns of one picture)."""
    at = frame.columns.get_indexer(names if isinstance(names, pd.Index) else pd.Index(names))
    if (at < 0).any():
        missing = [n for n, i in zip(names, at, strict=True) if i < 0]
        raise KeyError(f"columns not found: {missing[:5]}")
    return frame.iloc[:, at].to_numpy(na_value=np.nan)


@lru_cache(maxsize=64)
def block_names(column: str, kind: str, shape: tuple[int, ...]) -> pd.Index:
    """The names of a picture's or spectrogram's decoded values, as an index built once (1.3 ms a request for one
    picture's 784)."""
    return pd.Index(raw_names(column, kind, shape), dtype=object)


def _numbers(frame: pd.DataFrame, names: pd.Index) -> np.ndarray:
    """The columns as a float matrix; text that is not a number becomes NaN."""
    values = columns(frame, names)
    if values.dtype.kind in "fiu":
        return values.astype(float, copy=False)
    return np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in names])


def embedding_dim(cardinality: int) -> int:
    """Width of a category's learned vector: grows slowly with the number of values, at most MAX_EMBEDDING."""
    return max(2, min(MAX_EMBEDDING, round(1.6 * cardinality ** 0.56)))


def _numeric_column(name: str, values: np.ndarray) -> NumericColumn:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return NumericColumn(name, 0.0, 1.0, flag_missing=True)
    q1, center, q3 = np.percentile(finite, [25, 50, 75])
    scale = (q3 - q1) / 1.349  # the IQR of a normal distribution is 1.349 standard deviations
    if not scale > 1e-12:
        scale = float(finite.std()) or 1.0
    return NumericColumn(name, float(center), float(scale), flag_missing=bool(finite.size < values.size))


@dataclass
class Architecture:
    """Everything needed to rebuild the network's layers: the encoding's shape, width, depth, dropout, norm."""

    n_numeric: int
    cardinalities: list[int]
    n_outputs: int
    width: int = 256
    depth: int = 2
    dropout: float = 0.2
    norm: str = "batch"
    media: list[dict[str, Any]] = field(default_factory=list)
    """Picture and spectrogram inputs (``encoders.MediaInput`` as data), after the numbers in the numeric tensor."""
    texts: list[dict[str, Any]] = field(default_factory=list)
    """Text inputs (``textbag.TextInput`` as data, the vocabulary included): token ids after the category indices,
    token weights after the media blocks."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TabularMLP(nn.Module):
    """Embeddings for categories, concatenated with numbers, through ``depth`` blocks of
    Linear -> normalization -> ReLU -> dropout, then a linear head."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(card, embedding_dim(card)) for card in arch.cardinalities)
        width_in = arch.n_numeric + sum(embedding_dim(card) for card in arch.cardinalities)
        blocks: list[nn.Module] = []
        for _ in range(arch.depth):
            norm = nn.BatchNorm1d(arch.width) if arch.norm == "batch" else nn.LayerNorm(arch.width)
            blocks += [nn.Linear(max(width_in, 1), arch.width), norm, nn.ReLU(), nn.Dropout(arch.dropout)]
            width_in = arch.width
        self.body = nn.Sequential(*blocks)
        self.out_width = max(width_in, 1)
        self.head = nn.Linear(self.out_width, arch.n_outputs)

    def encode(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """The body's output, before the head."""
        x = torch.cat([num, *(emb(cat[:, j]) for j, emb in enumerate(self.embeddings))], dim=1)
        if x.shape[1] == 0:  # no usable feature: the network learns a constant
            x = num.new_zeros((num.shape[0], 1))
        return self.body(x)

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        return self.head(self.encode(num, cat))


def build_network(arch: Architecture) -> nn.Module:
    """The tabular MLP, or with picture, sound or text inputs their encoders joined with the MLP's body."""
    if not arch.media and not arch.texts:
        return TabularMLP(arch)
    from trainlab.models.neural.encoders import HybridNet, MediaInput, TextInput

    tabular = TabularMLP(arch) if arch.n_numeric or arch.cardinalities else None
    return HybridNet(tabular, tabular.out_width if tabular is not None else 0, arch.n_numeric,
                     [MediaInput.from_dict(m) for m in arch.media], arch.n_outputs, arch.dropout,
                     [TextInput.from_dict(t) for t in arch.texts], len(arch.cardinalities))
