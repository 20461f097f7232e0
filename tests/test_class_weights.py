"""Class weights for imbalanced classes: computed per fold on the fitted rows, tried where they may help,
kept only when they win out of fold, and visible in the run's record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import trainlab
from conftest import skip_without_extra
from trainlab.config import SplitConfig
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.data.split import make_split
from trainlab.evaluate.metrics import Context, resolve_metric
from trainlab.models.fitted import class_weights, fit_model
from trainlab.models.registry import REGISTRY, ModelSpec, get_spec
from trainlab.run import encode_target
from trainlab.search.scheduler import class_balance
from trainlab.search.trial import Candidate, TrainingData, run_trial

RUN = {"time_limit": None, "folds": 3, "report": False}
CHEAP = ("linear", "naive_bayes")  # quick families for the runs that only check the choice


def planted(n: int = 600, rate: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """About ``rate`` positives, driven by x0 and x1; x2 is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logit = 2.0 * x[:, 0] + 1.0 * x[:, 1] + np.log(rate / (1 - rate)) - 1.0
    positive = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"])
    frame["y"] = np.where(positive, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def imbalanced_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Defaults of two families plus their balanced variants (4 trials), ranked by balanced accuracy."""
    out = tmp_path_factory.mktemp("runs")
    return trainlab.train(planted(), target="y", out_dir=out, name="imbalanced", metric="balanced_accuracy",
                          max_trials=4, models=("linear", "lightgbm"), **RUN)


class Recorder:
    """An estimator that remembers the sample weights it was fitted with."""

    seen: ClassVar[list[np.ndarray | None]] = []

    def fit(self, features: Any, y: Any, sample_weight: Any = None) -> Recorder:
        Recorder.seen.append(None if sample_weight is None else np.asarray(sample_weight))
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, features: Any) -> np.ndarray:
        return np.full((len(features), len(self.classes_)), 1 / len(self.classes_))


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    spec = ModelSpec(key="recorder", names={"default": "Recorder"}, tasks=("binary", "multiclass"), recipe="scaled",
                     build=lambda task, params, seed, n_jobs: Recorder(), defaults={"class_weight": None})
    monkeypatch.setitem(REGISTRY, "recorder", spec)
    Recorder.seen = []
    return spec


def test_balanced_weights_give_every_class_the_same_total() -> None:
    y = np.array([0] * 90 + [1] * 10 + [2] * 20)
    w = class_weights(y, "balanced")
    totals = [w[y == k].sum() for k in range(3)]
    assert np.allclose(totals, len(y) / 3)
    assert w[y == 1][0] == pytest.approx(120 / (3 * 10))
    with pytest.raises(ValueError, match="class_weight must be None or 'balanced', got 'heavy'"):
        class_weights(y, "heavy")


def test_weights_are_computed_per_fold_on_the_fitted_rows_and_multiply_user_weights(recorder: ModelSpec) -> None:
    frame = planted(n=300, rate=0.15)
    schema = infer_schema(frame, "y")
    split = make_split(frame, schema, SplitConfig(folds=3), seed=0)
    train = frame.iloc[split.train]
    y = encode_target(train, schema)
    user = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    data = TrainingData(schema=schema, features=make_features(train, schema), y=y, weights=user, folds=split.folds,
                        context=Context("binary", 1, 2), metric=resolve_metric("log_loss", "binary"), seed=0)
    result = run_trial(Candidate("recorder_balanced", "recorder", {"class_weight": "balanced"}), data, deadline=1e12)
    assert result.ok and len(Recorder.seen) == len(split.folds)
    for (fit_rows, _), seen in zip(split.folds, Recorder.seen, strict=True):
        fitted = y[fit_rows]
        expected = len(fitted) / (2 * np.bincount(fitted)[fitted]) * user[fit_rows]
        assert seen is not None and np.allclose(seen, expected)
    # Each fold counts its own rows: the weights differ from those of the whole training part.
    assert not np.allclose(Recorder.seen[0], (class_weights(y, "balanced") * user)[split.folds[0][0]])
    Recorder.seen = []
    run_trial(Candidate("recorder", "recorder", {"class_weight": None}), data, deadline=1e12)
    assert all(np.array_equal(seen, user[fit]) for seen, (fit, _) in zip(Recorder.seen, split.folds, strict=True))


@pytest.mark.parametrize(("family", "task"), [("knn", "binary"), ("linear", "regression")], ids=["knn", "regression"])
def test_families_or_tasks_that_cannot_weigh_classes_say_so(family: str, task: str) -> None:
    frame = planted(n=80, rate=0.3)
    if task == "regression":
        frame["y"] = frame["x0"] * 2
    schema = infer_schema(frame, "y")
    features, y = make_features(frame, schema), encode_target(frame, schema)
    params = {**get_spec(family).defaults, "class_weight": "balanced"}
    with pytest.raises(ValueError, match=f"family '{family}' on a {task} task cannot weigh classes"):
        fit_model(get_spec(family), params, schema, features, y, None, 0)


def test_class_weight_is_searched_for_classification_only() -> None:
    weighable = [s for s in REGISTRY.values() if "class_weight" in s.space]
    assert {"linear", "lightgbm", "random_forest", "naive_bayes"} <= {s.key for s in weighable}
    assert "class_weight" not in REGISTRY["knn"].space  # kNN's fit takes no sample weights
    for spec in weighable:
        assert spec.sample_weight, spec.key
        assert spec.defaults["class_weight"] is None, spec.key
        assert "class_weight" in spec.for_task("binary").space
        regression = spec.for_task("regression")
        assert "class_weight" not in regression.space and "class_weight" not in regression.defaults
    linear = REGISTRY["linear"]
    assert set(linear.for_task("binary").space) == {"C", "class_weight"}
    assert set(linear.for_task("regression").space) == {"alpha"}


WEIGHABLE = sorted(key for key, spec in REGISTRY.items() if "class_weight" in spec.space
                   and not spec.needs_text)  # families for text are checked on text (test_text.py)


@pytest.mark.parametrize("family", WEIGHABLE)
def test_every_family_that_searches_class_weights_fits_with_them(family: str) -> None:
    spec = get_spec(family)
    reason = spec.skip_reason("binary", 200)
    if reason:
        skip_without_extra(f"{family}: {reason}")
    frame, rows = planted(n=200, rate=0.15, seed=3), planted(n=100, rate=0.15, seed=4)
    schema = infer_schema(frame, "y")
    features, y = make_features(frame, schema), encode_target(frame, schema)
    cheap = {**spec.defaults, **{k: v for k, v in {"n_estimators": 30, "iterations": 30, "epochs": 5,
                                                   "max_iter": 30}.items() if k in spec.defaults}}
    plain = fit_model(spec, cheap, schema, features, y, None, 0).output(make_features(rows, schema))
    balanced = fit_model(spec, {**cheap, "class_weight": "balanced"}, schema, features, y, None, 0)
    out = balanced.output(make_features(rows, schema))
    assert out.shape == (100, 2) and np.allclose(out.sum(axis=1), 1.0)
    assert not np.allclose(out, plain), "balanced weights did not reach the fit"
    assert balanced.params["class_weight"] == "balanced"


def test_imbalance_is_measured_against_an_equal_share() -> None:
    assert class_balance(np.array([0] * 81 + [1] * 19), "binary", ["a", "b"]) == {
        "smallest_class": "b", "smallest_share": 0.19, "imbalanced": True}
    assert not class_balance(np.array([0] * 79 + [1] * 21), "binary", ["a", "b"])["imbalanced"]
    five = np.repeat(np.arange(5), [30, 25, 20, 15, 10])  # smallest 10%, an equal share is 20%
    assert not class_balance(five, "multiclass", list("abcde"))["imbalanced"]
    assert class_balance(np.repeat(np.arange(5), [34, 25, 20, 15, 6]), "multiclass", list("abcde"))["imbalanced"]
    assert class_balance(np.array([1.0, 2.0]), "regression", []) is None


def test_balanced_variant_is_tried_and_wins_out_of_fold_on_planted_imbalance(imbalanced_run: Any) -> None:
    board = imbalanced_run.leaderboard.set_index("model")
    assert {"linear", "linear_balanced", "lightgbm", "lightgbm_balanced"} <= set(board.index)
    for family in ("linear", "lightgbm"):
        assert board.loc[f"{family}_balanced", "val_balanced_accuracy"] > board.loc[family, "val_balanced_accuracy"]
    assert board.loc["linear_balanced", "val_balanced_accuracy"] > board.loc["linear", "val_balanced_accuracy"] + 0.1
    record = json.loads((imbalanced_run.folder / "run.json").read_text())["class_weights"]
    assert record["imbalanced"] and record["smallest_class"] == "yes" and record["smallest_share"] < 0.1
    assert sorted(record["balanced_variants"]) == ["lightgbm_balanced", "linear_balanced"]
    assert record["class_weight"] in ("balanced", "mixed")  # an ensemble may also hold an unweighted member
    trials = pd.read_csv(imbalanced_run.folder / "trials.csv").set_index("model")
    assert json.loads(trials.loc["linear_balanced", "params"])["class_weight"] == "balanced"
    assert trials.loc["linear_balanced", "source"] == "balanced"
    assert json.loads(trials.loc["linear", "params"])["class_weight"] is None


def test_saved_bundle_with_class_weights_loads_and_predicts(imbalanced_run: Any, tmp_path: Path) -> None:
    predictor = trainlab.load(imbalanced_run.bundle_path)
    assert predictor.manifest.extras["class_weights"]["class_weight"] in ("balanced", "mixed")
    rows = planted(n=200, seed=5).drop(columns="y")
    assert np.array_equal(predictor.predict(rows), imbalanced_run.predict(rows))
    assert set(predictor.predict(rows)) <= {"yes", "no"} and "yes" in set(predictor.predict(rows))
    copy = imbalanced_run.save(tmp_path / "copy")
    assert np.allclose(trainlab.load(copy).predict_proba(rows).to_numpy(), predictor.predict_proba(rows).to_numpy())


def test_report_and_summary_name_the_class_weighting(imbalanced_run: Any) -> None:
    from trainlab.report import write_report

    write_report(imbalanced_run.folder)
    summary = json.loads((imbalanced_run.folder / "summary.json").read_text())
    assert summary["class_weights"]["balanced_variants"]
    html = (imbalanced_run.folder / "report.html").read_text()
    assert "Class weights: <strong>" in html and "balanced variants compared out of fold" in html


def test_log_loss_does_not_pick_balanced_weights_that_hurt_it(tmp_path: Path) -> None:
    run = trainlab.train(planted(), target="y", out_dir=tmp_path, name="logloss", metric="log_loss",
                         max_trials=5, models=(*CHEAP, "random_forest"), **RUN)
    board = run.leaderboard.set_index("model")
    for family in CHEAP:  # tried, and worse: balanced weights shift the probabilities
        assert board.loc[f"{family}_balanced", "val_log_loss"] > board.loc[family, "val_log_loss"]
    record = json.loads((run.folder / "run.json").read_text())["class_weights"]
    assert record["class_weight"] == "none"
    # The cheap families' twins run before the costlier defaults, so a short budget still compares them.
    order = [t.candidate.name for t in run.trials if t.candidate.family != "ensemble"]
    assert set(order[:2]) == set(CHEAP) and set(order[2:4]) == {f"{f}_balanced" for f in CHEAP}
    assert order[4:] == ["random_forest"]


def test_balanced_classes_get_no_balanced_variant(tmp_path: Path) -> None:
    frame = planted(n=300, rate=0.5)
    run = trainlab.train(frame, target="y", out_dir=tmp_path, name="even", metric="balanced_accuracy",
                         max_trials=4, models=CHEAP, **RUN)
    assert not [m for m in run.leaderboard["model"] if m.endswith("_balanced")]
    record = json.loads((run.folder / "run.json").read_text())["class_weights"]
    assert record["imbalanced"] is False and record["balanced_variants"] == []
