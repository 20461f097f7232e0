"""trainlab.Classifier and trainlab.Regressor follow scikit-learn's estimator contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from trainlab import Classifier, Regressor

# One family, one trial, two folds and no time limit (so trials run in-process and repeatably): fast enough
# to run scikit-learn's whole estimator suite, which fits a few hundred times.
FAST = {"models": ("linear",), "time_limit": None, "max_trials": 1, "folds": 2}
WEIGHT_EQUIVALENCE = (
    "trainlab splits rows into test, validation folds and training: a row repeated twice lands in different "
    "parts, while a row with weight 2 stays in one, so the two fits see different data by design."
)


def expected_failures(estimator: object) -> dict[str, str]:
    return {"check_sample_weight_equivalence_on_dense_data": WEIGHT_EQUIVALENCE}


@parametrize_with_checks([Classifier(**FAST), Regressor(**FAST)], expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_on_a_dataframe_with_categories(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns="outcome"), binary_frame["outcome"]
    model = Classifier(**FAST)
    assert model.fit(X, y) is model
    assert list(model.classes_) == ["bad", "good"]
    assert list(model.feature_names_in_) == list(X.columns) and model.n_features_in_ == 5
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {"bad", "good"}
    assert model.score(X, y) > 0.7
    assert model.run_.leaderboard["family"].iloc[0] == "linear"


def test_classifier_keeps_label_types_and_order() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.select([X[:, 0] > 0.5, X[:, 0] < -0.5], [30, 10], 20)
    model = Classifier(**FAST).fit(X, y)
    assert model.classes_.tolist() == [10, 20, 30]
    assert model.predict(X).dtype == y.dtype
    assert np.mean(model.predict(X) == y) > 0.8


def test_regressor_with_sample_weights() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 4))
    y = 3 * X[:, 0] - X[:, 1] + rng.normal(0, 0.1, 100)
    weights = np.r_[np.zeros(10), np.ones(90)]
    model = Regressor(**FAST).fit(X, y, sample_weight=weights)
    assert model.run_.config.weight_column == "sample_weight"
    assert len(model.run_.trials) >= 1 and model.score(X, y) > 0.9


def test_pipeline_cross_val_score_and_clone() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    pipe = make_pipeline(FunctionTransformer(np.tanh), Classifier(**FAST))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8
    copy = clone(Classifier(**FAST, seed=4))
    assert copy.get_params()["seed"] == 4 and not hasattr(copy, "run_")


def test_run_folder_is_temporary_unless_out_dir_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    X, y = np.random.default_rng(3).normal(size=(60, 2)), np.arange(60) % 2
    kept = Classifier(**FAST, out_dir=tmp_path / "runs").fit(X, y)
    assert kept.run_.folder.parent == tmp_path / "runs" and (kept.run_.folder / "model" / "manifest.json").is_file()
    gone = Classifier(**FAST).fit(X, y)
    assert not gone.run_.folder.exists() and list((tmp_path / "tmp").iterdir()) == []
    saved = gone.run_.save(tmp_path / "saved")
    assert (saved / "manifest.json").is_file()


def test_predict_checks_columns_like_scikit_learn(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns="outcome"), binary_frame["outcome"]
    model = Classifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(X[list(reversed(X.columns))])


def test_data_errors_reach_the_caller_as_value_errors() -> None:
    X = np.random.default_rng(4).normal(size=(40, 2))
    with pytest.raises(ValueError, match=r"has one class"):
        Classifier(**FAST).fit(X, np.ones(40))
    with pytest.raises(ValueError, match=r"Unknown label type"):
        Classifier(**FAST).fit(X, X[:, 0])
