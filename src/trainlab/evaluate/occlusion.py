"""Which regions of a picture drove its prediction: occlusion. Squares of the picture are greyed out one at a
time and the fall in the predicted class's probability is the square's heat."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media.cache import decoded
from trainlab.data.schema import Schema
from trainlab.errors import DataError

GRID = 8
"""Squares per side of the picture."""


def occlusion_map(output: Callable[[pd.DataFrame], np.ndarray], schema: Schema, path: str | Path
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The decoded picture (channels, height, width), its heat map (height, width: the probability the predicted
    class loses when that square is hidden) and the class probabilities of the whole picture."""
    columns = [c for c in schema.features if c.role == "image"]
    if len(columns) != 1 or len(schema.features) != 1:
        raise DataError("'trainlab explain' draws heat maps for models trained on one picture column alone; this "
                        f"model reads {', '.join(c.name for c in schema.features)}.")
    column = columns[0]
    try:
        image = decoded(path, column.media)
    except (OSError, ValueError) as exc:
        raise DataError(f"Picture '{path}' cannot be read: {exc}. Give a PNG, JPEG, BMP, GIF, WebP or TIFF file.") from exc
    _, h, w = image.shape
    rows, cols = np.array_split(np.arange(h), GRID), np.array_split(np.arange(w), GRID)
    fill = np.uint8(image.mean())
    with tempfile.TemporaryDirectory(prefix="trainlab-occlusion-") as tmp:
        paths = [_save(image, Path(tmp) / "whole.png")]
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                hidden = image.copy()
                hidden[:, r[0]:r[-1] + 1, c[0]:c[-1] + 1] = fill
                paths.append(_save(hidden, Path(tmp) / f"{i}-{j}.png"))
        proba = output(pd.DataFrame({column.name: paths}))
    top = int(proba[0].argmax())
    heat = np.zeros((h, w))
    for k, (i, j) in enumerate((i, j) for i in range(GRID) for j in range(GRID)):
        heat[rows[i][0]:rows[i][-1] + 1, cols[j][0]:cols[j][-1] + 1] = proba[0, top] - proba[k + 1, top]
    return image, heat, proba[0]


def _save(array: np.ndarray, path: Path) -> str:
    from PIL import Image

    Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)).save(path)
    return str(path)


def write_heat_map(image: np.ndarray, heat: np.ndarray, title: str, path: Path) -> None:
    """The picture beside it with the heat over it, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picture: Any = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
    for ax in axes:
        ax.imshow(picture, cmap="gray" if image.shape[0] == 1 else None)
        ax.axis("off")
    limit = max(float(np.abs(heat).max()), 1e-6)
    shown = axes[1].imshow(heat, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.6)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, label="probability lost when hidden")
    fig.suptitle(title, fontsize=9)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
