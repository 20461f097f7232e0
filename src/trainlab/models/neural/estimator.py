"""NeuralNetModel: the tabular network as a scikit-learn style estimator (fit, predict, predict_proba).

It encodes its own inputs (robust z-scores, category indices), holds out a validation split for early
stopping, and trains on the GPU with mixed precision when one is present, on the CPU otherwise.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from torch import nn

from trainlab.data.media import block_columns, media_blocks
from trainlab.errors import ConfigError, raise_all
from trainlab.models.calibration import fit_calibrator
from trainlab.models.neural.encoders import MediaInput, cnn_channels
from trainlab.models.neural.loop import OPTIMIZERS, SCHEDULES, LoopConfig, Tensors, fit_network, predict_outputs
from trainlab.models.neural.network import Architecture, Encoding, block_names, build_network, columns
from trainlab.models.neural.textbag import TextInput, text_columns
from trainlab.models.registry import FIT_DEADLINE

DEVICES = ("auto", "cpu", "cuda")
NORMS = ("batch", "layer")
MIN_ROWS_FOR_VALIDATION = 20
MAX_STEPS_PER_EPOCH = 128
MEDIA_STEPS_PER_EPOCH = 50
MEDIA_MIN_BATCH = 32
"""On pictures and sound the batch shrinks (to MEDIA_MIN_BATCH at least) until an epoch is MEDIA_STEPS_PER_EPOCH
steps: a CNN trained from scratch needs many updates, and at batch 256 an epoch of 1,600 clips is 7 of them, so
a time limit ended it after about 100 (spoken digits, 120 s: validation 0.78 at batch 256, 0.93 at 32). On the
CPU a small batch costs no more per picture (epochs of 6 s at batch 32 against 7.5 s at 256); large sets keep
``batch_size``."""
MIN_WORK_FOR_THREADS = 512 * 512  # batch size x width from which more threads pay off
MEDIA_LABEL_SMOOTHING = 0.1
"""Label smoothing of a picture or sound classifier's training loss when ``label_smoothing`` is None (tables: 0):
a CNN trained from scratch grows overconfident on its training pictures (Fashion-MNIST on an H200: training loss
0.057 at epoch 30 while the validation loss rose from 0.20 to 0.25); smoothed targets hold its logits back."""
FEW_ROWS_ONE_THREAD = 64
"""Predictions of at most this many rows use one thread: one 28x28 picture through the CNN took 10.6 ms on one
thread and 167 ms on two while another process kept both cores busy (threads wait on each other)."""


class NeuralNetModel:
    """An MLP with category embeddings, trained by mini-batch gradient descent with early stopping.

    After ``fit``: ``history_`` (one dict per epoch: train_loss, val_loss, val_metric, lr, seconds),
    ``best_epoch_`` (whose weights it kept), ``metric_name_``, ``device_``, ``batch_size_`` and ``threads_``
    (as used: both grow on large tables), ``smoothing_`` and ``temperature_`` (the label smoothing it trained
    with, and the temperature its head was divided by after) and ``classes_`` (classifiers).
    """

    def __init__(self, *, task: str = "binary", width: int = 256, depth: int = 2, dropout: float = 0.2,
                 norm: str = "batch", lr: float = 1e-3, weight_decay: float = 1e-2, epochs: int = 60,
                 batch_size: int = 256, optimizer: str = "adamw", schedule: str = "cosine", patience: int = 8,
                 clip_norm: float = 1.0, validation_fraction: float = 0.1, device: str = "auto",
                 channels: int | None = None, flip: bool = False, label_smoothing: float | None = None,
                 embed_dim: int = 64, embed_buckets: int = 32_768,
                 embed_tokens: int = 256, seed: int = 0, n_jobs: int = 1) -> None:
        self.task = task
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.norm = norm
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.schedule = schedule
        self.patience = patience
        self.clip_norm = clip_norm
        self.validation_fraction = validation_fraction
        self.device = device
        self.channels = channels
        self.flip = flip
        self.label_smoothing = label_smoothing
        self.embed_dim = embed_dim
        self.embed_buckets = embed_buckets
        self.embed_tokens = embed_tokens
        self.seed = seed
        self.n_jobs = n_jobs

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, as scikit-learn's ``get_params`` gives them."""
        return {name: getattr(self, name) for name in inspect.signature(type(self)).parameters}

    # --- fitting -------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any, sample_weight: Any = None,
            valid: tuple[pd.DataFrame, Any] | None = None) -> NeuralNetModel:
        """Fit on ``X``; early stopping watches ``valid`` rows when given (pictures and sound: the trial's own
        holdout, so that no training row is set aside twice), else a ``validation_fraction`` of ``X``."""
        self._check_params()
        device = resolve_device(self.device)
        y = np.asarray(y)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        raw = set(block_columns(list(X.columns))) | set(text_columns(list(X.columns)))
        self.encoding_ = Encoding.fit(X[[c for c in X.columns if c not in raw]])
        targets = self._fit_target(y)
        fit_rows, valid_rows = self._validation_split(targets)
        if valid is not None:
            X, targets, weights, fit_rows, valid_rows = self._with_valid(X, targets, weights, valid)
        self.arch_ = Architecture(self.encoding_.n_numeric_inputs, [c.cardinality for c in self.encoding_.categorical],
                                  n_outputs=len(self.classes_) if self._classifier else 1, width=self.width,
                                  depth=self.depth, dropout=self.dropout, norm=self.norm,
                                  media=self._media_inputs(X.iloc[fit_rows], device))
        self.arch_.texts = self._text_inputs(X.iloc[fit_rows])
        media = bool(self.arch_.media)
        default = MEDIA_LABEL_SMOOTHING if media and self._classifier else 0.0
        self.smoothing_ = default if self.label_smoothing is None else float(self.label_smoothing)
        batch_size = self._media_batch_size(len(fit_rows)) if media else self._batch_size(len(fit_rows))
        cfg = LoopConfig(epochs=self.epochs, batch_size=batch_size, lr=self.lr,
                         weight_decay=self.weight_decay, optimizer=self.optimizer, schedule=self.schedule,
                         clip_norm=self.clip_norm, patience=self.patience, mixed_precision=_bfloat16_gpu(device),
                         deadline=FIT_DEADLINE.get(), max_warmup_epochs=0.5 if media else None,
                         anneal_on_plateau=media, select_by_metric=media and self._classifier)
        tensors = self._tensors(X, targets, weights, device)
        threads, self.batch_size_, self.threads_ = torch.get_num_threads(), cfg.batch_size, self._threads(cfg.batch_size)
        torch.set_num_threads(self.threads_)
        try:
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(self.seed)
                net = build_network(self.arch_).to(device)
                generator = torch.Generator().manual_seed(self.seed)
                watched = tensors.rows(torch.as_tensor(valid_rows, device=device)) if len(valid_rows) else None
                history, self.best_epoch_ = fit_network(net, tensors.rows(torch.as_tensor(fit_rows, device=device)),
                                                        watched, self._loss, self._metric, cfg, generator)
                self.temperature_ = self._sharpen(net, watched, cfg) if self.smoothing_ and watched is not None else 1.0
        finally:
            torch.set_num_threads(threads)
        self.net_ = net.to("cpu").eval()
        self.device_ = str(device)
        self.history_ = [asdict(h) for h in history]
        return self

    def _sharpen(self, net: nn.Module, valid: Tensors, cfg: LoopConfig) -> float:
        """Divide the head's outputs by a temperature fitted on the validation rows (their log loss) and return it.
        Trained on smoothed labels, a network's probabilities are flatter than its accuracy warrants by design
        (Fashion-MNIST on an H200: validation log loss 0.241 as trained, 0.183 at its best temperature), and its
        trial is ranked by them."""
        logits = predict_outputs(net, valid.num, valid.cat, mixed_precision=cfg.mixed_precision).double()
        proba = torch.softmax(logits, dim=1).cpu().numpy()
        found = fit_calibrator("temperature", proba, valid.y.cpu().numpy(), valid.w.cpu().numpy(), proba.shape[1])
        temperature = float(found.params["temperature"])
        head = net.head
        assert isinstance(head, nn.Linear)
        with torch.no_grad():
            head.weight.div_(temperature)
            head.bias.div_(temperature)
        return temperature

    def _with_valid(self, X: pd.DataFrame, targets: np.ndarray, weights: np.ndarray,
                    valid: tuple[pd.DataFrame, Any]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The training rows followed by the given validation rows (those of classes seen in training)."""
        valid_x, valid_y = valid[0], np.asarray(valid[1])
        valid_targets: np.ndarray
        if self._classifier:
            index = {c: i for i, c in enumerate(self.classes_.tolist())}
            keep = np.array([v in index for v in valid_y.tolist()], dtype=bool)
            valid_x, valid_targets = valid_x[keep], np.array([index[v] for v in valid_y[keep].tolist()], dtype=np.int64)
        else:
            valid_targets = (valid_y.astype(float) - self.target_mean_) / self.target_scale_
        n = len(targets)
        return (pd.concat([X, valid_x.set_axis(X.columns, axis=1)], axis=0, ignore_index=True),
                np.concatenate([targets, valid_targets]), np.concatenate([weights, np.ones(len(valid_targets))]),
                np.arange(n), np.arange(n, n + len(valid_targets)))

    def _media_inputs(self, X: pd.DataFrame, device: torch.device) -> list[dict[str, Any]]:
        """Each picture or spectrogram block's place after the tabular numbers, with its per-channel mean and
        standard deviation on the fitted rows, and the CNN's width (by ``device`` unless ``channels`` is set)."""
        inputs, start = [], self.encoding_.n_numeric_inputs
        for block in media_blocks(list(X.columns)):
            values = X[block.names].to_numpy(dtype=np.float32).reshape(len(X), block.shape[0], -1)
            mean = values.mean(axis=(0, 2)).astype(float).tolist()
            std = [max(float(s), 1e-6) for s in values.std(axis=(0, 2))]
            inputs.append({"column": block.column, "kind": block.kind, "shape": list(block.shape), "start": start,
                           "mean": mean, "std": std, "channels": cnn_channels(self.channels, device),
                           "flip": bool(self.flip), "design": 2})
            start += len(block.names)
        return inputs

    def _text_inputs(self, X: pd.DataFrame) -> list[dict[str, Any]]:
        """Each text column's vocabulary and tokenization, fitted on these rows; its token ids go after the
        category indices, its token weights after the media blocks."""
        inputs = []
        cat_start = len(self.encoding_.categorical)
        num_start = self.encoding_.n_numeric_inputs + sum(MediaInput.from_dict(m).size for m in self.arch_.media)
        for column in text_columns(list(X.columns)):
            text = TextInput.fit(column, X[column].astype(str).tolist(), buckets=int(self.embed_buckets),
                                 max_length=int(self.embed_tokens), dim=int(self.embed_dim), cat_start=cat_start,
                                 num_start=num_start)
            inputs.append(text.to_dict())
            cat_start += text.length
            num_start += text.length
        return inputs

    def _numeric(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The tabular numbers followed by every media block's raw values and every text's token weights; the
        category indices followed by every text's token ids (the tokenization of fit and predict alike)."""
        num, cat = self.encoding_.transform(X)
        blocks = [columns(X, block_names(m["column"], m["kind"], tuple(m["shape"]))).astype(np.float32, copy=False)
                  for m in self.arch_.media]
        ids = []
        for t in self.arch_.texts:
            text = TextInput.from_dict(t)
            token_ids, weights = text.encode(X[text.column].astype(str).tolist())
            ids.append(token_ids)
            blocks.append(weights)
        return ((np.concatenate([num, *blocks], axis=1) if blocks else num),
                (np.concatenate([cat, *ids], axis=1) if ids else cat))

    def _check_params(self) -> None:
        problems = []
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES),
                                     ("device", self.device, DEVICES), ("norm", self.norm, NORMS)):
            if value not in allowed:
                problems.append(f"neural_net option {name} must be one of {', '.join(allowed)}, got {value!r}.")
        for name in ("width", "depth", "epochs", "batch_size", "n_jobs", "embed_dim", "embed_buckets", "embed_tokens"):
            value = getattr(self, name)
            least = 0 if name == "depth" else 1
            if not isinstance(value, int | np.integer) or value < least:
                problems.append(f"neural_net option {name} must be an integer of at least {least}, got {value!r}.")
        if not 0 <= self.dropout < 1:
            problems.append(f"neural_net option dropout must be in [0, 1), got {self.dropout!r}.")
        if self.label_smoothing is not None and not 0 <= self.label_smoothing < 1:
            problems.append(f"neural_net option label_smoothing must be in [0, 1), got {self.label_smoothing!r}.")
        if not 0 <= self.validation_fraction < 1:
            problems.append(f"neural_net option validation_fraction must be in [0, 1), got {self.validation_fraction!r}.")
        raise_all(problems, ConfigError)

    def _batch_size(self, n_rows: int) -> int:
        """``batch_size``, raised on large tables so that an epoch is at most MAX_STEPS_PER_EPOCH steps."""
        return max(int(self.batch_size), math.ceil(n_rows / MAX_STEPS_PER_EPOCH))

    def _media_batch_size(self, n_rows: int) -> int:
        """``batch_size``, lowered on few pictures or clips so that an epoch is MEDIA_STEPS_PER_EPOCH steps."""
        return min(int(self.batch_size), max(MEDIA_MIN_BATCH, n_rows // MEDIA_STEPS_PER_EPOCH))

    def _threads(self, batch_size: int) -> int:
        """Intra-op threads: one for small networks, where threads waiting on busy cores cost more than they
        gain (measured: 8 ms vs 600 ms a step on two loaded cores); ``n_jobs`` for large batches."""
        busy = batch_size * self.width >= MIN_WORK_FOR_THREADS or self.arch_.media
        return int(self.n_jobs) if busy else 1

    @property
    def _classifier(self) -> bool:
        return self.task != "regression"

    def _fit_target(self, y: np.ndarray) -> np.ndarray:
        """Class positions 0..k-1 among the classes seen here, or the target standardized."""
        if self._classifier:
            self.classes_, codes = np.unique(y, return_inverse=True)
            return np.asarray(codes, dtype=np.int64)
        values = y.astype(float)
        self.target_mean_ = float(values.mean())
        self.target_scale_ = float(values.std()) or 1.0
        return (values - self.target_mean_) / self.target_scale_

    def _validation_split(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(targets))
        if self.validation_fraction == 0 or len(rows) < MIN_ROWS_FOR_VALIDATION:
            return rows, rows[:0]
        stratify = None
        if self._classifier and np.bincount(targets).min() >= 2:
            stratify = targets
        try:
            fit_rows, valid_rows = train_test_split(rows, test_size=self.validation_fraction,
                                                    random_state=self.seed, stratify=stratify)
        except ValueError:  # too few rows per class for a stratified split
            fit_rows, valid_rows = train_test_split(rows, test_size=self.validation_fraction, random_state=self.seed)
        return np.sort(fit_rows), np.sort(valid_rows)

    def _tensors(self, X: pd.DataFrame, targets: np.ndarray, weights: np.ndarray, device: torch.device) -> Tensors:
        num, cat = self._numeric(X)
        y = torch.as_tensor(targets, dtype=torch.int64 if self._classifier else torch.float32)
        w = torch.as_tensor(weights, dtype=torch.float32)
        return Tensors(torch.as_tensor(num).to(device), torch.as_tensor(cat).to(device), y.to(device), w.to(device))

    def _loss(self, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self._classifier:
            return nn.functional.cross_entropy(output, y, reduction="none", label_smoothing=self.smoothing_)
        return nn.functional.mse_loss(output[:, 0], y, reduction="none")

    def _metric(self, y: np.ndarray, output: np.ndarray, w: np.ndarray) -> float:
        """Validation AUC (binary), accuracy (multiclass) or RMSE in the target's units (regression)."""
        if not self._classifier:
            return float(np.sqrt(np.average((output[:, 0] - y) ** 2, weights=w)) * self.target_scale_)
        if len(self.classes_) == 2 and len(np.unique(y)) == 2:
            return float(roc_auc_score(y, output[:, 1] - output[:, 0], sample_weight=w))
        return float(np.average(output.argmax(axis=1) == y, weights=w))

    @property
    def metric_name_(self) -> str:
        if not self._classifier:
            return "rmse"
        return "roc_auc" if len(self.classes_) == 2 else "accuracy"

    # --- predicting ----------------------------------------------------------------------------------

    def _outputs(self, X: pd.DataFrame) -> np.ndarray:
        num, cat = self._numeric(X)
        threads = torch.get_num_threads()
        if len(X) <= FEW_ROWS_ONE_THREAD and threads > 1:  # a request of a few rows: one thread, no waiting on others
            torch.set_num_threads(1)
        try:
            return predict_outputs(self.net_, torch.as_tensor(num), torch.as_tensor(cat)).numpy()
        finally:
            torch.set_num_threads(threads)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        logits = self._outputs(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self._classifier:
            return np.asarray(self.classes_[self.predict_proba(X).argmax(axis=1)])
        return self._outputs(X)[:, 0].astype(np.float64) * self.target_scale_ + self.target_mean_


def resolve_device(device: str) -> torch.device:
    """'auto' is the GPU when PyTorch sees one, else the CPU; 'cuda' without a GPU is a ConfigError."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("neural_net option device='cuda', but PyTorch sees no GPU (torch "
                          f"{torch.__version__}). Use device 'cpu' or 'auto', or install a CUDA build of torch.")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def _bfloat16_gpu(device: torch.device) -> bool:
    """Mixed precision (bfloat16, which needs no loss scaling) on GPUs that support it."""
    return device.type == "cuda" and torch.cuda.is_bf16_supported()
