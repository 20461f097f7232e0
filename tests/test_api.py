"""The Python API: the curated names, train() and its Run, and options passed through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from conftest import QUICK, make_binary

PUBLIC = ["BudgetConfig", "BundleError", "Classifier", "ConfigError", "DataError", "MissingDependencyError",
          "Predictor", "RecommendRun", "Recommender", "Regressor", "Run", "SchemaError", "SplitConfig", "TrainConfig",
          "TrainlabError", "__version__", "load", "load_recommender", "train", "train_recommender"]


def test_all_is_exactly_the_curated_list() -> None:
    assert sorted(trainlab.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(trainlab, name) is not None


def test_import_is_light() -> None:
    code = ("import sys, trainlab; heavy = [m for m in ('torch', 'sklearn', 'lightgbm', 'trainlab.run') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Trainer'"):
        trainlab.Trainer  # noqa: B018


def test_run_has_the_leaderboard_in_the_documented_order(binary_run) -> None:
    board = binary_run.leaderboard
    assert list(board.columns[:5]) == ["model", "family", "status", "error", "val_roc_auc"]
    assert list(board.columns[-2:]) == ["fit_time_s", "predict_time_s"]
    assert {"val_log_loss", "val_accuracy", "val_precision", "val_recall", "val_f1", "val_mcc"} <= set(board.columns)
    assert board["model"].is_unique
    assert set(board["family"]) <= {"linear", "decision_tree", "ensemble"}
    ok = board[board["status"] == "ok"]
    assert list(ok["val_roc_auc"]) == sorted(ok["val_roc_auc"], reverse=True)
    assert binary_run.best_model == board["model"].iloc[0]


def test_run_folder_is_the_record(binary_run) -> None:
    folder = binary_run.folder
    record = json.loads((folder / "run.json").read_text())
    assert record["task"] == "binary" and record["target"] == "outcome" and record["seed"] == 0
    assert record["config"]["split"]["test_size"] == 0.2 and len(record["data_fingerprint"]) == 64
    saved = pd.read_csv(folder / "leaderboard.csv")
    assert list(saved.columns) == list(binary_run.leaderboard.columns)
    assert set(binary_run.test_metrics) >= {"roc_auc", "accuracy", "f1", "log_loss"}
    assert binary_run.split["test_rows"] == 32


def test_regression_metrics(regression_run) -> None:
    assert list(regression_run.leaderboard.columns[:5]) == ["model", "family", "status", "error", "val_rmse"]
    assert set(regression_run.test_metrics) == {"rmse", "mse", "mae", "r2"}
    assert regression_run.test_metrics["r2"] > 0.8


def test_run_predicts_and_saves(binary_run, tmp_path: Path) -> None:
    rows = make_binary().drop(columns="outcome").head(5)
    saved = binary_run.save(tmp_path / "copy")
    assert list(trainlab.load(saved).predict(rows)) == list(binary_run.predict(rows))


def test_same_seed_same_result(tmp_path: Path) -> None:
    options = {**QUICK, "models": ("linear",), "max_trials": 1}
    a = trainlab.train(make_binary(), target="outcome", out_dir=tmp_path, **options)
    b = trainlab.train(make_binary(), target="outcome", out_dir=tmp_path, **options)
    assert a.test_metrics == b.test_metrics and a.folder != b.folder


def test_train_from_a_csv_path(binary_csv: Path, tmp_path: Path) -> None:
    run = trainlab.train(binary_csv, target="outcome", out_dir=tmp_path, **{**QUICK, "max_trials": 1})
    assert run.folder.name.startswith("credit-")


def test_weight_column_reaches_the_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.linear_model import LogisticRegression

    seen: list[np.ndarray | None] = []
    fit = LogisticRegression.fit

    def spy(self, X, y, sample_weight=None):
        seen.append(sample_weight)
        return fit(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    frame = make_binary().assign(w=np.tile([1.0, 2.0], 80))
    # QUICK has report=False: the report's learning curve refits without weights (evaluate/ is not ours).
    run = trainlab.train(frame, target="outcome", weight_column="w", out_dir=tmp_path,
                         **{**QUICK, "models": ("linear",), "max_trials": 1})
    assert seen and all(w is not None and set(np.unique(w)) == {1.0, 2.0} for w in seen)
    assert "w" not in [c.name for c in run.schema.columns]


def test_errors_are_raised_from_train(tmp_path: Path) -> None:
    with pytest.raises(trainlab.DataError, match=r"Did you mean 'outcome'"):
        trainlab.train(make_binary(), target="Outcome ", out_dir=tmp_path, **QUICK)
    with pytest.raises(trainlab.ConfigError, match=r"--test-size"):
        trainlab.train(make_binary(), target="outcome", out_dir=tmp_path, test_size=1.2)


def test_a_new_run_never_reuses_an_old_runs_folder(tmp_path: Path) -> None:
    first = trainlab.train(make_binary(), target="outcome", out_dir=tmp_path, name="same", **QUICK)
    before = (first.folder / "trials.csv").read_text()
    with pytest.raises(trainlab.ConfigError, match=r"already holds a run named 'same'.*--resume"):
        trainlab.train(make_binary(seed=1), target="outcome", out_dir=tmp_path, name="same", **QUICK)
    assert (first.folder / "trials.csv").read_text() == before
