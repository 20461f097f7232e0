"""Free text as model inputs: TF-IDF of words and characters (scikit-learn), optionally reduced by TruncatedSVD.

``TextVectorizer`` keeps only plain data once fitted (the terms as a string array, their idf weights, the
SVD components), so a bundle stores the vocabulary as data; the scikit-learn vectorizers are rebuilt from it
when rows are transformed. Settings reach it as ``text_*`` parameters of a model family (see ``TEXT_SPACE``
in ``models/registry.py``), so the search tunes them like any other parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

MAX_TEXT_CHARS = 5000
"""Characters of a text that reach the models; the rest is cut (and the checks say how many texts were cut)."""
TOKEN_PATTERN = r"(?u)\b\w+\b|[!?]"
"""Words of one letter or more, and the marks that carry tone ('!', '?')."""
TEXT_DEFAULTS: dict[str, Any] = {"text_words": "1-2", "text_chars": "2-5", "text_vocab": 100_000, "text_svd": 128}
NGRAMS = ("off", "1-1", "1-2", "1-3", "1-4", "2-4", "2-5", "3-5", "3-6")


def ngram_range(spec: str) -> tuple[int, int] | None:
    """'1-2' -> (1, 2); 'off' -> None."""
    if spec == "off":
        return None
    low, high = (int(p) for p in spec.split("-"))
    return low, high


class TextVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF of one text column's words (``words``) and characters within words (``chars``), each block
    L2-normalized and at most ``vocab`` terms; with ``svd`` > 0, reduced to that many dense components.

    ``transform`` gives a sparse matrix (``svd`` = 0) or a DataFrame of the components.
    """

    def __init__(self, *, column: str = "text", words: str = "1-2", chars: str = "2-5", vocab: int = 100_000,
                 svd: int = 0, seed: int = 0) -> None:
        self.column = column
        self.words = words
        self.chars = chars
        self.vocab = vocab
        self.svd = svd
        self.seed = seed

    def fit(self, texts: Any, y: Any = None) -> TextVectorizer:
        docs = _docs(texts)
        self.word_terms_, self.word_idf_ = _fit_block(self._vectorizer("word"), docs)
        self.char_terms_, self.char_idf_ = _fit_block(self._vectorizer("char"), docs)
        self.n_features_in_ = 1
        self.components_ = np.zeros((0, 0))
        if self.svd:
            matrix = self._tfidf(docs)
            k = max(1, min(int(self.svd), matrix.shape[1] - 1, matrix.shape[0] - 1))
            if matrix.shape[1] > 1 and matrix.shape[0] > 1:
                reducer = TruncatedSVD(k, algorithm="randomized", n_iter=4, random_state=self.seed)
                self.components_ = reducer.fit(matrix).components_.astype(np.float32)
        return self

    def transform(self, texts: Any) -> Any:
        docs = _docs(texts)
        matrix = self._tfidf(docs)
        if not self.svd:
            return matrix
        index = texts.index if isinstance(texts, pd.Series | pd.DataFrame) else None
        dense = np.asarray(matrix @ self.components_.T, dtype=float) if self.components_.size else \
            np.zeros((len(docs), 0))
        return pd.DataFrame(dense, columns=self.get_feature_names_out(), index=index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if self.svd:
            return np.asarray([f"{self.column}_svd{i}" for i in range(self.components_.shape[0])], dtype=object)
        return np.asarray([f"{self.column}_w_{t}" for t in self.word_terms_]
                          + [f"{self.column}_c_{t}" for t in self.char_terms_], dtype=object)

    def set_output(self, *, transform: str | None = None) -> TextVectorizer:
        """Output is sparse or a DataFrame already; accepted so that a ColumnTransformer can configure it."""
        return self

    def terms(self) -> np.ndarray:
        """The term of every sparse column: word n-grams first, then character n-grams."""
        return np.concatenate([self.word_terms_, self.char_terms_]).astype(object)

    def n_word_terms(self) -> int:
        return len(self.word_terms_)

    def _vectorizer(self, kind: str, terms: np.ndarray | None = None) -> TfidfVectorizer | None:
        spec = ngram_range(self.words if kind == "word" else self.chars)
        if spec is None:
            return None
        vocabulary = None if terms is None else {str(t): i for i, t in enumerate(terms)}
        if kind == "word":
            return TfidfVectorizer(ngram_range=spec, max_features=int(self.vocab), sublinear_tf=True,
                                   token_pattern=TOKEN_PATTERN, dtype=np.float32, vocabulary=vocabulary)
        return TfidfVectorizer(analyzer="char_wb", ngram_range=spec, max_features=int(self.vocab), sublinear_tf=True,
                               dtype=np.float32, vocabulary=vocabulary)

    def _tfidf(self, docs: list[str]) -> sp.csr_matrix:
        blocks = []
        for kind, terms, idf in (("word", self.word_terms_, self.word_idf_), ("char", self.char_terms_, self.char_idf_)):
            vectorizer = self._vectorizer(kind, terms)
            if vectorizer is None or not len(terms):
                continue
            vectorizer.idf_ = idf
            blocks.append(vectorizer.transform(docs))
        if not blocks:
            return sp.csr_matrix((len(docs), 0), dtype=np.float32)
        return sp.hstack(blocks, format="csr", dtype=np.float32)


def _fit_block(vectorizer: TfidfVectorizer | None, docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The block's terms in column order and their idf weights (empty when no document has any term)."""
    if vectorizer is None:
        return np.asarray([], dtype=str), np.zeros(0)
    try:
        vectorizer.fit(docs)
    except ValueError:  # empty vocabulary: every text is empty or stop-words only
        return np.asarray([], dtype=str), np.zeros(0)
    terms = vectorizer.get_feature_names_out()
    return np.asarray(terms, dtype=str), np.asarray(vectorizer.idf_, dtype=float)


def _docs(texts: Any) -> list[str]:
    """The texts of the first column (or of the series), missing ones as empty strings."""
    if isinstance(texts, pd.DataFrame):
        texts = texts.iloc[:, 0]
    series = pd.Series(texts)
    return series.where(series.notna(), "").astype(str).tolist()


def clean_texts(values: pd.Series) -> pd.Series:
    """Texts as strings (missing: empty), each cut to ``MAX_TEXT_CHARS`` characters."""
    return values.where(values.notna(), "").astype(str).str.slice(0, MAX_TEXT_CHARS)
