"""Retraining: the challenger wins only when it is better, every challenger is a version, failures change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import trainlab.run
from lifecycle_helpers import TARGET, fast_train, make_table, write_csv
from trainlab.errors import ConfigError, DataError
from trainlab.lifecycle.registry import Registry, register_run
from trainlab.lifecycle.retrain import RetrainOptions, evaluate, retrain


@pytest.fixture(scope="module")
def champion_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("champion")
    return fast_train(write_csv(make_table(800, 0), root / "train.csv"), root / "runs")


@pytest.fixture
def registry(tmp_path: Path, champion_run: Any) -> Path:
    """A fresh registry whose 'credit' champion is the module's run, trained on a copy of its data in tmp_path."""
    data = shutil.copy(champion_run.folder.parent.parent / "train.csv", tmp_path)
    path = tmp_path / "trainlab.db"
    register_run(champion_run, "credit", path, data_path=data)
    return path


def snapshot(path: Path) -> tuple[list[tuple[int, tuple[str, ...]]], list[dict[str, Any]]]:
    reg = Registry(path)
    return [(v.version, tuple(v.aliases)) for v in reg.versions("credit")], reg.history("credit")


def test_changed_relationship_promotes_the_challenger(registry: Path, tmp_path: Path) -> None:
    new = write_csv(make_table(800, 1, flip=True), tmp_path / "new.csv")
    result = retrain("credit", new, RetrainOptions(out_dir=tmp_path / "runs"), registry)
    assert result.promoted and not result.forced
    assert result.metric == "roc_auc" and result.held_out_rows == 160 and result.train_rows == 640
    assert result.challenger_score > 0.85 > 0.6 > result.champion_score
    assert "Promoted credit@2" in result.decision and f"{result.challenger_score:.4f}" in result.decision
    reg = Registry(registry)
    assert reg.get("credit").version == 2
    version = reg.get("credit", 2)
    assert version.parent_version == 1 and version.evaluation["promoted"] is True
    assert version.evaluation["champion_metrics"]["roc_auc"] == pytest.approx(result.champion_score)
    assert Path(version.data_path or "").name == "training_data.parquet"


def test_same_distribution_with_noise_does_not_regress_the_champion(registry: Path, tmp_path: Path) -> None:
    new = write_csv(make_table(150, 2, noise=0.6), tmp_path / "noisy.csv")
    result = retrain("credit", new, RetrainOptions(out_dir=tmp_path / "runs"), registry)
    assert not result.promoted and result.challenger_score < result.champion_score
    assert result.decision.startswith("Kept credit@1 as champion") and "on 30 held-out rows" in result.decision
    reg = Registry(registry)
    assert reg.get("credit").version == 1
    assert reg.get("credit", 2).evaluation["promoted"] is False  # registered all the same
    clean = make_table(4000, 3)
    champion_now = evaluate(trainlab.load(reg.get("credit").bundle), clean)["roc_auc"]
    challenger = evaluate(trainlab.load(reg.get("credit", 2).bundle), clean)["roc_auc"]
    assert champion_now > challenger + 0.03


def test_a_crash_during_retrain_leaves_registry_and_champion_intact(registry: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(registry)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker died")

    monkeypatch.setattr(trainlab.run, "train", crash)
    new = write_csv(make_table(400, 4, flip=True), tmp_path / "new.csv")
    with pytest.raises(RuntimeError, match="worker died"):
        retrain("credit", new, RetrainOptions(out_dir=tmp_path / "runs", force=True), registry)
    assert snapshot(registry) == before
    assert Registry(registry).bundle_path("credit").is_dir()


def test_append_refuses_recorded_data_that_changed_or_is_gone(registry: Path, tmp_path: Path) -> None:
    new = write_csv(make_table(200, 5), tmp_path / "new.csv")
    recorded = Path(Registry(registry).get("credit").data_path or "")
    with recorded.open("a") as handle:
        handle.write("0.1,0.2,a,1\n")
    with pytest.raises(DataError, match="has changed since it was registered"):
        retrain("credit", new, RetrainOptions(mode="append"), registry)
    recorded.unlink()
    with pytest.raises(DataError, match=r"is gone: '.*train\.csv' does not exist"):
        retrain("credit", new, RetrainOptions(mode="window"), registry)
    assert len(Registry(registry).versions("credit")) == 1


def test_bad_options_and_data_fail_before_training(registry: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--mode must be one of replace, append, window"):
        RetrainOptions(mode="merge")
    unlabelled = write_csv(make_table(200, 6).drop(columns=TARGET), tmp_path / "u.csv")
    with pytest.raises(DataError, match="has no 'y' column: retraining needs labelled rows"):
        retrain("credit", unlabelled, registry=registry)
    tiny = write_csv(make_table(30, 7), tmp_path / "tiny.csv")
    with pytest.raises(DataError, match="too few to both train a challenger"):
        retrain("credit", tiny, registry=registry)
