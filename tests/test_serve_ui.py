"""The web UI's routes over real HTTP: uploads, background jobs with live events, runs, predictions, downloads."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from serve_helpers import TARGET, make_table, running  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402
from trainlab.serve.jobs import JobManager  # noqa: E402
from trainlab.serve.ui import suggest_target  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui") / "runs"


@pytest.fixture(scope="module")
def client(root: Path):
    with running(create_app(ServeSettings(runs_dir=root, max_request_mb=0.5))) as base, \
            httpx.Client(base_url=base, timeout=60, follow_redirects=True) as http:
        yield http


def upload(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post("/ui/upload", files={"file": (name, data)})


def table_csv() -> bytes:
    frame = make_table(n=150, seed=1)
    frame["constant"] = "same"
    return frame.to_csv(index=False).encode()


def events(client: httpx.Client, job_id: str) -> list[dict]:
    """Every state the job's event stream sends, until it says the job ended."""
    states = []
    with client.stream("GET", f"/ui/jobs/{job_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: ") and line != "data: {}":
                states.append(json.loads(line[6:]))
    return states


@pytest.mark.parametrize(("columns", "expected"), [(["a", "b", "Label"], "Label"), (["y", "x"], "y"),
                                                   (["a", "b"], "b"), (["target ", "c"], "target ")])
def test_suggested_target(columns: list[str], expected: str) -> None:
    assert suggest_target(columns) == expected


def test_upload_shows_preview_types_and_suggested_target(client: httpx.Client) -> None:
    answer = upload(client, "customers.csv", table_csv())
    assert answer.status_code == 200 and "/ui/datasets/" in str(answer.url)
    page = answer.text
    assert "customers.csv" in page and "150 rows, 6 columns" in page
    assert f'<option value="{TARGET}" selected>' in page
    for role in ("numeric", "categorical", "boolean", "constant", "target (binary)"):
        assert f'<span class="role">{role}</span>' in page
    assert "<option value=\"roc_auc\">" in page


def test_uploaded_file_names_are_never_paths(client: httpx.Client, root: Path) -> None:
    answer = upload(client, "../../escape.csv", table_csv())
    assert answer.status_code == 200
    assert not (root.parent / "escape.csv").exists() and not (root / "escape.csv").exists()
    stored = [p.name for p in (root / ".uploads").iterdir()]
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(csv|name)", name) for name in stored)


def test_compressed_and_zipped_uploads_are_read(client: httpx.Client, root: Path) -> None:
    import gzip
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("export/customers.csv", table_csv())
    for name, data in (("customers.csv.gz", gzip.compress(table_csv())), ("customers.zip", packed.getvalue())):
        answer = upload(client, name, data)
        assert answer.status_code == 200 and "150 rows, 6 columns" in answer.text
    stored = {p.name.split(".", 1)[1] for p in (root / ".uploads").iterdir()}
    assert {"csv.gz", "zip"} <= stored


@pytest.mark.parametrize(("name", "data", "status", "match"), [
    ("notes.exe", b"MZ", 422, r"&#39;notes.exe&#39; is not a CSV or Parquet file"),
    ("broken.parquet", b"garbage", 422, r"File &#39;broken.parquet&#39; could not be read as PARQUET"),
    ("empty.csv", b"", 422, r"is empty"),
    ("huge.csv", b"a,b\n" + b"1,2\n" * 200_000, 413, r"limit of 0.5 MB"),
], ids=["wrong-type", "unreadable", "empty", "too-large"])
def test_bad_uploads_are_explained_in_the_page(client: httpx.Client, name: str, data: bytes, status: int,
                                               match: str) -> None:
    answer = upload(client, name, data)
    assert answer.status_code == status
    assert re.search(match, answer.text)
    assert ".uploads" not in answer.text


def test_chunked_upload_over_the_limit_is_explained_in_the_page(client: httpx.Client) -> None:
    boundary = b"xyz"
    head = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'

    def chunks():
        yield head
        for _ in range(20):
            yield b"1,2\n" * 10_000

    answer = client.post("/ui/upload", content=chunks(),
                         headers={"content-type": f"multipart/form-data; boundary={boundary.decode()}"})
    assert answer.status_code == 413 and "limit of 0.5 MB" in answer.text and "<html" in answer.text


def test_metric_choices_follow_the_target(client: httpx.Client) -> None:
    dataset = str(upload(client, "t.csv", table_csv()).url).rsplit("/", 1)[1]
    options = client.get(f"/ui/datasets/{dataset}/metrics", params={"target": "income"}).text
    assert "automatic (rmse)" in options and "roc_auc" not in options


def test_a_failing_job_does_not_affect_the_next_and_both_survive_a_reload(client: httpx.Client, root: Path) -> None:
    dataset = str(upload(client, "customers.csv", table_csv()).url).rsplit("/", 1)[1]
    # a trial budget, and a time limit far beyond it: a busy machine slows the job but cannot fail it
    form = {"dataset": dataset, "metric": "", "time_limit": "120", "max_trials": "1", "models": ["linear"]}
    bad = client.post("/ui/jobs", data={**form, "target": "constant"})
    good = client.post("/ui/jobs", data={**form, "target": TARGET})
    assert bad.status_code == good.status_code == 200
    bad_id, good_id = (str(r.url).rsplit("/", 1)[1] for r in (bad, good))

    bad_states = events(client, bad_id)
    assert bad_states[-1]["status"] == "failed"
    assert re.search(r"one class|only one", bad_states[-1]["error"])
    good_states = events(client, good_id)
    assert [s["status"] for s in good_states][-1] == "done"
    assert any(s["trials"] for s in good_states) and good_states[-1]["best"]["name"].startswith(("linear", "ensemble"))

    reloaded = client.get(f"/ui/jobs/{bad_id}").text
    assert "Training failed:" in reloaded and "one class" in reloaded
    run = good_states[-1]["run"]
    assert f'href="/ui/runs/{run}"' in client.get(f"/ui/jobs/{good_id}").text
    records = JobManager(root).jobs  # a restarted server reads the same job records
    assert records[bad_id].status == "failed" and records[good_id].run == run

    page = client.get(f"/ui/runs/{run}").text
    assert 'id="leaderboard"' in page and "linear" in page and "/static/plotly.min.js" in page
    assert run in client.get("/").text
    assert 'id="model-card"' in page and "Intended use" in page and "95 % intervals" in page
    card = client.get(f"/ui/runs/{run}/model_card.md")
    assert card.headers["content-type"].startswith("text/markdown") and card.text.startswith("# Model card")

    prediction = client.post(f"/ui/runs/{run}/predict",
                             data={"age": "61", "income": "30", "city": "north", "member": "yes"}).text
    assert re.search(r'id="predicted">(leave|stay)<', prediction)
    assert 'id="why"' in prediction and "<td>age</td>" in prediction
    wrong = client.post(f"/ui/runs/{run}/predict", data={"age": "old", "income": "30", "city": "north"}).text
    assert "Cannot predict:" in wrong and "&#39;age&#39; must be numeric" in wrong

    archive = client.get(f"/ui/runs/{run}/bundle.zip")
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "model/manifest.json" in names and "model/model_card.md" in names


def test_bad_training_options_are_shown_in_the_form(client: httpx.Client) -> None:
    dataset = str(upload(client, "customers.csv", table_csv()).url).rsplit("/", 1)[1]
    form = {"dataset": dataset, "target": "outcom", "time_limit": "3", "models": ["linear"]}
    page = client.post("/ui/jobs", data=form)
    assert page.status_code == 422 and "Did you mean &#39;outcome&#39;?" in page.text
    page = client.post("/ui/jobs", data={**form, "target": TARGET, "time_limit": "-1"})
    assert "Time budget must be a number of seconds" in page.text
    page = client.post("/ui/jobs", data={**form, "target": TARGET, "models": []})
    assert "Pick at least one model family" in page.text
    page = client.post("/ui/jobs", data={**form, "target": TARGET, "metric": "rmse"})
    assert "does not apply to a binary task" in page.text


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_load_nothing_from_other_hosts(client: httpx.Client, path: str) -> None:
    page = client.get(path).text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "swagger-ui-bundle.js" in page or "htmx.min.js" in page


@pytest.mark.parametrize("path", ["/ui/runs/..%2F..%2Fetc", "/ui/runs/nothing", "/ui/jobs/20250101-000000-abcdef",
                                  "/ui/datasets/../../etc/passwd", "/ui/datasets/abc"])
def test_unknown_or_crafted_ids_are_a_plain_404(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "root:" not in answer.text
