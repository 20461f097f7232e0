"""Long tables are read and prepared in compact types, without changing a value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.prepare import make_features

N = 200


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "month": rng.integers(1, 13, N),  # int64 on disk
        "distance": rng.integers(0, 5000, N),
        "dep_time": rng.integers(0, 2400, N).astype(float),  # whole numbers as float64: exact in float32
        "delay": rng.normal(size=N),  # not exact in float32
        "carrier": rng.choice(["UA", "AA", "B6"], N),
        "flight_key": [f"k{i}" for i in range(N)],  # unique per row: not a category
        "late": rng.choice(["late", "on_time"], N),
    })


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_parquet_and_csv_load_in_compact_types_with_the_same_values(tmp_path: Path, suffix: str) -> None:
    table = _table()
    path = tmp_path / f"t.{suffix}"
    table.to_parquet(path, index=False) if suffix == "parquet" else table.to_csv(path, index=False)
    loaded = load_table(path)
    assert loaded["month"].dtype == np.int8
    assert loaded["distance"].dtype == np.int16
    assert loaded["dep_time"].dtype == np.float32
    assert loaded["delay"].dtype == np.float64
    assert loaded["carrier"].tolist() == table["carrier"].tolist()  # text as read
    assert loaded["delay"].tolist() == pytest.approx(table["delay"].tolist(), abs=1e-12)
    pd.testing.assert_frame_equal(loaded.drop(columns="delay").astype(table.dtypes.drop("delay")),
                                  table.drop(columns="delay"))


def test_features_stay_compact_and_categories_stay_text(tmp_path: Path) -> None:
    table = _table()
    table.loc[3, "carrier"] = None
    table.to_parquet(tmp_path / "t.parquet", index=False)
    checked = check_data(load_table(tmp_path / "t.parquet"), make_config("late"))
    assert isinstance(checked.frame["carrier"].dtype, pd.CategoricalDtype)  # 3 values: one small code a row
    assert not isinstance(checked.frame["flight_key"].dtype, pd.CategoricalDtype)  # a key, unique per row
    features = make_features(checked.frame, checked.schema)
    assert features["dep_time"].dtype == np.float32
    assert features["month"].dtype == np.float32  # int8: exact in float32
    assert features["delay"].dtype == np.float64
    assert features["carrier"].dtype == object
    assert features["carrier"].drop(index=3).tolist() == table["carrier"].drop(index=3).tolist()
    assert pd.isna(features["carrier"].iloc[3])


def test_many_float_columns_narrow_together_as_one_by_one() -> None:
    from trainlab.data.compact import compact_column, compact_frame

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.integers(0, 5, 50).astype(float),
                          "c": rng.integers(0, 100, 50), "d": ["x", "y"] * 25,
                          "e": np.where(rng.random(50) < 0.2, np.nan, 1.5), "g": [True, False] * 25,
                          "h": np.r_[np.inf, np.zeros(49)], "i": np.full(50, np.nan), "j": np.r_[1e300, np.zeros(49)]})
    one_by_one = pd.DataFrame({name: compact_column(frame[name]) if pd.api.types.is_numeric_dtype(frame[name])
                               else frame[name] for name in frame.columns}, index=frame.index)
    pd.testing.assert_frame_equal(compact_frame(frame), one_by_one)
    assert compact_frame(frame)["b"].dtype == np.float32 and compact_frame(frame)["a"].dtype == np.float64
