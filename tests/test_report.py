"""report.html and summary.json of a real run, and the report, explain and evaluate commands."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trainlab
from trainlab.cli import app
from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.prepare import make_features
from trainlab.data.split import make_split
from trainlab.errors import DataError, TrainlabError
from trainlab.evaluate.analysis import analyze_run, encode_labels
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.report import write_report

SECTIONS = ["data", "comparison", "tuning", "metrics", "errors", "diagnosis", "importance", "usage"]


def _table(task: str, n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=(2, n))
    colour = rng.choice(["red", "green", "blue"], size=n)
    value = 2 * x + (colour == "red") + 0.5 * rng.normal(size=n)
    noisy = value + rng.normal(size=n)  # rare, noisy positives: even calibrated, the best f1 threshold is < 0.5
    y = np.where(noisy > 3.0, "yes", "no") if task == "binary" else value
    return pd.DataFrame({"x": x, "z": z, "colour": colour, "y": y})


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return trainlab.train(_table("binary"), target="y", time_limit=None, max_trials=3, out_dir=out,
                          models=("linear", "decision_tree"), metric="f1")


def test_run_writes_a_self_contained_report_with_every_section(binary_run):
    html = (binary_run.folder / "report.html").read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in html
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', html)) >= 8
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not load anything from the network"
    assert f"trainlab predict {binary_run.folder / 'model'}" in html
    refit = json.loads((binary_run.folder / "run.json").read_text())["refit"]
    assert f'<p id="final-model">Final model: <strong>refit on {refit["rows"]} rows</strong>' in html


def test_summary_json_holds_the_same_numbers(binary_run):
    summary = json.loads((binary_run.folder / "summary.json").read_text())
    assert summary["best_model"] == binary_run.best_model
    for name, value in binary_run.test_metrics.items():
        assert summary["test_metrics"][name] == pytest.approx(value)
    counts = summary["confusion"]["counts"]
    assert sum(map(sum, counts)) == binary_run.split["test_rows"]
    assert summary["diagnosis"]["verdict"] in ("overfitting", "underfitting", "good fit")
    assert summary["importance"]["ranking"][0] == "x"
    assert len(summary["leaderboard"]) == len(binary_run.leaderboard)


def test_report_command_rebuilds_from_the_run_folder(binary_run):
    (binary_run.folder / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(binary_run.folder)])
    assert result.exit_code == 0, result.output
    assert (binary_run.folder / "report.html").stat().st_size > 10_000


def test_report_of_a_folder_that_is_not_a_run_says_so(tmp_path):
    with pytest.raises(TrainlabError, match="not a trainlab run folder"):
        write_report(tmp_path)


def test_explain_command_and_api_show_top_features(binary_run, tmp_path):
    rows = _table("binary", n=4, seed=9).drop(columns="y")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = CliRunner().invoke(app, ["explain", str(binary_run.bundle_path), str(tmp_path / "rows.csv"), "--top", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("Row ") == 4 and ("raises" in result.output or "lowers" in result.output)
    explained = trainlab.load(binary_run.bundle_path).explain(rows, top=3)
    assert len(explained) == 4 and len(explained[0]["contributions"]) == 3
    assert explained[0]["prediction"] in ("yes", "no")


def test_evaluate_command_scores_new_labelled_rows(binary_run, tmp_path):
    _table("binary", n=150, seed=7).to_csv(tmp_path / "labeled.csv", index=False)
    out = tmp_path / "evaluation"
    result = CliRunner().invoke(app, ["evaluate", str(binary_run.bundle_path), str(tmp_path / "labeled.csv"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "evaluation" and sum(map(sum, summary["confusion"]["counts"])) == 150
    html = (out / "report.html").read_text()
    assert 'id="metrics"' in html and 'id="errors"' in html and 'id="importance"' in html


def test_evaluate_without_the_target_column_is_a_clear_error(binary_run, tmp_path):
    _table("binary", n=20).drop(columns="y").to_csv(tmp_path / "unlabeled.csv", index=False)
    result = CliRunner().invoke(app, ["evaluate", str(binary_run.bundle_path), str(tmp_path / "unlabeled.csv"),
                                      "--out", str(tmp_path / "e")])
    assert isinstance(result.exception, DataError)
    assert "lack the target column 'y'" in str(result.exception)


def test_regression_report_has_residual_plots(tmp_path):
    frame = _table("regression")
    config = make_config("y", time_limit=5)
    checked = check_data(frame, config)
    split = make_split(checked.frame, checked.schema, config.split, config.seed)
    train = checked.frame.iloc[split.train]
    model = fit_model(get_spec("linear"), {"alpha": 1.0}, checked.schema, make_features(train, checked.schema),
                      encode_labels(train, checked.schema), None, 0)
    analyze_run(tmp_path, model, checked.schema, checked.frame, split, config, pd.DataFrame(), "linear")
    html = write_report(tmp_path).read_text()
    assert 'alt="predicted vs actual and residuals"' in html and 'id="diagnosis"' in html
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["curves"]["residual_quantiles"]) == {"p05", "p25", "p50", "p75", "p95"}
    assert summary["confusion"] is None
    assert summary["test_metrics"]["r2"] > 0.8


def test_run_stores_the_f1_threshold_and_predict_applies_or_overrides_it(binary_run, tmp_path):
    stored = binary_run.predictor.manifest.extras["threshold"]
    assert stored["metric"] == "f1" and 0 < stored["threshold"] < 1
    assert stored["oof_score"] > stored["oof_score_at_default"]
    assert trainlab.load(binary_run.bundle_path).threshold == stored["threshold"]
    assert "Decision threshold" in (binary_run.folder / "report.html").read_text()
    rows = _table("binary", n=200, seed=11).drop(columns="y")
    rows.to_csv(tmp_path / "rows.csv", index=False)
    positives = []
    for extra in ([], ["--threshold", "0.999"]):
        result = CliRunner().invoke(app, ["predict", str(binary_run.bundle_path), str(tmp_path / "rows.csv"),
                                          "-o", str(tmp_path / "p.csv"), *extra])
        assert result.exit_code == 0, result.output
        positives.append((pd.read_csv(tmp_path / "p.csv")["prediction"] == "yes").sum())
    assert positives[1] < positives[0]


def test_report_of_a_run_without_analysis_shows_what_the_folder_has(tmp_path):
    run = trainlab.train(_table("binary"), target="y", time_limit=None, max_trials=1, out_dir=tmp_path,
                         models=("linear",), report=False)
    assert not (run.folder / "report.html").exists()
    html = write_report(run.folder).read_text()
    assert 'id="data"' in html and 'id="comparison"' in html and 'id="usage"' in html
    assert 'id="diagnosis"' not in html
