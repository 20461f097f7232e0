"""Serving a registered model by NAME[@alias], and the UI's list of registered models."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from serve_helpers import running, trained_bundle  # noqa: E402
from trainlab.errors import TrainlabError  # noqa: E402
from trainlab.lifecycle.registry import ModelVersion, Registry  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402
from trainlab.serve.model import resolve_model  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = trained_bundle(tmp_path_factory)
    path = tmp_path_factory.mktemp("registry") / "trainlab.db"
    Registry(path).register(ModelVersion(name="churn", version=0, bundle=str(bundle), manifest_sha256="",
                                         run_folder=str(bundle.parent), family="linear"))
    return path


def test_registered_name_and_alias_resolve_to_the_bundle(registry: Path, tmp_path_factory) -> None:
    bundle = trained_bundle(tmp_path_factory)
    assert resolve_model("churn@champion", registry) == (bundle, "churn")
    assert resolve_model("churn", registry) == (bundle, "churn")
    assert resolve_model(str(bundle), registry) == (bundle, None)
    with pytest.raises(TrainlabError, match="churn"):
        resolve_model("churn@staging", registry)


def test_server_publishes_the_registered_name(registry: Path, tmp_path_factory) -> None:
    bundle, name = resolve_model("churn@champion", registry)
    runs = bundle.parent.parent
    settings = ServeSettings(bundle=bundle, model_name=name, runs_dir=runs, registry=registry)
    with running(create_app(settings)) as base:
        assert httpx.get(f"{base}/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
        assert httpx.get(f"{base}/metadata").json()["name"] == "churn"
        home = httpx.get(f"{base}/").text
        assert 'id="registered"' in home and '<a href="/ui/runs/served">v1</a>' in home and "champion" in home
