"""Pictures: decoded by Pillow to fixed-size uint8 arrays (channels, height, width), and their classic features:
a small grey thumbnail, histograms of oriented gradients per cell, and mean colours per cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

MAX_SIDE = 32
"""Pictures larger than this are resized to it (the longer side), so the network and the features stay small."""
THUMB = 14
CELLS = 4
ORIENTATIONS = 9


def open_image(path: str | Path) -> Any:
    """The decoded Pillow image; raises the decoder's error (OSError, ValueError ...) for a damaged file."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        return image.copy()


def header(path: str | Path) -> tuple[int, int, str]:
    """(width, height, mode) of a picture, fully decoded so that a truncated file fails here."""
    image = open_image(path)
    return image.width, image.height, image.mode


def choose_params(sizes: list[tuple[int, int]], modes: list[str]) -> dict[str, Any]:
    """Decoding parameters for the column: the most common size, shrunk to MAX_SIDE; grey unless any is colour."""
    widths, heights = np.array([s[0] for s in sizes]), np.array([s[1] for s in sizes])
    width, height = int(np.median(widths)), int(np.median(heights))
    scale = min(1.0, MAX_SIDE / max(width, height))
    width, height = max(8, round(width * scale)), max(8, round(height * scale))
    colour = any(m not in ("1", "L", "LA", "I", "I;16", "F") for m in modes)
    return {"kind": "image", "width": width, "height": height, "channels": 3 if colour else 1}


def decode(path: str | Path, params: dict[str, Any]) -> np.ndarray:
    """The picture as a uint8 array (channels, height, width) of the column's size; transparency on white."""
    from PIL import Image

    image = open_image(path)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(back, rgba)
    image = image.convert("RGB" if params["channels"] == 3 else "L")
    size = (params["width"], params["height"])
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def classic_features(batch: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features of (n, channels, height, width) uint8 pictures: a THUMB x THUMB grey thumbnail, gradient
    histograms (ORIENTATIONS unsigned bins in CELLS x CELLS cells, each cell normalized), and with colour the
    mean of each channel per cell."""
    grey = batch.astype(np.float32).mean(axis=1) / 255.0
    parts = [_thumbnail(grey), _gradient_histograms(grey)]
    names = [f"px{i}" for i in range(THUMB * THUMB)] + [f"hog{i}" for i in range(CELLS * CELLS * ORIENTATIONS)]
    if batch.shape[1] == 3:
        colour = _cell_means(batch.astype(np.float32) / 255.0)
        parts.append(colour)
        names += [f"rgb{i}" for i in range(colour.shape[1])]
    return np.concatenate(parts, axis=1).astype(np.float32), names


def _cells(length: int, n: int) -> np.ndarray:
    return np.minimum(np.arange(length) * n // length, n - 1)


def _pooling(h: int, w: int, n_cells: int) -> np.ndarray:
    """A (h * w, n_cells ** 2) matrix that averages the pixels of each cell of an n_cells x n_cells grid."""
    cell = (_cells(h, n_cells)[:, None] * n_cells + _cells(w, n_cells)[None, :]).ravel()
    matrix = np.zeros((h * w, n_cells * n_cells), dtype=np.float32)
    matrix[np.arange(h * w), cell] = 1.0
    return matrix / np.maximum(matrix.sum(axis=0, keepdims=True), 1.0)


def _thumbnail(grey: np.ndarray) -> np.ndarray:
    n, h, w = grey.shape
    return grey.reshape(n, -1) @ _pooling(h, w, THUMB)


def _gradient_histograms(grey: np.ndarray) -> np.ndarray:
    n, h, w = grey.shape
    gy, gx = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(gx, gy).reshape(n, -1)
    angle = np.mod(np.arctan2(gy, gx), np.pi).reshape(n, -1)
    bins = np.minimum((angle / np.pi * ORIENTATIONS).astype(np.int64), ORIENTATIONS - 1)
    cell = (_cells(h, CELLS)[:, None] * CELLS + _cells(w, CELLS)[None, :]).ravel()
    slots = CELLS * CELLS * ORIENTATIONS
    flat = (np.arange(n)[:, None] * slots + cell[None, :] * ORIENTATIONS + bins).ravel()
    hist = np.bincount(flat, weights=magnitude.ravel(), minlength=n * slots).reshape(n, CELLS * CELLS, ORIENTATIONS)
    hist = hist.astype(np.float64) / np.sqrt((hist ** 2).sum(axis=2, keepdims=True) + 1e-6)
    return hist.reshape(n, slots)


def _cell_means(batch: np.ndarray) -> np.ndarray:
    n, c, h, w = batch.shape
    return (batch.reshape(n * c, -1) @ _pooling(h, w, CELLS)).reshape(n, -1)
