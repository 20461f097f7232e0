"""The checks of picture and sound columns: unreadable files (rows dropped), what varies between files and how
it is handled, silent clips, classes with too few files, and the same file content in several rows."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from trainlab.data.media.scan import scan
from trainlab.data.schema import Schema
from trainlab.errors import DataError, list_names

FEW_FILES = 5
SHOWN = 5
Found = dict[str, Any]


def check_media(frame: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, list[Found]]:
    """Scan every picture or sound column, store its decoding parameters in the schema, drop the rows whose file
    cannot be read; returns the rows kept and the findings (level, code, message, column, items)."""
    findings: list[Found] = []
    for col in schema.columns:
        if col.role not in ("image", "audio"):
            continue
        found = scan(frame[col.name], col.name, col.role)
        col.media = found.params
        kind = "pictures" if col.role == "image" else "clips"
        if found.unreadable:
            bad = frame[col.name].astype(str).isin(found.unreadable)
            frame = frame[~bad]
            names = list(found.unreadable)
            findings.append(_found("warning", "unreadable_files", f"Column '{col.name}': {len(names)} file(s) cannot be "
                                   f"read and their {int(bad.sum())} row(s) are skipped: {list_names(names, SHOWN)} "
                                   f"(first: {found.unreadable[names[0]]}). Every one is listed in run.json.",
                                   col.name, [f"{p}: {why}" for p, why in found.unreadable.items()]))
        if not found.hashes:
            raise DataError(f"Column '{col.name}': none of its {len(found.unreadable)} files can be read as {kind}. "
                            "Check that they are pictures (PNG, JPEG, ...) or clips (WAV, FLAC, OGG).")
        findings += [_found("info", "media_varies", f"Column '{col.name}': {note}", col.name) for note in found.notes]
        if found.silent:
            findings.append(_found("warning", "silent_clips", f"Column '{col.name}': {len(found.silent)} clip(s) are "
                                   f"silent or empty: {list_names(found.silent, SHOWN)}. They are kept; check them.",
                                   col.name, found.silent))
        findings += _duplicates(frame, col.name, found.hashes, schema.target)
    if any(col.role in ("image", "audio") for col in schema.columns):
        findings += _few_files(frame, schema)
    return frame, findings


def _duplicates(frame: pd.DataFrame, column: str, hashes: dict[str, str], target: str) -> list[Found]:
    """Rows whose files have the same content: split apart, they would put a test file into training."""
    content = frame[column].astype(str).map(hashes)
    repeated = content[content.duplicated(keep=False) & content.notna()]
    if repeated.empty:
        return []
    groups = frame.loc[repeated.index].groupby(content.loc[repeated.index])
    clashing = sum(g[target].nunique() > 1 for _, g in groups) if target in frame else 0
    paths = frame.loc[repeated.index, column].astype(str).tolist()
    return [_found("warning", "leakage", f"Column '{column}': {len(repeated)} files share their content with another "
                   f"({groups.ngroups} groups, {clashing} of them under different labels), e.g. "
                   f"{list_names(paths, 2)}. Copies on both sides of the split leak test files into training; remove "
                   "the copies.", column, paths)]


def _few_files(frame: pd.DataFrame, schema: Schema) -> list[Found]:
    if schema.task == "regression" or schema.target not in frame:
        return []
    counts = Counter(frame[schema.target].astype(str))
    few = sorted(c for c, n in counts.items() if n < FEW_FILES)
    if not few:
        return []
    return [_found("warning", "few_files", f"Class(es) {list_names(few)} of '{schema.target}' have fewer than "
                   f"{FEW_FILES} files ({', '.join(f'{c}: {counts[c]}' for c in few[:SHOWN])}): too few to learn or "
                   "test them reliably. Add files to those classes.", schema.target)]


def _found(level: str, code: str, message: str, column: str | None, items: list[str] | None = None) -> Found:
    return {"level": level, "code": code, "message": message, "column": column, "items": items or []}
