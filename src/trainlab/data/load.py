"""Read a table from CSV/TSV, Parquet, Excel, JSON / JSON lines (each also compressed or in a zip), from parts (a glob
pattern, or a folder of Parquet or CSV files), a folder of class subfolders (of pictures, clips or .txt files), or
take a pandas DataFrame."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from trainlab.data.archive import is_packed, unpack
from trainlab.data.compact import compact_frame
from trainlab.data.folders import read_class_folder
from trainlab.data.media.files import kind_of
from trainlab.data.media.folders import read_media_folder
from trainlab.data.media.unzip import default_place, holds_media, unpack_media
from trainlab.errors import DataError

FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "excel", ".xls": "excel", ".xlsm": "excel",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def load_table(source: str | Path | pd.DataFrame, member: str | None = None,
               unpack_into: Path | None = None) -> pd.DataFrame:
    """Read ``source`` into a DataFrame, raising DataError with the fix when it is not a usable table.

    ``member`` picks the table inside a zip archive that holds several. A zip of pictures or sound files is
    unpacked (``data.media.unzip``) into ``unpack_into`` (default: a folder per archive in the temporary
    directory) and read like that folder; ``frame.attrs["unpacked"]`` then says from where to where.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy(deep=False)  # copy-on-write (pandas 3): shares the data until a column changes
        where = "the DataFrame"
    elif (parts := table_parts(source)) is not None:
        where = f"'{source}'"
        frame = _read_parts(str(source), parts)
    else:
        path = Path(source)
        where = f"'{path}'"
        if path.is_dir():
            frame = _read_folder(path)
        elif member is None and holds_media(path):
            into = unpack_into or default_place(path)
            folder = unpack_media(path, into)
            frame = _read_folder(folder)
            frame.attrs["unpacked"] = {"archive": str(path), "folder": str(folder), "into": str(into)}
        else:
            frame = _with_paths_resolved(_read_file(path, member), path.parent)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(
            f"{where} has no data rows ({frame.shape[0]} rows, {frame.shape[1]} columns). "
            "Give a table with a header line and at least one row per example."
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


PART_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")
"""Files a folder of parts is made of (not .txt: a flat folder of .txt files is documents, not a table)."""


def table_parts(source: str | Path) -> list[Path] | None:
    """The files of one table written in parts: those a glob pattern matches (``'parts/*.parquet'``), or the Parquet
    or CSV files of a folder that holds no subfolders (a folder of class subfolders is labelled files). None when
    ``source`` is neither."""
    text = str(source)
    if any(c in text for c in "*?["):
        root = Path(text).anchor or "."
        pattern = str(Path(text).relative_to(root)) if Path(text).is_absolute() else text
        return sorted(p for p in Path(root).glob(pattern) if p.is_file())
    path = Path(source)
    if not path.is_dir() or any(p.is_dir() for p in path.iterdir()):
        return None
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in PART_SUFFIXES)
    return files or None


def _read_parts(source: str, parts: list[Path]) -> pd.DataFrame:
    """Parts of one table, read in order (by name) and stacked; every part must have the first one's columns."""
    if not parts:
        raise DataError(f"No file matches '{source}'. Check the pattern (quote it, so that the shell leaves it to "
                        "trainlab: 'parts/*.parquet').")
    frames: list[pd.DataFrame] = []
    for part in parts:
        frame = _read_file(part, None)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise DataError(f"Part '{part}' of '{source}' has the columns {list(frame.columns)[:8]}, the first "
                            f"part '{parts[0]}' {list(frames[0].columns)[:8]}: the parts of one table need the same "
                            "columns in the same order.")
        frames.append(frame)
    # parts' categories differ (the stack holds them as text): compacted again
    return compact_frame(pd.concat(frames, ignore_index=True)) if len(frames) > 1 else frames[0]


def _read_folder(folder: Path) -> pd.DataFrame:
    """A folder of class subfolders: of .txt files (a text column), else of pictures or sound files (paths)."""
    if any(p.suffix.lower() == ".txt" for p in folder.glob("*/*")):
        return read_class_folder(folder)
    return read_media_folder(folder)


def _with_paths_resolved(frame: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Columns of picture or sound paths, relative ones taken from the table's folder."""
    texts = [name for name, dtype in zip(frame.columns, frame.dtypes, strict=True)
             if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]  # kind_of's test
    for name in texts:
        if kind_of(frame[name]) is not None:
            frame[name] = frame[name].map(lambda v: v if pd.isna(v) else str(folder / str(v)))
    return frame


def _read_file(path: Path, member: str | None) -> pd.DataFrame:
    if not path.exists():
        hint = ""
        if path.parent.exists():
            near = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() in FORMATS)[:5]
            hint = f" Files here: {', '.join(near)}." if near else ""
        raise DataError(f"File '{path}' not found. Check the path.{hint}")
    if path.stat().st_size == 0:
        raise DataError(f"File '{path}' is empty (0 bytes). Export the table again.")
    raw, name = unpack(path, FORMATS, member) if is_packed(path) else (None, path.name)
    if raw is None and member is not None:
        raise DataError(f"Option --member names a table inside a .zip archive, but '{path}' is not one. "
                        "Leave out --member.")
    kind = FORMATS.get(Path(name).suffix.lower())
    if kind is None:
        raise DataError(
            f"File '{path}' has the extension '{path.suffix}', which trainlab does not read. "
            "Use .csv, .tsv, .parquet, .xlsx, .json or .jsonl, each also compressed (.csv.gz, .bz2, .xz, .zst) "
            "or in a .zip."
        )
    try:
        return _parse(kind, path, name, path.read_bytes() if raw is None and kind in ("csv", "json") else raw)
    except DataError:
        raise
    except Exception as exc:  # each reader raises its own types; all mean "cannot read this file"
        raise DataError(
            f"File '{path}' could not be read as {kind.upper()}: {_first_line(exc)}. "
            "It may be truncated or not a table; open it in a spreadsheet program to check, or export it again."
        ) from exc


def _parse(kind: str, path: Path, name: str, raw: bytes | None) -> pd.DataFrame:
    """Read the table ``name`` (the file ``path`` itself, or the bytes ``raw`` unpacked from it); CSV and Parquet
    tables, the long ones, in compact column types (``data.compact``)."""
    source: Path | io.BytesIO = path if raw is None else io.BytesIO(raw)
    if kind == "csv":
        return compact_frame(_read_csv(path, name, raw or b""))
    if kind == "parquet":
        return compact_frame(pd.read_parquet(source))
    if kind == "excel":
        return pd.read_excel(source)
    if kind == "jsonl":
        return _named(pd.read_json(source, lines=True), path)
    return _named(_read_json(raw or b""), path)


def _read_csv(path: Path, name: str, raw: bytes) -> pd.DataFrame:
    if b"\x00" in raw[:4096]:
        raise DataError(f"File '{path}' looks binary, not a text CSV. Is it a Parquet or Excel file renamed?")
    text = None
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    assert text is not None  # latin-1 decodes any byte string
    sample = text[:20000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = "\t" if Path(name).suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"File '{path}' has no columns: it is empty or blank lines only.") from exc
    except pd.errors.ParserError as exc:
        raise DataError(
            f"File '{path}' is not a consistent table: {_first_line(exc)}. "
            f"Each line needs the same number of '{delimiter}'-separated fields; the file may be truncated."
        ) from exc


def _read_json(raw: bytes) -> pd.DataFrame:
    try:
        return pd.read_json(io.BytesIO(raw))
    except ValueError:
        return pd.read_json(io.BytesIO(raw), lines=True)


def _named(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A JSON table has named columns; pandas turns bare values or lists into columns 0, 1, ..."""
    if isinstance(frame.columns, pd.RangeIndex):
        raise DataError(f"File '{path}' holds JSON values without column names, so it is not a table. "
                        'Write an array of objects ([{"age": 31, "income": 2500}, ...]) or one object per line.')
    return frame


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def fingerprint(frame: pd.DataFrame) -> str:
    """A sha256 of the table's columns and values: the same data gives the same fingerprint."""
    import hashlib

    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
