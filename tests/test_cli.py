"""The `trainlab` command end to end, run as a user runs it: a real process on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_binary

TRAINLAB = str(Path(sys.executable).parent / "trainlab")
FAST = ["--models", "linear,decision_tree", "--max-trials", "2", "--time-limit", "60", "--folds", "3"]


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRAINLAB, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=180)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """`trainlab train` on a CSV with a weight column; returns the result, the data and the run folder."""
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "credit.csv"
    make_binary().assign(w=1.0).to_csv(data, index=False)
    result = cli("train", data, "--target", "outcome", "--weight-column", "w", "--out", folder / "runs",
                 "--name", "demo", *FAST)
    return result, data, folder / "runs" / "demo"


def test_train_prints_the_leaderboard_and_writes_the_run_folder(trained) -> None:
    result, _, run = trained
    assert result.returncode == 0, result.stderr
    assert "Leaderboard" in result.stdout and "Best model:" in result.stdout
    assert {"run.json", "leaderboard.csv", "leaderboard.json", "trials.csv"} <= {p.name for p in run.iterdir()}
    assert (run / "model" / "manifest.json").is_file()
    board = pd.read_csv(run / "leaderboard.csv")
    assert list(board.columns[:5]) == ["model", "family", "status", "error", "val_roc_auc"]
    assert list(board.columns[-2:]) == ["fit_time_s", "predict_time_s"]


def test_no_report_skips_the_report_and_keeps_the_model(tmp_path: Path) -> None:
    data = tmp_path / "credit.csv"
    make_binary().to_csv(data, index=False)
    result = cli("train", data, "--target", "outcome", "--out", tmp_path, "--name", "quick", "--no-report", *FAST)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "quick" / "model" / "manifest.json").is_file() and (tmp_path / "quick" / "run.json").is_file()
    assert not (tmp_path / "quick" / "report.html").exists() and "Report:" not in result.stdout


def test_weight_column_is_passed_through_and_not_a_feature(trained) -> None:
    _, _, run = trained
    record = json.loads((run / "run.json").read_text())
    assert record["config"]["weight_column"] == "w"
    assert "w" not in [c["name"] for c in record["schema"]["columns"]]


def test_predict_writes_predictions_and_probabilities(trained, tmp_path: Path) -> None:
    _, data, run = trained
    rows = pd.read_csv(data).drop(columns=["outcome", "w"]).head(25)
    rows.to_csv(tmp_path / "new.csv", index=False)
    result = cli("predict", run / "model", tmp_path / "new.csv", "-o", tmp_path / "out" / "predictions.csv")
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(predictions.columns) == ["prediction", "proba_bad", "proba_good"]
    assert len(predictions) == 25 and set(predictions["prediction"]) <= {"good", "bad"}


def test_predict_with_a_missing_column_fails_in_one_line(trained, tmp_path: Path) -> None:
    _, data, run = trained
    pd.read_csv(data).drop(columns=["income"]).to_csv(tmp_path / "bad.csv", index=False)
    result = cli("predict", run / "model", tmp_path / "bad.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "lack 1 column(s) the model was trained on: income" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The console script's entry point in this process (no interpreter start-up): exit code, stdout, stderr."""
    from trainlab.cli import main

    monkeypatch.setattr(sys, "argv", ["trainlab", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return exited.value.code or 0, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "outcom"], "Target column 'outcom' not found. Did you mean 'outcome'?"),
        (["--target", "outcome", "--time-limit", "-5"], "--time-limit must be a positive number of seconds, got -5"),
        (["--target", "outcome", "--test-size", "1.5"], "--test-size must be between 0 and 1"),
        (["--target", "outcome", "--models", "lightbgm"], "Unknown model family 'lightbgm'. Did you mean 'lightgbm'?"),
    ],
    ids=["misspelt-target", "negative-time-limit", "test-size-too-big", "unknown-model"],
)
def test_user_mistakes_exit_2_without_traceback(monkeypatch, capsys, binary_csv: Path, tmp_path: Path,
                                                args: list[str], message: str) -> None:
    code, _, err = run_main(monkeypatch, capsys, "train", binary_csv, *args, "--out", tmp_path)
    assert code == 2
    assert "Traceback" not in err
    assert message in " ".join(err.split())


def test_missing_file_exits_2(monkeypatch, capsys, tmp_path: Path) -> None:
    code, _, err = run_main(monkeypatch, capsys, "doctor", tmp_path / "nope.csv", "--target", "y")
    assert code == 2 and "not found" in err and "Traceback" not in err


def test_doctor_prints_the_profile_and_every_finding(monkeypatch, capsys, tmp_path: Path) -> None:
    frame = make_binary().assign(country="FR")
    frame = pd.concat([frame, frame.head(3)], ignore_index=True)
    frame.to_csv(tmp_path / "messy.csv", index=False)
    code, stdout, _ = run_main(monkeypatch, capsys, "doctor", tmp_path / "messy.csv", "--target", "outcome")
    assert code == 0
    out = " ".join(stdout.split())
    assert "163 rows" in out and "task binary" in out
    assert "Classes:" in out
    assert "Column 'country' is dropped: one value only" in out
    assert "3 rows are exact duplicates" in out


def test_train_predict_and_doctor_read_compressed_and_zipped_tables(tmp_path: Path) -> None:
    import gzip
    import zipfile

    frame = make_binary()
    packed = tmp_path / "credit.csv.gz"
    packed.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    trained = cli("train", packed, "--target", "outcome", "--out", tmp_path / "runs", "--name", "gz",
                  "--models", "linear", "--max-trials", "1", "--folds", "2")
    assert trained.returncode == 0, trained.stderr
    archive = tmp_path / "tables.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("new.csv", frame.drop(columns="outcome").head(5).to_csv(index=False))
        handle.writestr("old.csv", frame.to_csv(index=False))
    refused = cli("doctor", archive, "--target", "outcome")
    assert refused.returncode == 2 and "holds 2 tables: new.csv, old.csv" in refused.stdout + refused.stderr
    picked = cli("doctor", archive, "--target", "outcome", "--member", "old.csv")
    assert picked.returncode == 0 and f"{len(frame)} rows" in picked.stdout
    predicted = cli("predict", tmp_path / "runs" / "gz" / "model", archive, "--member", "new.csv")
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.strip().splitlines()) == 6
