"""The bundle of a recommender: the family's arrays (.npy), the id maps (JSON), the users' histories and the
item popularity (.npy, read with allow_pickle=False), and the manifest with a checksum for every file."""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from trainlab.bundle.io import seal, verify_files
from trainlab.bundle.manifest import Manifest, library_versions
from trainlab.errors import BundleError
from trainlab.models.recbase import RecommenderBase
from trainlab.models.registry import REGISTRY

TASK = "recommend"
MATRICES = ("history", "seen")


@dataclass
class RecommenderState:
    """Everything a saved recommender is: the fitted family, id maps, histories and popularity."""

    family: str
    params: dict[str, Any]
    model: RecommenderBase
    users: list[str]
    items: list[str]
    history: sparse.csr_matrix
    seen: sparse.csr_matrix
    popularity: np.ndarray
    columns: dict[str, Any]
    user_feature_ids: list[str] | None = None
    """The users listed in ``--user-features`` (ids as text), rows of ``user_features``; None without them."""
    user_features: sparse.csr_matrix | None = None


def save_recommender(state: RecommenderState, folder: Path, **details: Any) -> Manifest:
    """Write ``state`` to ``folder`` through a temporary sibling and a rename; ``details`` fill the manifest."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    (tmp / "model").mkdir(parents=True)
    try:
        REGISTRY[state.family].save(state.model, tmp / "model")
        (tmp / "users.json").write_text(json.dumps(state.users), encoding="utf-8")
        (tmp / "items.json").write_text(json.dumps(state.items), encoding="utf-8")
        for name in MATRICES:
            matrix = sparse.csr_matrix(getattr(state, name), dtype=np.float32)
            for part in ("data", "indices", "indptr"):
                np.save(tmp / f"{name}.{part}.npy", np.asarray(getattr(matrix, part)), allow_pickle=False)
        np.save(tmp / "popularity.npy", np.asarray(state.popularity, dtype=np.float32), allow_pickle=False)
        if state.user_features is not None and state.user_feature_ids is not None:
            (tmp / "user_features.json").write_text(json.dumps(state.user_feature_ids), encoding="utf-8")
            matrix = sparse.csr_matrix(state.user_features, dtype=np.float32)
            for part in ("data", "indices", "indptr"):
                np.save(tmp / f"user_features.{part}.npy", np.asarray(getattr(matrix, part)), allow_pickle=False)
            np.save(tmp / "user_features.shape.npy", np.asarray(matrix.shape, dtype=np.int64), allow_pickle=False)
        manifest = Manifest(task=TASK, target=str(state.columns.get("item")), classes=[], positive_class=None,
                            schema=dict(state.columns), versions=library_versions(),
                            members=[{"family": state.family, "params": state.params, "weight": 1.0}], **details)
        seal(tmp, folder, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def is_recommender(folder: str | Path) -> bool:
    """Whether ``folder`` holds a recommender's bundle (its manifest says task 'recommend')."""
    try:
        return Manifest.read(Path(folder)).task == TASK
    except BundleError:
        return False


def load_recommender(folder: str | Path) -> tuple[Manifest, RecommenderState]:
    """Verify every checksum and path, then read the recommender; BundleError for anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"Model bundle '{folder}' not found: give the 'model' folder of a run, e.g. runs/<name>/model.")
    manifest = Manifest.read(folder)
    if manifest.task != TASK:
        raise BundleError(f"'{folder}' holds a {manifest.task} model, not a recommender: use 'trainlab predict'.")
    verify_files(folder, manifest)
    family = str(manifest.members[0].get("family", ""))
    spec = REGISTRY.get(family)
    if spec is None or TASK not in spec.tasks:
        raise BundleError(f"The bundle's recommender family {family!r} is unknown to this trainlab. Install the "
                          "version that wrote it, or retrain.")
    try:
        users = [str(u) for u in json.loads((folder / "users.json").read_text(encoding="utf-8"))]
        items = [str(i) for i in json.loads((folder / "items.json").read_text(encoding="utf-8"))]
        matrices = {name: sparse.csr_matrix(tuple(np.load(folder / f"{name}.{p}.npy", allow_pickle=False)
                                                  for p in ("data", "indices", "indptr")), shape=(len(users), len(items)))
                    for name in MATRICES}
        popularity = np.load(folder / "popularity.npy", allow_pickle=False)
        feature_ids, user_features = None, None
        if (folder / "user_features.json").is_file():
            feature_ids = [str(u) for u in json.loads((folder / "user_features.json").read_text(encoding="utf-8"))]
            shape = tuple(int(n) for n in np.load(folder / "user_features.shape.npy", allow_pickle=False))
            user_features = sparse.csr_matrix(tuple(np.load(folder / f"user_features.{p}.npy", allow_pickle=False)
                                                    for p in ("data", "indices", "indptr")), shape=shape)
    except (OSError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The recommender in '{folder}' could not be read ({exc}); use the original or retrain.") \
            from exc
    model = spec.load(folder / "model", TASK)
    state = RecommenderState(family=family, params=dict(manifest.members[0].get("params", {})), model=model,
                             users=users, items=items, history=matrices["history"], seen=matrices["seen"],
                             popularity=popularity, columns=dict(manifest.schema),
                             user_feature_ids=feature_ids, user_features=user_features)
    return manifest, state
