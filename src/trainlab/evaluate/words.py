"""Which words of a text pushed a prediction, with signed weights in log-odds of the explained class.

For linear models on TF-IDF terms the weights are exact: a term's contribution is its value times its
coefficient; a word n-gram's is shared by the words it spans, a character n-gram's by the words its characters
overlap (characters outside every word go to '(other)'), so the weights of a row add up to the contribution
of its text (against an empty text). An ensemble of linear members sums its members' weights, weighted. For
any other model a word's weight is the change of the log-odds when every occurrence of it is left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from trainlab.data.text import TextVectorizer, ngram_range
from trainlab.data.tokens import TOKEN_PATTERN

OTHER = "(other)"
WHITE = re.compile(r"\s\s+")


def word_weights(model: Any, features: pd.DataFrame, column: str, explained: np.ndarray | None,
                 top: int = 10) -> list[list[dict[str, Any]]]:
    """Per row, the ``top`` words of ``column`` by absolute weight: {'word', 'weight'} (positive raises)."""
    exact = _linear_weights(model, features, column, explained)
    method_rows = exact if exact is not None else _occlusion(model, features, column, explained)
    out = []
    for weights in method_rows:
        ranked = sorted(weights.items(), key=lambda kv: -abs(kv[1]))[:top]
        out.append([{"word": w, "weight": float(v)} for w, v in ranked if v != 0])
    return out


def is_exact(model: Any, column: str) -> bool:
    """Whether the word weights of this model are exact (linear members on sparse text terms only)."""
    return all(_text_block(m, column) is not None for m in getattr(model, "members", [model]))


def _linear_weights(model: Any, features: pd.DataFrame, column: str,
                    explained: np.ndarray | None) -> list[dict[str, float]] | None:
    members = getattr(model, "members", None)
    pairs = list(zip(members, model.weights, strict=True)) if members is not None else [(model, 1.0)]
    rows: list[dict[str, float]] = [defaultdict(float) for _ in range(len(features))]
    for member, weight in pairs:
        block = _text_block(member, column)
        if block is None:
            return None
        vectorizer, columns = block
        prepared = sp.csr_matrix(member.preprocessor.transform(features))[:, columns]
        coef = np.atleast_2d(np.asarray(member.estimator.coef_, dtype=float))[:, columns]
        docs = features[column].astype(str).tolist()
        for i, doc in enumerate(docs):
            k = 0 if explained is None or coef.shape[0] == 1 else int(explained[i])
            sign = -1.0 if coef.shape[0] == 1 and explained is not None and int(explained[i]) == 0 else 1.0
            row = prepared.getrow(i)
            terms = {int(j): sign * weight * float(v) * coef[k, j] for j, v in zip(row.indices, row.data, strict=True)}
            for word, value in _spread(doc, vectorizer, terms).items():
                rows[i][word] += value
    return rows


def _text_block(member: Any, column: str) -> tuple[TextVectorizer, slice] | None:
    """The fitted vectorizer of ``column`` and its columns in the prepared matrix, when the member is linear on
    sparse terms; None otherwise."""
    preprocessor = getattr(member, "preprocessor", None)
    name = f"text:{column}"
    if preprocessor is None or name not in getattr(preprocessor, "named_transformers_", {}):
        return None
    vectorizer = preprocessor.named_transformers_[name]
    if not isinstance(vectorizer, TextVectorizer) or vectorizer.svd or not hasattr(member.estimator, "coef_"):
        return None
    return vectorizer, preprocessor.output_indices_[name]


def _spread(doc: str, vectorizer: TextVectorizer, terms: dict[int, float]) -> dict[str, float]:
    """Term contributions (by column of the block) shared out over the words of ``doc``."""
    text = WHITE.sub(" ", doc.lower())
    tokens = [(m.group(), m.start(), m.end()) for m in re.finditer(TOKEN_PATTERN, text)]
    owner = np.full(len(text) + 1, -1)
    for t, (_, start, end) in enumerate(tokens):
        owner[start:end] = t
    out: dict[str, float] = defaultdict(float)
    n_words = len(vectorizer.word_terms_)
    word_index = {str(t): j for j, t in enumerate(vectorizer.word_terms_)}
    char_index = {str(t): n_words + j for j, t in enumerate(vectorizer.char_terms_)}
    words = [w for w, _, _ in tokens]
    spans: dict[int, list[list[int]]] = defaultdict(list)
    word_range, char_range = ngram_range(vectorizer.words), ngram_range(vectorizer.chars)
    for n in range(word_range[0], word_range[1] + 1) if word_range else ():
        for p in range(len(words) - n + 1):
            j = word_index.get(" ".join(words[p:p + n]))
            if j is not None:
                spans[j].append(list(range(p, p + n)))
    for n in range(char_range[0], char_range[1] + 1) if char_range else ():
        for p in range(len(text) - n + 1):
            j = char_index.get(text[p:p + n])
            if j is not None:
                spans[j].append(sorted({int(o) for o in owner[p:p + n]}))
    for j, value in terms.items():
        places = spans.get(j) or [[-1]]
        for place in places:
            for t in place:
                out[words[t] if t >= 0 else OTHER] += value / len(places) / len(place)
    return out


def _occlusion(model: Any, features: pd.DataFrame, column: str, explained: np.ndarray | None) -> list[dict[str, float]]:
    """Each distinct word's weight: the explained log-odds (or predicted value) minus that without the word."""
    rows = []
    for i in range(len(features)):
        doc = str(features[column].iloc[i])
        words = list(dict.fromkeys(m.group() for m in re.finditer(TOKEN_PATTERN, doc.lower())))
        variants = features.iloc[[i] * (len(words) + 1)].copy()
        variants[column] = [doc] + [re.sub(rf"(?i)(?<!\w){re.escape(w)}(?!\w)", "", doc) for w in words]
        scores = _score(model.output(variants), None if explained is None else int(explained[i]))
        rows.append({w: float(scores[0] - scores[k + 1]) for k, w in enumerate(words)})
    return rows


def _score(output: np.ndarray, k: int | None) -> np.ndarray:
    if k is None:
        return np.asarray(output, dtype=float)
    p = np.clip(np.asarray(output)[:, k], 1e-9, 1 - 1e-9)
    return np.asarray(np.log(p / (1 - p)))


LENGTH_BINS = 5
TOP_TERMS = 15


def text_summary(model: Any, features: pd.DataFrame, wrong: np.ndarray, classes: list[Any],
                 column: str) -> dict[str, Any]:
    """For the report: the word terms that weigh most per class (linear members), and the share of wrong
    predictions by text length (words, in quantile bins)."""
    lengths = np.asarray([len(str(v).split()) for v in features[column]])
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, LENGTH_BINS + 1)))
    bins = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, max(len(edges) - 2, 0))
    by_length = [{"words": f"{int(edges[b])}-{int(edges[min(b + 1, len(edges) - 1)])}", "rows": int((bins == b).sum()),
                  "error": float(wrong[bins == b].mean())} for b in np.unique(bins)]
    return {"column": column, "by_length": by_length, "top_terms": _top_terms(model, column, classes)}


def _top_terms(model: Any, column: str, classes: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """Per class, the word terms with the largest coefficients towards it (the first linear member on terms)."""
    for member in getattr(model, "members", [model]):
        block = _text_block(member, column)
        if block is None:
            continue
        vectorizer, columns = block
        coef = np.atleast_2d(np.asarray(member.estimator.coef_, dtype=float))[:, columns][:, :len(vectorizer.word_terms_)]
        rows = [-coef[0], coef[0]] if coef.shape[0] == 1 else list(coef)
        return {str(c): [{"term": str(vectorizer.word_terms_[j]), "weight": float(r[j])}
                         for j in np.argsort(-r)[:TOP_TERMS]] for c, r in zip(classes, rows, strict=False)}
    return {}
