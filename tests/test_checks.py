"""check_data: every error with a real malformed table, every warning, and invalid options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainlab.config import make_config
from trainlab.data.checks import check_data, count_duplicates
from trainlab.data.load import load_table
from trainlab.errors import ConfigError, DataError


def check(frame: pd.DataFrame, target: str = "outcome", **options):
    return check_data(frame, make_config(target, time_limit=None, **options))


def codes(checked) -> set[str]:
    return {f.code for f in checked.findings}


def finding(checked, code: str):
    return next(f for f in checked.findings if f.code == code)


class TestErrors:
    def test_target_not_found_suggests_closest(self, binary_frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=r"Target column 'outcom' not found\. Did you mean 'outcome'\? Columns: age"):
            check(binary_frame, "outcom")

    def test_option_columns_not_found_are_all_listed(self, binary_frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=r"2 problems:\n  - Column 'wieght' given to --weight-column not found\."
                                            r"(.|\n)*Column 'grp' given to --group-column not found"):
            check(binary_frame, weight_column="wieght", group_column="grp")

    def test_target_all_missing(self, binary_frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=r"Target column 'outcome' has no values: all 160 rows are empty"):
            check(binary_frame.assign(outcome=np.nan))

    def test_one_class_after_dropping_missing_targets(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.assign(outcome=np.where(binary_frame.index < 100, "good", None))
        with pytest.raises(DataError, match=r"Column 'outcome' has one class \('good'\) after dropping rows with a "
                                            r"missing target: a classifier needs two"):
            check(frame)

    def test_class_too_small_for_a_stratified_split(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.copy()
        frame.loc[0, "outcome"] = "unknown"
        with pytest.raises(DataError, match=r"Class 'unknown' of target 'outcome' has 1 row: a stratified split "
                                            r"needs at least 2 rows per class"):
            check(frame)

    def test_no_usable_feature(self) -> None:
        frame = pd.DataFrame({"customer_id": range(100, 130), "country": ["FR"] * 30, "empty": [np.nan] * 30,
                              "y": [0, 1] * 15})
        with pytest.raises(DataError, match=r"No usable feature left: .*customer_id \(id\), country \(constant\), "
                                            r"empty \(empty\)"):
            check(frame, "y")

    def test_too_few_rows(self) -> None:
        frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "y": [0, 1] * 3})
        with pytest.raises(DataError, match=r"Only 6 rows with a target: trainlab needs at least 10"):
            check(frame, "y")

    def test_regression_on_text_target(self, binary_frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=r"Target column 'outcome' holds text .* cannot be a regression target"):
            check(binary_frame, task="regression")

    def test_binary_task_with_three_classes(self, multiclass_frame: pd.DataFrame) -> None:
        with pytest.raises(DataError, match=r"--task binary was given, but target 'label' has 3 classes"):
            check(multiclass_frame, "label", task="binary")

    def test_negative_weights(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.assign(w=1.0)
        frame.loc[:2, "w"] = -1.0
        with pytest.raises(DataError, match=r"Weight column 'w' must hold non-negative numbers.*3 negative"):
            check(frame, weight_column="w")

    def test_every_error_is_reported_at_once(self) -> None:
        frame = pd.DataFrame({"country": ["FR"] * 6, "y": ["a", "a", "a", "a", "a", "b"]})
        with pytest.raises(DataError, match=r"3 problems:\n  - Class 'b'(.|\n)*No usable feature(.|\n)*Only 6 rows"):
            check(frame, "y")

    def test_errors_from_a_real_file(self, tmp_path: Path) -> None:
        path = tmp_path / "one_class.csv"
        path.write_text("x,y\n" + "".join(f"{i},yes\n" for i in range(20)))
        with pytest.raises(DataError, match=r"has one class \('yes'\)"):
            check(load_table(path), "y")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_limit": -5}, r"--time-limit must be a positive number of seconds, got -5"),
        ({"time_limit": 0}, r"--time-limit must be a positive number of seconds, got 0"),
        ({"test_size": 0}, r"--test-size must be between 0 and 1 \(exclusive\), got 0"),
        ({"test_size": 1.0}, r"--test-size must be between 0 and 1 \(exclusive\), got 1\.0"),
        ({"test_size": 30}, r"--test-size must be between 0 and 1 \(exclusive\), got 30"),
        ({"folds": 1}, r"--folds must be an integer of at least 2, got 1"),
        ({"max_trials": 0}, r"--max-trials must be a positive integer, got 0"),
        ({"task": "ranking"}, r"--task must be one of binary, multiclass, regression, got 'ranking'"),
        ({"seed": -1}, r"--seed must be a non-negative integer"),
        ({"time_column": "t", "group_column": "g"}, r"--time-column and --group-column cannot be used together"),
        ({"time_limt": 3}, r"Unknown option\(s\) time_limt\. Did you mean 'time_limit'\?"),
    ],
    ids=["negative-time-limit", "zero-time-limit", "test-size-0", "test-size-1", "test-size-percent", "folds-1",
         "max-trials-0", "unknown-task", "negative-seed", "time-and-group", "misspelt-option"],
)
def test_invalid_options(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config("y", **options)


def test_invalid_options_are_reported_together() -> None:
    with pytest.raises(ConfigError, match=r"2 problems:(.|\n)*--test-size(.|\n)*--time-limit"):
        make_config("y", time_limit=-1, test_size=2)


class TestWarnings:
    def test_clean_table_has_no_warning(self, binary_frame: pd.DataFrame) -> None:
        checked = check(binary_frame)
        assert [f for f in checked.findings if f.level == "warning"] == []

    def test_rows_with_missing_target_are_dropped(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.copy()
        frame.loc[:9, "outcome"] = None
        checked = check(frame)
        assert len(checked.frame) == 150
        assert "Dropped 10 rows with a missing target 'outcome' (6.2% of the rows)" in finding(checked,
                                                                                              "missing_target").message

    def test_constant_and_empty_columns_are_dropped(self, binary_frame: pd.DataFrame) -> None:
        checked = check(binary_frame.assign(country="FR", notes=np.nan))
        assert finding(checked, "constant_column").column == "country"
        assert finding(checked, "empty_column").column == "notes"
        assert {"country", "notes"}.isdisjoint(c.name for c in checked.schema.features)

    def test_duplicate_column_names_in_a_dataframe(self, binary_frame: pd.DataFrame) -> None:
        frame = pd.concat([binary_frame, binary_frame[["age"]] * 2], axis=1)
        checked = check(frame)
        assert "Column name(s) age appear more than once" in finding(checked, "duplicate_columns").message
        assert "age.1" in checked.frame.columns

    def test_duplicate_column_names_in_a_csv(self, tmp_path: Path, binary_frame: pd.DataFrame) -> None:
        path = tmp_path / "dup.csv"
        text = binary_frame.to_csv(index=False).splitlines()
        path.write_text("\n".join([text[0] + ",income", *(line + ",1" for line in text[1:])]) + "\n")
        assert finding(check(load_table(path)), "duplicate_columns").column == "income"

    def test_duplicate_rows(self, binary_frame: pd.DataFrame) -> None:
        frame = pd.concat([binary_frame, binary_frame.iloc[:5]], ignore_index=True)
        assert finding(check(frame), "duplicate_rows").message.startswith("5 rows are exact duplicates")

    def test_infinite_values_become_missing(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.copy()
        frame.loc[:2, "income"] = np.inf
        checked = check(frame)
        assert "Column 'income' has 3 infinite values" in finding(checked, "infinite_values").message
        assert not np.isinf(checked.frame["income"]).any()

    def test_mostly_numeric_column_with_stray_text(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.astype({"income": object})
        frame.loc[:4, "income"] = "n/a"
        checked = check(frame)
        assert "Column 'income' is numeric except 5 values such as 'n/a'" in finding(checked, "mixed_types").message
        assert next(c for c in checked.schema.columns if c.name == "income").role == "numeric"

    def test_numbers_mixed_with_text(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.copy()
        frame["code"] = [i % 7 if i % 2 else f"k{i % 5}" for i in range(len(frame))]
        checked = check(frame)
        assert "Column 'code' mixes numbers and text (50% numbers)" in finding(checked, "mixed_types").message
        assert next(c for c in checked.schema.columns if c.name == "code").role == "categorical"

    def test_leakage(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.assign(decision=binary_frame["outcome"].map({"good": "approved", "bad": "rejected"}))
        leak = finding(check(frame), "leakage")
        assert leak.column == "decision"
        assert "alone predicts the target 'outcome' almost perfectly" in leak.message

    def test_high_cardinality(self) -> None:
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"town": [f"town {i % 90}" for i in range(400)], "x": rng.normal(size=400),
                              "y": rng.choice(["a", "b"], 400)})
        assert "Column 'town' has 90 distinct values for 400 rows" in finding(check(frame, "y"),
                                                                              "high_cardinality").message

    def test_ids_and_text_are_reported_as_info(self, binary_frame: pd.DataFrame) -> None:
        frame = binary_frame.assign(customer_id=range(1, 161),
                                    comment=[f"called on day {i} about the loan" for i in range(160)])
        checked = check(frame)
        assert {"id_column", "text_column"} <= codes(checked)
        assert finding(checked, "id_column").level == "info"

    def test_leakage_in_a_numeric_column_with_missing_values(self, binary_frame: pd.DataFrame) -> None:
        # A missing-value sentinel of -1e300 overflowed the tree's float32 input, so this leak went unseen.
        frame = binary_frame.assign(days_late=np.where(binary_frame["outcome"] == "bad", 30.0, 0.0))
        frame.loc[frame.index[frame["outcome"] == "good"][:4], "days_late"] = np.nan  # never late
        assert finding(check(frame), "leakage").column == "days_late"


@pytest.mark.parametrize("columns", [5, 100])
def test_duplicate_rows_are_counted_on_every_column(columns: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 2, size=(40, columns)).astype(float))
    frame.iloc[5] = frame.iloc[3]
    frame.iloc[7] = frame.iloc[3]
    frame.iloc[9, :30] = frame.iloc[8, :30]  # the same on the first columns only: not a duplicate row
    frame.iloc[12, 0] = np.nan
    frame.iloc[13] = frame.iloc[12]
    assert count_duplicates(frame) == int(frame.duplicated().sum()) >= 3
