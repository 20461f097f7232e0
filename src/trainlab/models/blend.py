"""The ``blend`` recommender: a weighted sum of other families' scores, each standardized per user (z-scores
over the catalogue), so that scores on different scales (EASE weights, ALS dot products) mix fairly.

It is not searched like the others: after the search, ``search.rec_blend`` tries weights of the best families on
the validation interactions and keeps the blend only if it ranks better than the best of them alone. Its members
are saved side by side in the bundle (files prefixed ``m0.``, ``m1.``, ...), as numbers and JSON like theirs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.errors import BundleError
from trainlab.models.recbase import PARAMS_FILE, RECIPE, RecommenderBase, fit_recommender, load_arrays, save_arrays
from trainlab.models.registry import REGISTRY, ModelSpec, register


def standardized(scores: np.ndarray) -> np.ndarray:
    """Each row minus its mean, over its standard deviation (a flat row stays 0)."""
    scores = np.asarray(scores, dtype=np.float32)
    std = scores.std(axis=1, keepdims=True)
    return (scores - scores.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1.0)


class BlendRecommender(RecommenderBase):
    """``members``: [{"family": ..., "params": {...}}, ...]; ``weights``: one per member."""

    def __init__(self, *, seed: int = 0, n_jobs: int = 1, **params: Any) -> None:
        super().__init__(seed=seed, n_jobs=n_jobs, **params)
        self.members_: list[RecommenderBase] = []

    @property
    def folds_in(self) -> bool:  # type: ignore[override]
        return any(m.folds_in for m in self.members_)

    @property
    def weights(self) -> list[float]:
        return [float(w) for w in self.params.get("weights", [])]

    def build_members(self) -> list[RecommenderBase]:
        return [REGISTRY[m["family"]].build("recommend", dict(m.get("params", {})), self.seed, self.n_jobs)
                for m in self.params.get("members", [])]

    uses_item_features = True

    def fit(self, matrix: sparse.csr_matrix) -> BlendRecommender:
        features = getattr(self, "item_features", None)
        self.members_ = [fit_recommender(m, matrix, features) for m in self.build_members()]
        return self

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        total = np.zeros((len(users), history.shape[1]), dtype=np.float32)
        for weight, member in zip(self.weights, self.members_, strict=True):
            if weight:
                total += weight * standardized(member.score(users, history, refresh=refresh and member.folds_in))
        return total

    def item_vectors(self) -> Any:
        ranked = sorted(zip(self.weights, self.members_, strict=True), key=lambda pair: -pair[0])
        return next((v for _, m in ranked if (v := m.item_vectors()) is not None), None)


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> BlendRecommender:
    return BlendRecommender(seed=seed, n_jobs=n_jobs, **params)


def save(model: BlendRecommender, folder: Path) -> list[str]:
    files = []
    for i, member in enumerate(model.members_):
        files += save_arrays(member, folder, prefix=f"m{i}.")
    (folder / PARAMS_FILE).write_text(json.dumps({"params": model.params, "seed": model.seed}), encoding="utf-8")
    return [*files, PARAMS_FILE]


def load(folder: Path, task: str) -> BlendRecommender:
    try:
        described = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        model = BlendRecommender(seed=int(described["seed"]), **described["params"])
        model.members_ = [load_arrays(type(member), folder, prefix=f"m{i}.")
                          for i, member in enumerate(model.build_members())]
    except (OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise BundleError(f"The blend in '{folder}' could not be read ({exc}). Retrain or use the original bundle.") \
            from exc
    return model


SPEC = register(ModelSpec(
    key="blend", names={"default": "Blend"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"members": [{"family": "ease", "params": {"l2": 300.0}},
                          {"family": "item_knn", "params": {"neighbors": 100, "similarity": "cosine"}}],
              "weights": [0.5, 0.5]},
    save=save, load=load, sample_weight=False, cost=9, bag=False))
