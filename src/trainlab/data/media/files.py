"""Which files are pictures and which are sound: the suffix decides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MEDIA_ROLES = ("image", "audio")
MIN_SHARE = 0.9
"""A column is a path column when at least this share of its values end in one kind's suffixes."""


def kind_of_path(path: str | Path) -> str | None:
    """'image', 'audio' or None, from the file's suffix."""
    suffix = Path(str(path)).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    return None


def kind_of(values: pd.Series) -> str | None:
    """'image' or 'audio' when the column holds file paths of that kind, else None."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    sample = values.dropna().astype(str).head(500)
    if sample.empty:
        return None
    kinds = sample.map(kind_of_path).value_counts()
    if kinds.empty or kinds.iloc[0] < MIN_SHARE * len(sample):
        return None
    return str(kinds.index[0])
