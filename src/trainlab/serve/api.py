"""The REST API: /predict (JSON rows or a file), model metadata, health, and the Open Inference Protocol (v2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from trainlab import __version__
from trainlab.data.archive import table_suffix
from trainlab.data.load import load_table
from trainlab.data.media import AUDIO_SUFFIXES, IMAGE_SUFFIXES, MEDIA_ROLES, kind_of_path
from trainlab.data.media.cache import read_once_folder
from trainlab.errors import DataError
from trainlab.serve import v2, v2_bytes
from trainlab.serve.model import RequestProblem, ServedModel, rows_from_json

ERROR = {"type": "object", "properties": {"detail": {"type": "string"}, "field": {"type": ["string", "null"]}},
         "required": ["detail"]}
V2_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
FILE_TYPES = (".csv", ".tsv", ".parquet", ".pq")
MAX_EXPLAIN = 50


def _errors(*codes: int, schema: dict[str, Any] = ERROR) -> dict[int | str, dict[str, Any]]:
    names = {400: "Malformed request", 401: "Missing or wrong API token", 404: "No such model",
             413: "Payload too large", 422: "Rows that do not fit the model"}
    return {code: {"description": names[code], "content": {"application/json": {"schema": schema}}}
            for code in codes}


def row_schema(model: ServedModel | None) -> dict[str, Any]:
    """JSON schema of one input row: every training column, typed by its role; extra columns are ignored."""
    scalar = {"type": ["string", "number", "boolean", "null"]}
    if model is None:
        return {"type": "object", "additionalProperties": scalar}
    kinds = {"numeric": ["number", "null"], "boolean": ["boolean", "string", "null"]}
    properties = {c.name: {"type": kinds.get(c.role, ["string", "null"])} for c in model.predictor.schema.features}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": scalar}


def build_router(model: ServedModel | None, max_rows: int) -> APIRouter:
    """Routes for ``model`` (None: the server runs the UI alone and prediction routes answer 404)."""
    router = APIRouter()
    row = row_schema(model)
    predict_body = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "anyOf": [row, {"type": "array", "items": row, "minItems": 1, "maxItems": max_rows}]}}}}}
    file_body = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}}

    def served(name: str | None = None) -> ServedModel:
        if model is None:
            raise RequestProblem(404, "model", "This server has no model loaded. Start it with "
                                               "'trainlab serve runs/<name>/model' to predict over HTTP.")
        if name is not None and name != model.name:
            raise RequestProblem(404, "model_name", f"Model '{name}' is not served here; this server serves "
                                                    f"'{model.name}'.")
        return model

    @router.get("/health", tags=["health"], summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", tags=["health"], summary="Readiness: the model (if any) is loaded and verified")
    async def ready() -> dict[str, Any]:
        return {"ready": True, "model": model.name if model else None}

    @router.get("/metadata", tags=["model"], summary="The model's inputs, classes, metrics and version",
                responses=_errors(401, 404))
    async def metadata() -> dict[str, Any]:
        return served().metadata()

    @router.post("/predict", tags=["model"], openapi_extra=predict_body, responses=_errors(400, 401, 404, 413, 422),
                 summary="Predict one row (a JSON object) or a batch (a list of objects)")
    async def predict(request: Request, explain: int = 0) -> Response:
        """Predictions, and one probability per class for classifiers; ``warnings`` lists unseen categories.

        ``explain=N`` adds each row's N most influential features (value, contribution, direction).
        """
        current = served()
        if not 0 <= explain <= MAX_EXPLAIN:
            raise RequestProblem(422, "explain", f"Query parameter 'explain' is the number of features to list per "
                                                 f"row, from 0 to {MAX_EXPLAIN}; got {explain}.")
        raw = await request.body()
        return await run_in_threadpool(
            lambda: _json(current.predict(rows_from_json(parse_json(raw), max_rows), explain=explain)))

    @router.post("/predict/file", tags=["model"], openapi_extra=file_body, responses=_errors(400, 401, 404, 413, 422),
                 summary="Predict every row of an uploaded CSV or Parquet file")
    async def predict_file(request: Request, format: str = "json") -> Response:
        """The file's predictions as JSON, or as CSV (``?format=csv``) with the columns of ``trainlab predict``."""
        current = served()
        if format not in ("json", "csv"):
            raise RequestProblem(422, "format", f"Query parameter 'format' must be 'json' or 'csv', got {format!r}.")
        media = current.predictor.schema.features
        if len(media) == 1 and media[0].role in MEDIA_ROLES:  # a picture or clip: predicted while its file exists
            column = media[0].name

            def on_file(path: Path) -> Response:
                frame = pd.DataFrame({column: [str(path)]})
                if format == "csv":
                    return Response(current.table(frame).to_csv(index=False), media_type="text/csv")
                return _json(current.predict(frame))

            return await read_upload(request, on_file, media[0].role)
        frame = await read_upload(request)
        if len(frame) > max_rows:
            raise RequestProblem(413, "file", f"The file has {len(frame)} rows; this server takes at most {max_rows}.")
        if format == "csv":
            table = await run_in_threadpool(current.table, frame)
            return Response(table.to_csv(index=False), media_type="text/csv")
        return await run_in_threadpool(lambda: _json(current.predict(frame)))

    @router.get("/v2", tags=["v2"], summary="Server metadata (Open Inference Protocol)")
    async def v2_server() -> dict[str, Any]:
        return {"name": "trainlab", "version": __version__, "extensions": []}

    @router.get("/v2/health/live", tags=["v2"], summary="Server liveness (Open Inference Protocol)")
    async def v2_live() -> dict[str, bool]:
        return {"live": True}

    @router.get("/v2/health/ready", tags=["v2"], summary="Server readiness (Open Inference Protocol)")
    async def v2_ready() -> dict[str, bool]:
        return {"ready": True}

    @router.get("/v2/models/{model_name}", tags=["v2"], summary="Model metadata (Open Inference Protocol)",
                responses=_errors(401, 404, schema=V2_ERROR))
    async def v2_model(model_name: str) -> dict[str, Any]:
        return v2.model_metadata(served(model_name))

    @router.get("/v2/models/{model_name}/ready", tags=["v2"], summary="Model readiness (Open Inference Protocol)",
                responses=_errors(401, 404, schema=V2_ERROR))
    async def v2_model_ready(model_name: str) -> dict[str, Any]:
        return {"name": served(model_name).name, "ready": True}

    v2_body = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["inputs"], "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "shape", "datatype", "data"],
                "properties": {"name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
                               "datatype": {"type": "string", "enum": sorted(v2.DATATYPES)},
                               "data": {"type": "array"}}}},
            "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                   "properties": {"name": {"type": "string"}}}}}}}}}}

    @router.post("/v2/models/{model_name}/infer", tags=["v2"], openapi_extra=v2_body,
                 responses=_errors(400, 401, 404, 413, 422, schema=V2_ERROR),
                 summary="Inference (Open Inference Protocol): one input tensor per column")
    async def v2_infer(model_name: str, request: Request) -> Response:
        current = served(model_name)
        header = request.headers.get("inference-header-content-length")
        raw = await request.body()

        def answer() -> Response:
            head, tail = v2_bytes.split_body(raw, header) if header else (raw, b"")
            body = parse_json(head)
            if header and isinstance(body, dict):
                v2_bytes.attach_binary(body.get("inputs"), tail)
            frame, wanted = v2.request_frame(body, max_rows)
            schema = current.predictor.schema
            with v2_bytes.media_files(v2_bytes.text_values(frame, schema), schema) as rows:
                return _json(v2.infer(current, rows, wanted, body.get("id")))

        return await run_in_threadpool(answer)

    return router


def parse_json(raw: bytes) -> Any:
    """The request body as JSON; RequestProblem(400) saying where it is malformed."""
    if not raw.strip():
        raise RequestProblem(400, "body", "The request body is empty: send JSON rows.")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RequestProblem(400, "body", f"The body is not valid JSON: {exc.msg} at line {exc.lineno} "
                                          f"column {exc.colno}.") from exc
    except (ValueError, RecursionError) as exc:
        raise RequestProblem(400, "body", "The body is not valid UTF-8 JSON (or is nested too deeply).") from exc


async def read_upload(request: Request, on_file: Callable[[Path], Any] | None = None, kind: str = "") -> Any:
    """The table in the multipart field 'file' (CSV or Parquet), read under a temporary name; for a model that
    reads one picture or sound file (``kind``), what ``on_file`` returns for the uploaded file."""
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:
        if getattr(exc, "status_code", None) == 413:
            raise
        raise RequestProblem(400, "file", "Send the table as multipart/form-data in a field named 'file'.") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise RequestProblem(422, "file", "Send the table as multipart/form-data in a field named 'file'.")
    name = upload.filename or "upload"
    if on_file is not None:
        if kind_of_path(name) != kind:
            raise RequestProblem(422, "file", f"'{name}' is not a{'n image' if kind == 'image' else ' sound'} file "
                                 f"this model reads; send one of "
                                 f"{', '.join(IMAGE_SUFFIXES if kind == 'image' else AUDIO_SUFFIXES)}.")
        suffix: str | None = Path(name).suffix.lower()
    else:
        suffix = table_suffix(name, FILE_TYPES)
        if suffix is None:
            raise RequestProblem(422, "file", f"'{name}' is not a CSV or Parquet file; send .csv, .tsv or .parquet "
                                              "(also compressed: .csv.gz, .bz2, .xz, .zst, or in a .zip).")
    data = await upload.read()

    def parse() -> pd.DataFrame:
        with read_once_folder("trainlab-upload-") as folder:
            # a picture or clip keeps its own name, which an error about it then shows
            path = folder / (Path(name).name if on_file is not None else f"upload{suffix}")
            path.write_bytes(data)
            try:
                return on_file(path) if on_file is not None else load_table(path)
            except DataError as exc:
                raise RequestProblem(422, "file", str(exc).replace(str(path), name)) from exc

    return await run_in_threadpool(parse)


def _json(result: dict[str, Any]) -> Response:
    """A JSON response serialized here (in the worker thread), not on the event loop."""
    return Response(json.dumps(result, allow_nan=False, separators=(",", ":")), media_type="application/json")
