"""Pictures and sound: class folders become tables, files are checked and decoded, classic families and the CNN
train on them, and the bundle predicts a folder of new files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import skip_without_extra
from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.prepare import build_preprocessor, make_features
from trainlab.errors import DataError

if importlib.util.find_spec("PIL") is None or importlib.util.find_spec("soundfile") is None:
    skip_without_extra("Pillow and soundfile (the [media] extra) are not installed")

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "cross")


def draw(kind: str, rng: np.random.Generator, size: int = 16, mode: str = "RGB") -> Image.Image:
    """A bright shape on a dark background, placed at random."""
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 60, 3)))
    pen = ImageDraw.Draw(image)
    x, y = (int(v) for v in rng.integers(size // 3, 2 * size // 3, 2))
    r = int(rng.integers(size // 6, size // 4 + 1))
    colour = tuple(int(v) for v in rng.integers(180, 256, 3))
    if kind == "circle":
        pen.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif kind == "square":
        pen.rectangle([x - r, y - r, x + r, y + r], fill=colour)
    else:
        pen.line([x - r, y, x + r, y], fill=colour, width=2)
        pen.line([x, y - r, x, y + r], fill=colour, width=2)
    return image.convert(mode)


def make_photos(root: Path, per_class: int = 16, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for kind in SHAPES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            draw(kind, rng).save(root / kind / f"{i}.png")
    return root


def make_clips(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """Tones of three pitches, with noise, at two sample rates and lengths."""
    import soundfile

    rng = np.random.default_rng(seed)
    for name, hz in (("low", 300.0), ("mid", 900.0), ("high", 2500.0)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            rate = (16_000, 22_050)[i % 2]
            t = np.arange(int(rate * rng.uniform(0.3, 0.6))) / rate
            wave = 0.4 * np.sin(2 * np.pi * hz * rng.uniform(0.95, 1.05) * t) + 0.02 * rng.normal(size=t.size)
            soundfile.write(root / name / f"{i}.{('wav', 'flac')[i % 2]}", wave.astype(np.float32), rate)
    return root


def test_a_class_folder_is_a_table_of_paths_and_labels(tmp_path: Path) -> None:
    photos = make_photos(tmp_path / "photos", per_class=3)
    frame = load_table(photos)
    assert list(frame.columns) == ["path", "label"]
    assert sorted(frame["label"].unique()) == sorted(SHAPES)
    assert frame["path"].iloc[0] == str(photos / "circle" / "0.png")


def test_files_without_class_folders_have_no_label(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "new").mkdir()
    draw("circle", rng).save(tmp_path / "new" / "a.png")
    assert list(load_table(tmp_path / "new").columns) == ["path"]


@pytest.mark.parametrize(("files", "message"), [
    ((), "holds no picture or sound files"),
    (("a/x.png", "b/y.wav"), "mixes pictures"),
], ids=["empty", "mixed-kinds"])
def test_unusable_folders_are_named(tmp_path: Path, files: tuple[str, ...], message: str) -> None:
    (tmp_path / "d").mkdir()
    for name in files:
        (tmp_path / "d" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "d" / name).write_bytes(b"x")
    with pytest.raises(DataError, match=message):
        load_table(tmp_path / "d")


def test_checks_skip_corrupt_files_and_say_what_varies(tmp_path: Path) -> None:
    photos = make_photos(tmp_path / "photos", per_class=6)
    (photos / "circle" / "broken.png").write_bytes(b"\x89PNG truncated")
    draw("square", np.random.default_rng(1), size=24, mode="L").save(photos / "square" / "big_grey.png")
    checked = check_data(load_table(photos), make_config("label"))
    codes = {f.code: f for f in checked.findings}
    assert "broken.png" in codes["unreadable_files"].message and "1 file(s)" in codes["unreadable_files"].message
    assert codes["unreadable_files"].items[0].startswith(str(photos / "circle" / "broken.png"))
    assert len(checked.frame) == 19
    notes = " ".join(f.message for f in checked.findings if f.code == "media_varies")
    assert "2 picture sizes" in notes and "mixed channels" in notes
    column = checked.schema.columns[0]
    assert (column.role, column.media) == ("image", {"kind": "image", "width": 16, "height": 16, "channels": 3})


def test_duplicate_files_are_flagged_and_few_files_warned(tmp_path: Path) -> None:
    photos = make_photos(tmp_path / "photos", per_class=6)
    (photos / "square" / "copy.png").write_bytes((photos / "circle" / "0.png").read_bytes())
    (photos / "tiny").mkdir()
    (photos / "tiny" / "0.png").write_bytes((photos / "cross" / "1.png").read_bytes())
    (photos / "tiny" / "1.png").write_bytes((photos / "cross" / "2.png").read_bytes())
    findings = {f.code: f.message for f in check_data(load_table(photos), make_config("label")).findings}
    assert "share their content" in findings["leakage"] and "3 of them under different labels" in findings["leakage"]
    assert "Class(es) tiny of 'label'" in findings["few_files"]


def test_features_give_the_network_pixels_and_the_others_a_recipe(tmp_path: Path) -> None:
    checked = check_data(load_table(make_photos(tmp_path / "photos", per_class=4)), make_config("label"))
    features = make_features(checked.frame, checked.schema)
    assert features.shape == (12, 3 * 16 * 16 + 14 * 14 + 16 * 9 + 48)
    scaled = build_preprocessor(checked.schema, "scaled").fit_transform(features)
    assert not any("#" in c for c in scaled.columns) and scaled.shape[1] == 14 * 14 + 16 * 9 + 48
    neural = build_preprocessor(checked.schema, "neural").fit_transform(features)
    assert sum("#image3x16x16#" in c for c in neural.columns) == 768
    assert neural.shape[1] == features.shape[1]  # a picture's recipe features stay beside its pixels


def test_sound_becomes_log_mel_frames_and_mfcc_statistics(tmp_path: Path) -> None:
    checked = check_data(load_table(make_clips(tmp_path / "clips", per_class=4)), make_config("label"))
    column = checked.schema.columns[0]
    assert column.role == "audio" and column.media["n_mels"] == 40
    notes = " ".join(f.message for f in checked.findings if f.code == "media_varies")
    assert "resampled to 16000 Hz" in notes
    features = make_features(checked.frame, checked.schema)
    frames = column.media["frames"]
    assert sum(c.startswith("path#audio1x40x") for c in features.columns) == 40 * frames
    assert "path_mfcc0_mean" in features.columns


def test_the_network_sees_the_spectrogram_and_other_columns_not_the_mfcc_statistics(tmp_path: Path) -> None:
    table = load_table(make_clips(tmp_path / "clips", per_class=4))
    table["gain"] = np.random.default_rng(0).normal(size=len(table))
    checked = check_data(table, make_config("label"))
    features = make_features(checked.frame, checked.schema)
    neural = build_preprocessor(checked.schema, "neural").fit_transform(features)
    assert "gain" in neural.columns and not any(c.startswith("path_") for c in neural.columns)
    assert sum(c.startswith("path#audio1x40x") for c in neural.columns) == len(neural.columns) - 1
    scaled = build_preprocessor(checked.schema, "scaled").fit_transform(features)
    assert "path_mfcc0_mean" in scaled.columns and "gain" in scaled.columns


def test_silent_clips_are_warned(tmp_path: Path) -> None:
    import soundfile

    clips = make_clips(tmp_path / "clips", per_class=4)
    soundfile.write(clips / "low" / "quiet.wav", np.zeros(8000, dtype=np.float32), 16_000)
    findings = {f.code: f.message for f in check_data(load_table(clips), make_config("label")).findings}
    assert "quiet.wav" in findings["silent_clips"]


def test_sound_trains_a_classic_model(tmp_path: Path) -> None:
    import trainlab

    run = trainlab.train(make_clips(tmp_path / "clips"), target="label", out_dir=tmp_path / "runs", models=("linear",),
                         max_trials=1, time_limit=None, report=False)
    assert run.split["validation"].startswith("one validation split")
    assert run.test_metrics["accuracy"] >= 0.85


@pytest.mark.slow
def test_pictures_train_the_cnn_and_the_bundle_predicts_a_folder(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import trainlab
    from trainlab.predict import Predictor

    photos = make_photos(tmp_path / "photos", per_class=24)
    run = trainlab.train(photos, target="label", out_dir=tmp_path / "runs", models=("linear", "neural_net"),
                         max_trials=2, time_limit=None, report=False)
    board = run.leaderboard.set_index("model")
    assert board.loc["neural_net", "status"] == "ok" and board.loc["linear", "status"] == "ok"
    files = {p.name for p in (run.bundle_path).rglob("*")}
    assert "network.safetensors" in files and not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in files)
    described = next(run.bundle_path.rglob("network.json"))
    media = json.loads(described.read_text())["architecture"]["media"]
    assert media[0]["shape"] == [3, 16, 16] and media[0]["kind"] == "image"

    new = tmp_path / "new"
    (new / "sub").mkdir(parents=True)
    rng = np.random.default_rng(5)
    draw("circle", rng).save(new / "a.png")
    draw("cross", rng).save(new / "sub" / "b.png")
    predictor = Predictor.load(run.bundle_path)
    table = predictor.predictions_table(load_table(new))
    assert list(table.columns) == ["path", "prediction", *(f"proba_{c}" for c in sorted(SHAPES))]
    assert table["path"].tolist() == [str(new / "a.png"), str(new / "sub" / "b.png")]
    assert np.allclose(table.filter(like="proba_").sum(axis=1), 1.0)


def test_cnn_reloads_to_the_same_outputs(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from trainlab.bundle import load_bundle, save_bundle
    from trainlab.models.fitted import fit_model
    from trainlab.models.registry import get_spec
    from trainlab.run import encode_target

    checked = check_data(load_table(make_photos(tmp_path / "photos", per_class=8)), make_config("label"))
    features = make_features(checked.frame, checked.schema)
    params = {**get_spec("neural_net").defaults, "epochs": 2, "channels": 8, "batch_size": 16, "flip": True}
    model = fit_model(get_spec("neural_net"), params, checked.schema, features, encode_target(checked.frame, checked.schema),
                      None, seed=0)
    save_bundle(model, checked.schema, tmp_path / "bundle")
    _, loaded = load_bundle(tmp_path / "bundle")
    assert np.allclose(loaded.output(features), model.output(features), atol=1e-5)
    # the network's preprocessing only passes columns through: applied as a selection, with the same values
    shuffled = features[features.columns[::-1]]
    assert model.prepare(shuffled).equals(model.preprocessor.transform(features))
    assert np.array_equal(model.output(shuffled), model.output(features))


def test_a_missing_file_at_predict_time_is_named(tmp_path: Path) -> None:
    checked = check_data(load_table(make_photos(tmp_path / "photos", per_class=4)), make_config("label"))
    rows = pd.DataFrame({"path": [str(tmp_path / "gone.png")]})
    with pytest.raises(DataError, match=r"1 file\(s\) cannot be read: .*gone.png"):
        make_features(rows, checked.schema)


def test_explain_draws_a_heat_map_of_a_picture(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import trainlab
    from trainlab.cli import app

    photos = make_photos(tmp_path / "photos", per_class=10)
    run = trainlab.train(photos, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False)
    heat = tmp_path / "heat.png"
    result = CliRunner().invoke(app, ["explain", str(run.bundle_path), str(photos / "cross" / "0.png"), "-o", str(heat)])
    assert result.exit_code == 0, result.output
    assert heat.read_bytes()[:4] == b"\x89PNG"
    assert sorted(line.split()[-1] for line in result.stdout.strip().splitlines()) == sorted(SHAPES)


def test_the_server_predicts_an_uploaded_picture(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    import httpx

    import trainlab
    from serve_helpers import running
    from trainlab.serve.app import ServeSettings, create_app

    photos = make_photos(tmp_path / "photos", per_class=10)
    run = trainlab.train(photos, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False)
    with running(create_app(ServeSettings(bundle=run.bundle_path, runs_dir=tmp_path / "ui"))) as base:
        picture = (photos / "square" / "0.png").read_bytes()
        answer = httpx.post(f"{base}/predict/file", files={"file": ("square.png", picture, "image/png")})
        assert answer.status_code == 200, answer.text
        assert "square" in answer.text
        wrong = httpx.post(f"{base}/predict/file", files={"file": ("rows.csv", b"a,b\n1,2\n", "text/csv")})
        assert wrong.status_code == 422 and "not an image file" in wrong.text
        broken = httpx.post(f"{base}/predict/file", files={"file": ("bad.png", b"\x89PNG no", "image/png")})
        assert broken.status_code == 422 and "bad.png" in broken.text
    from trainlab.data.media import cache
    assert not [key for key in cache._CACHE if "trainlab-upload-" in key[0]]  # uploads are not kept decoded
