"""The Open Inference Protocol (KServe v2): tritonclient's HTTP client gets the same predictions as /predict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
triton = pytest.importorskip("tritonclient.http")

from serve_helpers import TARGET, make_table, running, trained_bundle  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):
    bundle = trained_bundle(tmp_path_factory)
    settings = ServeSettings(bundle=bundle, runs_dir=tmp_path_factory.mktemp("v2-runs"))
    with running(create_app(settings)) as base:
        yield base


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return make_table(n=25, seed=3).drop(columns=TARGET)


def triton_inputs(rows: pd.DataFrame) -> list:
    inputs = []
    for name in rows.columns:
        column = rows[name]
        array = column.to_numpy(dtype=np.float64) if column.dtype.kind == "f" else column.to_numpy(dtype=object)
        tensor = triton.InferInput(name, [len(rows)], "FP64" if column.dtype.kind == "f" else "BYTES")
        tensor.set_data_from_numpy(array, binary_data=False)
        inputs.append(tensor)
    return inputs


def test_triton_client_gets_the_same_predictions(url: str, rows: pd.DataFrame) -> None:
    expected = httpx.post(f"{url}/predict", json=json.loads(rows.to_json(orient="records"))).json()
    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("served")
    meta = client.get_model_metadata("served")
    assert [i["name"] for i in meta["inputs"]] == ["age", "income", "city", "member"]
    assert {o["name"] for o in meta["outputs"]} == {"predict", "proba"}

    outputs = [triton.InferRequestedOutput("predict", binary_data=False),
               triton.InferRequestedOutput("proba", binary_data=False)]
    result = client.infer("served", triton_inputs(rows), outputs=outputs, request_id="r1")
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == expected["predictions"]
    proba = result.as_numpy("proba")
    assert proba.shape == (len(rows), 2)
    np.testing.assert_allclose(proba[:, 0], [p["leave"] for p in expected["probabilities"]], rtol=1e-9)
    assert result.get_response()["id"] == "r1"


def test_triton_client_sees_errors_in_words(url: str, rows: pd.DataFrame) -> None:
    from tritonclient.utils import InferenceServerException

    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    with pytest.raises(InferenceServerException, match="Model 'other' is not served here"):
        client.infer("other", triton_inputs(rows))
    with pytest.raises(InferenceServerException, match=r"lack 1 column.*member"):
        client.infer("served", triton_inputs(rows.drop(columns="member")))


def tensor(name: str, data: list, shape: list | None = None, datatype: str = "FP64") -> dict:
    return {"name": name, "shape": shape if shape is not None else [len(data)], "datatype": datatype, "data": data}


FULL = [tensor("age", [30.0]), tensor("income", [40.0]), tensor("city", ["north"], datatype="BYTES"),
        tensor("member", ["no"], datatype="BYTES")]
BAD = [
    ("no-inputs", {"inputs": []}, 400, r"'inputs' must be a non-empty list"),
    ("bad-datatype", {"inputs": [tensor("age", [1.0], datatype="FLOAT"), *FULL[1:]]}, 400, r"datatype 'FLOAT'"),
    ("shape-mismatch", {"inputs": [tensor("age", [1.0, 2.0], shape=[3]), *FULL[1:]]}, 400, r"shape \[3\] but 2 values"),
    ("ragged", {"inputs": [tensor("age", [1.0, 2.0]), *FULL[1:]]}, 400, r"same number of rows"),
    ("missing-column", {"inputs": FULL[:3]}, 422, r"member"),
    ("wrong-type", {"inputs": [tensor("age", ["old"], datatype="BYTES"), *FULL[1:]]}, 422, r"'age' must be numeric"),
    ("unknown-output", {"inputs": FULL, "outputs": [{"name": "shap"}]}, 400, r"Unknown output 'shap'"),
]


@pytest.mark.parametrize(("body", "status", "match"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_v2_bad_requests_are_4xx_in_protocol_form(url: str, body: dict, status: int, match: str) -> None:
    answer = httpx.post(f"{url}/v2/models/served/infer", json=body)
    assert answer.status_code == status, answer.text
    assert re.search(match, answer.json()["error"])


def test_triton_client_binary_tensors_get_the_same_predictions(url: str, rows: pd.DataFrame) -> None:
    expected = httpx.post(f"{url}/predict", json=json.loads(rows.to_json(orient="records"))).json()
    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    inputs = []
    for name in rows.columns:
        numeric = rows[name].dtype.kind == "f"
        tensor = triton.InferInput(name, [len(rows)], "FP64" if numeric else "BYTES")
        tensor.set_data_from_numpy(rows[name].to_numpy(dtype=np.float64 if numeric else object), binary_data=True)
        inputs.append(tensor)
    result = client.infer("served", inputs, outputs=[triton.InferRequestedOutput("predict", binary_data=False)])
    labels = [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]
    assert labels == expected["predictions"]


def test_v2_binary_sizes_that_do_not_add_up_are_400(url: str) -> None:
    header = json.dumps({"inputs": [{"name": "age", "shape": [1], "datatype": "FP64",
                                     "parameters": {"binary_data_size": 16}}]}).encode()
    answer = httpx.post(f"{url}/v2/models/served/infer", content=header + b"\0" * 8,
                        headers={"Inference-Header-Content-Length": str(len(header))})
    assert answer.status_code == 400
    assert "binary_data_size 16" in answer.json()["error"]


def test_v2_server_and_model_readiness(url: str) -> None:
    assert httpx.get(f"{url}/v2").json()["name"] == "trainlab"
    assert httpx.get(f"{url}/v2/models/served/ready").json() == {"name": "served", "ready": True}
    assert httpx.get(f"{url}/v2/models/nope/ready").status_code == 404


def test_server_without_a_model_answers_404_in_words(tmp_path: Path) -> None:
    with running(create_app(ServeSettings(runs_dir=tmp_path))) as base:
        answer = httpx.post(f"{base}/predict", json={"age": 1})
        assert answer.status_code == 404 and "no model loaded" in answer.json()["detail"]
        assert httpx.get(f"{base}/ready").json() == {"ready": True, "model": None}
