"""Run folders as the UI shows them: the list of past runs, one run's record, its bundle as a zip."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainlab.errors import DataError, TrainlabError

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass
class RunInfo:
    """What the UI shows of one run folder."""

    name: str
    folder: Path
    record: dict[str, Any]
    leaderboard: list[dict[str, Any]]

    @property
    def bundle(self) -> Path:
        return self.folder / "model"

    @property
    def has_report(self) -> bool:
        return (self.folder / "report.html").is_file()

    @property
    def metric(self) -> str:
        return str(self.record.get("ranking_metric", ""))


def run_folder(root: Path, name: str) -> Path:
    """The folder of run ``name`` directly under ``root``; DataError for anything else (no path tricks)."""
    folder = root / name
    if not RUN_NAME.match(name) or folder.resolve().parent != root.resolve() or not (folder / "run.json").is_file():
        raise DataError(f"There is no run named '{name}' in {root}.")
    return folder


def load_run(root: Path, name: str) -> RunInfo:
    folder = run_folder(root, name)
    record = _read_json(folder / "run.json") or {}
    board = _read_json(folder / "leaderboard.json") or []
    return RunInfo(name=name, folder=folder, record=record, leaderboard=board if isinstance(board, list) else [])


def list_runs(root: Path, limit: int = 100) -> list[dict[str, Any]]:
    """Past runs under ``root``, newest first: name, created, target, task, best model and its test score."""
    runs = []
    for path in root.glob("*/run.json") if root.is_dir() else []:
        record = _read_json(path)
        if not isinstance(record, dict) or not RUN_NAME.match(path.parent.name):
            continue
        metric = record.get("ranking_metric", "")
        data = str(record.get("data", ""))
        runs.append({"name": path.parent.name, "created": str(record.get("created", ""))[:19].replace("T", " "),
                     "data": Path(data).name if data and data != "DataFrame" else data, "target": record.get("target"),
                     "task": record.get("task"), "best_model": record.get("best_model"), "metric": metric,
                     "score": (record.get("test_metrics") or {}).get(metric)})
    runs.sort(key=lambda r: str(r["created"]), reverse=True)
    return runs[:limit]


def registered_models(registry: Path | None, root: Path) -> list[dict[str, Any]]:
    """Registered models and their versions (newest first), linked to their run when it is under ``root``."""
    from trainlab.lifecycle.registry import Registry, registry_path

    if not registry_path(registry).is_file():
        return []
    try:
        store = Registry(registry)
        models = []
        for name in store.names():
            versions = []
            for v in sorted(store.versions(name), key=lambda v: -v.version):
                folder = Path(v.run_folder) if v.run_folder else None
                linked = folder is not None and folder.parent.resolve() == root.resolve() and RUN_NAME.match(folder.name)
                versions.append({"version": v.version, "aliases": v.aliases, "family": v.family,
                                 "run": folder.name if linked and folder else None})
            models.append({"name": name, "versions": versions})
        return models
    except (TrainlabError, OSError, sqlite3.Error):
        return []


def zip_bundle(folder: Path) -> bytes:
    """The bundle folder as a zip archive (files under 'model/')."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                archive.write(path, f"model/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
