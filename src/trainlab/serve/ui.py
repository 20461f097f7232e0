"""The web UI: upload a table, pick the target, train in the background, watch it, compare, predict, download."""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from trainlab.data.load import load_table
from trainlab.data.media.cache import read_once_folder
from trainlab.data.media.files import AUDIO_SUFFIXES, IMAGE_SUFFIXES, MEDIA_ROLES, kind_of_path
from trainlab.data.schema import infer_schema, infer_task
from trainlab.data.tokens import TOKEN_PATTERN
from trainlab.errors import DataError, TrainlabError
from trainlab.evaluate.metrics import metrics_for, resolve_metric
from trainlab.models.registry import REGISTRY
from trainlab.report.card import CARD_FILE, card_sections
from trainlab.report.model import load_report
from trainlab.serve.jobs import FINISHED, JobManager
from trainlab.serve.model import RequestProblem, ServedModel
from trainlab.serve.runs import list_runs, load_run, registered_models, zip_bundle

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "ui" / "templates"))
TARGET_NAMES = re.compile(r"^(target|label|labels|class|y|outcome)$", re.I)
PREVIEW_ROWS = 10
CHUNK = 1 << 20


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page that says what went wrong, for errors raised before a UI route could answer (e.g. too large)."""
    return TEMPLATES.TemplateResponse(request, "home.html", {"error": message}, status_code=status)


def suggest_target(columns: list[str]) -> str:
    """A column named like target/label/class/y, else the last column."""
    return next((c for c in columns if TARGET_NAMES.match(c.strip())), columns[-1])


class _Tables:
    """The last few uploaded tables, read once."""

    def __init__(self, jobs: JobManager, size: int = 4) -> None:
        self.jobs = jobs
        self.size = size
        self.cache: OrderedDict[str, pd.DataFrame] = OrderedDict()

    def get(self, upload_id: str) -> pd.DataFrame:
        if upload_id not in self.cache:  # a zip of class folders unpacks beside the upload
            self.cache[upload_id] = load_table(self.jobs.upload_path(upload_id),
                                               unpack_into=self.jobs.uploads / f"{upload_id}-files")
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
        return self.cache[upload_id]


def build_router(settings: Any, model: ServedModel | None, jobs: JobManager) -> APIRouter:
    """The UI's pages and fragments (HTML; left out of the OpenAPI description)."""
    router = APIRouter()
    tables = _Tables(jobs)
    models: dict[str, ServedModel] = {}
    root = Path(settings.runs_dir)

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("served", model)
        context.setdefault("token_required", bool(settings.token))
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status)

    def run_model(name: str) -> ServedModel:
        if name not in models:
            models[name] = ServedModel.load(load_run(root, name).bundle, name)
        return models[name]

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html")

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        token = str(form.get("token", ""))
        if settings.token and not secrets.compare_digest(token.encode(), settings.token.encode()):
            return page(request, "login.html", 401, error="That token is not this server's. Check it and try again.")
        response = RedirectResponse("/", 303)
        response.set_cookie("trainlab_token", token, httponly=True, samesite="strict")
        return response

    async def home(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
        all_jobs = jobs.list()
        files = {j.run: j.filename for j in all_jobs if j.run}
        runs = await run_in_threadpool(list_runs, root)
        for r in runs:
            r["data"] = files.get(r["name"], r["data"])
        registered = await run_in_threadpool(registered_models, settings.registry, root)
        return page(request, "home.html", status, jobs=[j for j in all_jobs if j.status != "done"][:20],
                    runs=runs, registered=registered, error=error)

    @router.get("/", response_class=HTMLResponse)
    async def home_page(request: Request) -> HTMLResponse:
        return await home(request)

    @router.post("/ui/upload")
    async def upload(request: Request) -> Response:
        try:
            form = await request.form(max_files=1, max_fields=5)
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                raise DataError("Choose a CSV or Parquet file to upload.")
            chunks = []
            while chunk := await file.read(CHUNK):
                chunks.append(chunk)
            upload_id = await run_in_threadpool(jobs.save_upload, file.filename, chunks)
            try:
                await run_in_threadpool(tables.get, upload_id)
            except DataError as exc:
                message = str(exc).replace(str(jobs.upload_path(upload_id)), file.filename)
                jobs.forget_upload(upload_id)
                raise DataError(message) from exc
        except DataError as exc:
            return await home(request, error=str(exc), status=422)
        return RedirectResponse(f"/ui/datasets/{upload_id}", 303)

    async def dataset_page(request: Request, upload_id: str, error: str | None = None,
                           status: int = 200) -> HTMLResponse:
        try:
            frame = await run_in_threadpool(tables.get, upload_id)
        except DataError as exc:
            return await home(request, error=str(exc), status=404)
        columns = list(frame.columns)
        target = suggest_target(columns)
        return page(request, "dataset.html", status, upload_id=upload_id, filename=jobs.upload_name(upload_id),
                    n_rows=len(frame), columns=columns, target=target, types=_column_types(frame, target),
                    preview=frame.head(PREVIEW_ROWS).astype(object).where(frame.head(PREVIEW_ROWS).notna(), ""),
                    metrics=metrics_for(infer_task(frame[target])),
                    families=[(k, spec.name("default")) for k, spec in REGISTRY.items() if "recommend" not in spec.tasks],
                    error=error)

    @router.get("/ui/datasets/{upload_id}", response_class=HTMLResponse)
    async def dataset(request: Request, upload_id: str) -> HTMLResponse:
        return await dataset_page(request, upload_id)

    @router.get("/ui/datasets/{upload_id}/metrics", response_class=HTMLResponse)
    async def metric_options(request: Request, upload_id: str, target: str) -> Response:
        try:
            frame = await run_in_threadpool(tables.get, upload_id)
        except DataError as exc:
            return Response(str(exc), 404)
        task = infer_task(frame[target]) if target in frame.columns else "binary"
        return page(request, "metric_options.html", metrics=metrics_for(task), task=task)

    @router.post("/ui/jobs")
    async def start_job(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=100)
        upload_id = str(form.get("dataset", ""))
        try:
            frame = await run_in_threadpool(tables.get, upload_id)
            target = str(form.get("target", ""))
            await run_in_threadpool(infer_schema, frame, target)
            time_limit = _number(str(form.get("time_limit", "")), "Time budget")
            chosen = [str(m) for m in form.getlist("models") if str(m) in REGISTRY]
            if not chosen:
                raise DataError("Pick at least one model family to train.")
            metric = str(form.get("metric", "")) or None
            resolve_metric(metric, infer_task(frame[target]))
            trials = str(form.get("max_trials", "")).strip()
            if trials and not (trials.isdigit() and int(trials) >= 1):
                raise DataError(f"Most trials must be a whole number of at least 1 (or left empty), got {trials!r}.")
            max_trials = int(trials) if trials else None
            job = jobs.submit(upload_id, target, metric, time_limit,
                              None if len(chosen) == len(REGISTRY) else chosen, max_trials)
        except TrainlabError as exc:
            return await dataset_page(request, upload_id, error=str(exc), status=422)
        return RedirectResponse(f"/ui/jobs/{job.id}", 303)

    @router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
    async def job_page(request: Request, job_id: str) -> HTMLResponse:
        job = jobs.snapshot(job_id)
        if job is None:
            return await home(request, error=f"There is no training job '{job_id}'.", status=404)
        return page(request, "job.html", job=job)

    @router.get("/ui/jobs/{job_id}/events")
    async def job_events(request: Request, job_id: str) -> Response:
        if jobs.snapshot(job_id) is None:
            return Response("unknown job", 404)
        return StreamingResponse(_events(request, jobs, job_id), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.get("/ui/runs/{name}", response_class=HTMLResponse)
    async def run_page(request: Request, name: str) -> HTMLResponse:
        try:
            run = load_run(root, name)
            served = await run_in_threadpool(run_model, name)
        except TrainlabError as exc:
            return await home(request, error=str(exc), status=404)
        metric = f"val_{run.metric}"
        chart = [{"model": r.get("model"), "score": r.get(metric)} for r in run.leaderboard
                 if isinstance(r.get(metric), int | float) and math.isfinite(r[metric])]
        shown = ["model", "status", metric, "fit_time_s", "predict_time_s"]
        if any(r.get("error") for r in run.leaderboard):
            shown.insert(2, "error")
        columns = [c for c in shown if run.leaderboard and c in run.leaderboard[0]]
        card = await run_in_threadpool(_card, run.folder)
        media = _media_input(served)
        accept = ",".join(IMAGE_SUFFIXES if media is not None and media.role == "image" else AUDIO_SUFFIXES)
        return page(request, "run.html", run=run, columns=columns, chart=json.dumps(chart),
                    inputs=served.predictor.schema.features, meta=served.metadata(), card=card, media=media,
                    media_accept=accept)

    @router.post("/ui/runs/{name}/predict-file", response_class=HTMLResponse)
    async def run_predict_file(request: Request, name: str) -> HTMLResponse:
        """A dropped or chosen picture or clip, predicted by a model on one such column: its class probabilities."""
        try:
            served = await run_in_threadpool(run_model, name)
            media = _media_input(served)
            if media is None:
                raise DataError("This model reads table columns, not a picture or sound file; fill in the fields.")
            form = await request.form(max_files=1, max_fields=5)
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                raise DataError("Drop or choose a picture or sound file to predict.")
            filename = Path(file.filename).name
            if kind_of_path(filename) != media.role:
                raise DataError(f"'{filename}' is not {'a picture' if media.role == 'image' else 'a sound'} file this "
                                f"model reads; use one of "
                                f"{', '.join(IMAGE_SUFFIXES if media.role == 'image' else AUDIO_SUFFIXES)}.")
            data = await file.read()
            result = await run_in_threadpool(_predict_file, served, media.name, filename, data)
        except RequestProblem as exc:
            return page(request, "prediction.html", error=exc.message)
        except TrainlabError as exc:
            return page(request, "prediction.html", error=str(exc))
        probabilities = sorted((result.get("probabilities") or [{}])[0].items(), key=lambda kv: -(kv[1] or 0))
        return page(request, "prediction.html", prediction=result["predictions"][0], probabilities=probabilities,
                    why=None, warnings=result.get("warnings", []), error=None, filename=filename)

    @router.post("/ui/runs/{name}/predict", response_class=HTMLResponse)
    async def run_predict(request: Request, name: str) -> HTMLResponse:
        form = await request.form(max_files=0, max_fields=1000)
        try:
            served = await run_in_threadpool(run_model, name)
            row = {c.name: (str(form.get(c.name, "")).strip() or None) for c in served.predictor.schema.features}
            result = await run_in_threadpool(_predict_row, served, row)
        except RequestProblem as exc:
            return page(request, "prediction.html", error=exc.message)
        except TrainlabError as exc:
            return page(request, "prediction.html", error=str(exc))
        probabilities = sorted((result.get("probabilities") or [{}])[0].items(), key=lambda kv: -(kv[1] or 0))
        why = (result.get("explanations") or [{}])[0]
        marked = {column: highlighted(str(row.get(column) or ""), found["words"])
                  for column, found in (why.get("words") or {}).items()}
        return page(request, "prediction.html", prediction=result["predictions"][0], probabilities=probabilities,
                    why=why, marked=marked, warnings=result.get("warnings", []), error=None)

    @router.get("/ui/runs/{name}/report")
    async def report(name: str) -> Response:
        run = load_run(root, name)
        if not run.has_report:
            return Response("This run has no report.html.", 404)
        return FileResponse(run.folder / "report.html", media_type="text/html")

    @router.get("/ui/runs/{name}/model_card.md")
    async def model_card(name: str) -> Response:
        card = load_run(root, name).bundle / CARD_FILE
        if not card.is_file():
            return Response("This run's model has no model card (it was trained by an older trainlab).", 404)
        return FileResponse(card, media_type="text/markdown; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}-model_card.md"'})

    @router.get("/ui/runs/{name}/bundle.zip")
    async def bundle(name: str) -> Response:
        run = load_run(root, name)
        data = await run_in_threadpool(zip_bundle, run.bundle)
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}-model.zip"'})

    return router


def _card(folder: Path) -> list[dict[str, Any]]:
    """The model card's sections for the run page (none when the folder cannot give them)."""
    try:
        return card_sections(load_report(folder))
    except TrainlabError:
        return []


def _media_input(served: ServedModel) -> Any:
    """The model's one picture or sound column, when that is all it reads (else None)."""
    features = served.predictor.schema.features
    return features[0] if len(features) == 1 and features[0].role in MEDIA_ROLES else None


def _predict_file(served: ServedModel, column: str, filename: str, data: bytes) -> dict[str, Any]:
    """The prediction of one uploaded file, written under its own name in a temporary folder while it is read."""
    with read_once_folder("trainlab-ui-") as folder:
        path = folder / filename
        path.write_bytes(data)
        try:
            return served.predict(pd.DataFrame({column: [str(path)]}))
        except DataError as exc:
            raise DataError(str(exc).replace(str(path), filename)) from exc


def _predict_row(served: ServedModel, row: dict[str, Any]) -> dict[str, Any]:
    """One row's prediction with its five most influential features (without them if they cannot be computed)."""
    frame = pd.DataFrame([row])
    try:
        return served.predict(frame, explain=5)
    except RequestProblem:
        return served.predict(frame)


def highlighted(text: str, words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``text`` cut into pieces for the page: each word the explanation weighs (matched as the models tokenize,
    ``data.tokens.TOKEN_PATTERN``, ignoring case) with its signed weight and a colour strength (its share of the
    largest weight), and the text between as it is."""
    weights = {str(w["word"]): float(w["weight"]) for w in words if w.get("weight") is not None}
    largest = max((abs(v) for v in weights.values()), default=0.0) or 1.0
    pieces: list[dict[str, Any]] = []
    at = 0
    for match in re.finditer(TOKEN_PATTERN, text):
        weight = weights.get(match.group().lower())
        if weight is None or weight == 0:
            continue
        if match.start() > at:
            pieces.append({"text": text[at:match.start()]})
        pieces.append({"text": match.group(), "weight": weight, "strength": round(0.15 + 0.85 * abs(weight) / largest, 2)})
        at = match.end()
    if at < len(text):
        pieces.append({"text": text[at:]})
    return pieces


async def _events(request: Request, jobs: JobManager, job_id: str) -> AsyncIterator[str]:
    """Server-sent events: the job's state whenever it changes, until it finishes or the client leaves."""
    last = None
    while True:
        state = jobs.snapshot(job_id)
        if state is None or await request.is_disconnected():
            return
        text = json.dumps(state, default=str)
        if text != last or state["status"] == "running":
            yield f"data: {text}\n\n"
            last = text
        if state["status"] in FINISHED:
            yield "event: end\ndata: {}\n\n"
            return
        await asyncio.sleep(0.5)


def _column_types(frame: pd.DataFrame, target: str) -> list[dict[str, Any]]:
    schema = infer_schema(frame, target)
    types = [{"name": c.name, "role": c.role, "dtype": c.dtype, "missing": c.n_missing, "distinct": c.n_unique,
              "note": c.note} for c in schema.columns]
    types.append({"name": target, "role": f"target ({schema.task})", "dtype": str(frame[target].dtype),
                  "missing": int(frame[target].isna().sum()), "distinct": int(frame[target].nunique()), "note": ""})
    return types


def _number(text: str, label: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > 24 * 3600:
        raise DataError(f"{label} must be a number of seconds between 1 and 86400, got {text!r}.")
    return value
