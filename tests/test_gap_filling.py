"""Rows with a gap where every training row had a value are averaged over donor rows, not guessed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.errors import BundleError
from trainlab.models.missing import DONORS, POOL, GapFilledModel, complete_columns


def _table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"size": rng.uniform(10, 20, n), "noise": rng.normal(size=n),
                          "sometimes": rng.normal(size=n)})
    frame.loc[frame.index[::10], "sometimes"] = np.nan  # missing in training too: the model learned about it
    frame.loc[frame.index[5], "noise"] = np.nan  # one gap is too few to learn from: still counts as complete
    frame["y"] = 5 * frame["size"] + rng.normal(scale=0.5, size=n)
    return frame


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> trainlab.Run:
    return trainlab.train(_table(), target="y", models=("lightgbm",), max_trials=1, folds=3, report=False,
                          out_dir=tmp_path_factory.mktemp("runs"))


def test_only_columns_complete_in_training_are_filled(run: trainlab.Run) -> None:
    model = run.predictor.model
    assert isinstance(model, GapFilledModel)
    assert set(model.complete) == {"size", "noise"}
    assert model.donors[model.complete].notna().all().all()
    frame = pd.DataFrame({"a": [np.nan] * 20 + [1.0] * 80, "b": [np.nan] * 19 + [2.0] * 81})
    assert complete_columns(frame) == ["b"]


def test_a_gap_is_averaged_over_plausible_values(run: trainlab.Run) -> None:
    rows = pd.DataFrame({"size": [np.nan, 15.0], "noise": [0.0, 0.0], "sometimes": [0.0, 0.0]})
    filled, whole = run.predict(rows)
    inner = run.predictor.model.model.output(rows[["size", "noise", "sometimes"]])
    model = run.predictor.model
    chosen = model.nearest_donors(rows.iloc[[0]])[0]
    assert len(chosen) == DONORS and len(model.donors) == POOL
    assert abs(filled - 5 * model.donors["size"].iloc[chosen].mean()) < 3  # the mean over donors' sizes, about 75
    assert inner[0] < 60  # LightGBM alone reads a missing size never seen in training as zero: the smallest
    assert whole == pytest.approx(inner[1])  # a row without gaps is predicted as it is


def test_a_gap_where_training_had_gaps_is_left_to_the_model(run: trainlab.Run) -> None:
    rows = pd.DataFrame({"size": [15.0], "noise": [0.0], "sometimes": [np.nan]})
    assert run.predict(rows)[0] == pytest.approx(run.predictor.model.model.output(rows)[0])


def test_the_bundle_keeps_the_donors_and_refuses_a_damaged_record(run: trainlab.Run, tmp_path: Path) -> None:
    rows = pd.DataFrame({"size": [np.nan], "noise": [1.0], "sometimes": [0.0]})
    loaded = trainlab.load(run.bundle_path)
    assert loaded.predict(rows) == pytest.approx(run.predict(rows))
    copy = run.save(tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["extras"]["gap_fill"] = {"columns": ["size"]}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"gap filling in manifest\.json is malformed"):
        trainlab.load(copy)


def test_donors_are_the_training_rows_most_like_the_row_on_what_it_shows(tmp_path: Path) -> None:
    """The kind decides the size; a row of kind 'big' without its size is filled from big donors."""
    rng = np.random.default_rng(1)
    kind = rng.choice(["small", "big"], 400)
    size = np.where(kind == "big", rng.uniform(18, 20, 400), rng.uniform(10, 12, 400))
    frame = pd.DataFrame({"kind": kind, "size": size, "noise": rng.normal(size=400), "y": 5 * size})
    run = trainlab.train(frame, target="y", models=("lightgbm",), max_trials=1, folds=3, report=False,
                         out_dir=tmp_path)
    rows = pd.DataFrame({"kind": ["big", "small"], "size": [np.nan, np.nan], "noise": [0.0, 0.0]})
    big, small = run.predict(rows)
    assert big == pytest.approx(95, abs=4) and small == pytest.approx(55, abs=4)  # not the overall mean of 75
    model = run.predictor.model
    assert (model.donors["kind"].iloc[model.nearest_donors(rows.iloc[[0]])[0]] == "big").all()
