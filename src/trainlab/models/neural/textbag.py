"""The text encoder of the neural network, trained from scratch: a bag of embeddings (fastText-style) over a text's
words, hashed word pairs and hashed character n-grams of each word.

``TextInput`` is plain data (the word vocabulary as a list of strings, the hashing and length settings) and does
the tokenization for both fitting and predicting, so the two can never differ. A text becomes up to ``length``
(token id, weight) pairs: the id is a vocabulary word's place (1..), or ``1 + len(words) + hash % buckets`` for
a word pair or a character n-gram (scikit-learn's signed 32-bit MurmurHash3, the same on every machine); 0 pads.
The weights are 1 + log(count), divided by their sum, so the bag is a weighted mean. The ids travel in the
integer tensor after the category indices and the weights in the numeric tensor, so the one training loop
feeds them like any other column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

from trainlab.data.text import TEXT_MARK
from trainlab.data.tokens import TOKEN_PATTERN

MIN_WORD_COUNT = 2
"""Texts a word must appear in to get its own vector (the others still reach the bag by their character n-grams)."""
MAX_WORDS = 50_000


@dataclass
class TextInput:
    """One text column of the network: its vocabulary and tokenization (plain data), where its token ids sit in
    the integer tensor (``cat_start``) and its weights in the numeric tensor (``num_start``), and the vector width."""

    column: str
    words: list[str] = field(default_factory=list)
    buckets: int = 32_768
    chars: list[int] = field(default_factory=lambda: [3, 5])
    pairs: bool = True
    length: int = 256
    dim: int = 64
    cat_start: int = 0
    num_start: int = 0

    @property
    def n_embeddings(self) -> int:
        return 1 + len(self.words) + self.buckets

    @classmethod
    def fit(cls, column: str, texts: list[str], *, buckets: int, max_length: int, dim: int, cat_start: int,
            num_start: int) -> TextInput:
        """The words seen in at least ``MIN_WORD_COUNT`` texts (the ``MAX_WORDS`` most frequent), and a token
        length that holds 95 % of these texts whole (at most ``max_length``)."""
        counter = CountVectorizer(token_pattern=TOKEN_PATTERN, min_df=min(MIN_WORD_COUNT, max(1, len(texts) // 2)),
                                  max_features=MAX_WORDS, dtype=np.float32)
        try:
            counter.fit(texts)
            words = [str(w) for w in counter.get_feature_names_out()]
        except ValueError:  # no word at all
            words = []
        made = cls(column=column, words=words, buckets=int(buckets), length=int(max_length), dim=int(dim),
                   cat_start=cat_start, num_start=num_start)
        lengths = np.diff(made.counts(texts).indptr)
        made.length = int(max(1, min(max_length, np.percentile(lengths, 95) if len(lengths) else 1)))
        return made

    def counts(self, texts: list[str]) -> sp.csr_matrix:
        """Counts of every token id in each text (columns: the embedding rows)."""
        blocks = [CountVectorizer(token_pattern=TOKEN_PATTERN, vocabulary=self.words or ["\0"], dtype=np.float32)
                  .transform(texts)]
        if self.pairs:
            blocks.append(self._hasher(token_pattern=TOKEN_PATTERN, ngram_range=(2, 2)).transform(texts))
        if self.chars:
            blocks.append(self._hasher(analyzer="char_wb", ngram_range=tuple(self.chars)).transform(texts))
        hashed = sum(blocks[1:], sp.csr_matrix((len(texts), self.buckets), dtype=np.float32))
        words = blocks[0][:, :len(self.words)]
        padding = sp.csr_matrix((len(texts), 1), dtype=np.float32)
        return sp.hstack([padding, words, hashed], format="csr", dtype=np.float32)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (int64, 0: padding) and weights (float32, summing to 1 on a text with tokens), ``length``
        columns each; a text with more distinct tokens keeps its ``length`` most frequent (ties: lowest id)."""
        counts = self.counts(texts)
        n = len(texts)
        ids = np.zeros((n, self.length), dtype=np.int64)
        weights = np.zeros((n, self.length), dtype=np.float32)
        for i in range(n):
            lo, hi = counts.indptr[i], counts.indptr[i + 1]
            cols, vals = counts.indices[lo:hi], counts.data[lo:hi]
            if hi - lo > self.length:
                keep = np.argsort(-vals, kind="stable")[:self.length]
                cols, vals = cols[keep], vals[keep]
            k = len(cols)
            ids[i, :k] = cols
            weights[i, :k] = 1.0 + np.log(vals)
        total = weights.sum(axis=1, keepdims=True)
        return ids, weights / np.where(total > 0, total, 1.0)

    def _hasher(self, **options: Any) -> HashingVectorizer:
        return HashingVectorizer(n_features=self.buckets, alternate_sign=False, norm=None, dtype=np.float32, **options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextInput:
        return cls(**d)


def text_columns(columns: list[str]) -> list[str]:
    """The raw text columns among a prepared frame's (``data.text.RawText`` marks them)."""
    return [c for c in columns if str(c).endswith(TEXT_MARK)]
