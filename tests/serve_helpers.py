"""Shared by the server tests: a small table, one trained bundle per session, and a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TARGET = "outcome"


def make_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A binary task that a linear model learns: numbers, a category, a yes/no column and a label."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    income = rng.normal(50, 15, n).round(1)
    city = rng.choice(["north", "south", "east"], n)
    member = rng.choice(["yes", "no"], n)
    score = 0.05 * (age - 50) - 0.04 * (income - 50) + (city == "north") * 1.0 + rng.normal(0, 0.7, n)
    return pd.DataFrame({"age": age, "income": income, "city": city, "member": member,
                         TARGET: np.where(score > 0, "leave", "stay")})


def trained_bundle(factory: pytest.TempPathFactory) -> Path:
    """The bundle of one quick linear run, trained once per test session and shared by the server tests."""
    root = factory.getbasetemp() / "serve-runs"
    bundle = root / "served" / "model"
    if not (bundle / "manifest.json").is_file():
        import trainlab

        trainlab.train(make_table(), target=TARGET, time_limit=None, max_trials=1, models=("linear",), out_dir=root,
                       name="served")
    return bundle


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: object) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 in a thread; yields its base URL and stops it afterwards."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
