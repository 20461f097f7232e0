"""The ``mf`` recommender: matrix factorization in PyTorch, trained by the neural families' loop
(``models/neural/loop.py``: AdamW, cosine schedule, early stopping on held-out pairs, GPU when there is one).

Each positive (user, item) pair is a 1 and ``negatives`` pairs per positive, drawn once per fit from the items
the user has not interacted with, are 0s; the loss is binary cross-entropy on u·v + b_u + b_v. Once trained,
the factors (biases folded in) are plain arrays: scoring and loading need neither torch nor the network.
This module imports torch only when a model is fitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.errors import MissingDependencyError
from trainlab.models.factors import FactorRecommender
from trainlab.models.recbase import RECIPE, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register

HELD_OUT = 0.05
"""Share of the pairs the loop watches for early stopping."""


def _negatives(matrix: sparse.csr_matrix, per_positive: int, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                                               np.ndarray]:
    """(users, items) of sampled pairs the users did not interact with (a rare collision is dropped)."""
    coo = matrix.tocoo()
    users = np.repeat(coo.row, per_positive)
    items = rng.integers(0, matrix.shape[1], len(users))
    keep = np.asarray(matrix[users, items]).ravel() == 0
    return users[keep], items[keep]


class MFRecommender(FactorRecommender):
    """Trains its own network (not an ``implicit`` model): ``fit`` is replaced, ``make`` is not used."""

    def fit(self, matrix: sparse.csr_matrix) -> MFRecommender:
        try:
            import torch
        except ImportError as exc:
            raise MissingDependencyError("torch", "nn", "The mf recommender family") from exc
        from trainlab.models.neural.loop import LoopConfig, Tensors, fit_network

        p, rng = self.params, np.random.default_rng(self.seed)
        torch.manual_seed(self.seed)
        device = "cuda" if p.get("device", "auto") in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
        pos = matrix.tocoo()
        neg_users, neg_items = _negatives(matrix, int(p.get("negatives", 4)), rng)
        users = np.concatenate([pos.row, neg_users])
        items = np.concatenate([pos.col, neg_items])
        labels = np.concatenate([np.ones(len(pos.row)), np.zeros(len(neg_users))]).astype(np.float32)
        order = rng.permutation(len(labels))
        cut = int(len(order) * HELD_OUT)

        def tensors(rows: np.ndarray) -> Tensors:
            cat = torch.as_tensor(np.stack([users[rows], items[rows]], axis=1), dtype=torch.long, device=device)
            y = torch.as_tensor(labels[rows], device=device)
            return Tensors(torch.zeros((len(rows), 0), device=device), cat, y, torch.ones_like(y))

        net = _network(torch, matrix.shape, int(p.get("factors", 64))).to(device)
        cfg = LoopConfig(epochs=int(p.get("epochs", 20)), batch_size=int(p.get("batch_size", 4096)),
                         lr=float(p.get("lr", 5e-3)), weight_decay=float(p.get("weight_decay", 1e-4)), patience=3,
                         clip_norm=0.0)
        loss = torch.nn.BCEWithLogitsLoss(reduction="none")
        fit_network(net, tensors(order[cut:]), tensors(order[:cut]), loss, _accuracy, cfg,
                    torch.Generator().manual_seed(self.seed))
        with torch.no_grad():
            u, v = net.users.weight.cpu().numpy(), net.items.weight.cpu().numpy()
            bu, bv = net.user_bias.weight.cpu().numpy(), net.item_bias.weight.cpu().numpy()
        self.user_factors_ = np.hstack([u, bu, np.ones_like(bu)]).astype(np.float32)
        self.item_factors_ = np.hstack([v, np.ones_like(bv), bv]).astype(np.float32)
        return self


def _accuracy(y: np.ndarray, output: np.ndarray, w: np.ndarray) -> float:
    return float(np.mean((output.ravel() > 0) == (y > 0.5)))


def _network(torch: Any, shape: tuple[int, int], factors: int) -> Any:
    """u·v + b_u + b_v for the (user, item) index pairs in ``cat``."""

    class Factorization(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.users = torch.nn.Embedding(shape[0], factors)
            self.items = torch.nn.Embedding(shape[1], factors)
            self.user_bias = torch.nn.Embedding(shape[0], 1)
            self.item_bias = torch.nn.Embedding(shape[1], 1)
            for table in (self.users, self.items):
                torch.nn.init.normal_(table.weight, std=0.05)
            for table in (self.user_bias, self.item_bias):
                torch.nn.init.zeros_(table.weight)

        def forward(self, num: Any, cat: Any) -> Any:
            u, i = cat[:, 0], cat[:, 1]
            dot = (self.users(u) * self.items(i)).sum(dim=1)
            return dot + self.user_bias(u).squeeze(1) + self.item_bias(i).squeeze(1)

    return Factorization()


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> MFRecommender:
    return MFRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> MFRecommender:
    return load_arrays(MFRecommender, folder)


SPEC = register(ModelSpec(
    key="mf", names={"default": "Matrix factorization (PyTorch)"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"factors": 64, "negatives": 4, "lr": 5e-3, "weight_decay": 1e-4, "epochs": 20, "batch_size": 4096},
    space={"factors": Param("int", 16, 128, log=True), "negatives": Param("int", 1, 8),
           "lr": Param("float", 1e-3, 3e-2, log=True), "weight_decay": Param("float", 1e-6, 1e-2, log=True)},
    save=save_arrays, load=load, requires="torch", extra="nn", sample_weight=False, cost=4, bag=False))
