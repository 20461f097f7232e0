"""The REST prediction API against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from serve_helpers import TARGET, free_port, make_table, running, trained_bundle  # noqa: E402
from trainlab.cli import main  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402

TRAINLAB = Path(sys.executable).parent / "trainlab"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bundle(tmp_path_factory)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return make_table(n=40, seed=7).drop(columns=TARGET)


@pytest.fixture(scope="module")
def url(bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = ServeSettings(bundle=bundle, runs_dir=tmp_path_factory.mktemp("ui-runs"), max_request_mb=1.0,
                             max_rows=5000)
    with running(create_app(settings)) as base:
        yield base


def records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """``trainlab ARGS`` in this process (the same entry point as the command); returns the exit code."""
    monkeypatch.setattr(sys, "argv", ["trainlab", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_predict_equals_trainlab_predict(url: str, bundle: Path, rows: pd.DataFrame, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert run_cli(monkeypatch, "predict", str(bundle), str(tmp_path / "rows.csv"), "-o", str(tmp_path / "cli.csv")) == 0
    cli = pd.read_csv(tmp_path / "cli.csv")

    answer = httpx.post(f"{url}/predict", json=records(rows), timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == cli["prediction"].tolist()
    for cls in ("leave", "stay"):
        served = np.array([p[cls] for p in body["probabilities"]])
        np.testing.assert_allclose(served, cli[f"proba_{cls}"].to_numpy(), rtol=1e-9, atol=1e-12)

    one = httpx.post(f"{url}/predict", json=records(rows)[0], timeout=30).json()
    assert one["predictions"] == [cli["prediction"][0]]


def test_file_upload_gives_the_same_predictions(url: str, rows: pd.DataFrame, tmp_path: Path) -> None:
    expected = httpx.post(f"{url}/predict", json=records(rows), timeout=30).json()["predictions"]
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    with (tmp_path / "rows.parquet").open("rb") as handle:
        parquet = httpx.post(f"{url}/predict/file", files={"file": ("rows.parquet", handle)}, timeout=30)
    assert parquet.status_code == 200, parquet.text
    assert parquet.json()["predictions"] == expected
    csv = httpx.post(f"{url}/predict/file?format=csv", timeout=30,
                     files={"file": ("rows.csv", rows.to_csv(index=False).encode())})
    assert csv.headers["content-type"].startswith("text/csv")
    assert pd.read_csv(io.StringIO(csv.text))["prediction"].tolist() == expected


def test_metadata_health_and_readiness(url: str) -> None:
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{url}/ready").json() == {"ready": True, "model": "served"}
    meta = httpx.get(f"{url}/metadata").json()
    assert meta["classes"] == ["leave", "stay"]
    assert [i["name"] for i in meta["inputs"]] == ["age", "income", "city", "member"]
    assert meta["task"] == "binary" and len(meta["version"]) == 12
    assert "roc_auc" in meta["metrics"]["test"]


GOOD = {"age": 40, "income": 55.5, "city": "north", "member": "yes"}
BAD_REQUESTS = [
    ("malformed-json", b'{"age": 40,', 400, "body", r"not valid JSON: .* line 1"),
    ("empty-body", b"", 400, "body", r"body is empty"),
    ("empty-batch", b"[]", 422, "body", r"batch is empty"),
    ("not-rows", b"42", 422, "body", r"JSON object \(one row\) or a list"),
    ("row-not-object", b'[{"age": 1}, 3]', 422, "[1]", r"Row 1 must be a JSON object"),
    ("missing-column", json.dumps({k: v for k, v in GOOD.items() if k != "income"}).encode(), 422, "income",
     r"lack 1 column.*income"),
    ("wrong-type", json.dumps({**GOOD, "age": "forty"}).encode(), 422, "age", r"'age' must be numeric.*'forty'"),
    ("nested-value", json.dumps({**GOOD, "city": {"name": "north"}}).encode(), 422, "city", r"'city' .* got an object"),
]


@pytest.mark.parametrize(("body", "status", "field", "match"), [b[1:] for b in BAD_REQUESTS],
                         ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_4xx_naming_the_field(url: str, body: bytes, status: int, field: str, match: str) -> None:
    answer = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert re.search(match, answer.json()["detail"])


def test_unseen_category_is_a_warning_not_an_error(url: str) -> None:
    answer = httpx.post(f"{url}/predict", json={**GOOD, "city": "atlantis"})
    assert answer.status_code == 200
    assert "'atlantis' not seen in training" in answer.json()["warnings"][0]


def test_oversize_payloads_are_refused(url: str) -> None:
    big = [GOOD] * 20_000  # about 1.2 MB, over the 1 MB limit of this server
    answer = httpx.post(f"{url}/predict", json=big, timeout=30)
    assert answer.status_code == 413
    assert "limit of 1 MB" in answer.json()["detail"]
    many = httpx.post(f"{url}/predict", json=[GOOD] * 5001, timeout=30)  # under 1 MB but over max_rows
    assert many.status_code == 413 and "at most 5000" in many.json()["detail"]


def test_chunked_oversize_body_is_refused(url: str) -> None:
    def chunks():
        for _ in range(30):
            yield b" " * 50_000

    answer = httpx.post(f"{url}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_upload_of_an_unreadable_file_is_a_4xx(url: str) -> None:
    exe = httpx.post(f"{url}/predict/file", files={"file": ("../../evil.exe", b"MZ\x00")})
    assert exe.status_code == 422 and "not a CSV or Parquet" in exe.json()["detail"]
    broken = httpx.post(f"{url}/predict/file", files={"file": ("rows.parquet", b"not parquet")})
    assert broken.status_code == 422
    assert "'rows.parquet' could not be read" in broken.json()["detail"]
    missing = httpx.post(f"{url}/predict/file", data={"other": "x"})
    assert missing.status_code in (400, 422) and missing.json()["field"] == "file"


def test_fifty_concurrent_clients_all_get_answers(url: str) -> None:
    expected = httpx.post(f"{url}/predict", json=GOOD).json()
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: client.post(f"{url}/predict", json=GOOD), range(100)))
    assert [a.status_code for a in answers] == [200] * 100
    assert all(a.json() == expected for a in answers)


@pytest.fixture(scope="module")
def token_url(bundle: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = ServeSettings(bundle=bundle, token="s3cret", runs_dir=tmp_path_factory.mktemp("token-runs"))
    with running(create_app(settings)) as base:
        yield base


@pytest.mark.parametrize("path", ["/health", "/ready", "/v2/health/live", "/v2/health/ready"])
def test_health_needs_no_token(token_url: str, path: str) -> None:
    assert httpx.get(token_url + path).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("post", "/predict"), ("get", "/metadata"), ("get", "/openapi.json"),
                                              ("get", "/v2/models/served"), ("post", "/v2/models/served/infer"),
                                              ("get", "/ui/runs/served"), ("post", "/ui/upload")])
def test_token_protects_everything_else(token_url: str, method: str, path: str) -> None:
    anonymous = httpx.request(method, token_url + path, json=GOOD)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = httpx.request(method, token_url + path, json=GOOD, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_token_lets_requests_in(token_url: str) -> None:
    answer = httpx.post(f"{token_url}/predict", json=GOOD, headers={"Authorization": "Bearer s3cret"})
    assert answer.status_code == 200 and answer.json()["predictions"][0] in ("leave", "stay")
    assert httpx.get(f"{token_url}/metadata", headers={"X-API-Key": "s3cret"}).status_code == 200
    v2 = httpx.get(f"{token_url}/v2/models/served")
    assert v2.status_code == 401 and "Bearer" in v2.json()["error"]


def test_browser_is_sent_to_login_and_the_cookie_works(token_url: str) -> None:
    page = httpx.get(f"{token_url}/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login"
    with httpx.Client(base_url=token_url) as client:
        wrong = client.post("/login", data={"token": "guess"})
        assert wrong.status_code == 401 and "not this server" in wrong.text
        client.post("/login", data={"token": "s3cret"})
        assert client.get("/", headers={"accept": "text/html"}).status_code == 200


@pytest.mark.slow
def test_trainlab_serve_command_with_token_from_environment(bundle: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TRAINLAB_TOKEN": "from-env"}
    process = subprocess.Popen([str(TRAINLAB), "serve", str(bundle), "--port", str(port), "--runs", str(tmp_path)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
            time.sleep(0.2)
        assert httpx.post(f"{base}/predict", json=GOOD).status_code == 401
        assert httpx.post(f"{base}/predict", json=GOOD, headers={"Authorization": "Bearer from-env"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_trainlab_serve_with_a_bad_bundle_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, "serve", str(tmp_path / "nowhere"), "--runs", str(tmp_path)) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert message.startswith("Error: Model bundle") and "not found" in message
    assert "Traceback" not in message


def test_metadata_with_undefined_metrics_is_still_json(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "nan-run" / "model"
    shutil.copytree(bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["metrics"]["test"]["roc_auc"] = float("nan")  # a metric undefined on a one-class test set
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with running(create_app(ServeSettings(bundle=copy, runs_dir=tmp_path))) as base:
        answer = httpx.get(f"{base}/metadata")
    assert answer.status_code == 200 and answer.json()["metrics"]["test"]["roc_auc"] is None


def test_explanations_on_request(url: str) -> None:
    plain = httpx.post(f"{url}/predict", json=[GOOD, GOOD]).json()
    assert "explanations" not in plain
    explained = httpx.post(f"{url}/predict", params={"explain": 2}, json=[GOOD, GOOD]).json()
    assert explained["predictions"] == plain["predictions"]
    assert len(explained["explanations"]) == 2
    first = explained["explanations"][0]["contributions"]
    assert len(first) == 2 and {c["feature"] for c in first} <= set(GOOD)
    too_many = httpx.post(f"{url}/predict", params={"explain": 99}, json=GOOD)
    assert too_many.status_code == 422 and too_many.json()["field"] == "explain"
