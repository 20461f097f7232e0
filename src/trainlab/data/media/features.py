"""A path column as model inputs: the decoded files flattened for the neural network, and recipe features
(thumbnail and gradient histograms; MFCC and log-mel statistics) for every other family.

The network's columns are named ``<column>#<kind><C>x<H>x<W>#<i>``, so the network finds its blocks and
their shape in the column names alone; the classic ones ``<column>_<feature>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import audio, images
from trainlab.data.media.cache import decoded
from trainlab.data.media.scan import ERRORS
from trainlab.errors import DataError, list_names

BLOCK = re.compile(r"^(?P<column>.+)#(?P<kind>image|audio)(?P<c>\d+)x(?P<h>\d+)x(?P<w>\d+)#(?P<i>\d+)$")


@dataclass(frozen=True)
class Block:
    """The network's columns of one path column: kind, shape (channels, height, width) and column names."""

    column: str
    kind: str
    shape: tuple[int, int, int]
    names: list[str]


def shape_of(params: dict[str, Any]) -> tuple[int, int, int]:
    """(channels, height, width) of a decoded file: a picture, or a spectrogram of n_mels x frames."""
    if params["kind"] == "image":
        return params["channels"], params["height"], params["width"]
    return 1, params["n_mels"], params["frames"]


def neural_columns(column: str, params: dict[str, Any]) -> list[str]:
    """Names of the network's columns for a path column."""
    return list(raw_names(column, params["kind"], shape_of(params)))


@lru_cache(maxsize=64)
def raw_names(column: str, kind: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    """Names of the decoded values of a path column's files (channels x height x width), built once per column
    (a picture's 784 took 0.7 ms of each request)."""
    c, h, w = shape
    return tuple(f"{column}#{kind}{c}x{h}x{w}#{i}" for i in range(c * h * w))


def classic_columns(column: str, params: dict[str, Any]) -> list[str]:
    """Names of the classic families' columns for a path column."""
    probe = np.zeros((1, *shape_of(params)), dtype=np.uint8 if params["kind"] == "image" else np.float32)
    _, names = (images if params["kind"] == "image" else audio).classic_features(probe)
    return [f"{column}_{name}" for name in names]


def block_columns(columns: list[str]) -> set[str]:
    """The columns among ``columns`` that are the network's raw media inputs."""
    return {c for c in columns if BLOCK.match(c)}


def media_blocks(columns: list[str]) -> list[Block]:
    """The network's media blocks, in column order, from the column names."""
    found: dict[str, tuple[str, tuple[int, int, int], list[str]]] = {}
    for name in columns:
        m = BLOCK.match(name)
        if m:
            entry = found.setdefault(m["column"], (m["kind"], (int(m["c"]), int(m["h"]), int(m["w"])), []))
            entry[2].append(name)
    return [Block(col, kind, shape, names) for col, (kind, shape, names) in found.items()]


def media_features(values: pd.Series, column: str, params: dict[str, Any]) -> pd.DataFrame:
    """The model inputs of one path column: the network's raw block and the classic features, one row per file."""
    arrays, bad = [], {}
    for path in values.astype(str):
        try:
            arrays.append(decoded(path, params))
        except FileNotFoundError:
            bad[path] = "file not found"
        except ERRORS as exc:
            bad[path] = f"{type(exc).__name__}: {exc}"
    if bad:
        first = next(iter(bad.items()))
        raise DataError(f"Column '{column}': {len(bad)} file(s) cannot be read: {list_names(list(bad), 5)} (first: "
                        f"{first[1]}). Fix or remove those files.")
    shape = shape_of(params)
    batch = np.stack(arrays) if arrays else np.zeros((0, *shape), dtype=np.float32)
    return batch_features(batch, values.index, column, params)


def batch_features(batch: np.ndarray, index: pd.Index, column: str, params: dict[str, Any]) -> pd.DataFrame:
    """The model inputs of decoded files (n, channels, height, width), as ``media_features`` gives them: the
    explanations change decoded pictures and spectrograms in memory and score them through this."""
    classic, names = (images if params["kind"] == "image" else audio).classic_features(batch)
    raw = batch.reshape(len(batch), -1).astype(np.float32)
    data = np.concatenate([raw, classic], axis=1)
    labels = pd.Index(neural_columns(column, params) + [f"{column}_{n}" for n in names], dtype=object)  # prepare.LABELS
    return pd.DataFrame(data, index=index, columns=labels)
