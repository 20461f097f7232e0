"""Issue 18's whole path as a user runs it on the credit-scoring example: an exportable run with fairness by
personal status and age shows the fairness tables in the terminal, the report and the model card, and the
exported ONNX file predicts what the bundle predicts on every test row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trainlab.config import TrainConfig
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.split import make_split
from trainlab.predict import Predictor

ort = pytest.importorskip("onnxruntime")
from trainlab.export.onnx import onnx_inputs  # noqa: E402

TRAINLAB = str(Path(sys.executable).parent / "trainlab")
EXAMPLE = Path(__file__).parents[1] / "examples" / "german_credit.csv"
SENSITIVE = "personal_status_and_sex,age_in_years"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("trust")
    result = subprocess.run([TRAINLAB, "train", str(EXAMPLE), "--target", "creditability", "--exportable",
                             "--sensitive", SENSITIVE, "--models", "linear,xgboost", "--max-trials", "4",
                             "--folds", "3", "--out", str(out), "--name", "credit"],
                            capture_output=True, text=True, timeout=300, env={"COLUMNS": "200", **_env()})
    return result, out / "credit"


def _env() -> dict[str, str]:
    import os
    return dict(os.environ)


def test_the_fairness_tables_and_verdicts_reach_the_terminal_report_and_card(run) -> None:
    result, folder = run
    assert result.returncode == 0, result.stderr
    html = (folder / "report.html").read_text()
    card = (folder / "model" / "model_card.md").read_text()
    for text in (result.stdout, html, card):
        assert "demographic parity" in text and "equalized odds" in text
        assert "personal_status_and_sex:" in text and "age_in_years:" in text
    verdicts = [c["verdict"] for c in json.loads((folder / "run.json").read_text())["fairness"]["columns"]]
    assert all(v.split(":")[0] in card for v in verdicts)
    assert "95 % bootstrap intervals" in result.stdout and "[" in result.stdout


def test_the_exported_onnx_file_predicts_as_the_bundle_on_every_test_row(run, tmp_path: Path) -> None:
    result, folder = run
    assert result.returncode == 0, result.stderr
    exported = subprocess.run([TRAINLAB, "export", str(folder / "model"), "--format", "onnx", "-o",
                               str(tmp_path / "model.onnx")], capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    record = json.loads((folder / "run.json").read_text())
    config = TrainConfig.from_dict(record["config"])
    checked = check_data(load_table(record["data"]), config)
    test = checked.frame.iloc[make_split(checked.frame, checked.schema, config.split, config.seed).test]
    predictor = Predictor.load(folder / "model")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    feeds = onnx_inputs(predictor.schema.check_rows(test), [(c.name, c.role) for c in predictor.schema.features])
    onnx_proba = session.run(["probabilities"], feeds)[0]
    assert len(test) == record["split"]["test_rows"] == onnx_proba.shape[0]
    np.testing.assert_allclose(onnx_proba, predictor.output(test), atol=1e-4)
