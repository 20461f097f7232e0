"""Side features for recommenders (``--item-features items.csv``, ``--user-features users.csv``): a table with
one row per item (or user), its id in the training's item (user) column or in its first column, and other columns
that describe it. Users' features are encoded the same way (``read_user_features``).

Each column becomes tokens: numbers fall into five quantile bins ('year=q3'); text is split on spaces and
``| , ;`` into tokens ('class=Comedy'). A text column with about as many distinct tokens as items (titles,
descriptions) says little about likeness and is left out, said in a finding. Each column's tokens are weighted by
rarity (IDF), each column's block is scaled to unit length, then each item's whole row. Items listed there that no
one interacted with join the catalogue: a family that reads the features can recommend them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.preprocessing import normalize

from trainlab.data.checks import Finding
from trainlab.errors import DataError

SPLIT = re.compile(r"[\s|,;]+")
FREE_TEXT = 0.5
"""A text column with more distinct tokens than this share of the items is free text: left out."""
BINS = 5


@dataclass
class ItemFeatures:
    """Per item id (as text) its row of ``matrix``; the columns used and the findings."""

    ids: list[str]
    matrix: sparse.csr_matrix
    columns: list[str]
    findings: list[Finding]

    def aligned(self, items: list[str]) -> sparse.csr_matrix:
        """Rows in the order of ``items`` (zeros for an item without features)."""
        row_of = {item: r for r, item in enumerate(self.ids)}
        rows = np.array([row_of.get(i, -1) for i in items])
        picked = self.matrix[np.clip(rows, 0, None)]
        return sparse.csr_matrix(sparse.diags((rows >= 0).astype(np.float32)) @ picked)


def read_user_features(frame: pd.DataFrame, user_column: str | None) -> ItemFeatures:
    """Encode a user features table like an item features table (rows are users)."""
    return read_item_features(frame, user_column, kind="user")


def read_item_features(frame: pd.DataFrame, item_column: str | None, kind: str = "item") -> ItemFeatures:
    """Encode an item features table (see the module's description); ``kind`` names the rows in messages."""
    id_column = item_column if item_column in frame.columns else str(frame.columns[0])
    ids = frame[id_column].map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    frame = frame[ids.notna()].drop_duplicates(subset=[id_column], keep="last")
    ids = ids.loc[frame.index]
    blocks, used, findings = [], [], []
    for column in (c for c in frame.columns if c != id_column):
        tokens = _tokens(frame[column], str(column))
        if tokens is None:
            continue
        vocabulary = sorted({t for row in tokens for t in row})
        if len(vocabulary) > FREE_TEXT * len(frame):
            kinds = "genres" if kind == "item" else "segments"
            findings.append(Finding("info", "free_text_feature", f"{kind.title()} feature {column!r} has {len(vocabulary)} "
                                    f"distinct words for {len(frame)} {kind}s: free text, left out of the {kind} "
                                    f"similarities. Fix: give it as categories (e.g. {kinds}) if it describes kinds.",
                                    str(column)))
            continue
        index = {t: j for j, t in enumerate(vocabulary)}
        pairs = [(r, index[t]) for r, row in enumerate(tokens) for t in set(row)]
        block = sparse.csr_matrix((np.ones(len(pairs), np.float32), ([p[0] for p in pairs], [p[1] for p in pairs])),
                                  shape=(len(frame), len(vocabulary)))
        idf = np.log((1 + len(frame)) / (1 + np.asarray(block.sum(axis=0)).ravel())) + 1
        blocks.append(normalize(block @ sparse.diags(idf.astype(np.float32))))
        used.append(str(column))
    if not blocks:
        example = "genre, brand or year" if kind == "item" else "age, country or plan"
        raise DataError(f"The {kind} features table has no usable column besides the ids (numbers or categories): "
                        f"give columns such as {example}.")
    matrix = normalize(sparse.hstack(blocks).tocsr()).astype(np.float32)
    return ItemFeatures(ids=ids.tolist(), matrix=sparse.csr_matrix(matrix), columns=used, findings=findings)


def _tokens(values: pd.Series, name: str) -> list[list[str]] | None:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().mean() > 0.9 and values.notna().any():
        if numeric.nunique() < 2:
            return None
        bins = pd.qcut(numeric.rank(method="first"), BINS, labels=False)
        return [[f"{name}=q{int(b) + 1}"] if pd.notna(b) else [] for b in bins]
    text = values.fillna("").astype(str)
    return [[f"{name}={t}" for t in SPLIT.split(v) if t] for v in text]
