"""The search on pictures and sound: the CNN first with most of the time left, the baselines after it on a sample;
the network stops early on the trial's own validation rows."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from trainlab.models.registry import get_spec
from trainlab.search.shape import MEDIA_NETWORK_SHARE, MEDIA_SAMPLE_ROWS, for_media


def test_the_network_runs_first_with_a_share_and_the_baselines_on_a_sample() -> None:
    families = [get_spec(k) for k in ("linear", "lightgbm", "neural_net")]
    shaped, note = for_media(families, n_rows=MEDIA_SAMPLE_ROWS * 4)
    assert [s.key for s in shaped] == ["neural_net", "linear", "lightgbm"]
    assert shaped[0].defaults["budget_share"] == MEDIA_NETWORK_SHARE and shaped[0].cost == 1
    assert all(s.defaults["sample_rows"] == MEDIA_SAMPLE_ROWS for s in shaped[1:])
    assert "sample_rows" not in shaped[0].defaults
    assert note is not None and f"sample of {MEDIA_SAMPLE_ROWS}" in note
    small, _ = for_media(families, n_rows=100)
    assert all("sample_rows" not in s.defaults for s in small)


def test_a_budget_share_shortens_the_deadline() -> None:
    from trainlab.search.budget import Budget
    from trainlab.search.scheduler import Scheduler
    from trainlab.search.trial import Candidate

    scheduler = Scheduler.__new__(Scheduler)
    scheduler.budget = Budget(time_limit=100.0)
    scheduler.result = type("R", (), {"trials": []})()
    shared = scheduler._deadline([Candidate(name="n", family="neural_net", params={"budget_share": 0.5})])
    whole = scheduler._deadline([Candidate(name="l", family="linear", params={})])
    assert shared - time.monotonic() == pytest.approx(50.0, abs=1.0)
    assert whole - time.monotonic() == pytest.approx(100.0, abs=1.0)


def test_the_network_watches_the_given_validation_rows() -> None:
    pytest.importorskip("torch")
    from trainlab.models.neural.estimator import NeuralNetModel

    rng = np.random.default_rng(0)
    n, size = 60, 8
    y = rng.integers(0, 2, n)
    pixels = rng.normal(size=(n, size * size)).astype(np.float32) + y[:, None]
    columns = [f"p#image1x{size}x{size}#{i}" for i in range(size * size)]
    X = pd.DataFrame(pixels, columns=columns)
    model = NeuralNetModel(task="binary", epochs=2, channels=4, batch_size=16)
    get_spec("neural_net").early_stop(model, X.iloc[:40], y[:40], None, X.iloc[40:], y[40:])
    assert len(model.history_) == 2 and model.arch_.media[0]["design"] == 2
    assert np.isfinite(model.history_[0]["val_loss"])


def test_few_pictures_train_in_smaller_batches_so_that_an_epoch_has_enough_steps() -> None:
    pytest.importorskip("torch")
    from trainlab.models.neural.estimator import MEDIA_MIN_BATCH, MEDIA_STEPS_PER_EPOCH, NeuralNetModel

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    X = pd.DataFrame(rng.normal(size=(80, 16)).astype(np.float32) + y[:, None],
                     columns=[f"p#image1x4x4#{i}" for i in range(16)])
    model = NeuralNetModel(task="binary", epochs=1, channels=4, batch_size=256).fit(X, y)
    assert model.batch_size_ == MEDIA_MIN_BATCH
    assert model._media_batch_size(100 * MEDIA_STEPS_PER_EPOCH) == 100
    assert model._media_batch_size(1000 * MEDIA_STEPS_PER_EPOCH) == 256  # many pictures keep batch_size
    tabular = NeuralNetModel(task="binary", epochs=1, batch_size=256).fit(X.set_axis(list("abcdefghijklmnop"), axis=1), y)
    assert tabular.batch_size_ == 256


def test_the_warm_up_follows_the_plan_and_lasts_half_an_epoch_for_a_cnn() -> None:
    torch = pytest.importorskip("torch")
    from trainlab.models.neural.loop import LoopConfig, make_schedule

    def rates(cfg: LoopConfig, total: list[int], steps: int, shrink_at: int | None = None) -> list[float]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        schedule = make_schedule(optimizer, cfg, total, steps_per_epoch=10)
        seen = []
        for step in range(steps):
            if step == shrink_at:
                total[0] = 40  # the deadline allows 4 epochs, not 60
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        return seen

    capped = rates(LoopConfig(max_warmup_epochs=0.5), [600], 8)
    assert capped[4] == pytest.approx(1.0) and capped[0] == pytest.approx(0.2)
    replanned = rates(LoopConfig(), [600], 40, shrink_at=10)
    assert replanned[3] < 0.2 and max(replanned[10:]) > 0.8 and replanned[-1] < 0.1


def test_the_epoch_plan_grows_when_epochs_turn_out_quicker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan follows the pace after every epoch, up as well as down: fixed after a slow first epoch, the
    Fashion-MNIST CNN stopped 110 s before its deadline."""
    torch = pytest.importorskip("torch")
    from trainlab.models.neural import loop

    affordable = iter([1, 2, 1, 0, 0])  # more epochs fit after the first two than the first one promised
    monkeypatch.setattr(loop, "affordable_epochs", lambda deadline, history: next(affordable))
    x = torch.randn(40, 3)
    data = loop.Tensors(x, torch.zeros(40, 0, dtype=torch.int64), (x[:, 0] > 0).long(), torch.ones(40))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
            return self.linear(num)

    net = Net()
    cfg = loop.LoopConfig(epochs=60, batch_size=8, deadline=time.monotonic() + 1000)
    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(out, y, reduction="none")

    history, _ = loop.fit_network(net, data, None, loss, lambda y, out, w: 0.0, cfg, torch.Generator().manual_seed(0))
    assert len(history) == 4  # planned 2 after the first epoch, 4 after the second


def test_the_cnn_is_wider_on_a_gpu_unless_its_width_is_given() -> None:
    import torch

    from trainlab.models.neural.encoders import CPU_CHANNELS, GPU_CHANNELS, cnn_channels

    assert cnn_channels(None, torch.device("cpu")) == CPU_CHANNELS
    assert cnn_channels(None, torch.device("cuda")) == GPU_CHANNELS > CPU_CHANNELS
    assert cnn_channels(8, torch.device("cuda")) == 8


def test_the_cost_model_counts_only_the_columns_a_classic_family_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoded spectrogram values feed the network alone: counted, they made the baselines look 7x costlier."""
    from trainlab.data.schema import infer_schema
    from trainlab.evaluate.metrics import Context, resolve_metric
    from trainlab.search import cost
    from trainlab.search import scheduler as scheduler_module
    from trainlab.search.budget import Budget
    from trainlab.search.executor import InProcessExecutor
    from trainlab.search.scheduler import PLANS, Scheduler
    from trainlab.search.trial import Candidate, TrainingData

    monkeypatch.setattr(cost, "machine_factor", lambda: 1.0)
    columns: dict[str, int] = {}  # the columns each family's expected time was computed for

    def counting(family: str, shape: dict[str, Any], params: dict[str, Any]) -> float | None:
        columns[family] = shape["columns"]
        return cost.predict_seconds(family, shape, params)

    monkeypatch.setattr(scheduler_module, "predict_seconds", counting)
    rng = np.random.default_rng(0)
    stats = pd.DataFrame(rng.normal(size=(300, 20)), columns=[f"clip_mfcc{i}" for i in range(20)])
    values = pd.DataFrame(rng.normal(size=(300, 400)), columns=[f"clip#audio1x20x20#{i}" for i in range(400)])
    y = rng.integers(0, 3, 300)
    seconds = {}
    for name, features in (("statistics", stats), ("with the values", pd.concat([stats, values], axis=1))):
        schema = infer_schema(stats.assign(y=y), "y")
        folds = [(np.arange(240), np.arange(240, 300))]
        data = TrainingData(schema=schema, features=features, y=y, weights=None, folds=folds,
                            context=Context("multiclass", n_classes=3), metric=resolve_metric(None, "multiclass"), seed=0)
        scheduler = Scheduler(data, Budget(60.0), PLANS["balanced"], InProcessExecutor(data))
        seconds[name] = [scheduler.predicted_time(Candidate("c", family, {})) for family in ("linear", "neural_net")]
        assert columns == {"linear": 20, "neural_net": features.shape[1]}  # the network reads the values too
    assert seconds["statistics"][0] == seconds["with the values"][0]  # the linear model reads the statistics only
