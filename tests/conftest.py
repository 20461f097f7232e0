"""Small seeded tables shared by the tests: made here, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Runs that must be quick and repeatable: a few families, one trial each, no wall-clock limit, no report
# (test_cli.py and test_estimators.py train with the report, as users do).
QUICK = {"models": ("linear", "decision_tree"), "time_limit": None, "max_trials": 2, "folds": 3, "report": False}


def make_binary(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """A credit-like table: numbers, a category, yes/no, dates, and a 'good'/'bad' target with signal."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n).astype(float)
    income = rng.normal(50, 15, n).round(1)
    city = rng.choice(["north", "south", "east", "west"], n)
    member = rng.choice(["yes", "no"], n)
    signup = pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    score = 0.08 * (age - 40) + 0.1 * (income - 50) + (city == "north") * 1.5 + rng.normal(0, 1, n)
    frame = pd.DataFrame({"age": age, "income": income, "city": city, "member": member, "signup": signup,
                          "outcome": np.where(score > 0, "good", "bad")})
    frame.loc[rng.choice(n, 8, replace=False), "income"] = np.nan
    return frame


def make_multiclass(n: int = 180, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    label = np.select([x1 + 0.5 * (colour == "red") > 0.4, x2 > 0], ["alpha", "beta"], "gamma")
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "label": label})


def make_regression(n: int = 150, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.uniform(30, 200, n).round(1)
    rooms = rng.integers(1, 6, n)
    area = rng.choice(["centre", "suburb", "rural"], n)
    price = 2.0 * size + 10 * rooms + np.select([area == "centre", area == "suburb"], [80, 30], 0) + rng.normal(0, 10, n)
    return pd.DataFrame({"size": size, "rooms": rooms, "area": area, "price": price.round(2)})


@pytest.fixture
def binary_frame() -> pd.DataFrame:
    return make_binary()


@pytest.fixture
def multiclass_frame() -> pd.DataFrame:
    return make_multiclass()


@pytest.fixture
def regression_frame() -> pd.DataFrame:
    return make_regression()


@pytest.fixture
def binary_csv(tmp_path: Path, binary_frame: pd.DataFrame) -> Path:
    path = tmp_path / "credit.csv"
    binary_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def binary_run(tmp_path_factory: pytest.TempPathFactory):
    """One quick training run on the binary table, shared by tests that only read it."""
    import trainlab

    out = tmp_path_factory.mktemp("runs")
    return trainlab.train(make_binary(), target="outcome", out_dir=out, name="binary", **QUICK)


@pytest.fixture(scope="session")
def regression_run(tmp_path_factory: pytest.TempPathFactory):
    import trainlab

    out = tmp_path_factory.mktemp("runs")
    return trainlab.train(make_regression(), target="price", out_dir=out, name="regression", **QUICK)


def skip_without_extra(reason: str) -> None:
    """Skip a test whose optional dependency is missing, except where TRAINLAB_REQUIRE_EXTRAS is set (scripts/test
    sets it after installing every extra): there a missing extra is a failure, never a silent skip."""
    if os.environ.get("TRAINLAB_REQUIRE_EXTRAS"):
        pytest.fail(f"{reason} (TRAINLAB_REQUIRE_EXTRAS is set: scripts/test installs every extra)")
    pytest.skip(reason)
