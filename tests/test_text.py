"""Text as an input: detection, checks, TF-IDF features saved as data, the folder loader, and a run end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainlab.config import make_config
from trainlab.data import tokens
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.data.text import MAX_TEXT_CHARS, TextVectorizer
from trainlab.errors import DataError
from trainlab.models.persist import load_sklearn, save_sklearn

GOOD = ["superb", "moving", "delightful"]
BAD = ["tedious", "clumsy", "lifeless"]
FILLER = ["the", "film", "is", "a", "story", "about", "a", "family", "and", "the", "town", "where", "they", "live",
          "in", "winter"]


def reviews(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Short reviews whose verdict shows in one planted word each; filler words carry nothing."""
    rng = np.random.default_rng(seed)
    fresh = rng.integers(0, 2, n).astype(bool)
    texts = [" ".join([*rng.choice(FILLER, 7), str(rng.choice(GOOD if f else BAD)), *rng.choice(FILLER, 3)])
             for f in fresh]
    return pd.DataFrame({"review": texts, "length": rng.normal(size=n),
                         "verdict": np.where(fresh, "fresh", "rotten")})


def test_text_id_and_category_columns_get_their_roles() -> None:
    frame = reviews(60)
    frame["code"] = [f"A{i:05d}" for i in range(60)]
    frame["genre"] = np.resize(["romantic comedy of the year", "dark crime drama at night"], 60)
    roles = {c.name: c.role for c in infer_schema(frame, "verdict").columns}
    assert roles == {"review": "text", "length": "numeric", "code": "id", "genre": "categorical"}


def test_empty_and_long_texts_are_counted_and_long_ones_cut() -> None:
    frame = reviews(60)
    frame.loc[[1, 2], "review"] = ["", None]
    frame.loc[3, "review"] = "word " * (MAX_TEXT_CHARS // 2)
    checked = check_data(frame, make_config("verdict"))
    messages = {f.code: f.message for f in checked.findings}
    assert "Column 'review' has 2 empty text(s)" in messages["empty_text"]
    assert f"1 text(s) longer than {MAX_TEXT_CHARS} characters" in messages["long_text"]
    features = make_features(checked.frame, checked.schema)
    assert features["review"].str.len().max() == MAX_TEXT_CHARS
    assert features.loc[2, "review"] == ""


def test_vectorizer_is_plain_data_unique_and_independent_of_the_memo(tmp_path) -> None:
    docs = reviews(80)["review"]
    fitted = TextVectorizer(column="review", vocab=300).fit(docs[:60])
    names = fitted.get_feature_names_out()
    assert len(names) == len(set(names)) == len(fitted.word_terms_) + 300  # characters: the 300 most frequent
    expected = fitted.transform(docs).toarray()
    save_sklearn(fitted, tmp_path / "text.skops")
    tokens._MEMOS.clear()  # a fresh process: nothing remembered
    loaded = load_sklearn(tmp_path / "text.skops")
    assert "_pickers" not in loaded.__dict__
    assert np.allclose(loaded.transform(docs[::-1]).toarray()[::-1], expected, atol=1e-6)
    assert isinstance(loaded.word_terms_, np.ndarray) and loaded.word_terms_.dtype.kind == "U"


@pytest.mark.parametrize(("kind", "n"), [("word", 1), ("word", 2), ("word", 3), ("char", 1), ("char", 2),
                                         ("char", 5)])
def test_ngram_counts_are_scikit_learns_in_any_chunking(kind: str, n: int, monkeypatch) -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    docs = [*reviews(50)["review"], "", "a", "  Hello\t\tWorld!!  ", "naïve café ÉTÉ", "日本語のテキスト", "x\ny",
            "Ünïcödé ?? !", "a_b c1 2d", "two  spaces\n\nand lines"]
    if kind == "word":
        counter = CountVectorizer(ngram_range=(n, n), token_pattern=tokens.TOKEN_PATTERN)
    else:
        counter = CountVectorizer(analyzer="char", ngram_range=(n, n))
    expected = counter.fit_transform(docs).toarray()
    counts, terms = tokens.count_ngrams(docs, kind, n)
    assert list(terms) == list(counter.get_feature_names_out())
    assert np.array_equal(counts.toarray(), expected)
    monkeypatch.setattr(tokens, "CHUNK_UNITS", 200)  # many chunks: columns in another order, the same counts
    monkeypatch.setattr(tokens, "_MEMOS", {})
    matrix, lookup, _ = tokens.ngram_counts(docs, kind, n)
    columns = [lookup[t] for t in counter.get_feature_names_out()]
    assert np.array_equal(matrix[:, columns].toarray(), expected)


def test_ngram_counts_fall_back_to_scikit_learn_where_numbers_cannot_hold_them() -> None:
    docs = ["nul\x00inside", "lone \ud800 surrogate", "plain"]
    for kind in ("char", "word"):
        counts, terms = tokens.count_ngrams(docs, kind, 2)
        assert counts.shape == (3, len(terms)) and counts.sum() > 0
    assert "l\x00" in tokens.count_ngrams(docs, "char", 2)[1]
    assert tokens.count_ngrams(["", ""], "char", 3)[0].shape == (2, 0)


def test_binary_terms_are_presence_and_the_nbsvm_families_read_them() -> None:
    from trainlab.models import get_spec
    from trainlab.models.registry import with_text

    docs = reviews(80)["review"]
    tfidf = TextVectorizer(column="review", chars="off").fit(docs)
    binary = TextVectorizer(column="review", chars="off", weight="binary").fit(docs)
    assert list(binary.word_terms_) == list(tfidf.word_terms_)
    presence = binary.transform(docs)
    assert set(np.unique(presence.data)) == {1.0}
    assert np.array_equal(presence.toarray() > 0, tfidf.transform(docs).toarray() > 0)
    defaults = with_text(get_spec("nbsvm")).defaults
    assert (defaults["text_words"], defaults["text_chars"], defaults["text_weight"]) == ("1-3", "off", "binary")
    chars = with_text(get_spec("nbsvm_chars"))
    assert (chars.defaults["text_words"], chars.defaults["text_chars"], chars.defaults["text_weight"]) == \
        ("off", "2-5", "binary")
    assert "off" not in chars.space["text_chars"].choices
    assert with_text(get_spec("linear")).defaults.get("text_weight", "tfidf") == "tfidf"


def test_reduced_text_is_dense_named_columns() -> None:
    docs = reviews(80)["review"]
    frame = TextVectorizer(column="review", svd=8).fit(docs).transform(docs)
    assert list(frame.columns) == [f"review_svd{i}" for i in range(8)]
    assert np.isfinite(frame.to_numpy()).all()


def test_folder_of_class_subfolders_loads_as_text_and_label(tmp_path) -> None:
    for label, words in (("good", "a fine day"), ("bad", "a grim day")):
        (tmp_path / label).mkdir()
        for i in range(3):
            (tmp_path / label / f"{i}.txt").write_text(f"{words} {i}", encoding="utf-8")
    (tmp_path / "bad" / "odd.txt").write_bytes("caf\xe9 cr\xe8me".encode("cp1252"))
    (tmp_path / "good" / "notes.md").write_text("ignored", encoding="utf-8")
    table = load_table(tmp_path)
    assert list(table.columns) == ["text", "label"]
    assert table["label"].value_counts().to_dict() == {"bad": 4, "good": 3}
    assert "café crème" in set(table["text"])


def test_folder_with_one_class_says_so(tmp_path) -> None:
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "a.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(DataError, match=r"one class subfolder only \('only'\).*at least two"):
        load_table(tmp_path)


@pytest.mark.slow
def test_run_learns_planted_words_and_explains_them(tmp_path) -> None:
    import trainlab

    frame = reviews(300)
    run = trainlab.train(frame, target="verdict", max_trials=4, models=("linear", "nbsvm", "lightgbm"),
                         out_dir=tmp_path, seed=0, report=False)
    assert run.test_metrics["accuracy"] >= 0.95
    predictor = trainlab.Predictor.load(run.bundle_path)
    rows = pd.DataFrame({"review": ["a superb and delightful story", "tedious, clumsy and lifeless"],
                         "length": [0.0, 0.0]})
    assert list(predictor.predict(rows)) == ["fresh", "rotten"]
    families = {c.get("family") for c in predictor.manifest.members}
    assert families & {"linear", "nbsvm", "lightgbm"}
    explained = predictor.explain(rows, top=3)
    words = explained[0]["words"]["review"]["words"]
    assert words[0]["word"] in ("superb", "delightful")
    assert words[0]["weight"] * (1 if explained[0]["explained_class"] == "fresh" else -1) > 0


def test_word_weights_of_a_linear_model_are_exact_and_find_the_planted_words() -> None:
    from trainlab.evaluate.words import word_weights
    from trainlab.models import get_spec
    from trainlab.models.fitted import fit_model
    from trainlab.models.registry import with_text

    frame = reviews(200)
    schema = infer_schema(frame, "verdict")
    features = make_features(frame, schema)
    y = np.array([schema.classes.index(v) for v in frame["verdict"]])
    spec = with_text(get_spec("linear"))
    model = fit_model(spec, spec.defaults, schema, features, y, None, 0)
    explained = np.ones(3, dtype=int)  # log-odds of 'rotten', the second class
    found = word_weights(model, features.head(3), "review", explained, top=1000)
    block = model.preprocessor.output_indices_["text:review"]
    prepared = model.preprocessor.transform(features.head(3))[:, block]
    totals = np.asarray(prepared @ model.estimator.coef_[0, block]).ravel()
    for row, total, verdict in zip(found, totals, frame["verdict"].head(3), strict=True):
        assert sum(w["weight"] for w in row) == pytest.approx(total, abs=1e-6)
        assert row[0]["word"] in (BAD if verdict == "rotten" else GOOD)
        assert (row[0]["weight"] > 0) == (verdict == "rotten")


def test_nb_words_is_multinomial_naive_bayes_scaled_and_reads_only_terms() -> None:
    import scipy.sparse as sp
    from sklearn.naive_bayes import MultinomialNB

    from trainlab.models.nbsvm import NBScaled

    rng = np.random.default_rng(0)
    terms = sp.csr_matrix((rng.random((300, 40)) < 0.1).astype(float))
    y = (terms[:, :4].sum(axis=1).A1 + rng.normal(0, 0.5, 300) > 0.5).astype(int)
    log_proba = MultinomialNB().fit(terms, y).predict_log_proba(terms)
    scaled = NBScaled().fit(terms, y)
    assert np.corrcoef(log_proba[:, 1] - log_proba[:, 0], scaled.decision_function(terms))[0, 1] > 0.9999
    assert scaled.coef_[0, :4].min() > 0  # the planted terms push towards class 1, by a fitted scale
    with_numbers = sp.hstack([terms, sp.csr_matrix(rng.normal(size=(300, 2)))]).tocsr()
    assert np.all(NBScaled().fit(with_numbers, y).coef_[0, -2:] == 0)  # scaled numbers are not counts: left out
