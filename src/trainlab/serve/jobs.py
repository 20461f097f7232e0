"""Background training jobs for the web UI: uploads kept under safe names, runs in worker threads, live state."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from trainlab.data.archive import table_suffix
from trainlab.errors import DataError, TrainlabError

UPLOAD_TYPES = (".csv", ".tsv", ".parquet", ".pq")
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
JOB_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$")
FINISHED = ("done", "failed")


@dataclass
class Job:
    """One training job: what was asked, where it stands, and how it ended."""

    id: str
    dataset: str
    filename: str
    target: str
    metric: str | None
    time_limit: float
    models: list[str] | None
    max_trials: int | None = None
    status: str = "queued"
    stage: str = "Waiting for a free worker"
    created: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    started_at: float | None = None
    finished_at: float | None = None
    ranking_metric: str | None = None
    trials: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    error: str | None = None
    run: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """The job as JSON-ready data, with seconds spent and left."""
        state = asdict(self)
        end = self.finished_at or time.time()
        spent = end - self.started_at if self.started_at else 0.0
        state["elapsed_s"] = round(spent, 1)
        state["time_left_s"] = round(max(self.time_limit - spent, 0.0), 1) if self.status == "running" else 0.0
        return state


class JobManager:
    """Keeps uploads and job records under ``root`` (the runs folder) and trains on a small thread pool."""

    def __init__(self, root: Path, workers: int = 1) -> None:
        self.root = Path(root)
        self.uploads = self.root / ".uploads"
        self.records = self.root / ".jobs"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.records.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trainlab-job")
        self._load_records()

    def save_upload(self, filename: str, chunks: list[bytes]) -> str:
        """Store an uploaded table under a random name (the user's file name is never a path); returns its id."""
        suffix = table_suffix(filename or "", UPLOAD_TYPES)
        if suffix is None:
            raise DataError(f"'{filename}' is not a CSV or Parquet file. Upload a .csv, .tsv or .parquet table "
                            "(also compressed: .csv.gz, .bz2, .xz, .zst, or in a .zip).")
        upload_id = uuid.uuid4().hex
        path = self.uploads / f"{upload_id}{suffix}"
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        tmp.replace(path)
        (self.uploads / f"{upload_id}.name").write_text(filename[:200], encoding="utf-8")
        return upload_id

    def upload_path(self, upload_id: str) -> Path:
        """The stored file of an upload id; DataError if the id is malformed or unknown."""
        if UPLOAD_ID.match(upload_id):
            for path in self.uploads.glob(f"{upload_id}.*"):
                if path.suffix != ".name" and path.is_file():
                    return path
        raise DataError("That uploaded file is no longer here. Upload it again.")

    def upload_name(self, upload_id: str) -> str:
        path = self.uploads / f"{upload_id}.name"
        return path.read_text(encoding="utf-8") if UPLOAD_ID.match(upload_id) and path.is_file() else "upload"

    def forget_upload(self, upload_id: str) -> None:
        """Remove an upload, and the files unpacked from it when it was a zip of pictures or sound."""
        if not UPLOAD_ID.match(upload_id):
            return
        for path in self.uploads.glob(f"{upload_id}.*"):
            path.unlink(missing_ok=True)
        shutil.rmtree(self.uploads / f"{upload_id}-files", ignore_errors=True)

    def submit(self, upload_id: str, target: str, metric: str | None, time_limit: float,
               models: list[str] | None, max_trials: int | None = None) -> Job:
        """Queue a training job on an upload; it starts when a worker is free."""
        self.upload_path(upload_id)
        job_id = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        job = Job(id=job_id, dataset=upload_id, filename=self.upload_name(upload_id), target=target,
                  metric=metric, time_limit=time_limit, models=models, max_trials=max_trials)
        with self.lock:
            self.jobs[job.id] = job
        self._save(job)
        self.pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id) if JOB_ID.match(job_id) else None

    def snapshot(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return job.snapshot() if job else None

    def list(self) -> list[Job]:
        with self.lock:
            return sorted(self.jobs.values(), key=lambda j: j.id, reverse=True)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job) -> None:
        from trainlab.run import train

        with self.lock:
            job.status, job.stage, job.started_at = "running", "Starting", time.time()
        self._save(job)
        try:
            options: dict[str, Any] = {"time_limit": job.time_limit, "out_dir": self.root, "name": job.id}
            if job.metric:
                options["metric"] = job.metric
            if job.models:
                options["models"] = tuple(job.models)
            if job.max_trials:
                options["max_trials"] = job.max_trials
            run = train(self.upload_path(job.dataset), job.target, listener=_Listener(job, self.lock), **options)
            with self.lock:
                job.status, job.stage, job.run = "done", "Finished", run.folder.name
        except TrainlabError as exc:
            self._fail(job, str(exc))
        except Exception as exc:  # a bug or a library failure must end this job only, never the server
            self._fail(job, f"Training stopped on an unexpected error ({type(exc).__name__}: {exc}).")
        finally:
            with self.lock:
                job.finished_at = time.time()
            self._save(job)

    def _fail(self, job: Job, message: str) -> None:
        with self.lock:
            job.status, job.stage, job.error = "failed", "Failed", message

    def _save(self, job: Job) -> None:
        with self.lock:
            text = json.dumps(asdict(job), indent=2, default=str)
        path = self.records / f"{job.id}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    def _load_records(self) -> None:
        for path in sorted(self.records.glob("*.json")):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if job.status not in FINISHED:
                job.status, job.stage = "failed", "Failed"
                job.error = "The server stopped before this job finished. Start it again."
            self.jobs[job.id] = job


class _Listener:
    """Turns the training events into the job's live state."""

    def __init__(self, job: Job, lock: threading.Lock) -> None:
        self.job = job
        self.lock = lock
        self.greater_is_better = True

    def __call__(self, kind: str, info: dict[str, Any]) -> None:
        with self.lock:
            self._apply(kind, info)

    def _apply(self, kind: str, info: dict[str, Any]) -> None:
        job = self.job
        if kind == "stage":
            job.stage = info["name"]
            if "metric" in info:
                from trainlab.evaluate.metrics import METRICS

                job.ranking_metric = info["metric"]
                self.greater_is_better = METRICS[info["metric"]].greater_is_better
        elif kind == "trial_start":
            job.stage = f"Training {info['name']}"
        elif kind == "trial_end":
            trial = info["trial"]
            score = float(trial.score) if trial.ok and trial.score == trial.score else None
            job.trials.append({"name": trial.candidate.name, "ok": bool(trial.ok), "score": score,
                               "error": trial.error or None})
            better = job.best is None or (score is not None and (
                score > job.best["score"] if self.greater_is_better else score < job.best["score"]))
            if score is not None and better:
                job.best = {"name": trial.candidate.name, "score": score}
