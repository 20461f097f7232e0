"""The checks every registered recommender family must pass, generated from the registry.

    >>> from trainlab.testing.recommend import recommender_keys, check_recommender
    >>> for key in recommender_keys():  # doctest: +SKIP
    ...     check_recommender(key)
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.models import REGISTRY
from trainlab.models.recbase import RECIPE

SEED = 3


def recommender_keys() -> list[str]:
    return [key for key, spec in REGISTRY.items() if "recommend" in spec.tasks]


def planted_matrix(n_users: int = 60, n_items: int = 30, seed: int = SEED) -> sparse.csr_matrix:
    """Users in three taste groups, each interacting mostly with its group's third of the items."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for user in range(n_users):
        group = user % 3
        liked = rng.choice(np.arange(group * n_items // 3, (group + 1) * n_items // 3), 6, replace=False)
        other = rng.choice(n_items, 1)
        for item in {*liked.tolist(), *other.tolist()}:
            rows.append(user)
            cols.append(item)
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))


def check_recommender(key: str) -> None:
    """Declares itself, fits, gives one finite score per item, ranks its taste group first for most users, is
    repeatable with the seed, and saves to numeric files that load back to the same scores."""
    spec = REGISTRY[key]
    where = f"recommender {key!r}"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", key) and spec.recipe == RECIPE, f"{where}: key or recipe"
    matrix = planted_matrix()
    low = {**spec.defaults, **{n: _low(p) for n, p in spec.space.items()}}
    users = np.arange(matrix.shape[0])
    for params in (spec.defaults, low):
        model = spec.build("recommend", params, SEED, 1).fit(matrix)
        scores = model.score(users, matrix)
        assert scores.shape == matrix.shape and np.isfinite(scores).all(), f"{where}: scores {scores.shape}"
        again = spec.build("recommend", params, SEED, 1).fit(matrix).score(users, matrix)
        assert np.allclose(scores, again, atol=1e-5), f"{where} with {params}: two fits with the same seed differ"
    model = spec.build("recommend", spec.defaults, SEED, 1).fit(matrix)
    scores = model.score(users, matrix)
    if key != "popularity":
        third = matrix.shape[1] // 3
        in_group = np.mean([scores[u].argmax() // third == u % 3 for u in users])
        assert in_group > 0.6, f"{where}: only {in_group:.0%} of users get their taste group's item first"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = spec.save(model, folder)
        present = sorted(p.name for p in folder.iterdir())
        assert sorted(written) == present, f"{where}: save() returned {written} but wrote {present}"
        assert all(name.endswith((".npy", ".json")) for name in present), f"{where}: non-numeric files {present}"
        for name in present:
            if name.endswith(".npy"):
                np.load(folder / name, allow_pickle=False)
        loaded = spec.load(folder, "recommend")
        assert np.allclose(loaded.score(users, matrix), scores, atol=1e-5), f"{where}: scores differ after loading"


def _low(param: Any) -> Any:
    if param.kind == "choice":
        return param.choices[0]
    return int(param.low) if param.kind == "int" else float(param.low)
