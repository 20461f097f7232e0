"""Compact column types: the smallest type that holds every value exactly.

Readers give 64-bit numbers; on a 3-million-row table that is most of the memory a run starts with. Whole numbers
become the smallest integer type that holds them (int8 to int32) and 64-bit floats whose values are all exact in
32 bits become float32 (``compact_frame``, on every CSV and Parquet table read); text with few distinct values
becomes a category, one small integer code a row (``compact_column``, on the categorical columns the checks keep).
Nothing changes value: a column is only narrowed when every value survives the round trip.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORY_SHARE = 0.5
"""Text columns with at most this share of distinct values (per row) become categories; keys and free text stay."""


def compact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its numbers in their most compact exact types; text is left as read (pandas' Arrow strings),
    so that what reads a table sees its values as they were written."""
    return pd.DataFrame({name: compact_column(frame[name]) if pd.api.types.is_numeric_dtype(frame[name])
                         else frame[name] for name in frame.columns}, index=frame.index)


def compact_column(s: pd.Series) -> pd.Series:
    """One column in the smallest type that holds each of its values exactly (the column itself when none does)."""
    if pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return s
    if pd.api.types.is_integer_dtype(s) and isinstance(s.dtype, np.dtype):
        return pd.to_numeric(s, downcast="integer")
    if s.dtype == np.float64:
        values = s.to_numpy()
        narrow = values.astype(np.float32)
        if np.array_equal(narrow.astype(np.float64), values, equal_nan=True):
            return pd.Series(narrow, index=s.index, name=s.name)
        return s
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if len(uniques) <= CATEGORY_SHARE * len(s) and all(isinstance(v, str) for v in uniques):
            return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object)),
                             index=s.index, name=s.name)
    return s
