"""One pass over a column's files before training: the damaged ones, the decoding parameters, and what varies."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import audio, images

ERRORS = (OSError, ValueError, RuntimeError, SyntaxError, EOFError)
"""What Pillow and libsndfile raise for a file they cannot decode (Pillow raises SyntaxError for some)."""


@dataclass
class MediaScan:
    """What reading every file of one column found."""

    column: str
    kind: str
    params: dict[str, Any]
    unreadable: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)


def scan(values: pd.Series, column: str, kind: str) -> MediaScan:
    """Read every file of the column; unreadable ones are listed with the decoder's reason, never raised."""
    unreadable: dict[str, str] = {}
    headers: dict[str, tuple[Any, ...]] = {}
    hashes: dict[str, str] = {}
    for path in values.dropna().astype(str).unique():
        try:
            data = Path(path).read_bytes()
            if not data:
                raise ValueError("the file is empty (0 bytes)")
            headers[path] = images.header(path) if kind == "image" else audio.header(path)
            hashes[path] = hashlib.blake2b(data, digest_size=16).hexdigest()
        except FileNotFoundError:
            unreadable[path] = "file not found"
        except ERRORS as exc:
            unreadable[path] = _reason(exc)
    found = MediaScan(column, kind, {"kind": kind}, unreadable, hashes=hashes)
    if headers:
        _describe_images(found, headers) if kind == "image" else _describe_audio(found, headers)
    return found


def _describe_images(found: MediaScan, headers: dict[str, tuple[Any, ...]]) -> None:
    sizes = [(h[0], h[1]) for h in headers.values()]
    modes = [h[2] for h in headers.values()]
    found.params = images.choose_params(sizes, modes)
    p = found.params
    distinct = Counter(sizes)
    if len(distinct) > 1 or sizes[0] != (p["width"], p["height"]):
        common = ", ".join(f"{w}x{h} ({n})" for (w, h), n in distinct.most_common(3))
        found.notes.append(f"{len(distinct)} picture sizes ({common}{', …' if len(distinct) > 3 else ''}); "
                           f"all are resized to {p['width']}x{p['height']}.")
    kinds = Counter(modes)
    if len(kinds) > 1:
        found.notes.append(f"mixed channels ({', '.join(f'{m} ({n})' for m, n in kinds.most_common())}); all are "
                           f"read as {'colour (RGB)' if p['channels'] == 3 else 'grey'}.")


def _describe_audio(found: MediaScan, headers: dict[str, tuple[Any, ...]]) -> None:
    seconds = [h[0] for h in headers.values()]
    found.params = audio.choose_params(seconds)
    p = found.params
    rates = Counter(h[1] for h in headers.values())
    if len(rates) > 1 or next(iter(rates)) != p["sample_rate"]:
        found.notes.append(f"sample rates {', '.join(f'{r} Hz ({n})' for r, n in rates.most_common())}; all are "
                           f"resampled to {p['sample_rate']} Hz.")
    channels = Counter(h[2] for h in headers.values())
    if len(channels) > 1 or next(iter(channels)) > 1:
        found.notes.append(f"channels {', '.join(f'{c} ({n})' for c, n in channels.most_common())}; all are mixed "
                           "to mono.")
    span = p["frames"] * p["hop"] / p["sample_rate"]
    longer = sum(s > span for s in seconds)
    found.notes.append(f"clips last {min(seconds):.2f}–{max(seconds):.2f} s; each becomes {span:.2f} s of log-mel "
                       f"frames ({p['n_mels']} bands x {p['frames']} frames), "
                       f"{longer} longer ones centre-cropped, shorter ones padded with silence.")
    for path in headers:
        signal = audio.mono(path, p["sample_rate"])
        if signal.size == 0 or float(np.sqrt(np.mean(signal.astype(np.float64) ** 2))) < audio.SILENT_RMS:
            found.silent.append(path)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'cannot be decoded'}"[:200]
