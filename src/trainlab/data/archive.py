"""Compressed and archived tables: ``.gz``, ``.bz2``, ``.xz``, ``.zst`` around one file, or a ``.zip`` holding one.

``unpack`` turns such a file into the bytes of the table inside and that table's own name, so that the readers in
``load`` see an ordinary CSV, Parquet, Excel or JSON file.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath

from trainlab.errors import DataError

COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")
ARCHIVES = (".zip",)
MAX_UNPACKED = 8 * 2**30  # a table that inflates past 8 GiB is refused rather than filling the memory


def _zstd(raw: bytes) -> bytes:
    import pyarrow as pa

    stream = pa.CompressedInputStream(pa.BufferReader(raw), "zstd")
    return bytes(stream.read())


DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress, ".zst": _zstd,
}


def is_packed(path: Path) -> bool:
    """Whether ``path`` names a compressed file or an archive (by its extension)."""
    return path.suffix.lower() in COMPRESSIONS + ARCHIVES


def table_suffix(name: str, formats: Collection[str]) -> str | None:
    """The extension that says how to read ``name`` ('.csv', '.csv.gz', '.zip'), or None when none fits."""
    suffixes = [s.lower() for s in PurePosixPath(name).suffixes]
    if suffixes and suffixes[-1] in ARCHIVES:
        return suffixes[-1]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSIONS and suffixes[-2] in formats:
        return "".join(suffixes[-2:])
    if suffixes and suffixes[-1] in formats:
        return suffixes[-1]
    return None


def unpack(path: Path, formats: Collection[str], member: str | None = None) -> tuple[bytes, str]:
    """The bytes and the file name of the table inside the compressed file or archive ``path``."""
    kind = path.suffix.lower()
    if kind in ARCHIVES:
        return _from_zip(path, formats, member)
    if member is not None:
        raise DataError(f"Option --member names a file inside a .zip archive, but '{path}' is a {kind} file, "
                        "which holds one table. Leave out --member.")
    inner = path.name[: -len(path.suffix)]
    if Path(inner).suffix.lower() not in formats:
        raise DataError(f"File '{path}' is {kind}-compressed, but its name does not say what it holds: name it "
                        f"like 'data.csv{kind}' or 'data.parquet{kind}' so trainlab knows how to read the inside.")
    try:
        raw = DECOMPRESS[kind](path.read_bytes())
    except Exception as exc:  # gzip, bz2, lzma and pyarrow each raise their own types for damaged input
        raise DataError(f"File '{path}' could not be decompressed as {kind}: {exc}. It may be truncated or not "
                        f"{kind}-compressed; compress the table again.") from exc
    return raw, inner


def _from_zip(path: Path, formats: Collection[str], member: str | None) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"File '{path}' is not a readable zip archive ({exc}). Create the archive again.") from exc
    with archive:
        files = [i for i in archive.infolist() if not i.is_dir() and not _hidden(i.filename)]
        tables = [i for i in files if table_suffix(i.filename, formats) not in (None, *ARCHIVES)]
        names = [i.filename for i in tables]
        if member is not None:
            chosen = [i for i in tables if member in (i.filename, PurePosixPath(i.filename).name)]
            if len(chosen) != 1:
                found = "is not in it" if not chosen else "matches several of them"
                raise DataError(f"Option --member '{member}' {found}: '{path}' holds the tables "
                                f"{', '.join(names) or '(none)'}. Give one of these names.")
        elif len(tables) == 1:
            chosen = tables
        elif not tables:
            held = ", ".join(i.filename for i in files[:8]) or "nothing"
            raise DataError(f"Zip archive '{path}' holds no table trainlab reads (it holds: {held}). "
                            "Put one CSV, Parquet, Excel or JSON file in it.")
        else:
            raise DataError(f"Zip archive '{path}' holds {len(tables)} tables: {', '.join(names)}. "
                            f"Pick one with --member NAME (e.g. --member {names[0]}).")
        info = chosen[0]
        if info.file_size > MAX_UNPACKED:
            raise DataError(f"'{info.filename}' in '{path}' unpacks to {info.file_size / 2**30:.1f} GiB, more than "
                            f"the {MAX_UNPACKED // 2**30} GiB trainlab unpacks in memory. Extract it and give "
                            "the file itself (Parquet reads fastest).")
        try:
            raw = archive.read(info)
        except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError (method) or zlib.error
            raise DataError(f"'{info.filename}' in '{path}' could not be unpacked: {exc}. "
                            "Create the archive again.") from exc
    name = PurePosixPath(info.filename).name
    if Path(name).suffix.lower() in COMPRESSIONS:  # a compressed table inside the zip
        raw, name = DECOMPRESS[Path(name).suffix.lower()](raw), name[: -len(Path(name).suffix)]
    return raw, name


def _hidden(name: str) -> bool:
    """Entries a zip tool adds beside the user's files (macOS resource forks, dot files)."""
    parts = PurePosixPath(name).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)
