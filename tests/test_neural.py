"""The neural_net family: its training loop learns, stops early, is repeatable, saves safely, and is optional."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from trainlab.bundle import load_bundle, save_bundle  # noqa: E402
from trainlab.config import make_config  # noqa: E402
from trainlab.data.checks import check_data  # noqa: E402
from trainlab.data.prepare import make_features  # noqa: E402
from trainlab.errors import ConfigError  # noqa: E402
from trainlab.models.fitted import fit_model  # noqa: E402
from trainlab.models.neural.estimator import NeuralNetModel  # noqa: E402
from trainlab.models.neural.loop import LoopConfig, Tensors, evaluate, fit_network  # noqa: E402
from trainlab.models.neural.network import Architecture, TabularMLP  # noqa: E402
from trainlab.models.registry import get_spec  # noqa: E402
from trainlab.run import encode_target  # noqa: E402

FAST = {"width": 32, "depth": 2, "epochs": 15, "batch_size": 64}


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def make_table(n: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """Two numbers (one with gaps, one heavy-tailed) and a category that all carry signal."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.exponential(size=n) * 100
    c = rng.choice(["red", "green", "blue"], size=n)
    signal = 2 * a - 0.01 * b + np.where(c == "red", 1.5, 0.0)
    frame = pd.DataFrame({"a": a, "b": b, "c": c})
    frame.loc[::13, "a"] = np.nan
    if task == "regression":
        frame["y"] = signal + rng.normal(scale=0.1, size=n)
    elif task == "binary":
        frame["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-2 * signal)), "yes", "no")
    else:
        frame["y"] = np.digitize(signal, [-1.0, 1.0]).astype(str)
    return frame


def features_and_target(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    features = frame.drop(columns="y")
    y = frame["y"].to_numpy()
    return features, (np.unique(y, return_inverse=True)[1] if y.dtype == object else y)


@pytest.mark.parametrize(("optimizer", "schedule", "lr"), [("adamw", "cosine", 1e-3), ("sgd", "onecycle", 0.05)],
                         ids=["adamw-cosine", "sgd-onecycle"])
def test_loss_goes_down_on_a_learnable_problem(optimizer: str, schedule: str, lr: float) -> None:
    X, y = features_and_target(make_table(600))
    model = NeuralNetModel(task="binary", optimizer=optimizer, schedule=schedule, lr=lr, patience=100,
                           **{**FAST, "epochs": 12}).fit(X, y)
    losses = [h["train_loss"] for h in model.history_]
    assert len(losses) == 12
    assert losses[-1] < 0.75 * losses[0]
    assert model.history_[-1]["val_metric"] > 0.8  # validation AUC on a clearly learnable problem
    assert (model.predict(X) == y).mean() > 0.8


def test_regression_learns_in_the_targets_units() -> None:
    frame = make_table(600, "regression")
    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    model = NeuralNetModel(task="regression", **FAST).fit(X, y)
    rmse = float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))
    assert rmse < 0.5 * y.std()
    assert model.metric_name_ == "rmse"


def test_early_stopping_stops_and_keeps_the_best_epoch() -> None:
    X, y = features_and_target(make_table(300, seed=1))
    noisy = np.random.default_rng(1).permutation(y)  # nothing to learn: validation loss soon rises
    model = NeuralNetModel(task="binary", width=128, depth=3, dropout=0.0, lr=1e-2, epochs=200, batch_size=32,
                           patience=4, schedule="constant").fit(X, noisy)
    val = [h["val_loss"] for h in model.history_]
    assert len(val) < 200
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert len(val) == model.best_epoch_ + 4


def test_the_loop_restores_the_best_weights_not_the_last() -> None:
    gen = torch.Generator().manual_seed(0)
    n = 200
    num = torch.randn(n, 5, generator=gen)
    data = Tensors(num, torch.zeros(n, 0, dtype=torch.int64), torch.randint(0, 2, (n,), generator=gen), torch.ones(n))
    train, valid = data.rows(torch.arange(150)), data.rows(torch.arange(150, 200))
    torch.manual_seed(0)
    net = TabularMLP(Architecture(5, [], 2, width=64, depth=2, dropout=0.0))
    cfg = LoopConfig(epochs=100, batch_size=16, lr=1e-2, schedule="constant", patience=3)

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, target, reduction="none")

    def metric(y: np.ndarray, out: np.ndarray, w: np.ndarray) -> float:
        return float((out.argmax(1) == y).mean())

    history, best = fit_network(net, train, valid, loss, metric, cfg, torch.Generator().manual_seed(0))
    assert best < len(history) < 100
    restored_loss, _ = evaluate(net, valid, loss, metric, cfg)
    assert restored_loss == pytest.approx(history[best - 1].val_loss, rel=1e-5)
    assert restored_loss < history[-1].val_loss


def test_selecting_by_the_metric_keeps_the_epoch_of_the_best_accuracy_the_loss_breaking_ties() -> None:
    gen = torch.Generator().manual_seed(0)
    n = 200
    num = torch.randn(n, 5, generator=gen)
    y = (num[:, 0] + 0.8 * torch.randn(n, generator=gen) > 0).long()  # learnable, with noise: the loss soon rises
    data = Tensors(num, torch.zeros(n, 0, dtype=torch.int64), y, torch.ones(n))
    train, valid = data.rows(torch.arange(150)), data.rows(torch.arange(150, 200))

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, target, reduction="none")

    def accuracy(y: np.ndarray, out: np.ndarray, w: np.ndarray) -> float:
        return float((out.argmax(1) == y).mean())

    torch.manual_seed(0)
    net = TabularMLP(Architecture(5, [], 2, width=64, depth=2, dropout=0.0))
    cfg = LoopConfig(epochs=40, batch_size=16, lr=1e-2, schedule="constant", patience=40, select_by_metric=True)
    history, best = fit_network(net, train, valid, loss, accuracy, cfg, torch.Generator().manual_seed(0))
    top = max(h.val_metric for h in history)
    assert history[best - 1].val_metric == top
    assert history[best - 1].val_loss == min(h.val_loss for h in history if h.val_metric == top)
    assert evaluate(net, valid, loss, accuracy, cfg)[1] == top


def test_a_picture_classifier_trains_on_smoothed_labels_and_sharpens_its_head_on_the_validation_rows(
        tmp_path: Path) -> None:
    from trainlab.models.calibration import log_loss
    from trainlab.models.neural.estimator import MEDIA_LABEL_SMOOTHING

    rng = np.random.default_rng(0)
    n, size = 240, 6
    y = rng.integers(0, 3, n)
    pixels = rng.normal(size=(n, size * size)).astype(np.float32) + y[:, None]
    X = pd.DataFrame(pixels, columns=[f"p#image1x{size}x{size}#{i}" for i in range(size * size)])
    fits = {}
    for smoothing in (None, 0.0):
        fits[smoothing] = NeuralNetModel(task="multiclass", epochs=6, channels=4, label_smoothing=smoothing).fit(
            X.iloc[:160], y[:160], valid=(X.iloc[160:], y[160:]))
    smoothed, plain = fits[None], fits[0.0]
    assert smoothed.smoothing_ == MEDIA_LABEL_SMOOTHING and plain.smoothing_ == 0.0
    assert plain.temperature_ == 1.0 and smoothed.temperature_ < 1.0  # smoothed probabilities were too flat
    held = smoothed.predict_proba(X.iloc[160:])
    flat = np.exp(np.log(held) * smoothed.temperature_)  # as the head gave them before it was divided
    flat /= flat.sum(axis=1, keepdims=True)
    assert log_loss(y[160:], held, 3) < log_loss(y[160:], flat, 3)
    family = get_spec("neural_net")
    family.save(smoothed, tmp_path)
    loaded = family.load(tmp_path, "multiclass")
    assert loaded.temperature_ == smoothed.temperature_
    np.testing.assert_allclose(loaded.predict_proba(X.iloc[160:]), held, rtol=1e-5)
    table = NeuralNetModel(task="multiclass", epochs=2).fit(X.set_axis([f"c{i}" for i in range(size * size)], axis=1), y)
    assert table.smoothing_ == 0.0 and table.temperature_ == 1.0


def test_a_first_plateau_anneals_the_rate_and_a_second_one_stops_the_fit() -> None:
    gen = torch.Generator().manual_seed(0)
    n = 200
    num = torch.randn(n, 5, generator=gen)
    data = Tensors(num, torch.zeros(n, 0, dtype=torch.int64), torch.randint(0, 2, (n,), generator=gen), torch.ones(n))
    train, valid = data.rows(torch.arange(150)), data.rows(torch.arange(150, 200))  # random labels: plateaus soon

    def loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, target, reduction="none")

    histories = {}
    for anneal in (False, True):
        torch.manual_seed(0)
        net = TabularMLP(Architecture(5, [], 2, width=64, depth=2, dropout=0.0))
        cfg = LoopConfig(epochs=100, batch_size=16, lr=1e-2, patience=3, anneal_on_plateau=anneal)
        histories[anneal], _ = fit_network(net, train, valid, loss, lambda y, out, w: 0.0, cfg,
                                           torch.Generator().manual_seed(0))
    stopped, annealed = histories[False], histories[True]
    assert len(stopped) < len(annealed) < 100
    assert [h.val_loss for h in annealed[:len(stopped)]] == [h.val_loss for h in stopped]  # the same fit until then
    # the rate (read as each epoch starts) dropped at the plateau, and went on down
    assert annealed[len(stopped) + 1].lr < 0.5 * stopped[-1].lr
    assert annealed[-1].lr < annealed[len(stopped) + 1].lr


def test_the_same_seed_gives_the_same_predictions() -> None:
    X, y = features_and_target(make_table(300))
    first = NeuralNetModel(task="binary", seed=3, **FAST).fit(X, y).predict_proba(X)
    again = NeuralNetModel(task="binary", seed=3, **FAST).fit(X, y).predict_proba(X)
    other = NeuralNetModel(task="binary", seed=4, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_fitting_leaves_the_global_random_state_alone() -> None:
    X, y = features_and_target(make_table(100))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NeuralNetModel(task="binary", **{**FAST, "epochs": 2}).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_unseen_and_missing_values_at_predict_time() -> None:
    X, y = features_and_target(make_table(200))
    model = NeuralNetModel(task="binary", **{**FAST, "epochs": 3}).fit(X, y)
    odd = pd.DataFrame({"a": [np.nan, 1e9], "b": [np.nan, -5.0], "c": ["purple", np.nan]})
    proba = model.predict_proba(odd)
    assert proba.shape == (2, 2)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_a_saved_bundle_gives_identical_predictions(task: str, tmp_path: pytest.TempPathFactory) -> None:
    frame = make_table(250, task)
    checked = check_data(frame, make_config("y", task=task))
    schema = checked.schema
    features = make_features(checked.frame, schema)
    model = fit_model(get_spec("neural_net"), {**FAST, "epochs": 5, "device": "cpu"}, schema, features,
                      encode_target(checked.frame, schema), None, seed=0)
    save_bundle(model, schema, tmp_path / "model")
    member = tmp_path / "model" / "members" / "0"
    assert sorted(p.name for p in member.iterdir()) == ["history.json", "network.json", "network.safetensors",
                                                          "preprocessor.skops"]
    described = json.loads((member / "network.json").read_text())
    assert described["architecture"]["width"] == 32
    curves = json.loads((member / "history.json").read_text())
    assert curves["epochs"] == model.estimator.history_
    assert curves["metric"] == {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}[task]

    _, loaded = load_bundle(tmp_path / "model")
    np.testing.assert_array_equal(loaded.output(features), model.output(features))
    save_bundle(loaded, schema, tmp_path / "again")  # a loaded model can be saved again
    np.testing.assert_array_equal(load_bundle(tmp_path / "again")[1].output(features), model.output(features))


def test_a_changed_architecture_file_is_refused(tmp_path: pytest.TempPathFactory) -> None:
    X, y = features_and_target(make_table(100))
    model = NeuralNetModel(task="binary", **{**FAST, "epochs": 2}).fit(X, y)
    spec = get_spec("neural_net")
    spec.save(model, tmp_path)
    path = tmp_path / "network.json"
    described = json.loads(path.read_text())
    described["format"] = "something-else"
    path.write_text(json.dumps(described))
    with pytest.raises(ValueError, match="not a trainlab neural_net description"):
        spec.load(tmp_path, "binary")


def test_bad_options_are_all_reported() -> None:
    X, y = features_and_target(make_table(50))
    with pytest.raises(ConfigError, match=r"(?s)optimizer must be one of adamw, sgd, got .adam.*dropout must be in"):
        NeuralNetModel(optimizer="adam", dropout=1.5).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_asking_for_cuda_without_a_gpu_says_what_to_do() -> None:
    X, y = features_and_target(make_table(50))
    with pytest.raises(ConfigError, match=r"device='cuda', but PyTorch sees no GPU.*Use device 'cpu'"):
        NeuralNetModel(device="cuda").fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_a_gpu_it_trains_in_mixed_precision_and_saves_for_the_cpu(tmp_path: pytest.TempPathFactory) -> None:
    X, y = features_and_target(make_table(600))
    model = NeuralNetModel(task="binary", device="auto", **FAST).fit(X, y)
    assert model.device_.startswith("cuda")
    assert (model.predict(X) == y).mean() > 0.8
    spec = get_spec("neural_net")
    spec.save(model, tmp_path)
    np.testing.assert_array_equal(spec.load(tmp_path, "binary").predict_proba(X), model.predict_proba(X))


def test_train_runs_the_family_and_keeps_its_curves(tmp_path: pytest.TempPathFactory) -> None:
    import trainlab

    run = trainlab.train(make_table(300), target="y", models=("neural_net",), time_limit=None, max_trials=1,
                         folds=2, out_dir=tmp_path)
    assert run.best_model == "neural_net"
    assert run.test_metrics["roc_auc"] > 0.75
    curves = json.loads((run.bundle_path / "members" / "0" / "history.json").read_text())
    assert {"epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds"} <= set(curves["epochs"][0])
    assert 1 <= curves["best_epoch"] <= len(curves["epochs"])


SCRIPT_WITHOUT_TORCH = """
import importlib.abc
import importlib.util
import sys

class NoTorch(importlib.abc.MetaPathFinder):  # as if torch were not installed: importing it fails ...
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "safetensors"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoTorch())
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] == "torch" else real_find_spec(name, *a)
import trainlab  # ... and find_spec does not find it
from trainlab.errors import MissingDependencyError
from trainlab.models import REGISTRY, select_families
chosen, skipped = select_families("binary", 100, None, ())
assert "neural_net" not in [s.key for s in chosen], chosen
print(skipped["neural_net"])
try:
    REGISTRY["neural_net"].build("binary", {}, 0, 1)
except MissingDependencyError as exc:
    print(exc)
"""


def test_without_torch_the_family_is_absent_with_a_one_line_note() -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT_WITHOUT_TORCH)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    note, error = done.stdout.strip().splitlines()
    assert note == "needs 'torch': pip install 'trainlab[nn]'"
    assert "pip install 'trainlab[nn]'" in error


def test_import_trainlab_does_not_import_torch() -> None:
    code = "import sys, trainlab; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
