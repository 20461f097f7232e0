"""What every recommender family shares: the estimator contract, and saving learned arrays without pickle.

A recommender's ``fit(matrix)`` takes the users x items matrix of positive interactions (strengths as values);
``score(users, history)`` returns one row of scores per user over every item, from the user's index (for
families that learned per-user factors) and the user's history rows (for those that score from history, and
for folding in new interactions where the family can).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.errors import BundleError

RECIPE = "interactions"
"""The recipe every recommender family declares: it learns from the interactions matrix, not from features."""
PARAMS_FILE = "params.json"


class RecommenderBase:
    """Keyword-only options, stored as given; learned state ends in ``_`` (scikit-learn's contract)."""

    def __init__(self, *, seed: int = 0, n_jobs: int = 1, **params: Any) -> None:
        self.seed = seed
        self.n_jobs = n_jobs
        self.params = params

    folds_in: bool = False
    """Whether new interactions of a known user change the scores without retraining."""
    arrays: tuple[str, ...] = ()
    """Names of the learned arrays (attributes ``name_``) that ``save_arrays`` writes."""

    def fit(self, matrix: sparse.csr_matrix) -> RecommenderBase:
        raise NotImplementedError

    def score(self, users: np.ndarray, history: sparse.csr_matrix, refresh: bool = False) -> np.ndarray:
        raise NotImplementedError

    def item_vectors(self) -> np.ndarray | sparse.spmatrix | None:
        """One row per item for ``similar_items`` (factors or similarity rows), or None."""
        return None


def save_arrays(model: RecommenderBase, folder: Path, prefix: str = "") -> list[str]:
    """The learned arrays as numeric .npy files and the options as JSON; returns the file names (each starting
    with ``prefix``, so that several models can share a folder)."""
    files = []
    for name in (f"{prefix}{a}" for a in model.arrays):
        value = getattr(model, f"{name[len(prefix):]}_")
        if sparse.issparse(value):
            csr = sparse.csr_matrix(value)
            for part in ("data", "indices", "indptr"):
                np.save(folder / f"{name}.{part}.npy", np.asarray(getattr(csr, part)), allow_pickle=False)
                files.append(f"{name}.{part}.npy")
            np.save(folder / f"{name}.shape.npy", np.asarray(csr.shape, dtype=np.int64), allow_pickle=False)
            files.append(f"{name}.shape.npy")
        else:
            np.save(folder / f"{name}.npy", np.asarray(value), allow_pickle=False)
            files.append(f"{name}.npy")
    (folder / f"{prefix}{PARAMS_FILE}").write_text(json.dumps({"params": model.params, "seed": model.seed}),
                                                   encoding="utf-8")
    return [*files, f"{prefix}{PARAMS_FILE}"]


def load_arrays(cls: type[RecommenderBase], folder: Path, prefix: str = "") -> Any:
    """Rebuild a recommender from its JSON options and .npy arrays (read with allow_pickle=False)."""
    try:
        described = json.loads((folder / f"{prefix}{PARAMS_FILE}").read_text(encoding="utf-8"))
        model = cls(seed=int(described["seed"]), **described["params"])
        for attribute in model.arrays:
            name = f"{prefix}{attribute}"
            if (folder / f"{name}.npy").is_file():
                setattr(model, f"{attribute}_", np.ascontiguousarray(np.load(folder / f"{name}.npy",
                                                                             allow_pickle=False)))
                continue
            parts = [np.load(folder / f"{name}.{p}.npy", allow_pickle=False) for p in ("data", "indices", "indptr")]
            shape = tuple(int(n) for n in np.load(folder / f"{name}.shape.npy", allow_pickle=False))
            setattr(model, f"{attribute}_", sparse.csr_matrix(tuple(parts), shape=shape))
    except (OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise BundleError(f"The recommender files in '{folder}' could not be read ({exc}). Retrain or use the "
                          "original bundle.") from exc
    return model


def fit_recommender(model: RecommenderBase, matrix: sparse.csr_matrix,
                    item_features: sparse.csr_matrix | None = None) -> RecommenderBase:
    """Fit ``model``, handing it the items' side features first when it reads them (``uses_item_features``)."""
    if item_features is not None and getattr(model, "uses_item_features", False):
        model.item_features = item_features  # type: ignore[attr-defined]
    return model.fit(matrix)


def binarized(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    out = matrix.copy().astype(np.float32)
    out.data[:] = 1.0
    return out
