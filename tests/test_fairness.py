"""Fairness by group: planted bias is found and named, fair data is not flagged, and a run carries the
fairness table into the terminal, run.json, the report and the model card."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from conftest import QUICK
from trainlab.bundle import load_bundle
from trainlab.errors import ConfigError, DataError
from trainlab.evaluate.fairness import fairness_report, sensitive_groups

TRAINLAB = str(Path(sys.executable).parent / "trainlab")


def credit_table(n: int = 1200, bias: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Applicants with an income signal; ``bias`` raises the chance that group 'b' is labelled 'bad' at equal income."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    income = rng.normal(50, 15, n)
    age = rng.integers(18, 70, n)
    risk = -0.08 * (income - 50) + bias * (group == "b") + rng.normal(0, 1, n)
    return pd.DataFrame({"income": income.round(1), "age": age, "group": group,
                         "outcome": np.where(risk > 0.8, "bad", "good")})


def _labels_and_scores(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a model that learned the labels' pattern would output: the planted risk, without the noise."""
    y = (frame["outcome"] == "bad").to_numpy().astype(int)
    score = 1 / (1 + np.exp(0.08 * (frame["income"] - 50) - 2.0 * (frame["group"] == "b") * (frame.attrs["bias"] > 0)))
    proba = np.c_[1 - score, score]
    return y, proba, (score >= 0.5).astype(int)


def test_planted_bias_is_flagged_and_names_the_group_worse_off() -> None:
    frame = credit_table(bias=1.5)
    frame.attrs["bias"] = 1.5
    y, proba, pred = _labels_and_scores(frame)
    report = fairness_report(y, proba, pred, frame, ["group"], "binary", positive_label="bad")
    column = report["columns"][0]
    assert report["flagged"] == ["group"] and column["worse_off"] == "b"
    assert column["verdict"].startswith("group: 'b' is worse off")
    assert "95 % interval" in column["verdict"]
    rates = {g["group"]: g["selection_rate"] for g in column["groups"]}
    assert rates["b"] > rates["a"] + 0.1
    assert column["summary"]["demographic_parity_difference"] == pytest.approx(rates["b"] - rates["a"])
    assert {"equalized_odds_difference", "equalized_odds_ratio", "demographic_parity_ratio"} <= set(column["summary"])


def test_unbiased_data_is_not_flagged() -> None:
    frame = credit_table(bias=0.0, seed=1)
    frame.attrs["bias"] = 0.0
    y, proba, pred = _labels_and_scores(frame)
    report = fairness_report(y, proba, pred, frame, ["group", "age"], "binary", positive_label="bad")
    assert report["flagged"] == []
    assert all("no group is clearly worse off" in c["verdict"] for c in report["columns"])


def test_numeric_sensitive_columns_are_binned_into_quantiles_and_said() -> None:
    frame = credit_table(n=400)
    groups, note = sensitive_groups(frame, "age")
    assert groups.nunique() == 4 and "quantile bins" in note
    assert sensitive_groups(frame, "group")[1] == ""


def test_regression_compares_errors_and_residual_bias_by_group() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"group": rng.choice(["a", "b"], 600)})
    y = rng.normal(size=600)
    noise = np.where(frame["group"] == "b", 2.0, 0.3)  # the model is much worse for group b
    pred = y + rng.normal(size=600) * noise
    report = fairness_report(y, pred, pred, frame, ["group"], "regression")
    column = report["columns"][0]
    assert column["worse_off"] == "b" and {"mae", "rmse", "mean_residual"} <= set(column["groups"][0])


def test_small_groups_are_shown_but_not_judged() -> None:
    frame = pd.DataFrame({"group": ["a"] * 50 + ["b"] * 5})
    y = np.r_[np.zeros(25, int), np.ones(25, int), np.ones(5, int)]
    proba = np.c_[1 - y * 0.9, y * 0.9]
    report = fairness_report(y, proba, y, frame, ["group"], "binary")
    assert len(report["columns"][0]["groups"]) == 2 and "too few rows" in report["columns"][0]["verdict"]


@pytest.fixture(scope="module")
def fair_run(tmp_path_factory: pytest.TempPathFactory) -> trainlab.Run:
    out = tmp_path_factory.mktemp("fair")
    data = credit_table(n=600, bias=1.5)
    return trainlab.train(data, target="outcome", out_dir=out, name="fair", sensitive="group,age",
                          intended_use="Ranking loan applications for a person to review.",
                          **{**QUICK, "report": True})


def test_a_run_measures_fairness_on_its_test_rows_and_records_it(fair_run: trainlab.Run) -> None:
    assert [c["column"] for c in fair_run.fairness["columns"]] == ["group", "age"]
    record = json.loads((fair_run.folder / "run.json").read_text())
    assert record["fairness"]["columns"][0]["verdict"] == fair_run.fairness["columns"][0]["verdict"]
    summary = json.loads((fair_run.folder / "summary.json").read_text())
    assert summary["fairness"]["flagged"] == fair_run.fairness["flagged"]
    html = (fair_run.folder / "report.html").read_text()
    assert "Fairness by group" in html and "demographic parity" in html and "equalized odds" in html
    assert "Model card" in html


def test_the_bundle_carries_a_model_card_that_still_verifies(fair_run: trainlab.Run) -> None:
    card = (fair_run.bundle_path / "model_card.md").read_text()
    assert "Ranking loan applications for a person to review." in card
    for heading in ("## Intended use", "## Training data", "## How it was chosen", "## Metrics",
                    "## Fairness by group", "## Known limitations", "## Versions"):
        assert heading in card
    assert "95 % interval" in card and "demographic parity difference" in card
    assert "used as features too" in card
    manifest, _ = load_bundle(fair_run.bundle_path)  # checksums verified, the card included
    assert "model_card.md" in manifest.files


def test_saving_a_run_elsewhere_keeps_its_model_card(fair_run: trainlab.Run, tmp_path: Path) -> None:
    copy = fair_run.save(tmp_path / "copy")
    assert (copy / "model_card.md").read_text() == (fair_run.bundle_path / "model_card.md").read_text()
    load_bundle(copy)


def test_exclude_sensitive_leaves_the_columns_out_of_the_features(tmp_path: Path) -> None:
    run = trainlab.train(credit_table(n=300), target="outcome", out_dir=tmp_path, name="excluded",
                         sensitive=("group",), exclude_sensitive=True, **QUICK)
    assert "group" not in [c.name for c in run.schema.features]
    assert run.fairness["columns"][0]["column"] == "group"
    assert "left out of the features" in (run.bundle_path / "model_card.md").read_text()


def test_sensitive_options_are_checked() -> None:
    with pytest.raises(DataError, match=r"Column 'gruop' given to --sensitive not found\. Did you mean 'group'"):
        trainlab.train(credit_table(n=100), target="outcome", sensitive="gruop", **QUICK)
    with pytest.raises(ConfigError, match="--exclude-sensitive needs --sensitive"):
        trainlab.train(credit_table(n=100), target="outcome", exclude_sensitive=True, **QUICK)


def test_fairness_command_scores_a_saved_model_on_new_rows(fair_run: trainlab.Run, tmp_path: Path) -> None:
    rows = tmp_path / "new.csv"
    credit_table(n=400, bias=1.5, seed=5).to_csv(rows, index=False)
    result = subprocess.run([TRAINLAB, "fairness", str(fair_run.bundle_path), str(rows), "--sensitive", "group"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Fairness by group" in result.stdout and "demographic parity difference" in result.stdout
    assert "worse off" in result.stdout
    missing = subprocess.run([TRAINLAB, "fairness", str(fair_run.bundle_path), str(rows), "--sensitive", "sex"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "Column(s) sex given to --sensitive" in missing.stderr
    assert "Traceback" not in missing.stderr
