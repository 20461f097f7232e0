"""The model bundle: a round trip gives the same predictions; anything tampered or foreign is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab
from trainlab.bundle import load_bundle, save_bundle
from trainlab.bundle.manifest import FORMAT_VERSION, sha256_file
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.errors import BundleError
from trainlab.models import get_spec
from trainlab.models.fitted import fit_model
from trainlab.search.ensemble import EnsembleModel


@pytest.fixture
def bundle(tmp_path: Path, binary_run) -> Path:
    """A private copy of the shared run's bundle, free to damage."""
    return Path(shutil.copytree(binary_run.bundle_path, tmp_path / "model"))


def _resign(folder: Path) -> None:
    """Recompute the manifest's checksums, as an attacker who can write the folder could."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = {rel: sha256_file(folder / rel) for rel in manifest["files"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edit_manifest(folder: Path, **changes) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_gives_the_same_predictions(binary_run, binary_frame: pd.DataFrame) -> None:
    loaded = trainlab.load(binary_run.bundle_path)
    rows = binary_frame.drop(columns="outcome")
    assert np.array_equal(loaded.predict(rows), binary_run.predict(rows))
    pd.testing.assert_frame_equal(loaded.predict_proba(rows), binary_run.predict_proba(rows))
    assert loaded.manifest.target == "outcome" and loaded.classes == ["bad", "good"]
    assert set(loaded.manifest.metrics) >= {"ranking_metric", "validation", "test"}


def test_round_trip_regression(regression_run, regression_frame: pd.DataFrame) -> None:
    rows = regression_frame.drop(columns="price")
    assert np.allclose(trainlab.load(regression_run.bundle_path).predict(rows), regression_run.predict(rows))


def test_manifest_lists_every_file_with_its_checksum(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    files = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    assert manifest["format"] == "trainlab-bundle" and manifest["format_version"] == FORMAT_VERSION
    assert {"trainlab", "scikit-learn", "python"} <= set(manifest["versions"])
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in files)


def test_ensemble_and_native_families_round_trip(tmp_path: Path, multiclass_frame: pd.DataFrame) -> None:
    schema = infer_schema(multiclass_frame, "label")
    features = make_features(multiclass_frame, schema)
    y = np.array([schema.classes.index(v) for v in multiclass_frame["label"]])
    members = [fit_model(get_spec(key), {**get_spec(key).defaults, **small}, schema, features, y, None, 0)
               for key, small in (("lightgbm", {"n_estimators": 20}), ("xgboost", {"n_estimators": 20}),
                                  ("catboost", {"iterations": 20}), ("knn", {}))]
    model = EnsembleModel(members, [0.4, 0.3, 0.2, 0.1])
    save_bundle(model, schema, tmp_path / "model")
    _, loaded = load_bundle(tmp_path / "model")
    assert isinstance(loaded, EnsembleModel) and loaded.weights == [0.4, 0.3, 0.2, 0.1]
    assert np.allclose(loaded.output(features), model.output(features))


def test_save_replaces_an_old_bundle_without_leftovers(tmp_path: Path, binary_run) -> None:
    target = tmp_path / "model"
    binary_run.save(target)
    binary_run.save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    trainlab.load(target)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: _flip_byte(b / "members" / "0" / "preprocessor.skops"),
         r"'members/0/preprocessor\.skops' was modified after saving \(checksum mismatch\)"),
        (lambda b: (b / "members" / "0" / "extra.skops").write_bytes(b"x"), r"unlisted file\(s\) members/0/extra\.skops"),
        (lambda b: (b / "members" / "0" / "preprocessor.skops").unlink(), r"'members/0/preprocessor\.skops' is missing"),
        (lambda b: _edit_manifest(b, files={"../secret.txt": "0" * 64}), r"'\.\./secret\.txt' points outside the bundle"),
        (lambda b: _edit_manifest(b, files={"/etc/passwd": "0" * 64}), r"'/etc/passwd' points outside the bundle"),
        (lambda b: _edit_manifest(b, format="someone-elses-model"), r"holds a manifest\.json that is not a trainlab"),
        (lambda b: _edit_manifest(b, format_version=99), r"Bundle format version 99 .* is not supported"),
        (lambda b: (b / "manifest.json").write_text("{not json"), r"The manifest of .* is not valid JSON"),
        (lambda b: (b / "manifest.json").unlink(), r"is not a trainlab model bundle: it has no manifest\.json"),
        (lambda b: _edit_manifest(b, members=[{"family": "evil", "params": {}, "weight": 1.0}]),
         r"model family 'evil' is unknown to this trainlab"),
        (lambda b: _edit_manifest(b, files=["members/0/preprocessor.skops"]), r"The manifest of .* is malformed"),
        (lambda b: _edit_manifest(b, members="linear"), r"The manifest of .* is malformed"),
        (lambda b: _edit_manifest(b, members=[]), r"The manifest of .* is malformed"),
    ],
    ids=["changed-byte", "extra-file", "missing-file", "path-escape", "absolute-path", "foreign-manifest",
         "wrong-format-version", "broken-manifest", "no-manifest", "unknown-family", "files-not-a-mapping",
         "members-not-a-list", "no-members"],
)
def test_tampered_bundles_are_refused(bundle: Path, damage, message: str) -> None:
    damage(bundle)
    with pytest.raises(BundleError, match=message):
        trainlab.load(bundle)


def test_symlink_escaping_the_bundle_is_refused(bundle: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.skops"
    shutil.copy(bundle / "members" / "0" / "preprocessor.skops", outside)
    (bundle / "members" / "0" / "preprocessor.skops").unlink()
    (bundle / "members" / "0" / "preprocessor.skops").symlink_to(outside)
    with pytest.raises(BundleError, match=r"points outside the bundle"):
        trainlab.load(bundle)


class Planted:
    """A type no trainlab bundle holds; loading it would run this module's code."""


def test_a_file_with_untrusted_types_is_refused_even_with_valid_checksums(bundle: Path) -> None:
    import skops.io as sio

    sio.dump(Planted(), bundle / "members" / "0" / "preprocessor.skops")
    _resign(bundle)
    with pytest.raises(BundleError, match=r"holds types trainlab does not load: .*Planted"):
        trainlab.load(bundle)


def test_a_pickle_in_disguise_is_refused(bundle: Path) -> None:
    import pickle

    (bundle / "members" / "0" / "preprocessor.skops").write_bytes(pickle.dumps({"a": 1}))
    _resign(bundle)
    with pytest.raises(BundleError, match=r"is not a readable skops file"):
        trainlab.load(bundle)


def test_missing_bundle_folder(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"Model bundle '.*nowhere' not found: give the 'model' folder of a run"):
        trainlab.load(tmp_path / "nowhere")


@pytest.mark.parametrize("manifest", [[1, 2], {"format": "trainlab-bundle", "format_version": FORMAT_VERSION}],
                         ids=["not-an-object", "fields-missing"])
def test_malformed_manifest(tmp_path: Path, manifest) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError):
        trainlab.load(tmp_path)


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
