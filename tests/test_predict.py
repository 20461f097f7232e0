"""Predictor: rows are checked against the training schema, then predicted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.errors import DataError, SchemaError


@pytest.fixture
def rows(binary_frame: pd.DataFrame) -> pd.DataFrame:
    return binary_frame.drop(columns="outcome").head(30).reset_index(drop=True)


@pytest.fixture
def predictor(binary_run):
    return trainlab.load(binary_run.bundle_path)


def test_predicts_labels_and_probabilities(predictor, rows: pd.DataFrame) -> None:
    labels = predictor.predict(rows)
    proba = predictor.predict_proba(rows)
    assert set(labels) <= {"good", "bad"} and len(labels) == 30
    assert list(proba.columns) == ["bad", "good"]
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert list(labels) == list(proba.idxmax(axis=1))


def test_missing_column_is_an_error_naming_it(predictor, rows: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"The rows lack 1 column\(s\) the model was trained on: income\. "
                                          r"Add them \(empty values are allowed\)"):
        predictor.predict(rows.drop(columns="income"))
    assert issubclass(SchemaError, DataError)


def test_extra_columns_and_column_order_do_not_matter(predictor, rows: pd.DataFrame) -> None:
    shuffled = rows[list(reversed(rows.columns))].assign(note="x", outcome="good")
    assert list(predictor.predict(shuffled)) == list(predictor.predict(rows))


def test_unseen_categories_and_missing_values_are_handled(predictor, rows: pd.DataFrame) -> None:
    odd = rows.copy()
    odd["city"] = ["atlantis"] * 15 + [None] * 15
    odd.loc[:10, ["age", "income", "member", "signup"]] = None
    odd.loc[11, "income"] = np.inf
    proba = predictor.predict_proba(odd)
    assert np.isfinite(proba.to_numpy()).all() and np.allclose(proba.sum(axis=1), 1.0)


def test_numbers_given_as_text_are_read_as_numbers(predictor, rows: pd.DataFrame) -> None:
    as_text = rows.astype({"age": str, "income": str})
    assert np.allclose(predictor.predict_proba(as_text), predictor.predict_proba(rows))


def test_predicts_from_a_file(predictor, rows: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    rows.to_csv(path, index=False, sep=";")
    assert list(predictor.predict(path)) == list(predictor.predict(rows))


def test_predictions_table(predictor, rows: pd.DataFrame) -> None:
    table = predictor.predictions_table(rows)
    assert list(table.columns) == ["prediction", "proba_bad", "proba_good"]
    assert len(table) == 30


def test_regression_predicts_numbers_and_has_no_probabilities(regression_run, regression_frame) -> None:
    predictor = trainlab.load(regression_run.bundle_path)
    rows = regression_frame.drop(columns="price").head(10)
    assert predictor.predict(rows).dtype == float
    assert list(predictor.predictions_table(rows).columns) == ["prediction"]
    with pytest.raises(TypeError, match=r"predict_proba is for classifiers"):
        predictor.predict_proba(rows)


def test_a_missing_column_is_not_confused_with_the_target(predictor, rows: pd.DataFrame) -> None:
    # 'income' is close to 'outcome' by spelling; suggesting the target as the missing feature misleads.
    with pytest.raises(SchemaError, match=r"trained on: income\. Add them") as caught:
        predictor.predict(rows.drop(columns="income").assign(outcome="good"))
    assert "Did you mean" not in str(caught.value)
