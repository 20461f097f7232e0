"""A folder of pictures or clips becomes a table: ``path`` (the file as found, so it opens from here) and
``label`` (its class subfolder). Files directly in the folder get no label: rows to predict."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from trainlab.data.media.files import kind_of_path
from trainlab.errors import DataError


def media_files(folder: Path) -> list[Path]:
    """Picture and sound files under ``folder``, subfolders included, in a stable order; hidden ones left out."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and kind_of_path(p) is not None
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_media_folder(folder: Path) -> pd.DataFrame:
    """The table of a folder of media files: one row per file; ``label`` from the first subfolder when every
    file sits in one, else no label. One kind of file (pictures or sound) per folder."""
    files = media_files(folder)
    if not files:
        found = ", ".join(sorted(p.name for p in folder.iterdir())[:5]) or "nothing"
        raise DataError(f"Folder '{folder}' holds no picture or sound files (found: {found}). Give a data file, or a "
                        "folder with one subfolder per class, e.g. photos/cat/1.png, photos/dog/2.jpg.")
    kinds = Counter(kind_of_path(p) for p in files)
    if len(kinds) > 1:
        raise DataError(f"Folder '{folder}' mixes pictures ({kinds['image']}) and sound files ({kinds['audio']}). "
                        "Keep one kind per folder, or give a table with one path column per kind.")
    relative = [p.relative_to(folder) for p in files]
    frame = pd.DataFrame({"path": [str(folder / r) for r in relative]})
    if all(len(r.parts) > 1 for r in relative):
        frame["label"] = [r.parts[0] for r in relative]
    return frame
