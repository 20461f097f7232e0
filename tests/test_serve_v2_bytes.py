"""BYTES inputs of the Open Inference Protocol through tritonclient's HTTP client: a text column, and a picture
column given as the file's content (base64 in JSON, raw with the binary extension)."""

from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
triton = pytest.importorskip("tritonclient.http")

from serve_helpers import running  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402
from trainlab.serve.v2_bytes import file_suffix  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_text import reviews  # noqa: E402


def predict(url: str, name: str, values: list, datatype: str, binary: bool) -> list[str]:
    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    tensor = triton.InferInput(name, [len(values)], datatype)
    tensor.set_data_from_numpy(np.asarray(values, dtype=object), binary_data=binary)
    result = client.infer("served", [tensor], outputs=[triton.InferRequestedOutput("predict", binary_data=False)])
    return [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predict")]


def test_text_column_as_bytes_json_and_binary(tmp_path: Path) -> None:
    import trainlab

    frame = reviews(200).drop(columns="length")
    run = trainlab.train(frame, target="verdict", models=("linear",), max_trials=1, time_limit=None,
                         out_dir=tmp_path, report=False, name="served")
    with running(create_app(ServeSettings(bundle=run.bundle_path, runs_dir=tmp_path / "ui"))) as base:
        meta = httpx.get(f"{base}/v2/models/served").json()
        assert meta["inputs"] == [{"name": "review", "datatype": "BYTES", "shape": [-1]}]
        texts = ["a superb and delightful story", "tedious, clumsy and lifeless – naïve"]
        assert predict(base, "review", texts, "BYTES", binary=False) == ["fresh", "rotten"]
        assert predict(base, "review", [t.encode() for t in texts], "BYTES", binary=True) == ["fresh", "rotten"]


@pytest.mark.skipif(importlib.util.find_spec("PIL") is None, reason="needs Pillow (the [media] extra)")
def test_picture_column_as_bytes_json_and_binary(tmp_path: Path) -> None:
    import trainlab
    from test_media import make_photos

    photos = make_photos(tmp_path / "photos", per_class=10)
    run = trainlab.train(photos, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False, name="served")
    files = [photos / kind / "0.png" for kind in ("circle", "square", "cross")]
    with running(create_app(ServeSettings(bundle=run.bundle_path, runs_dir=tmp_path / "ui"))) as base:
        column = httpx.get(f"{base}/v2/models/served").json()["inputs"][0]["name"]
        by_path = httpx.post(f"{base}/predict", json=[{column: str(f)} for f in files]).json()["predictions"]
        contents = [f.read_bytes() for f in files]
        as_json = [base64.b64encode(c).decode() for c in contents]
        assert predict(base, column, as_json, "BYTES", binary=False) == by_path
        assert predict(base, column, contents, "BYTES", binary=True) == by_path
        bad = httpx.post(f"{base}/v2/models/served/infer", json={"inputs": [
            {"name": column, "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(b"not a picture").decode()]}]})
        assert bad.status_code == 422 and "no picture" in bad.json()["error"]


@pytest.mark.skipif(importlib.util.find_spec("soundfile") is None, reason="needs soundfile (the [media] extra)")
def test_sound_column_as_bytes_binary(tmp_path: Path) -> None:
    import trainlab
    from test_media import make_clips

    clips = make_clips(tmp_path / "clips", per_class=6)
    run = trainlab.train(clips, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False, name="served")
    files = [clips / pitch / name for pitch in ("low", "high") for name in ("0.wav", "1.flac")]
    with running(create_app(ServeSettings(bundle=run.bundle_path, runs_dir=tmp_path / "ui"))) as base:
        column = httpx.get(f"{base}/v2/models/served").json()["inputs"][0]["name"]
        by_path = httpx.post(f"{base}/predict", json=[{column: str(f)} for f in files]).json()["predictions"]
        assert predict(base, column, [f.read_bytes() for f in files], "BYTES", binary=True) == by_path


def test_file_formats_are_told_by_their_first_bytes() -> None:
    assert file_suffix(b"\x89PNG\r\n") == ".png"
    assert file_suffix(b"RIFF\0\0\0\0WAVEfmt ") == ".wav"
    assert file_suffix(b"RIFF\0\0\0\0WEBPVP8 ") == ".webp"
    assert file_suffix(b"hello") is None
