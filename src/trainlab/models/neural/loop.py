"""The training loop, one named step at a time: batches, a step, an epoch, evaluation, early stopping.

``fit_network`` is the whole of it::

    optimizer, schedule = make_optimizer(...), make_schedule(...)
    for epoch in 1..epochs:
        train_loss = train_epoch(...)          # shuffled mini-batches: forward, loss, backward, clip, step
        val_loss, val_metric = evaluate(...)   # on the held-out validation rows
        history.append(...)
        if stopper.update(...): break          # patience exhausted
    stopper.restore(model)                     # the best epoch's weights, not the last
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], float]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Schedule = torch.optim.lr_scheduler.LRScheduler
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "onecycle", "constant")


@dataclass
class LoopConfig:
    """How to train: the optimizer and its learning-rate schedule, batches, regularization, stopping."""

    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    optimizer: str = "adamw"
    schedule: str = "cosine"
    warmup: float = 0.05
    max_warmup_epochs: float | None = None
    """At most this many epochs of warm-up (pictures and sound: half an epoch, since a CNN fit cut short by its
    deadline lasts a few epochs only, and the share ``warmup`` is of the steps first planned)."""
    clip_norm: float = 1.0
    patience: int = 8
    anneal_on_plateau: bool = False
    """With the cosine schedule, a first plateau (``patience`` epochs without a better validation loss) does not end
    the fit: the schedule is shortened to end ``patience`` epochs later, so the rate drops and anneals from there,
    and only a second plateau stops it (pictures and sound). Early stopping alone keeps an epoch trained at a high
    rate: the 24-channel CNN on 6,000 Fashion-MNIST pictures stopped at epoch 42 of 60 (rate at 27 % of its peak,
    test 0.874 on 5,000 pictures); annealed from there, 8 more epochs gave 0.883. On an H200 the 64-channel CNN on
    all 57,000 stopped at epoch 23 of 60 at 72 % of its peak rate (test 0.916)."""
    select_by_metric: bool = False
    """Early stopping and the weights kept follow the validation metric (greater is better: a classifier's accuracy
    or AUC; the loss breaks ties) instead of the validation loss (pictures and sound). A CNN's validation loss
    rises as it grows confident while its accuracy still improves: on an H200 the Fashion-MNIST CNN kept epoch 15
    by its loss, at 0.929 validation accuracy, while later epochs' accuracy held or rose."""
    mixed_precision: bool = False
    deadline: float | None = None
    """``time.monotonic()`` moment to stop by: the epochs are planned to end before it (see ``fit_network``)."""


@dataclass
class Tensors:
    """Rows ready for the network: numbers, category indices, targets and weights, on one device."""

    num: torch.Tensor
    cat: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor

    def __len__(self) -> int:
        return int(self.num.shape[0])

    def rows(self, index: torch.Tensor) -> Tensors:
        return Tensors(self.num[index], self.cat[index], self.y[index], self.w[index])


@dataclass
class EpochRecord:
    """What one epoch measured; the history of a fit is a list of these."""

    epoch: int
    train_loss: float
    val_loss: float
    val_metric: float
    lr: float
    seconds: float


@dataclass
class EarlyStopping:
    """Keeps the weights of the epoch with the lowest validation score (the loss, or the metric negated), the
    loss breaking ties; says stop after ``patience`` epochs without improvement."""

    patience: int
    best_score: float = math.inf
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)

    def update(self, epoch: int, score: float, model: nn.Module, loss: float = math.nan) -> bool:
        margin = 1e-6 * abs(self.best_score) if math.isfinite(self.best_score) else 0.0
        improved = math.isfinite(score) and (
            not math.isfinite(self.best_score) or score < self.best_score - margin
            or (abs(score - self.best_score) <= margin and loss < self.best_loss))
        if improved or not self.best_state:
            self.best_score, self.best_loss, self.best_epoch = score, loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self.best_state:
            model.load_state_dict(self.best_state)


def make_optimizer(model: nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    """AdamW (or SGD with Nesterov momentum); weight decay on weight matrices only, not biases or norms."""
    decay = [p for p in model.parameters() if p.ndim >= 2]
    rest = [p for p in model.parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def make_schedule(optimizer: torch.optim.Optimizer, cfg: LoopConfig, total_steps: int | list[int],
                  steps_per_epoch: int = 0) -> Schedule:
    """Linear warm-up then cosine decay to 5% of the peak, one-cycle, or a constant rate; stepped per batch.

    The cosine reads ``total_steps`` at every step when it is a one-item list, so a fit that learns it has less
    time than planned can shorten the warm-up and the decay (``fit_network``)."""
    total = total_steps if isinstance(total_steps, list) else [total_steps]
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(total[0], 2),
                                                   pct_start=max(cfg.warmup, 0.05))
    def factor(step: int) -> float:
        if cfg.schedule == "constant":
            return 1.0
        # the warm-up is a share of the steps as now planned: a fit cut from 60 epochs to 4 by its deadline
        # warmed up for 3 of them and never annealed (Fashion-MNIST, all 60,000 pictures, 10 minutes)
        warmup = max(1, int(cfg.warmup * total[0]))
        if cfg.max_warmup_epochs is not None and steps_per_epoch:
            warmup = max(1, min(warmup, int(cfg.max_warmup_epochs * steps_per_epoch)))
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total[0] - warmup))
        return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Row indices in a fresh random order, cut into batches; a last batch of one row joins the one before
    (batch normalization needs two rows)."""
    order = torch.randperm(n, generator=generator)
    batches = list(torch.split(order, batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2] = torch.cat([batches[-2], batches.pop()])
    return batches


def weighted_loss(loss_fn: LossFn, output: torch.Tensor, batch: Tensors) -> torch.Tensor:
    """The batch's loss averaged with the sample weights."""
    per_row = loss_fn(output.float(), batch.y)
    return (per_row * batch.w).sum() / batch.w.sum().clamp_min(1e-12)


def train_step(model: nn.Module, batch: Tensors, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
               schedule: Schedule, cfg: LoopConfig) -> float:
    """One gradient step: forward (mixed precision on a GPU), loss, backward, clip the gradient norm, update."""
    optimizer.zero_grad(set_to_none=True)
    device = batch.num.device.type
    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=cfg.mixed_precision):
        output = model(batch.num, batch.cat)
    loss = weighted_loss(loss_fn, output, batch)
    loss.backward()
    if cfg.clip_norm > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
    optimizer.step()
    schedule.step()
    return float(loss.detach())


def train_epoch(model: nn.Module, data: Tensors, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                schedule: Schedule, cfg: LoopConfig, generator: torch.Generator, stop_at: float | None = None) -> float:
    """One pass over the training rows in shuffled mini-batches; returns the mean training loss. Past ``stop_at``
    (a ``time.monotonic()`` moment) the epoch ends early, after at least one batch."""
    model.train()
    total = weight = 0.0
    for index in shuffled_batches(len(data), cfg.batch_size, generator):
        if stop_at is not None and weight > 0 and time.monotonic() > stop_at:
            break
        batch = data.rows(index.to(data.num.device))
        batch_weight = float(batch.w.sum())
        total += train_step(model, batch, loss_fn, optimizer, schedule, cfg) * batch_weight
        weight += batch_weight
    return total / max(weight, 1e-12)


@torch.no_grad()
def predict_outputs(model: nn.Module, num: torch.Tensor, cat: torch.Tensor, batch_size: int = 8192,
                    mixed_precision: bool = False) -> torch.Tensor:
    """The network's raw outputs (logits, or standardized predictions) in evaluation mode, in float32."""
    model.eval()
    parts = []
    for start in range(0, int(num.shape[0]), batch_size):
        with torch.autocast(device_type=num.device.type, dtype=torch.bfloat16, enabled=mixed_precision):
            parts.append(model(num[start:start + batch_size], cat[start:start + batch_size]).float())
    return torch.cat(parts) if parts else torch.zeros((0, 1))


def evaluate(model: nn.Module, data: Tensors, loss_fn: LossFn, metric: Metric, cfg: LoopConfig) -> tuple[float, float]:
    """Validation loss (weighted like training) and the validation metric."""
    output = predict_outputs(model, data.num, data.cat, mixed_precision=cfg.mixed_precision)
    loss = float(weighted_loss(loss_fn, output, data))
    return loss, metric(data.y.cpu().numpy(), output.cpu().numpy(), data.w.cpu().numpy())


def affordable_epochs(deadline: float, history: list[EpochRecord]) -> int:
    """More epochs that end before ``deadline`` at the typical pace so far: the median epoch with a 15 % margin
    (the slowest one on a shared machine can take twice the others; an epoch that would overrun the deadline is
    cut short by ``fit_network`` instead)."""
    typical = float(np.median([h.seconds for h in history]))
    return max(0, int((deadline - time.monotonic()) / (1.15 * typical)))


def fit_network(model: nn.Module, train: Tensors, valid: Tensors | None, loss_fn: LossFn, metric: Metric,
                cfg: LoopConfig, generator: torch.Generator) -> tuple[list[EpochRecord], int]:
    """Train ``model`` in place; returns the per-epoch history and the epoch whose weights it ends with."""
    optimizer = make_optimizer(model, cfg)
    steps_per_epoch = len(shuffled_batches(len(train), cfg.batch_size, torch.Generator()))
    total_steps = [cfg.epochs * steps_per_epoch]
    schedule = make_schedule(optimizer, cfg, total_steps if cfg.schedule == "cosine" else total_steps[0],
                             steps_per_epoch)
    stopper = EarlyStopping(cfg.patience)
    history: list[EpochRecord] = []
    epochs = last = cfg.epochs  # as now planned (the deadline's pace), and at most (``anneal_on_plateau``)
    annealing = False
    checking = 0.0  # seconds the last validation pass took
    for epoch in range(1, cfg.epochs + 1):
        if epoch > epochs:
            break
        started = time.perf_counter()
        lr = float(optimizer.param_groups[0]["lr"])
        # the deadline, less time to validate this epoch and for the caller to score the model (twice a validation)
        stop_at = cfg.deadline - 3 * checking - 1.0 if cfg.deadline is not None and math.isfinite(cfg.deadline) else None
        train_loss = train_epoch(model, train, loss_fn, optimizer, schedule, cfg, generator, stop_at)
        checked_at = time.perf_counter()
        val_loss, val_metric = evaluate(model, valid, loss_fn, metric, cfg) if valid is not None else (math.nan, math.nan)
        checking = time.perf_counter() - checked_at
        history.append(EpochRecord(epoch, train_loss, val_loss, val_metric, lr, time.perf_counter() - started))
        if not math.isfinite(train_loss):
            break
        score = -val_metric if cfg.select_by_metric else val_loss
        if valid is not None and stopper.update(epoch, score, model, val_loss):
            if annealing or not cfg.anneal_on_plateau or cfg.schedule != "cosine" or epoch + cfg.patience >= epochs:
                break
            annealing, last = True, epoch + cfg.patience
            stopper.patience = epoch - stopper.best_epoch + cfg.patience
            epochs, total_steps[0] = last, last * steps_per_epoch
        if stop_at is not None and time.monotonic() > stop_at:
            break
        if cfg.deadline is not None and math.isfinite(cfg.deadline):
            # replanned after every epoch, up as well as down: a plan fixed after a slow first epoch (51.6 s against
            # 43-48 s later) ended the CNN 8 epochs and 110 s before its deadline (Fashion-MNIST, 60,000, 600 s)
            epochs = min(last, epoch + affordable_epochs(cfg.deadline - 3 * checking, history))
            total_steps[0] = epochs * steps_per_epoch
    if valid is None or not stopper.best_state:
        return history, len(history)
    stopper.restore(model)
    return history, stopper.best_epoch
