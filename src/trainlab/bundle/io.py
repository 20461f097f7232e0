"""Write a bundle atomically; read one back only after every checksum and path has been verified."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from trainlab.bundle.manifest import Manifest, library_versions, sha256_file
from trainlab.data.schema import Schema
from trainlab.errors import BundleError
from trainlab.models.calibration import CalibratedModel, Calibrator
from trainlab.models.fitted import TrainedModel
from trainlab.models.missing import GapFilledModel
from trainlab.models.persist import load_sklearn, save_sklearn
from trainlab.models.registry import REGISTRY
from trainlab.search.ensemble import EnsembleModel

Model = TrainedModel | EnsembleModel | CalibratedModel | GapFilledModel


def save_bundle(model: Model, schema: Schema, folder: Path, **details: Any) -> Manifest:
    """Save ``model`` to ``folder`` via a temporary sibling folder and a rename: never half-written.

    ``details`` fill the manifest's optional fields (metrics, config, data_fingerprint, reference, extras).
    A calibrated model's calibrator is kept as plain numbers in ``extras["calibration"]["calibrator"]``, and the
    donor rows of a gap-filled model (``models/missing.py``) in ``extras["gap_fill"]``.
    """
    extras = dict(details.get("extras") or {})
    extras.pop("gap_fill", None)
    if isinstance(model, GapFilledModel):
        extras["gap_fill"] = {"columns": model.complete, "donors": json.loads(model.donors.to_json(orient="records"))}
        model = model.model  # type: ignore[assignment]
    details["extras"] = _calibration_extras(model, extras)
    if isinstance(model, CalibratedModel):
        model = model.model  # type: ignore[assignment]
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        members, weights = (model.members, model.weights) if isinstance(model, EnsembleModel) else ([model], [1.0])
        entries = []
        for i, (member, weight) in enumerate(zip(members, weights, strict=True)):
            sub = tmp / "members" / str(i)
            sub.mkdir(parents=True)
            save_sklearn(member.preprocessor, sub / "preprocessor.skops")
            member.spec.save(member.estimator, sub)
            entries.append({"family": member.family, "params": member.params, "weight": float(weight)})
        manifest = Manifest(task=schema.task, target=schema.target, classes=list(schema.classes),
                            positive_class=schema.positive_class, schema=schema.to_dict(), members=entries,
                            versions=library_versions(), **details)
        seal(tmp, folder, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


DOCUMENTS = ("model_card.md",)
"""Text files a bundle may carry beside its model files, listed and checksummed like them."""


def add_documents(folder: Path, documents: dict[str, str]) -> None:
    """Add (or replace) text documents such as ``model_card.md`` in a saved bundle, atomically: the bundle is
    copied to a temporary sibling, the documents written and the manifest's checksums renewed, then swapped in."""
    unknown = sorted(set(documents) - set(DOCUMENTS))
    if unknown:
        raise ValueError(f"not a bundle document: {', '.join(unknown)} (known: {', '.join(DOCUMENTS)})")
    folder = Path(folder)
    manifest = Manifest.read(folder)
    verify_files(folder, manifest)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(folder, tmp)
        for name, text in documents.items():
            (tmp / name).write_text(text, encoding="utf-8")
            manifest.files[name] = sha256_file(tmp / name)
        (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        _replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def seal(tmp: Path, folder: Path, manifest: Manifest) -> None:
    """Checksum every file written in ``tmp``, write the manifest beside them, and swap ``tmp`` in for ``folder``."""
    manifest.files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    _replace(tmp, folder)


def _replace(tmp: Path, folder: Path) -> None:
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
        folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(folder)


def load_bundle(folder: str | Path) -> tuple[Manifest, Model]:
    """Verify and load a bundle; raises BundleError for anything tampered, foreign or damaged."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(f"Model bundle '{folder}' not found: give the 'model' folder of a run, "
                          "e.g. runs/<name>/model.")
    manifest = Manifest.read(folder)
    if manifest.task == "recommend":
        raise BundleError(f"'{folder}' holds a recommender, which ranks items rather than predicting rows: use "
                          f"'trainlab recommend {folder} --user ID' (Python: trainlab.load_recommender).")
    verify_files(folder, manifest)
    schema = Schema.from_dict(manifest.schema)
    n_classes = max(len(manifest.classes), 2) if manifest.task != "regression" else 0
    members = []
    for i, entry in enumerate(manifest.members):
        spec = REGISTRY.get(entry.get("family", ""))
        if spec is None:
            raise BundleError(f"The bundle's model family {entry.get('family')!r} is unknown to this trainlab "
                              f"(known: {', '.join(REGISTRY)}). Install the version that wrote it, or retrain.")
        sub = folder / "members" / str(i)
        try:
            estimator = spec.load(sub, manifest.task)
        except BundleError:
            raise
        except Exception as exc:
            raise BundleError(f"The {spec.key} model in '{sub}' could not be read: {exc}") from exc
        members.append(TrainedModel(family=spec.key, params=entry.get("params", {}), task=schema.task,
                                    n_classes=n_classes, preprocessor=load_sklearn(sub / "preprocessor.skops"),
                                    estimator=estimator))
    model: Model = members[0] if len(members) == 1 else EnsembleModel(members,
                                                                      [float(e["weight"]) for e in manifest.members])
    calibrator = _stored_calibrator(manifest, folder, n_classes)
    loaded: Model = model if calibrator is None else CalibratedModel(model, calibrator)
    gap_fill = manifest.extras.get("gap_fill") if isinstance(manifest.extras, dict) else None
    if gap_fill:
        try:
            loaded = GapFilledModel(loaded, [str(c) for c in gap_fill["columns"]], pd.DataFrame(gap_fill["donors"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"Refusing to load '{folder}': the gap filling in manifest.json is malformed ({exc}). "
                              "The bundle was changed or damaged; use the original or retrain.") from exc
    return manifest, loaded


def _calibration_extras(model: Model, extras: dict[str, Any]) -> dict[str, Any]:
    """The manifest's extras with the model's calibrator in ``calibration`` (and none for a raw model)."""
    record = dict(extras.get("calibration") or {})
    record.pop("calibrator", None)
    if isinstance(model, CalibratedModel):
        record.update({"method": model.calibrator.method, "calibrator": model.calibrator.to_dict()})
    elif record:
        record["method"] = "none"
    if record:
        extras["calibration"] = record
    return extras


def _stored_calibrator(manifest: Manifest, folder: Path, n_classes: int) -> Calibrator | None:
    """The calibrator kept in the manifest, checked; None when the model's probabilities are used as they are."""
    record = manifest.extras.get("calibration") if isinstance(manifest.extras, dict) else None
    if record is None:
        return None
    try:
        return _read_calibrator(record, n_classes)
    except ValueError as exc:
        raise BundleError(f"Refusing to load '{folder}': the calibration in manifest.json is malformed ({exc}). "
                          "The bundle was changed or damaged; use the original or retrain.") from exc


def _read_calibrator(record: Any, n_classes: int) -> Calibrator | None:
    if not isinstance(record, dict):
        raise ValueError("'extras.calibration' is not an object")
    method = record.get("method", "none")
    if "calibrator" not in record:
        if method != "none":
            raise ValueError(f"it names method {method!r} but holds no calibrator")
        return None
    calibrator = Calibrator.from_dict(record["calibrator"], n_classes)
    if calibrator.method != method:
        raise ValueError(f"method {method!r} differs from its calibrator's {calibrator.method!r}")
    return calibrator


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Every listed file exists with its checksum; nothing else is there; no path escapes the folder."""
    root = folder.resolve()
    problems = []
    for rel, digest in manifest.files.items():
        path = (folder / rel).resolve()
        if rel.startswith(("/", "\\")) or ".." in Path(rel).parts or not path.is_relative_to(root):
            problems.append(f"'{rel}' points outside the bundle")
        elif not path.is_file():
            problems.append(f"'{rel}' is missing")
        elif sha256_file(path) != digest:
            problems.append(f"'{rel}' was modified after saving (checksum mismatch)")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    extra = sorted(present - set(manifest.files) - {"manifest.json"})
    if extra:
        problems.append(f"unlisted file(s) {', '.join(extra[:5])}")
    if problems:
        raise BundleError(f"Refusing to load '{folder}': " + "; ".join(problems)
                          + ". The bundle was changed or damaged; use the original or retrain.")
