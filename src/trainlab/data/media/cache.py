"""Decoded files kept for the run: a trial, the test and the report never decode the same file twice."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.data.media import audio, images

MAX_BYTES = 4 << 30
"""Decoded arrays kept at most (4 GiB); beyond it new files are decoded every time they are needed."""
_CACHE: dict[tuple[str, int, int, str], np.ndarray] = {}
_SIZE = [0]


def decoded(path: str | Path, params: dict[str, Any]) -> np.ndarray:
    """The file decoded with the column's parameters (an image or a spectrogram, channels first), cached by path,
    modification time, size and parameters, so an edited file is decoded again."""
    stat = os.stat(path)
    key = (str(path), stat.st_mtime_ns, stat.st_size, json.dumps(params, sort_keys=True))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    array = images.decode(path, params) if params["kind"] == "image" else audio.decode(path, params)
    if _SIZE[0] + array.nbytes <= MAX_BYTES:
        _CACHE[key] = array
        _SIZE[0] += array.nbytes
    return array


@contextmanager
def read_once_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder for files read once (a server's uploads), removed afterwards with what was decoded from
    its files: a server would otherwise keep every upload's decoded array, up to ``MAX_BYTES``."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        try:
            yield Path(folder)
        finally:
            inside = os.path.join(folder, "")
            for key in [key for key in list(_CACHE) if key[0].startswith(inside)]:
                _SIZE[0] -= _CACHE.pop(key).nbytes
