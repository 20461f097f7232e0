"""The ``bpr`` recommender: Bayesian personalized ranking (Rendle et al., 2009) from the ``implicit`` library,
learning factors that rank each user's items above items sampled from the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trainlab.models.factors import FactorRecommender, implicit_module
from trainlab.models.recbase import RECIPE, load_arrays, save_arrays
from trainlab.models.registry import ModelSpec, Param, register


class BPRRecommender(FactorRecommender):
    def make(self) -> Any:
        p = self.params
        return implicit_module("bpr", "bpr").BayesianPersonalizedRanking(
            factors=int(p.get("factors", 64)), learning_rate=float(p.get("learning_rate", 0.05)),
            regularization=float(p.get("regularization", 0.01)), iterations=int(p.get("iterations", 100)),
            num_threads=self.n_jobs, random_state=self.seed)


def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> BPRRecommender:
    return BPRRecommender(seed=seed, n_jobs=n_jobs, **params)


def load(folder: Path, task: str) -> BPRRecommender:
    return load_arrays(BPRRecommender, folder)


SPEC = register(ModelSpec(
    key="bpr", names={"default": "BPR (implicit)"}, tasks=("recommend",), recipe=RECIPE, build=build,
    defaults={"factors": 64, "learning_rate": 0.05, "regularization": 0.01, "iterations": 100},
    space={"factors": Param("int", 16, 256, log=True), "learning_rate": Param("float", 1e-3, 0.2, log=True),
           "regularization": Param("float", 1e-4, 0.1, log=True), "iterations": Param("int", 30, 300, log=True)},
    save=save_arrays, load=load, requires="implicit", extra="rec", sample_weight=False, cost=3, bag=False))
