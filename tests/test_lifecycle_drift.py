"""Drift monitoring: reference profiles, per-column judgement on effect size, the report, `trainlab monitor`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifecycle_helpers import TARGET, make_table, write_csv
from trainlab.data.profile import profile_column
from trainlab.lifecycle.drift import DriftThresholds, compare_column, monitor
from trainlab.lifecycle.drift_html import render_html
from trainlab.lifecycle.registry import Registry, load_predictor


def judge(reference: pd.Series, now: pd.Series, kind: str) -> Any:
    return compare_column("x", profile_column(reference, kind), now, DriftThresholds())


def normal(n: int, seed: int, loc: float = 0.0, scale: float = 1.0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(loc, scale, n))


def categories(n: int, seed: int, p: list[float], values: tuple[str, ...] = ("a", "b", "c")) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).choice(values, n, p=p), dtype=object)


@pytest.mark.parametrize(("now", "kind", "drifted", "reason"), [
    (normal(1000, 1), "numeric", False, ""),
    (normal(1000, 1, loc=1.0), "numeric", True, "PSI"),
    (normal(1000, 1, scale=2.5), "numeric", True, "PSI"),
    (normal(200_000, 2), "numeric", False, ""),
    (normal(25, 3), "numeric", False, ""),
], ids=["same", "mean-shift", "wider", "large-same-sample", "few-rows"])
def test_numeric_drift_is_judged_on_effect_size(now: pd.Series, kind: str, drifted: bool, reason: str) -> None:
    result = judge(normal(2000, 0), now, kind)
    assert result.drifted is drifted, (result.psi, result.distance, result.p_value)
    assert reason in "; ".join(result.reasons)
    if drifted:
        assert result.p_value < 0.01 and result.psi >= 0.2


def test_a_large_same_sample_has_a_small_effect_even_when_its_p_value_is_tiny() -> None:
    result = judge(normal(2000, 0), normal(200_000, 4, loc=0.08), "numeric")
    assert result.p_value < 0.01
    assert result.psi < 0.2 and result.distance is not None and result.distance < 0.25
    assert not result.drifted


def test_categorical_drift_new_categories_and_missing_values() -> None:
    reference = categories(2000, 0, [0.5, 0.3, 0.2])
    assert not judge(reference, categories(1000, 1, [0.5, 0.3, 0.2]), "categorical").drifted
    moved = judge(reference, categories(1000, 2, [0.1, 0.3, 0.6]), "categorical")
    assert moved.drifted and moved.test == "chi2" and moved.p_value < 1e-6
    unseen = judge(reference, categories(1000, 3, [0.4, 0.3, 0.2, 0.1], ("a", "b", "c", "zzz")), "categorical")
    assert unseen.new_category_rate == pytest.approx(0.1, abs=0.03)
    assert any("new categories" in r for r in unseen.reasons)
    gaps = normal(1000, 5).mask(np.random.default_rng(6).random(1000) < 0.3)
    missing = judge(normal(2000, 0), gaps, "numeric")
    assert missing.missing_now == pytest.approx(0.3, abs=0.05)
    assert any(r.startswith("missing 0.0%") for r in missing.reasons)


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`trainlab train --register` run for real (one linear trial), plus new tables to monitor."""
    root = tmp_path_factory.mktemp("drift")
    files = {"train": write_csv(make_table(800, 0), root / "train.csv"),
             "same": write_csv(make_table(600, 1), root / "same.csv"),
             "shift": write_csv(make_table(600, 2, shift=1.0), root / "shift.csv"),
             "flipped": write_csv(make_table(600, 3, flip=True), root / "flipped.csv"),
             "registry": root / "trainlab.db", "root": root}
    code, _ = cli(["train", str(files["train"]), "-t", TARGET, "--models", "linear", "--max-trials", "1",
                   "--folds", "2", "--out", str(root / "runs"), "--register", "credit", "--registry",
                   str(files["registry"])])
    assert code == 0
    return files


def cli(args: list[str], capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str]:
    """Run `trainlab ARGS` in-process through its real entry point; (exit code, stdout + stderr)."""
    from trainlab.cli import main

    argv = sys.argv
    sys.argv = ["trainlab", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    if capsys is None:
        return code, ""
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_train_register_records_the_lineage(champion: dict[str, Path]) -> None:
    version = Registry(champion["registry"]).get("credit")
    assert version.version == 1 and version.aliases == ["champion"]
    assert version.data_path == str(champion["train"].resolve())
    assert len(version.data_fingerprint or "") == 64 and version.family == "linear"
    assert Path(version.bundle, "manifest.json").is_file() and Path(version.run_folder or "", "run.json").is_file()
    assert version.metrics["ranking_metric"] == "roc_auc" and version.metrics["test"]["roc_auc"] > 0.8


def test_planted_shift_in_one_feature_is_found_and_the_others_are_not(champion: dict[str, Path]) -> None:
    predictor, label = load_predictor("credit", champion["registry"])
    same = monitor(predictor, champion["same"], label)
    assert not same.drifted and same.drifted_features == []
    shifted = monitor(predictor, champion["shift"], label)
    assert shifted.drifted_features == ["x1"]
    assert shifted.prediction is not None and shifted.prediction.drifted
    assert shifted.performance is not None and not shifted.performance["degraded"]


def test_labels_measure_performance_now_against_training(champion: dict[str, Path]) -> None:
    predictor, label = load_predictor("credit@1", champion["registry"])
    report = monitor(predictor, champion["flipped"], label)
    perf = report.performance
    assert perf is not None and perf["metric"] == "roc_auc" and perf["degraded"]
    assert perf["now"] < perf["training"] - 0.3
    assert report.drifted and "roc_auc fell from" in report.summary()
    unlabelled = monitor(predictor, pd.read_csv(champion["same"]).drop(columns=TARGET), label)
    assert unlabelled.performance is None and "No 'y' column" in unlabelled.notes[0]


def test_html_report_is_offline_with_inline_plots(champion: dict[str, Path]) -> None:
    predictor, label = load_predictor("credit", champion["registry"])
    page = render_html(monitor(predictor, champion["shift"], label))
    assert page.count("data:image/png;base64,") == 4  # x1, x2, c and the predictions
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "drift: PSI" in page


@pytest.mark.parametrize(("table", "code", "text"), [
    ("same", 0, "No drift in 600 rows"),
    ("shift", 1, "1 of 3 features drifted (x1)"),
], ids=["no-drift", "drift"])
def test_monitor_exit_codes(champion: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
                            table: str, code: int, text: str) -> None:
    got, output = cli(["monitor", "credit", str(champion[table]), "--registry", str(champion["registry"]),
                       "--out", str(tmp_path)], capsys)
    assert got == code and text in output
    summary = json.loads(next(tmp_path.glob("credit-v1-*/drift.json")).read_text())
    assert summary["drifted"] is bool(code)
    assert next(tmp_path.glob("credit-v1-*/drift.html")).stat().st_size > 1000


def test_monitor_takes_a_bundle_folder_too(champion: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    bundle = Registry(champion["registry"]).get("credit").bundle
    got, output = cli(["monitor", bundle, str(champion["shift"]), "--out", str(tmp_path), "--json"], capsys)
    assert got == 1 and json.loads(output[output.index("{"):])["drifted_features"] == ["x1"]


def test_monitor_errors_exit_2(champion: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    registry = str(champion["registry"])
    got, output = cli(["monitor", "credt", str(champion["same"]), "--registry", registry], capsys)
    assert got == 2 and "Did you mean 'credit'" in output
    bad = write_csv(pd.DataFrame({"x1": [1.0], "c": ["a"]}), tmp_path / "bad.csv")
    got, output = cli(["monitor", "credit", str(bad), "--registry", registry, "--out", str(tmp_path)], capsys)
    assert got == 2 and "lack 1 column" in output and "x2" in output
