"""Shared by the lifecycle tests: tables with a known relationship, and the fastest real training run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TARGET = "y"
FAST = {"models": ("linear",), "max_trials": 1, "time_limit": None, "folds": 2}


def make_table(n: int, seed: int, *, shift: float = 0.0, flip: bool = False, noise: float = 0.0) -> pd.DataFrame:
    """Binary task: y depends on x1 + x2 and the category ``c``; ``shift`` moves x1, ``flip`` reverses x1's effect,
    ``noise`` is the share of labels replaced at random."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n) + shift
    x2 = rng.normal(size=n)
    c = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    score = (-1.5 if flip else 1.5) * (x1 - shift) + x2 + (c == "a") - 0.5
    y = (score + rng.normal(scale=0.5, size=n) > 0).astype(int)
    noisy = rng.random(n) < noise
    y[noisy] = rng.integers(0, 2, noisy.sum())
    return pd.DataFrame({"x1": x1, "x2": x2, "c": c, TARGET: y})


def fast_train(data: Any, out_dir: Path, **options: Any) -> Any:
    """A real run with one linear trial, in-process: a few seconds."""
    import trainlab

    return trainlab.train(data, target=TARGET, out_dir=out_dir, **{**FAST, **options})


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
