"""The neural network's own text encoder (a bag of word and character n-gram embeddings, trained from scratch):
planted words learned, the text mixed with the other columns, the vocabulary saved as JSON, tokenization shared by
fit and predict; and the search's cost of text growing with its size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from test_text import BAD, FILLER, GOOD, reviews  # noqa: E402
from trainlab.data.prepare import make_features  # noqa: E402
from trainlab.data.schema import infer_schema  # noqa: E402
from trainlab.models import get_spec  # noqa: E402
from trainlab.models.fitted import fit_model  # noqa: E402
from trainlab.models.neural.textbag import TextInput  # noqa: E402
from trainlab.models.registry import TEXT_CHARS_UNIT, text_cost, with_text  # noqa: E402


def fitted(frame: pd.DataFrame, target: str, **params: object):
    schema = infer_schema(frame, target)
    features = make_features(frame, schema)
    y = np.array([schema.classes.index(v) for v in frame[target]])
    spec = with_text(get_spec("neural_net"))
    return fit_model(spec, {**spec.defaults, "device": "cpu", "epochs": 25, **params}, schema, features, y, None, 0), \
        features, y


def test_tokenization_is_plain_data_and_the_same_after_a_round_trip() -> None:
    texts = reviews(60)["review"].tolist()
    text = TextInput.fit("review#text", texts, buckets=1024, max_length=64, dim=8, cat_start=2, num_start=3)
    assert set(GOOD) | set(BAD) <= set(text.words)
    again = TextInput.from_dict(json.loads(json.dumps(text.to_dict())))
    ids, weights = text.encode(texts)
    ids2, weights2 = again.encode(texts)
    assert (ids == ids2).all() and np.allclose(weights, weights2)
    assert ids.shape == (60, text.length) and ids.max() < text.n_embeddings
    assert np.allclose(weights.sum(axis=1), 1.0)
    empty_ids, empty_weights = text.encode([""])
    assert (empty_ids == 0).all() and (empty_weights == 0).all()


def test_network_learns_planted_words_and_saves_its_vocabulary_as_json(tmp_path: Path) -> None:
    from trainlab.models.neural import family

    model, features, y = fitted(reviews(300), "verdict")
    assert model.preprocessor.get_feature_names_out().tolist() == ["length", "review#text"]
    proba = model.output(features)
    assert np.mean(proba.argmax(axis=1) == y) >= 0.95
    new = pd.DataFrame({"review": ["a superb and delightful story", "tedious, clumsy and lifeless"], "length": [0.0, 0.0]})
    assert model.output(new).argmax(axis=1).tolist() == [0, 1]  # fresh, rotten
    names = family.save(model.estimator, tmp_path)
    described = json.loads((tmp_path / family.ARCHITECTURE).read_text(encoding="utf-8"))
    assert set(GOOD) <= set(described["architecture"]["texts"][0]["words"])
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    loaded = family.load(tmp_path, "binary")
    prepared = model.preprocessor.transform(new)
    assert np.allclose(loaded.predict_proba(prepared), model.estimator.predict_proba(prepared), atol=1e-6)


def test_text_is_mixed_with_the_other_columns() -> None:
    """The verdict needs both: a planted word, and a number that flips it."""
    rng = np.random.default_rng(1)
    n = 400
    good = rng.integers(0, 2, n).astype(bool)
    flip = rng.integers(0, 2, n).astype(bool)
    texts = [" ".join([*rng.choice(FILLER, 6), str(rng.choice(GOOD if g else BAD)), *rng.choice(FILLER, 3)])
             for g in good]
    frame = pd.DataFrame({"review": texts, "flip": flip.astype(float) + rng.normal(0, 0.1, n),
                          "verdict": np.where(good ^ flip, "yes", "no")})
    model, features, y = fitted(frame, "verdict", epochs=60, lr=3e-3)
    assert np.mean(model.output(features).argmax(axis=1) == y) >= 0.9


def test_text_costs_more_as_it_grows() -> None:
    assert text_cost("sparse", 10_000) == 0
    assert text_cost("tree", 10_000) == 2
    assert text_cost("sparse", 5 * TEXT_CHARS_UNIT) == 1
    assert text_cost("neural", 50 * TEXT_CHARS_UNIT) == 1 + 2
    spec = with_text(get_spec("neural_net"), 10_000)
    assert "embed_dim" in spec.space and not any(k.startswith("text_") for k in spec.space)
    assert spec.cost == get_spec("neural_net").cost + 1
    linear = with_text(get_spec("linear"), 100 * TEXT_CHARS_UNIT)
    assert "text_words" in linear.space and linear.cost == get_spec("linear").cost + 2


@pytest.mark.slow
def test_a_run_of_the_network_on_text_predicts_and_explains_from_its_bundle(tmp_path: Path) -> None:
    import trainlab

    run = trainlab.train(reviews(300), target="verdict", models=("neural_net",), max_trials=1, time_limit=None, folds=2,
                         out_dir=tmp_path, seed=0, report=False)
    files = {p.name for p in run.bundle_path.rglob("*") if p.is_file()}
    assert "network.safetensors" in files and not any(n.endswith((".pkl", ".pickle")) for n in files)
    predictor = trainlab.Predictor.load(run.bundle_path)
    rows = pd.DataFrame({"review": ["a superb and delightful story", "tedious, clumsy and lifeless"], "length": [0.0, 0.0]})
    assert list(predictor.predict(rows)) == ["fresh", "rotten"]
    words = predictor.explain(rows, top=3)[0]["words"]["review"]
    assert words["method"].startswith("occlusion") and words["words"][0]["word"] in GOOD
