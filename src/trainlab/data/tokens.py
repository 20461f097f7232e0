"""Counts of the n-grams of texts (scikit-learn's analyzers and counting), remembered per text.

A search fits the text features of every trial on each fold's rows: tokenizing the same texts again each time
would cost most of a trial. ``ngram_counts`` therefore keeps, per process, the counts of every text it has
seen for each kind and length of n-gram, and gives any list of texts its rows from them. The memo only saves
time: counts are the same whether remembered or not. It forgets everything past ``MAX_REMEMBERED`` texts, so a
long-running server does not grow without bound.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

TOKEN_PATTERN = r"(?u)\b\w+\b|[!?]"
"""Words of one letter or more, and the marks that carry tone ('!', '?')."""
MAX_REMEMBERED = 200_000


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


def _add(memo: _Memo, docs: list[str], kind: str, n: int) -> None:
    if kind == "word":
        counter = CountVectorizer(ngram_range=(n, n), token_pattern=TOKEN_PATTERN, dtype=np.float32)
    else:
        counter = CountVectorizer(analyzer="char", ngram_range=(n, n), dtype=np.float32)
    try:
        counts = counter.fit_transform(docs).tocsr()
        found = counter.get_feature_names_out()
    except ValueError:  # no term at all in these texts
        counts, found = sp.csr_matrix((len(docs), 0), dtype=np.float32), np.asarray([], dtype=object)
    columns = np.empty(len(found), dtype=np.int64)
    for j, term in enumerate(found):
        column = memo.terms.setdefault(str(term), len(memo.terms))
        if column == len(memo.names):
            memo.names.append(str(term))
        columns[j] = column
    width = len(memo.terms)
    moved = sp.csr_matrix((counts.data, columns[counts.indices], counts.indptr), shape=(len(docs), width))
    moved.sort_indices()
    old = memo.counts
    old.resize((old.shape[0], width))
    memo.counts = sp.vstack([old, moved], format="csr", dtype=np.float32)
    for d in docs:
        memo.rows[d] = len(memo.rows)
