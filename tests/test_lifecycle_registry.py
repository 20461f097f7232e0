"""The model registry: version numbers, the champion alias, promotion and rollback, resolving references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trainlab.errors import BundleError, ConfigError
from trainlab.lifecycle.registry import ModelVersion, Registry, registry_path, resolve_bundle


def fake_bundle(folder: Path, tag: str) -> Path:
    """A folder with a manifest.json: all the registry itself looks at."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": "trainlab-bundle", "tag": tag}))
    return folder


def add(reg: Registry, root: Path, name: str, tag: str, **kw: Any) -> ModelVersion:
    bundle = fake_bundle(root / f"{name}-{tag}", tag)
    version = ModelVersion(name=name, version=0, bundle=str(bundle), manifest_sha256="",
                           metrics={"ranking_metric": "roc_auc", "test": {"roc_auc": 0.8}}, **kw)
    return reg.register(version)


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "reg.db")


def test_versions_are_numbered_and_the_first_becomes_champion(reg: Registry, tmp_path: Path) -> None:
    first = add(reg, tmp_path, "credit", "a", data_path="/data/a.csv", data_fingerprint="f1")
    second = add(reg, tmp_path, "credit", "b", parent_version=1)
    other = add(reg, tmp_path, "churn", "a")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    assert first.aliases == ["champion"] and second.aliases == []
    assert reg.get("credit").version == 1
    stored = reg.get("credit", 1)
    assert stored.data_path == "/data/a.csv" and stored.data_fingerprint == "f1" and stored.created_by
    assert stored.metrics["test"]["roc_auc"] == 0.8
    assert reg.get("credit", "2").parent_version == 1
    assert reg.names() == ["churn", "credit"]


def test_promote_and_rollback_undo_promotions_in_order(reg: Registry, tmp_path: Path) -> None:
    for tag in "abc":
        add(reg, tmp_path, "m", tag)
    reg.promote("m", 2)
    reg.promote("m", 3)
    assert reg.get("m").version == 3
    assert reg.rollback("m").version == 2
    assert reg.rollback("m").version == 1
    with pytest.raises(ConfigError, match="no earlier champion to roll back to"):
        reg.rollback("m")
    assert reg.get("m").version == 1
    actions = [(h["action"], h["version"]) for h in reg.history("m")]
    assert actions == [("promote", 1), ("promote", 2), ("promote", 3), ("rollback", 2), ("rollback", 1)]


def test_resolve_name_alias_and_version_to_the_bundle(reg: Registry, tmp_path: Path) -> None:
    add(reg, tmp_path, "credit", "a")
    add(reg, tmp_path, "credit", "b")
    reg.set_alias("credit", "staging", 2)
    assert resolve_bundle("credit", reg.path).name == "credit-a"
    assert resolve_bundle("credit@champion", reg.path).name == "credit-a"
    assert resolve_bundle("credit@2", reg.path).name == "credit-b"
    assert resolve_bundle("credit@staging", reg.path).name == "credit-b"


@pytest.mark.parametrize(("ref", "message"), [
    ("credit@9", "has no version 9; versions: 1"),
    ("credit@champoin", "no alias 'champoin'. Did you mean 'champion'"),
    ("credt", "No model named 'credt'.*Did you mean 'credit'"),
    ("credit@", "not valid: use NAME, NAME@alias or NAME@VERSION"),
], ids=["version", "alias", "name", "empty"])
def test_unknown_references_say_what_exists(reg: Registry, tmp_path: Path, ref: str, message: str) -> None:
    add(reg, tmp_path, "credit", "a")
    with pytest.raises(ConfigError, match=message):
        resolve_bundle(ref, reg.path)


def test_a_bundle_changed_after_registering_is_refused(reg: Registry, tmp_path: Path) -> None:
    version = add(reg, tmp_path, "credit", "a")
    (Path(version.bundle) / "manifest.json").write_text("{}")
    with pytest.raises(BundleError, match="was replaced after it was registered"):
        resolve_bundle("credit", reg.path)
    (Path(version.bundle) / "manifest.json").unlink()
    with pytest.raises(BundleError, match="is gone"):
        resolve_bundle("credit", reg.path)


def test_registry_location_and_missing_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINLAB_REGISTRY", raising=False)
    assert registry_path() == Path("trainlab.db")
    monkeypatch.setenv("TRAINLAB_REGISTRY", str(tmp_path / "env.db"))
    assert registry_path() == tmp_path / "env.db"
    assert registry_path(tmp_path / "x.db") == tmp_path / "x.db"
    with pytest.raises(ConfigError, match=r"Model registry .*env\.db' not found\. Register a model first"):
        Registry().names()


def test_invalid_names_and_non_bundles_are_rejected(reg: Registry, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Model name 'a@b' is not valid"):
        add(reg, tmp_path, "a@b", "x")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BundleError, match="not a model bundle"):
        reg.register(ModelVersion(name="m", version=0, bundle=str(empty), manifest_sha256=""))
