"""A ``.zip`` of pictures or clips (class subfolders, or files to predict) unpacked safely into a folder.

Only picture, sound and ``.txt`` files are written, each under the destination folder: entries with absolute
paths, drive letters or ``..`` parts, links, and archives that would unpack to more than ``MAX_UNPACKED`` bytes
or ``MAX_FILES`` files are refused with the reason. Hidden entries and the ``__MACOSX`` folder are left out.
A zip whose files all sit in one top folder (``photos.zip`` holding ``photos/cat/1.png``) unpacks to that folder.
"""

from __future__ import annotations

import hashlib
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from trainlab.data.media.files import kind_of_path
from trainlab.errors import DataError

MAX_UNPACKED = 8 * 2**30
MAX_FILES = 2_000_000
KEPT_SUFFIXES = (".txt",)
"""Besides pictures and sound: the text files of a class folder of documents."""


def _hidden(name: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(name).parts)


def _wanted(name: str) -> bool:
    return not _hidden(name) and (kind_of_path(name) is not None or PurePosixPath(name).suffix.lower() in KEPT_SUFFIXES)


def holds_media(path: Path) -> bool:
    """Whether ``path`` is a zip of picture or sound files (at least one, and more of them than of anything else)."""
    if path.suffix.lower() != ".zip" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir() and not _hidden(i.filename)]
    except (zipfile.BadZipFile, OSError):
        return False
    media = sum(kind_of_path(n) is not None for n in names)
    return media > 0 and media * 2 > len(names)


def content_key(path: Path) -> str:
    """The zip's name and the first 12 hex digits of a hash of its bytes: the same archive unpacks to one place."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"{path.stem}-{digest.hexdigest()[:12]}"


def default_place(path: Path) -> Path:
    """Where a zip is unpacked when the caller names no folder: a per-archive folder in the temporary directory."""
    return Path(tempfile.gettempdir()) / "trainlab-unzipped" / content_key(path)


def unpack_media(path: Path, into: Path) -> Path:
    """Write the zip's picture, sound and text files under ``into``; returns the folder to read (``into``, or the
    single top folder all files share). A folder already unpacked from this archive (``.complete``) is reused."""
    into = Path(into)
    done = into / ".complete"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"File '{path}' is not a readable zip archive ({exc}). Create the archive again.") from exc
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir() and _wanted(i.filename)]
        _refuse_unsafe(path, archive.infolist(), members)
        if not done.exists():
            root = into.resolve()
            for info in members:
                target = (root / PurePosixPath(info.filename)).resolve()
                if root not in target.parents:  # the checks above make this impossible; kept as the last guard
                    raise DataError(f"Zip archive '{path}': entry '{info.filename}' would land outside "
                                    f"'{root}'; nothing more is unpacked.")
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as source, target.open("wb") as sink:
                        while chunk := source.read(1 << 20):
                            sink.write(chunk)
                except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                    raise DataError(f"'{info.filename}' in '{path}' could not be unpacked: {exc}. "
                                    "Create the archive again.") from exc
            done.write_text(str(path.resolve()), encoding="utf-8")
    tops = {PurePosixPath(i.filename).parts[0] for i in members}
    if len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 for i in members):
        return into / tops.pop()
    return into


def _refuse_unsafe(path: Path, infos: list[zipfile.ZipInfo], members: list[zipfile.ZipInfo]) -> None:
    """DataError naming the first entry that could write outside the folder, and archives too large to unpack."""
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        mode = info.external_attr >> 16
        if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
            raise DataError(f"Zip archive '{path}' holds the entry '{name}', whose path leads outside the folder it "
                            "unpacks to; nothing was unpacked. Create the archive from the folder itself.")
        if stat.S_ISLNK(mode):
            raise DataError(f"Zip archive '{path}' holds a link ('{name}'); links are not unpacked, since they can "
                            "point anywhere. Put the files themselves in the archive.")
    if not members:
        held = ", ".join(i.filename for i in infos[:5]) or "nothing"
        raise DataError(f"Zip archive '{path}' holds no picture, sound or .txt files (it holds: {held}).")
    total = sum(i.file_size for i in members)
    if total > MAX_UNPACKED or len(members) > MAX_FILES:
        raise DataError(f"Zip archive '{path}' unpacks to {len(members)} files and {total / 2**30:.1f} GiB, more than "
                        f"trainlab unpacks ({MAX_FILES} files, {MAX_UNPACKED // 2**30} GiB). Unpack it yourself and "
                        "give the folder.")


def member_names(paths: list[str], into: Path) -> list[str]:
    """Unpacked files' paths shown as their names inside the archive (``new/cat1.png``); other paths unchanged."""
    root = Path(into).resolve()
    shown = []
    for path in paths:
        try:
            shown.append(Path(path).resolve().relative_to(root).as_posix())
        except ValueError:
            shown.append(path)
    return shown
