"""The report of a model on pictures or sound: per-class precision and recall, the gallery of confident mistakes
(pictures inline, clips as sound), occlusion maps per class and heat maps of single files."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import skip_without_extra

if importlib.util.find_spec("PIL") is None or importlib.util.find_spec("soundfile") is None:
    skip_without_extra("Pillow and soundfile (the [media] extra) are not installed")

from test_media import draw, make_clips, make_photos


def evaluated(tmp_path: Path, folder: Path) -> tuple[str, dict]:
    """Train a linear model on ``folder``, evaluate it on every file (some labelled wrongly), render the report."""
    import trainlab
    from trainlab.data.load import load_table
    from trainlab.evaluate.analysis import evaluate_saved
    from trainlab.predict import Predictor
    from trainlab.report import write_report

    run = trainlab.train(folder, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False)
    predictor = Predictor.load(run.bundle_path)
    out = tmp_path / "evaluation"
    analysis = evaluate_saved(predictor.model, predictor.schema, load_table(folder), out, model_name="linear",
                              bundle=run.bundle_path, data=str(folder))
    return write_report(out).read_text(encoding="utf-8"), analysis


def test_a_picture_report_shows_the_mistakes_and_what_the_model_looks_at(tmp_path: Path) -> None:
    photos = make_photos(tmp_path / "photos", per_class=12)
    rng = np.random.default_rng(9)
    for i in range(3):  # circles filed as squares: confident mistakes for the gallery
        draw("circle", rng).save(photos / "square" / f"mislabelled{i}.png")
    html, analysis = evaluated(tmp_path, photos)
    media = analysis["test"]["media"]
    assert media["kind"] == "image" and media["gallery"]
    assert sorted(media["saliency"]["classes"]) == ["circle", "cross", "square"]
    assert np.asarray(media["saliency"]["classes"]["cross"]["heat"]).shape == (8, 8)
    assert len(media["examples"]) == 3
    per_class = analysis["test"]["confusion"]["per_class"]["square"]
    assert 0 <= per_class["precision"] <= 1 and 0 <= per_class["recall"] <= 1
    assert "<th class=\"num\">precision</th>" in html and "<th class=\"num\">recall</th>" in html
    shown = re.findall(r'<figure class="mistake">\s*<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', html)
    assert shown and all(name.endswith(".png") for name in shown)
    assert 'alt="mean occlusion map per class"' in html and 'alt="occlusion heat maps of test files"' in html
    assert "base64" not in json.dumps(media)  # plain data: the analysis holds numbers, the report draws them


def test_a_sound_report_embeds_the_spectrogram_and_the_clip(tmp_path: Path) -> None:
    import shutil

    clips = make_clips(tmp_path / "clips", per_class=10)
    for i, name in enumerate(sorted(p.name for p in (clips / "low").iterdir())[:2]):
        shutil.copy(clips / "low" / name, clips / "high" / f"mislabelled{i}{Path(name).suffix}")
    html, analysis = evaluated(tmp_path, clips)
    gallery = analysis["test"]["media"]["gallery"]
    assert gallery and "spectrogram" in gallery[0] and gallery[0]["wav_base64"]
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="[^"]+\.(wav|flac) \(spectrogram\)"', html)
    assert re.search(r'<audio controls preload="none" src="data:audio/wav;base64,UklGR', html)


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_occlusion_scores_decoded_arrays_in_memory(kind: str) -> None:
    from trainlab.evaluate.media import GRID, occlusion

    class Brightness:  # a "model" whose class 1 probability is the mean of the first pixel block
        def output(self, frame):
            raw = frame.filter(like="#").to_numpy(dtype=float)
            first = raw[:, :4].mean(axis=1) / (255.0 if kind == "image" else 1.0)
            return np.stack([1 - first, first], axis=1)

    params = ({"kind": "image", "channels": 1, "height": 16, "width": 16} if kind == "image" else
              {"kind": "audio", "sample_rate": 16000, "n_fft": 512, "hop": 160, "n_mels": 40, "frames": 16})
    batch = np.zeros((2, 1, 16 if kind == "image" else 40, 16), dtype=np.uint8 if kind == "image" else np.float32)
    batch[:, :, 0, :4] = 200 if kind == "image" else 0.8
    heat = occlusion(Brightness(), "path", params, batch, np.array([1, 1]))
    assert heat.shape == (2, GRID, GRID)
    assert heat[0, 0, 0] > 0 and np.allclose(heat[0, 1:, :], 0)
