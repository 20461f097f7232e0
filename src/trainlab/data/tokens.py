"""Counts of the n-grams of texts, remembered per text.

A search fits the text features of every trial on each fold's rows: tokenizing the same texts again each time
would cost most of a trial. ``ngram_counts`` therefore keeps, per process, the counts of every text it has
seen for each kind and length of n-gram, and gives any list of texts its rows from them. The memo only saves
time: counts are the same whether remembered or not. It forgets everything past ``MAX_REMEMBERED`` texts, so a
long-running server does not grow without bound.

The counts are those of scikit-learn's ``CountVectorizer`` (lower case; words by ``TOKEN_PATTERN``; characters
across spaces, runs of white space as one), terms sorted as it sorts them. ``_vector_counts`` makes them with
numpy: each n-gram becomes one integer (its n units' ranks as digits), so that finding the distinct terms is one
sort, not a Python loop over every n-gram (10,000 review snippets, character 2-5-grams: 3.6 s -> 0.5 s).
Where the digits would not fit 64 bits (a very large alphabet or vocabulary), ``CountVectorizer`` counts.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

TOKEN_PATTERN = r"(?u)\b\w+\b|[!?]"
"""Words of one letter or more, and the marks that carry tone ('!', '?')."""
MAX_REMEMBERED = 200_000
CHUNK_UNITS = 4_000_000
"""Characters or words counted at once (each takes a few 8-byte integers while counted)."""
_TOKENS = re.compile(TOKEN_PATTERN)
_SPACES = re.compile(r"\s\s+")  # as scikit-learn's character analyzer


@dataclass
class _Memo:
    """The counts of the texts seen so far for one kind and length of n-gram: rows by text, columns by term."""

    rows: dict[str, int] = field(default_factory=dict)
    terms: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    counts: sp.csr_matrix = field(default_factory=lambda: sp.csr_matrix((0, 0), dtype=np.float32))


_MEMOS: dict[tuple[str, int], _Memo] = {}
_LOCK = threading.Lock()


def ngram_counts(docs: list[str], kind: str, n: int) -> tuple[sp.csr_matrix, dict[str, int], list[str]]:
    """Rows of n-gram counts for ``docs`` ('word' or 'char' n-grams of length ``n``), the column of each term,
    and the term of each column. The columns are those of every text remembered (a superset of ``docs``' terms).
    """
    with _LOCK:
        memo = _MEMOS.setdefault((kind, n), _Memo())
        if len(memo.rows) + len(docs) > MAX_REMEMBERED:
            memo = _MEMOS[(kind, n)] = _Memo()
        new = list(dict.fromkeys(d for d in docs if d not in memo.rows))
        if new:
            _add(memo, new, kind, n)
        index = np.fromiter((memo.rows[d] for d in docs), dtype=np.int64, count=len(docs))
        return memo.counts[index], memo.terms, memo.names


def count_ngrams(docs: list[str], kind: str, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The counts of ``docs``' n-grams (rows by text, columns by term) and the terms, sorted."""
    units = _word_units(docs) if kind == "word" else _char_units(docs)
    if units is not None and len(units[1]) ** n < 2**63:
        return _vector_counts(*units, n, " " if kind == "word" else "")
    if kind == "word":
        counter = CountVectorizer(ngram_range=(n, n), token_pattern=TOKEN_PATTERN, dtype=np.float32)
    else:
        counter = CountVectorizer(analyzer="char", ngram_range=(n, n), dtype=np.float32)
    try:
        return counter.fit_transform(docs).tocsr(), counter.get_feature_names_out().astype(str)
    except ValueError:  # no term at all in these texts
        return sp.csr_matrix((len(docs), 0), dtype=np.float32), np.asarray([], dtype=str)


def _word_units(docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every text's words as ranks in the sorted vocabulary (one array for all texts), the vocabulary, and the
    number of words of each text."""
    words = [_TOKENS.findall(d.lower()) for d in docs]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(w, len(vocab)) for w in chain.from_iterable(words)), dtype=np.int64,
                      count=int(lengths.sum()))
    alphabet = np.asarray(list(vocab), dtype=str)
    order = np.argsort(alphabet, kind="stable")
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks[ids], alphabet[order], lengths


def _char_units(docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Every text's characters as ranks among the characters seen, those characters, and the length of each
    text; None where a character cannot be one array item (a NUL, lost from a term's name, or a lone surrogate)."""
    texts = [_SPACES.sub(" ", d.lower()) for d in docs]
    try:
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        return None
    codes, ranks = np.unique(points, return_inverse=True)
    if len(codes) and codes[0] == 0:
        return None
    return ranks.astype(np.int64), codes.view("<U1"), np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))


def _vector_counts(units: np.ndarray, alphabet: np.ndarray, lengths: np.ndarray, n: int,
                   sep: str) -> tuple[sp.csr_matrix, np.ndarray]:
    """Counts of the n-grams of texts given as ``units`` (ranks in ``alphabet``, ``lengths`` of them a text)."""
    base = max(len(alphabet), 1)
    whole = np.zeros(len(units), dtype=np.int64)
    for k in range(n):  # the n-gram starting at each unit, as one integer (past a text's end: left out below)
        whole[: len(units) - k] = whole[: len(units) - k] * base + units[k:]
    doc = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.flatnonzero(np.arange(len(units)) + n <= np.repeat(np.cumsum(lengths), lengths))
    found, column = np.unique(whole[starts], return_inverse=True)
    counts = sp.csr_matrix((np.ones(len(starts), dtype=np.float32), (doc[starts], column)),
                           shape=(len(lengths), len(found)))
    counts.sum_duplicates()
    return counts, _names(found, alphabet, base, n, sep)


def _names(found: np.ndarray, alphabet: np.ndarray, base: int, n: int, sep: str) -> np.ndarray:
    """The terms of n-gram integers: their n digits (most significant first) looked up and joined."""
    places = [(found // base**(n - 1 - k)) % base for k in range(n)]
    names = alphabet[places[0]] if len(found) else np.asarray([], dtype=str)
    for digits in places[1:]:
        names = np.strings.add(np.strings.add(names, sep), alphabet[digits])
    return names


def _add(memo: _Memo, docs: list[str], kind: str, n: int) -> None:
    parts, total, start = [], 0, 0
    for end, doc in enumerate(docs, start=1):  # chunks of at most CHUNK_UNITS characters
        total += len(doc)
        if total >= CHUNK_UNITS or end == len(docs):
            parts.append(_moved(memo, docs[start:end], kind, n))
            total, start = 0, end
    width = len(memo.terms)
    old = memo.counts
    for part in [old, *parts]:
        part.resize((part.shape[0], width))
    memo.counts = sp.vstack([old, *parts], format="csr", dtype=np.float32)
    for d in docs:
        memo.rows[d] = len(memo.rows)


def _moved(memo: _Memo, docs: list[str], kind: str, n: int) -> sp.csr_matrix:
    """The counts of ``docs``, their columns moved to the memo's (new terms added at its end)."""
    counts, found = count_ngrams(docs, kind, n)
    columns = np.empty(len(found), dtype=np.int64)
    for j, term in enumerate(found.tolist()):
        column = memo.terms.setdefault(term, len(memo.terms))
        if column == len(memo.names):
            memo.names.append(term)
        columns[j] = column
    moved = sp.csr_matrix((counts.data, columns[counts.indices], counts.indptr), shape=(len(docs), len(memo.terms)))
    moved.sort_indices()
    return moved
