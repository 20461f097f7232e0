"""A folder with one subfolder per class becomes a table: text files as a ``text`` column beside a ``label``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainlab.errors import DataError

TEXT_SUFFIXES = (".txt",)
ENCODINGS = ("utf-8-sig", "cp1252")
"""Tried in order, then latin-1, which decodes any bytes."""


def read_class_folder(folder: Path) -> pd.DataFrame:
    """Rows ``text`` and ``label`` (the subfolder's name) from ``folder/<class>/*.txt``."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows = [(read_text(f), c.name) for c in classes for f in sorted(c.rglob("*"))
            if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES]
    if not rows:
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:5]) or "nothing"
        raise DataError(f"Folder '{folder}' holds no class subfolders with .txt files (found: {found}). Give a data "
                        "file, or a folder with one subfolder per class, e.g. reviews/good/1.txt, reviews/bad/2.txt.")
    labels = {label for _, label in rows}
    if len(labels) < 2:
        raise DataError(f"Folder '{folder}' has .txt files in one class subfolder only ({labels.pop()!r}): a "
                        "classifier needs at least two. Add a subfolder of .txt files for each other class.")
    return pd.DataFrame(rows, columns=["text", "label"])


def read_text(path: Path) -> str:
    """A text file's content, decoded with the first encoding that fits."""
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
