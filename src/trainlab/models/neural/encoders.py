"""Encoders for pictures and spectrograms: a small residual CNN, trained from scratch, with the augmentation
that suits each kind (random shifts and optional flips; SpecAugment-style masks), and the network that joins
them (and texts' bags of embeddings, ``TextBag``) with the tabular MLP before one head.

Every decoded file arrives flattened inside the numeric input tensor, after the tabular numbers; ``MediaInput``
says where, its shape and its normalization, so the network is rebuilt from plain data alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from trainlab.models.neural.textbag import TextInput

CPU_CHANNELS = 24
"""Channels of the CNN's first stage on the CPU (then twice and four times as many). Trained from scratch on the
CPU, a picture or sound network is bound by its time limit and needs a dozen epochs or more: at 24 channels a
training step took 0.45x the time of 32 (2,491 against 1,120 28x28 pictures a second, batch 256, two threads), so
about twice the epochs fit a budget; Fashion-MNIST's CNN at 32 channels was still improving when its 600 s ran out."""
GPU_CHANNELS = 64
"""Channels of the first stage on a GPU, where a step of this small network costs about the same at 24 or 64
channels (it is bound by kernel launches, not arithmetic), so the wider network's accuracy comes nearly free."""


def cnn_channels(channels: int | None, device: torch.device) -> int:
    """The CNN's first-stage channels: as given, or by device when None."""
    if channels is not None:
        return int(channels)
    return GPU_CHANNELS if device.type == "cuda" else CPU_CHANNELS


@dataclass
class MediaInput:
    """One picture or spectrogram input: where it sits in the numeric tensor, its shape, and its normalization
    (per channel: (x - mean) / std)."""

    column: str
    kind: str
    shape: list[int]
    start: int
    mean: list[float]
    std: list[float]
    channels: int = 32
    flip: bool = False
    design: int = 1
    """1: a residual block at full resolution before the two that halve it (models saved before design 2);
    2: the stem alone at full resolution, then the two blocks that halve it: about 60 % of the work of design 1
    at the same width (the full-resolution block cost as much as each of the other two)."""

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1] * self.shape[2]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MediaInput:
        return cls(**d)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (a strided 1x1 convolution when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResidualCNN(nn.Module):
    """A stem and three stages of residual blocks (c, 2c, 4c channels; the last two halve the resolution),
    then global average pooling: a vector of 4c numbers per input."""

    def __init__(self, media: MediaInput) -> None:
        super().__init__()
        c = media.channels
        self.media = media
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(media.mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(media.std).view(1, -1, 1, 1))
        stages = [ResidualBlock(c, c, 1)] if media.design == 1 else []
        self.body = nn.Sequential(
            nn.Conv2d(media.shape[0], c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            *stages, ResidualBlock(c, 2 * c, 2), ResidualBlock(2 * c, 4 * c, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.width = 4 * c

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        x = (flat.view(-1, *self.media.shape) - self.mean) / self.std
        if self.training:
            x = shift_and_flip(x, self.media.flip) if self.media.kind == "image" else spec_augment(x)
        # the default (NCHW) layout: with channels_last, oneDNN's convolution backward corrupted the heap on an AMD
        # EPYC (AVX2) CPU, torch 2.13.0 ("free(): invalid pointer" and the like, any picture size)
        return self.body(x.contiguous())


def shift_and_flip(x: torch.Tensor, flip: bool) -> torch.Tensor:
    """Random crops: each picture shifted by up to an eighth of its size (zero, the mean, fills the border);
    mirrored left-right at random when ``flip``."""
    n, _, h, w = x.shape
    pad = max(1, min(h, w) // 8)
    padded = nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None])
    if flip:
        mirrored = torch.rand(n, device=x.device) < 0.5
        cols = torch.where(mirrored[:, None], cols.flip(1), cols)
    index = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[index, channel, rows, cols[:, None, None, :]]


def spec_augment(x: torch.Tensor) -> torch.Tensor:
    """One band of mel bins and one stretch of frames, each up to an eighth, masked per spectrogram."""
    n, _, bands, frames = x.shape
    out = x.clone()
    for size, axis in ((bands, 2), (frames, 3)):
        width = torch.randint(0, max(1, size // 8) + 1, (n,), device=x.device)
        start = (torch.rand(n, device=x.device) * (size - width + 1)).long()
        position = torch.arange(size, device=x.device)[None]
        masked = (position >= start[:, None]) & (position < (start + width)[:, None])
        shape = (n, 1, size, 1) if axis == 2 else (n, 1, 1, size)
        out = out.masked_fill(masked.view(shape), 0.0)
    return out


MIX_WIDTH = 128
"""Units of the hidden layer that mixes a text's vector with the other parts (networks with text only)."""


class TextBag(nn.Module):
    """A text's weighted mean of token vectors (``textbag.TextInput`` gives ids and weights), then layer
    normalization: the fastText encoder, trained from scratch with the rest of the network."""

    def __init__(self, text: TextInput) -> None:
        super().__init__()
        self.text = text
        self.bag = nn.EmbeddingBag(text.n_embeddings, text.dim, mode="sum", padding_idx=0)
        nn.init.normal_(self.bag.weight, std=0.1)
        self.norm = nn.LayerNorm(text.dim)
        self.width = text.dim

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        t = self.text
        ids = cat[:, t.cat_start:t.cat_start + t.length]
        weights = num[:, t.num_start:t.num_start + t.length].float()
        return self.norm(self.bag(ids, per_sample_weights=weights))


class HybridNet(nn.Module):
    """One CNN per picture or spectrogram input, one bag of embeddings per text and, when there are other columns,
    the tabular MLP's body; their vectors are concatenated before a dropout and one linear head."""

    def __init__(self, tabular: Any, tabular_width: int, n_tabular: int, media: list[MediaInput],
                 n_outputs: int, dropout: float, texts: list[TextInput] | None = None, n_categories: int = 0) -> None:
        super().__init__()
        self.tabular = tabular
        self.n_tabular = n_tabular
        self.n_categories = n_categories
        self.cnns = [ResidualCNN(m) for m in media]
        self.encoders = nn.ModuleList(self.cnns)
        self.bags = [TextBag(t) for t in texts or []]
        self.text_encoders = nn.ModuleList(self.bags)
        width = (sum(e.width for e in self.cnns) + sum(b.width for b in self.bags)
                 + (tabular_width if tabular is not None else 0))
        self.dropout = nn.Dropout(dropout)
        # with text, one hidden layer mixes the parts, so a word's effect can depend on the other columns
        self.mix: nn.Module = nn.Identity()
        if self.bags:
            self.mix = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, MIX_WIDTH), nn.ReLU())
            width = MIX_WIDTH
        self.head = nn.Linear(width, n_outputs)

    def forward(self, num: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        parts = [e(num[:, e.media.start:e.media.start + e.media.size]) for e in self.cnns]
        parts += [b(num, cat) for b in self.bags]
        if self.tabular is not None:
            parts.append(self.tabular.encode(num[:, :self.n_tabular], cat[:, :self.n_categories]))
        return self.head(self.dropout(self.mix(torch.cat(parts, dim=1))))
