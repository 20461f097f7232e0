"""Free text as model inputs: TF-IDF of words and characters (scikit-learn), optionally reduced by TruncatedSVD;
or the terms' presence (0 or 1), the input of the Naive-Bayes-scaled linear model (``models/nbsvm.py``).

``TextVectorizer`` keeps only plain data once fitted (the terms as a string array, their idf weights, the
SVD components), so a bundle stores the vocabulary as data; scikit-learn counts the n-grams (``tokens.py``)
and weighs them (``TfidfTransformer``). Settings reach it as ``text_*`` parameters of a model family (see ``TEXT_SPACE``
in ``models/registry.py``), so the search tunes them like any other parameter.
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer

from trainlab.data.tokens import ngram_counts

MAX_TEXT_CHARS = 5000
"""Characters of a text that reach the models; the rest is cut (and the checks say how many texts were cut)."""
TEXT_DEFAULTS: dict[str, Any] = {"text_words": "1-2", "text_chars": "2-5", "text_vocab": 100_000, "text_svd": 64,
                                 "text_weight": "tfidf"}
REDUCED_VOCAB = 20_000
"""Default terms per block where TruncatedSVD reduces them: on 8,000 review snippets, 64 components of 20,000
terms take 1.3 s, of 100,000 terms 8 s (128 components)."""
TEXT_MARK = "#text"
"""Suffix of a text column passed to the neural network as it is (``RawText``): the network tokenizes it itself."""
NGRAMS = ("off", "1-1", "1-2", "1-3", "1-4", "2-4", "2-5", "3-5", "3-6")


def ngram_range(spec: str) -> tuple[int, int] | None:
    """'1-2' -> (1, 2); 'off' -> None."""
    if spec == "off":
        return None
    low, high = (int(p) for p in spec.split("-"))
    return low, high


class TextVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF of one text column's words (``words``) and characters (``chars``, across spaces too), each block
    L2-normalized and at most ``vocab`` terms; with ``svd`` > 0, reduced to that many dense components.
    With ``weight`` = 'binary', each term is 1 where the text has it and 0 elsewhere (no idf, no normalization).

    ``transform`` gives a sparse matrix (``svd`` = 0) or a DataFrame of the components.
    """

    def __init__(self, *, column: str = "text", words: str = "1-2", chars: str = "2-5", vocab: int = 100_000,
                 svd: int = 0, weight: str = "tfidf", seed: int = 0) -> None:
        self.column = column
        self.words = words
        self.chars = chars
        self.vocab = vocab
        self.svd = svd
        self.weight = weight
        self.seed = seed

    def fit(self, texts: Any, y: Any = None) -> TextVectorizer:
        docs = _docs(texts)
        self._fit_blocks(docs)
        self.n_features_in_ = 1
        self.components_ = np.zeros((0, 0))
        if self.svd:
            matrix = self._weigh(docs)
            k = max(1, min(int(self.svd), matrix.shape[1] - 1, matrix.shape[0] - 1))
            if matrix.shape[1] > 1 and matrix.shape[0] > 1:
                reducer = TruncatedSVD(k, algorithm="randomized", n_iter=4, random_state=self.seed)
                self.components_ = reducer.fit(matrix).components_.astype(np.float32)
        return self

    def transform(self, texts: Any) -> Any:
        docs = _docs(texts)
        matrix = self._weigh(docs)
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

    @property
    def _cache(self) -> dict[str, Any]:
        """Column pickers for the remembered counts (``tokens.py``); rebuilt on need, never saved."""
        pickers: dict[str, Any] = self.__dict__.setdefault("_pickers", {})
        return pickers

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_pickers", None)
        return state

    def set_output(self, *, transform: str | None = None) -> TextVectorizer:
        """Output is sparse or a DataFrame already; accepted so that a ColumnTransformer can configure it."""
        return self

    def terms(self) -> np.ndarray:
        """The term of every sparse column: word n-grams first, then character n-grams."""
        return np.concatenate([self.word_terms_, self.char_terms_]).astype(object)

    def _ranges(self) -> list[tuple[str, tuple[int, int] | None]]:
        return [("word", ngram_range(self.words)), ("char", ngram_range(self.chars))]

    def _weigh(self, docs: list[str]) -> sp.csr_matrix:
        blocks = []
        for (kind, spec), terms, idf in zip(self._ranges(), (self.word_terms_, self.char_terms_),
                                            (self.word_idf_, self.char_idf_), strict=True):
            if spec is None or not len(terms):
                continue
            counts = _term_counts(docs, kind, terms, self._cache.setdefault(kind, {}))
            if self.weight == "binary":
                blocks.append((counts > 0).astype(np.float32))
                continue
            tfidf = TfidfTransformer(sublinear_tf=True)
            tfidf.idf_ = idf
            blocks.append(tfidf.transform(counts))
        if not blocks:
            return sp.csr_matrix((len(docs), 0), dtype=np.float32)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _fit_blocks(self, docs: list[str]) -> None:
        self.__dict__.pop("_pickers", None)
        found: list[tuple[np.ndarray, np.ndarray]] = []
        for kind, spec in self._ranges():
            found.append(_fit_block(docs, kind, spec, int(self.vocab)))
        (self.word_terms_, self.word_idf_), (self.char_terms_, self.char_idf_) = found


class RawText(TransformerMixin, BaseEstimator):
    """One text column as it is (cleaned, missing: empty), renamed ``<column>#text``: the input of the neural
    network's text encoder, which keeps its own vocabulary (``models/neural/textbag.py``)."""

    def __init__(self, *, column: str = "text") -> None:
        self.column = column

    def fit(self, texts: Any, y: Any = None) -> RawText:
        self.n_features_in_ = 1
        return self

    def transform(self, texts: Any) -> pd.DataFrame:
        index = texts.index if isinstance(texts, pd.Series | pd.DataFrame) else None
        return pd.DataFrame({f"{self.column}{TEXT_MARK}": _docs(texts)}, index=index, dtype=object)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{self.column}{TEXT_MARK}"], dtype=object)

    def set_output(self, *, transform: str | None = None) -> RawText:
        """Output is a DataFrame already; accepted so that a ColumnTransformer can configure it."""
        return self


def _sizes(terms: np.ndarray, kind: str) -> np.ndarray:
    """The n of each n-gram: its words (joined by single spaces), or its characters."""
    text = np.asarray(terms, dtype=str)
    return np.strings.count(text, " ") + 1 if kind == "word" else np.strings.str_len(text)


def _fit_block(docs: list[str], kind: str, spec: tuple[int, int] | None, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``vocab`` most frequent terms of one block (ordered by length, then by first appearance) and their idf."""
    if spec is None:
        return np.asarray([], dtype=str), np.zeros(0)
    counts: list[sp.csr_matrix] = []
    names: list[str] = []
    for n in range(spec[0], spec[1] + 1):
        matrix, _, terms = ngram_counts(docs, kind, n)
        present = np.flatnonzero(matrix.getnnz(axis=0))
        counts.append(matrix[:, present])
        names.extend(terms[j] for j in present)
    block = sp.hstack(counts, format="csc") if counts else sp.csc_matrix((len(docs), 0))
    if block.shape[1] > vocab:
        totals = np.asarray(block.sum(axis=0)).ravel()
        keep = np.sort(np.argsort(-totals, kind="stable")[:vocab])
        block, names = block[:, keep], [names[j] for j in keep]
    if not names:
        return np.asarray([], dtype=str), np.zeros(0)
    idf = TfidfTransformer(sublinear_tf=True).fit(block).idf_
    return np.asarray(names, dtype=str), np.asarray(idf, dtype=float)


def _term_counts(docs: list[str], kind: str, terms: np.ndarray, cache: dict[Any, Any]) -> sp.csr_matrix:
    """Counts of ``terms`` (ordered by length) in ``docs``; a term these texts lack counts zero.

    ``cache`` keeps, per n-gram length, the matrix that picks the terms' columns out of the remembered counts;
    it is made again when those counts gain columns (remembered columns never move, they are only added to).
    """
    if "sizes" not in cache:
        cache["sizes"] = _sizes(terms, kind)
    sizes = cache["sizes"]
    parts = []
    for n in np.unique(sizes):
        matrix, lookup, _ = ngram_counts(docs, kind, int(n))
        picker = cache.get(int(n))
        if picker is None or picker.shape[0] != matrix.shape[1]:
            cache[int(n)] = _picker(terms[sizes == n], lookup, matrix.shape[1])
        parts.append(matrix @ cache[int(n)])
    return sp.hstack(parts, format="csr", dtype=np.float32)


def _picker(wanted: np.ndarray, lookup: dict[str, int], width: int) -> sp.csr_matrix:
    """A 0/1 matrix from the first ``width`` remembered columns to the ``wanted`` terms."""
    columns = np.fromiter(map(lookup.get, wanted.tolist(), repeat(width)), dtype=np.int64, count=len(wanted))
    found = np.flatnonzero(columns < width)
    return sp.csr_matrix((np.ones(len(found), dtype=np.float32), (columns[found], found)),
                         shape=(width, len(wanted)))


def _docs(texts: Any) -> list[str]:
    """The texts of the first column (or of the series), missing ones as empty strings."""
    if isinstance(texts, pd.DataFrame):
        texts = texts.iloc[:, 0]
    series = pd.Series(texts)
    return series.where(series.notna(), "").astype(str).tolist()


def clean_texts(values: pd.Series) -> pd.Series:
    """Texts as strings (missing: empty), each cut to ``MAX_TEXT_CHARS`` characters."""
    return values.astype(object).where(values.notna(), "").astype(str).str.slice(0, MAX_TEXT_CHARS)
