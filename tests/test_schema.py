"""Column roles, task inference, and the schema check of rows at predict time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.data.schema import Schema, infer_column, infer_schema, infer_task
from trainlab.errors import DataError, SchemaError

N = 60
RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("values", "name", "role"),
    [
        (RNG.normal(size=N), "height", "numeric"),
        (RNG.integers(0, 5, N), "rooms", "numeric"),
        (RNG.choice(["a", "b", "c"], N), "colour", "categorical"),
        (RNG.choice([True, False], N), "flag", "boolean"),
        (RNG.choice(["Yes", "No"], N), "member", "boolean"),
        (pd.date_range("2024-01-01", periods=N, freq="h"), "when", "datetime"),
        (pd.date_range("2024-01-01", periods=N).strftime("%Y-%m-%d"), "day", "datetime"),
        (np.arange(1000, 1000 + N), "customer_id", "id"),
        (RNG.permutation(N), "row", "id"),
        ([f"C{i:05d}" for i in range(N)], "code", "id"),
        (RNG.normal(size=N) * 1000, "customer_id_score", "numeric"),
        ([f"the quick brown fox number {i} jumps" for i in range(N)], "comment", "text"),
        (["same"] * N, "country", "constant"),
        ([np.nan] * N, "blank", "empty"),
    ],
    ids=["float", "small-int", "category", "bool", "yes-no", "datetime", "date-text", "int-key-by-name",
         "int-key-by-span", "string-key", "continuous-unique-floats", "free-text", "constant", "all-missing"],
)
def test_column_roles(values, name: str, role: str) -> None:
    assert infer_column(pd.Series(values), name).role == role


def test_unique_integer_measurements_are_not_ids() -> None:
    # Unique per row but spread far apart (e.g. incomes in cents): a measurement, not a key.
    values = pd.Series(RNG.choice(np.arange(0, 10_000_000), N, replace=False))
    assert infer_column(values, "income").role == "numeric"


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (["yes", "no"] * 30, "binary"),
        ([0, 1] * 30, "binary"),
        (["a", "b", "c"] * 20, "multiclass"),
        ([1, 2, 3, 4] * 50, "multiclass"),
        (list(np.linspace(0, 1, 60)), "regression"),
        (list(range(60)), "regression"),
    ],
    ids=["text-binary", "int-binary", "text-multiclass", "int-multiclass", "float", "many-ints"],
)
def test_task_inference(y, task: str) -> None:
    assert infer_task(pd.Series(y)) == task


def test_schema_classes_positive_class_and_override() -> None:
    frame = pd.DataFrame({"x": range(30), "y": ["no"] * 20 + ["yes"] * 10})
    schema = infer_schema(frame, "y")
    assert (schema.task, schema.classes, schema.positive_class) == ("binary", ["no", "yes"], "yes")
    numbers = pd.DataFrame({"x": range(40), "y": [1, 2, 3, 4] * 10})
    assert infer_schema(numbers, "y", task="regression").task == "regression"


def test_target_not_found_suggests_the_closest_name() -> None:
    frame = pd.DataFrame({"age": [1], "income": [2], "default": [0]})
    with pytest.raises(DataError, match=r"Target column 'defualt' not found\. Did you mean 'default'\? "
                                        r"Columns: age, income, default"):
        infer_schema(frame, "defualt")


def test_schema_round_trips_through_plain_data(binary_frame: pd.DataFrame) -> None:
    schema = infer_schema(binary_frame, "outcome")
    assert Schema.from_dict(schema.to_dict()) == schema


class TestCheckRows:
    @pytest.fixture
    def schema(self, binary_frame: pd.DataFrame) -> Schema:
        return infer_schema(binary_frame, "outcome")

    def test_missing_column_is_named(self, schema: Schema, binary_frame: pd.DataFrame) -> None:
        rows = binary_frame.drop(columns=["income", "outcome"]).rename(columns={"city": "cty"})
        with pytest.raises(SchemaError, match=r"lack 2 column\(s\).*: income, city\. Did you mean 'cty'"):
            schema.check_rows(rows)

    def test_extra_columns_are_ignored(self, schema: Schema, binary_frame: pd.DataFrame) -> None:
        rows = binary_frame.assign(extra=1)
        checked = schema.check_rows(rows)
        assert list(checked.columns) == ["age", "income", "city", "member", "signup"]

    def test_text_in_a_numeric_column_names_row_and_value(self, schema: Schema, binary_frame: pd.DataFrame) -> None:
        rows = binary_frame.astype({"age": object})
        rows.loc[3, "age"] = "forty"
        with pytest.raises(SchemaError, match=r"Column 'age' must be numeric, but row 3 has 'forty'"):
            schema.check_rows(rows)

    def test_infinite_numbers_become_missing(self, schema: Schema, binary_frame: pd.DataFrame) -> None:
        rows = binary_frame.copy()
        rows.loc[0, "income"] = np.inf
        rows.loc[1, "age"] = -np.inf
        checked = schema.check_rows(rows)
        assert checked.loc[0, "income"] != checked.loc[0, "income"]  # NaN, as in training
        assert np.isnan(checked.loc[1, "age"])


def test_dates_become_parts_without_deprecated_pandas_calls() -> None:
    import warnings

    from trainlab.data.prepare import make_features

    frame = pd.DataFrame({"when": pd.date_range("2024-01-01 10:00", periods=12, freq="D"), "y": [0, 1] * 6})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # .dt.dayofweek warns under pandas 3 and is gone in pandas 4
        features = make_features(frame, infer_schema(frame, "y"))
    assert list(features.columns) == ["when_year", "when_month", "when_day", "when_dayofweek", "when_hour"]
    assert features.iloc[0].tolist() == [2024.0, 1.0, 1.0, 0.0, 10.0]


def _numeric_kinds(n: int) -> dict[str, object]:
    """Numeric columns of every kind the schema tells apart, in several numpy types, with missing values."""
    rng = np.random.default_rng(1)
    gaps = rng.normal(size=n)
    gaps[::7] = np.nan
    whole_gaps = rng.integers(0, 9, n).astype(float)
    whole_gaps[n // 2] = np.nan
    return {"float": rng.normal(size=n), "float32": rng.normal(size=n).astype(np.float32), "gaps": gaps,
            "int8": rng.integers(-5, 5, n).astype(np.int8), "uint16": rng.integers(0, 9, n).astype(np.uint16),
            "whole_floats": rng.integers(0, 9, n).astype(float), "whole_gaps": whole_gaps,
            "customer_id": np.arange(1000, 1000 + n), "row": rng.permutation(n).astype(float),
            "far_unique": rng.permutation(n) * 1000, "unique_floats": rng.normal(size=n) * 1000,
            "constant": np.full(n, 3.5), "constant_int": np.full(n, 7, dtype=np.int32),
            "constant_gaps": np.where(np.arange(n) % 2 == 0, 2.0, np.nan), "blank": np.full(n, np.nan),
            "signed_zeros": np.where(np.arange(n) % 2 == 0, 0.0, -0.0), "infinite": np.r_[np.inf, rng.normal(size=n - 1)]}


@pytest.mark.parametrize("n", [1, 2, 19, 20, 60])
def test_numeric_columns_at_once_match_column_by_column(n: int) -> None:
    frame = pd.DataFrame(_numeric_kinds(n)).assign(y=np.arange(n) % 2, word=["a", "b"] * (n // 2) + ["a"] * (n % 2))
    schema = infer_schema(frame, "y")
    expected = [infer_column(frame[name], name) for name in frame.columns if name != "y"]
    assert schema.columns == expected
    roles = {c.name: c.role for c in expected}
    assert (roles["blank"], roles["constant"]) == ("empty", "constant")
    assert roles["customer_id"] == ("constant" if n == 1 else "id" if n >= 20 else "numeric")


def test_wide_numeric_table_matches_column_by_column() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(30, 600))
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, ::50] = 1.0
    frame = pd.DataFrame(values, columns=[f"g{i}" for i in range(600)]).assign(y=rng.integers(0, 2, 30))
    assert infer_schema(frame, "y").columns == [infer_column(frame[name], name) for name in frame.columns[:-1]]
