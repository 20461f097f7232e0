"""The model registry: named models with numbered versions, aliases such as 'champion', and lineage.

An embedded SQLite file (``./trainlab.db`` unless ``--registry PATH`` or ``TRAINLAB_REGISTRY`` says otherwise);
no server. Bundles stay where their run saved them and are never changed: a version points to its bundle and
records the sha256 of the bundle's manifest, which is checked whenever the version is resolved.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainlab.bundle.manifest import sha256_file
from trainlab.errors import BundleError, ConfigError, did_you_mean, list_names

if TYPE_CHECKING:
    from trainlab.predict import Predictor
    from trainlab.rec_run import RecommendRun
    from trainlab.run import Run

DEFAULT_PATH = Path("trainlab.db")
ENV_VAR = "TRAINLAB_REGISTRY"
CHAMPION = "champion"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL, version INTEGER NOT NULL, bundle TEXT NOT NULL, manifest_sha256 TEXT NOT NULL,
    run_folder TEXT, data_path TEXT, data_fingerprint TEXT, parent_version INTEGER, family TEXT,
    metrics TEXT NOT NULL, evaluation TEXT NOT NULL, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS aliases (
    name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (name, alias));
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
    action TEXT NOT NULL, at TEXT NOT NULL, by TEXT NOT NULL, note TEXT NOT NULL);
"""


@dataclass
class ModelVersion:
    """One registered version of a named model and where it came from."""

    name: str
    version: int
    bundle: str
    manifest_sha256: str
    run_folder: str | None = None
    data_path: str | None = None
    data_fingerprint: str | None = None
    parent_version: int | None = None
    family: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    created_by: str = ""
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def registry_path(path: str | Path | None = None) -> Path:
    """The registry file: ``path`` if given, else ``$TRAINLAB_REGISTRY``, else ./trainlab.db."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Registry:
    """Named models and their versions in one SQLite file; every change is one transaction."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = registry_path(path)

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.is_file():
            raise ConfigError(f"Model registry '{self.path}' not found. Register a model first "
                              f"(trainlab train DATA --target Y --register NAME), or point --registry or "
                              f"${ENV_VAR} to the registry file.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.executescript(SCHEMA_SQL)
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"Model registry '{self.path}' cannot be used: {exc}. Is it a trainlab registry?") from exc
        finally:
            conn.close()

    def register(self, version: ModelVersion, *, promote: bool | None = None, note: str = "") -> ModelVersion:
        """Add ``version`` as the next number of its name; it becomes champion if ``promote``, or when
        ``promote`` is None and the name has no champion yet. Returns it with its number set."""
        if not NAME_PATTERN.fullmatch(version.name):
            raise ConfigError(f"Model name {version.name!r} is not valid: use letters, digits, '.', '_' or '-', "
                              "starting with a letter or digit (e.g. credit-risk).")
        bundle = Path(version.bundle)
        if not (bundle / "manifest.json").is_file():
            raise BundleError(f"Cannot register '{bundle}': it is not a model bundle (no manifest.json).")
        version.manifest_sha256 = sha256_file(bundle / "manifest.json")
        version.created_at, version.created_by = now(), user()
        with self._connect(write=True) as conn:
            row = conn.execute("SELECT MAX(version) FROM versions WHERE name = ?", (version.name,)).fetchone()
            version.version = (row[0] or 0) + 1
            conn.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (version.name, version.version, version.bundle, version.manifest_sha256, version.run_folder,
                 version.data_path, version.data_fingerprint, version.parent_version, version.family,
                 json.dumps(version.metrics, default=str), json.dumps(version.evaluation, default=str),
                 version.created_at, version.created_by))
            has_champion = _alias(conn, version.name, CHAMPION) is not None
            if promote or (promote is None and not has_champion):
                _set_alias(conn, version.name, CHAMPION, version.version, "promote", note or "registered")
                version.aliases = [CHAMPION]
        return version

    def names(self) -> list[str]:
        with self._connect() as conn:
            return [r[0] for r in conn.execute("SELECT DISTINCT name FROM versions ORDER BY name")]

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first; ConfigError naming the known models when there is none."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,)).fetchall()
            aliases = conn.execute("SELECT alias, version FROM aliases WHERE name = ?", (name,)).fetchall()
            if not rows:
                known = [r[0] for r in conn.execute("SELECT DISTINCT name FROM versions ORDER BY name")]
                raise ConfigError(f"No model named '{name}' in the registry '{self.path}'.{did_you_mean(name, known)} "
                                  f"Registered: {list_names(known) or 'none yet'}.")
        by_version: dict[int, list[str]] = {}
        for alias, number in aliases:
            by_version.setdefault(number, []).append(alias)
        return [_version(row, sorted(by_version.get(row["version"], []))) for row in rows]

    def get(self, name: str, selector: str | int | None = None) -> ModelVersion:
        """A version by number, by alias, or the champion when ``selector`` is None."""
        versions = self.versions(name)
        selector = CHAMPION if selector is None else selector
        if isinstance(selector, int) or str(selector).isdigit():
            number = int(selector)
            found = [v for v in versions if v.version == number]
            if not found:
                raise ConfigError(f"Model '{name}' has no version {number}; versions: "
                                  f"{', '.join(str(v.version) for v in versions)}.")
            return found[0]
        found = [v for v in versions if selector in v.aliases]
        if not found:
            aliases = sorted({a for v in versions for a in v.aliases})
            raise ConfigError(f"Model '{name}' has no alias '{selector}'.{did_you_mean(str(selector), aliases)} "
                              f"Aliases: {', '.join(aliases) or 'none'}; or give a version number, e.g. {name}@1.")
        return found[0]

    def set_alias(self, name: str, alias: str, version: int, note: str = "") -> ModelVersion:
        """Point ``alias`` of ``name`` at ``version`` (recorded in the alias history)."""
        self.get(name, version)
        with self._connect(write=True) as conn:
            _set_alias(conn, name, alias, version, "promote", note)
        return self.get(name, version)

    def promote(self, name: str, version: int, note: str = "") -> ModelVersion:
        """Make ``version`` the champion of ``name``."""
        return self.set_alias(name, CHAMPION, version, note)

    def rollback(self, name: str, note: str = "") -> ModelVersion:
        """Undo the last promotion: the champion goes back to the version it replaced."""
        with self._connect(write=True) as conn:
            stack: list[int] = []
            rows = conn.execute("SELECT version, action FROM history WHERE name = ? AND alias = ? ORDER BY seq",
                                (name, CHAMPION)).fetchall()
            for number, action in rows:
                if action == "promote":
                    stack.append(number)
                elif stack:
                    stack.pop()
            if len(stack) < 2:
                raise ConfigError(f"Model '{name}' has no earlier champion to roll back to. "
                                  f"Choose a version with: trainlab models promote {name} VERSION.")
            _set_alias(conn, name, CHAMPION, stack[-2], "rollback", note)
        return self.get(name, stack[-2])

    def history(self, name: str) -> list[dict[str, Any]]:
        """Every alias change of ``name``, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT alias, version, action, at, by, note FROM history WHERE name = ? "
                                "ORDER BY seq", (name,)).fetchall()
        return [dict(r) for r in rows]

    def bundle_path(self, name: str, selector: str | int | None = None) -> Path:
        """The bundle of a version, after checking it is still the bundle that was registered."""
        return verified_bundle(self.get(name, selector))


def register_run(run: Run | RecommendRun, name: str, registry: str | Path | None = None, *,
                 data_path: str | Path | None = None, parent_version: int | None = None,
                 evaluation: dict[str, Any] | None = None,
                 promote: bool | None = None, note: str = "") -> ModelVersion:
    """Register the best model of ``run`` as the next version of ``name``, with its lineage.

    ``data_path`` overrides the training table recorded in run.json (a retrain saves the rows it trained on).
    The first version of a name becomes its champion; later ones only with ``promote=True``.
    """
    record = json.loads((run.folder / "run.json").read_text(encoding="utf-8"))
    data = str(data_path) if data_path is not None else record.get("data")
    if data_path is None and data not in (None, "DataFrame"):
        data = str(Path(data).resolve())
    manifest = run.recommender.manifest if hasattr(run, "recommender") else run.predictor.manifest
    version = ModelVersion(
        name=name, version=0, bundle=str(run.bundle_path.resolve()), manifest_sha256="",
        run_folder=str(run.folder.resolve()), data_path=data,
        data_fingerprint=record.get("data_fingerprint") if data_path is None else _file_fingerprint(Path(data_path)),
        parent_version=parent_version,
        family="+".join(dict.fromkeys(m["family"] for m in manifest.members)) if manifest else None,
        metrics=manifest.metrics if manifest else {"test": run.test_metrics}, evaluation=evaluation or {})
    return Registry(registry).register(version, promote=promote, note=note)


def _file_fingerprint(path: Path) -> str:
    from trainlab.data.load import fingerprint, load_table

    return fingerprint(load_table(path))


def verified_bundle(version: ModelVersion) -> Path:
    """The version's bundle folder; BundleError if it is gone or its manifest changed since registering."""
    bundle = Path(version.bundle)
    manifest = bundle / "manifest.json"
    if not manifest.is_file():
        raise BundleError(f"The bundle of {version.ref} is gone: '{bundle}' has no manifest.json. "
                          f"Restore the run folder, or promote another version (trainlab models promote).")
    if sha256_file(manifest) != version.manifest_sha256:
        raise BundleError(f"The bundle of {version.ref} at '{bundle}' was replaced after it was registered "
                          f"(manifest checksum differs). Register the new bundle as a new version instead.")
    return bundle


def parse_ref(ref: str) -> tuple[str, str | None]:
    """'NAME', 'NAME@alias' or 'NAME@3' as (name, selector)."""
    name, _, selector = ref.partition("@")
    if not name or (ref.endswith("@")):
        raise ConfigError(f"Model reference {ref!r} is not valid: use NAME, NAME@alias or NAME@VERSION.")
    return name, selector or None


def resolve_bundle(ref: str, registry: str | Path | None = None) -> Path:
    """The bundle folder for ``NAME``, ``NAME@alias`` or ``NAME@VERSION`` (``NAME`` alone: its champion)."""
    name, selector = parse_ref(ref)
    return Registry(registry).bundle_path(name, selector)


def _alias(conn: sqlite3.Connection, name: str, alias: str) -> int | None:
    row = conn.execute("SELECT version FROM aliases WHERE name = ? AND alias = ?", (name, alias)).fetchone()
    return None if row is None else int(row[0])


def _set_alias(conn: sqlite3.Connection, name: str, alias: str, version: int, action: str, note: str) -> None:
    conn.execute("INSERT INTO aliases VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
                 (name, alias, version))
    conn.execute("INSERT INTO history (name, alias, version, action, at, by, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (name, alias, version, action, now(), user(), note))


def _version(row: sqlite3.Row, aliases: list[str]) -> ModelVersion:
    data = dict(row)
    data["metrics"] = json.loads(data["metrics"])
    data["evaluation"] = json.loads(data["evaluation"])
    return ModelVersion(**data, aliases=aliases)


def load_predictor(ref: str | Path, registry: str | Path | None = None) -> tuple[Predictor, str]:
    """A bundle folder, or a registered ``NAME[@alias|@version]``, loaded; with a label for messages."""
    from trainlab.predict import Predictor

    path = Path(ref)
    if (path / "manifest.json").is_file():
        return Predictor.load(path), str(path)
    name, selector = parse_ref(str(ref))
    version = Registry(registry).get(name, selector)
    return Predictor.load(verified_bundle(version)), version.ref
