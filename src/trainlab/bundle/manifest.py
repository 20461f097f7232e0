"""The bundle manifest: what the model is, what it expects, how it scored, and a checksum for every file."""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from trainlab.errors import BundleError

FORMAT = "trainlab-bundle"
FORMAT_VERSION = 1
INDENT_MAX_CHARS = 1_000_000
LIBRARIES = ("trainlab", "scikit-learn", "lightgbm", "xgboost-cpu", "catboost", "numpy", "pandas", "skops", "torch")


@dataclass
class Manifest:
    """Everything about a bundle except the model files themselves."""

    task: str
    target: str
    classes: list[Any]
    positive_class: Any
    schema: dict[str, Any]
    members: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    reference: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The manifest as JSON, indented unless it is too large to read (``INDENT_MAX_CHARS``): a wide table's
        reference profile and background rows (3,000 columns: 15 MB) are written by the C encoder, which does not
        indent, in 0.8 s instead of 3.2 s."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}  # plain data: no deep copy
        text = json.dumps(fields, default=_jsonable)
        return json.dumps(fields, indent=2, default=_jsonable) if len(text) <= INDENT_MAX_CHARS else text

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / "manifest.json"
        if not path.is_file():
            raise BundleError(f"'{folder}' is not a trainlab model bundle: it has no manifest.json. "
                              "Give the 'model' folder of a run, e.g. runs/<name>/model.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"The manifest of '{folder}' is not valid JSON ({exc}); the bundle is damaged.") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleError(f"'{folder}' holds a manifest.json that is not a trainlab bundle's.")
        if data.get("format_version") != FORMAT_VERSION:
            raise BundleError(f"Bundle format version {data.get('format_version')!r} of '{folder}' is not supported "
                              f"by this trainlab (reads version {FORMAT_VERSION}). Retrain or upgrade trainlab.")
        known = set(cls.__dataclass_fields__)
        try:
            manifest = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise BundleError(f"The manifest of '{folder}' lacks required fields ({exc}).") from exc
        files, members = manifest.files, manifest.members
        if not (isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
                and isinstance(members, list) and members and all(isinstance(m, dict) for m in members)
                and isinstance(manifest.schema, dict)):
            raise BundleError(f"The manifest of '{folder}' is malformed: 'files' must map paths to checksums, "
                              "'members' list the models and 'schema' describe the columns. The bundle is damaged.")
        return manifest


def library_versions() -> dict[str, str]:
    """Versions of trainlab and the libraries whose files a bundle may hold, plus Python's."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:  # reading package metadata takes ~10 ms; versions do not change in a process
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a manifest")
