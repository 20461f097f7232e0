"""make_split: the holdout of each kind, and validation folds of the same kind."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from trainlab.config import SplitConfig
from trainlab.data.schema import infer_schema
from trainlab.data.split import LARGE_DATA_ROWS, MEDIA_VALID_ROWS, make_split, media_valid_size
from trainlab.errors import DataError


def table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=n),
        "when": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.permutation(n), unit="D"),
        "shop": rng.integers(0, 20, n),
        "y": np.where(np.arange(n) % 4 == 0, "rare", "common"),
        "amount": rng.normal(size=n),
    })


def split(frame: pd.DataFrame, target: str = "y", seed: int = 0, **options):
    schema = infer_schema(frame, target, ignore=("when", "shop"))
    return make_split(frame, schema, SplitConfig(**options), seed)


def test_default_is_80_20_stratified_with_five_folds() -> None:
    s = split(table(1500))
    assert (s.kind, len(s.train), len(s.test), len(s.folds)) == ("stratified", 1200, 300, 5)
    assert set(s.train).isdisjoint(s.test) and len(set(s.train) | set(s.test)) == 1500


def test_small_table_repeats_its_folds_and_validates_every_row_each_time() -> None:
    s = split(table())
    assert (len(s.train), len(s.folds), s.repeats) == (160, 15, 3)
    counts = np.bincount(np.concatenate([valid for _, valid in s.folds]), minlength=160)
    assert (counts == 3).all()
    assert "repeated 3 times" in s.describe()["validation"]


def test_test_size_03_gives_70_30() -> None:
    s = split(table(), test_size=0.3)
    assert (len(s.train), len(s.test)) == (140, 60)


def test_stratified_keeps_class_shares_on_both_sides_and_in_folds() -> None:
    frame = table()
    s = split(frame)
    assert (frame["y"].iloc[s.test] == "rare").mean() == pytest.approx(0.25)
    train = frame.iloc[s.train].reset_index(drop=True)
    for _, valid in s.folds:
        assert (train["y"].iloc[valid] == "rare").mean() == pytest.approx(0.25, abs=0.02)


def test_random_split_without_stratify_and_for_regression() -> None:
    assert split(table(), stratify=False).kind == "random"
    assert split(table(), target="amount").kind == "random"


def test_same_seed_same_split_other_seed_other_split() -> None:
    a, b, c = split(table(), seed=1), split(table(), seed=1), split(table(), seed=2)
    assert np.array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)


def test_by_time_tests_on_the_latest_rows_and_folds_go_forward() -> None:
    frame = table()
    s = split(frame, time_column="when")
    assert s.kind == "time"
    assert frame["when"].iloc[s.test].min() > frame["when"].iloc[s.train].max()
    train = frame.iloc[s.train].reset_index(drop=True)
    for fit, valid in s.folds:
        assert train["when"].iloc[valid].min() > train["when"].iloc[fit].max()


def test_by_time_accepts_date_text_and_refuses_non_dates() -> None:
    frame = table().assign(when=lambda f: f["when"].dt.strftime("%d/%m/%Y %H:%M"))
    assert split(frame, time_column="when").kind == "time"
    frame.loc[5, "when"] = "soon"
    with pytest.raises(DataError, match=r"Column 'when' given to --time-column has a value that is not a date or "
                                        r"time: 'soon'"):
        split(frame, time_column="when")


def test_by_group_keeps_each_group_on_one_side_and_folds_too() -> None:
    frame = table()
    s = split(frame, group_column="shop")
    assert s.kind == "group"
    assert set(frame["shop"].iloc[s.train]).isdisjoint(frame["shop"].iloc[s.test])
    train = frame.iloc[s.train].reset_index(drop=True)
    for fit, valid in s.folds:
        assert set(train["shop"].iloc[fit]).isdisjoint(train["shop"].iloc[valid])


def test_by_group_needs_two_groups() -> None:
    with pytest.raises(DataError, match=r"Column 'shop' given to --group-column has one group only"):
        split(table().assign(shop=1), group_column="shop")


def test_large_data_gets_one_validation_split_of_the_same_kind() -> None:
    frame = table(int(LARGE_DATA_ROWS * 1.3))
    s = split(frame, time_column="when")
    assert len(s.folds) == 1
    assert s.describe()["validation"] == ("one validation split (large data, pictures and sound, or folds too slow "
                                          "for the time limit)")
    train = frame.iloc[s.train].reset_index(drop=True)
    fit, valid = s.folds[0]
    assert train["when"].iloc[valid].min() > train["when"].iloc[fit].max()


def test_large_data_validates_on_a_fifth_but_at_most_large_valid_rows(monkeypatch) -> None:
    from trainlab.data import split as splitting

    frame = table(int(LARGE_DATA_ROWS * 1.3))
    (fit, valid), = split(frame).folds
    assert len(valid) == pytest.approx(0.2 * (len(fit) + len(valid)), abs=2)
    monkeypatch.setattr(splitting, "LARGE_VALID_ROWS", 1_000)  # as 100,000 of 2.4 million training rows
    (fit, valid), = split(frame).folds
    assert len(valid) == 1_000 and len(fit) + len(valid) == int(0.8 * len(frame))
    assert set(fit).isdisjoint(valid)


def test_pictures_and_sound_hold_out_a_fifth_but_at_most_media_valid_rows() -> None:
    """The CNN is kept as its trial trained it, so its holdout is capped: 5,000 rows of Fashion-MNIST's 57,000."""
    assert media_valid_size(1_000) == pytest.approx(0.2)
    assert media_valid_size(57_000) * 57_000 == pytest.approx(MEDIA_VALID_ROWS)
    frame = pd.DataFrame({"picture": [f"{i}.png" for i in range(40_000)], "y": np.arange(40_000) % 2})
    schema = infer_schema(frame, "y")
    schema.columns = [replace(c, role="image") if c.name == "picture" else c for c in schema.columns]
    s = make_split(frame, schema, SplitConfig(), 0)
    (fit, valid), = s.folds
    assert len(valid) == MEDIA_VALID_ROWS and len(fit) == len(s.train) - MEDIA_VALID_ROWS
