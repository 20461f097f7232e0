"""One FastAPI application: the REST prediction API, the Open Inference Protocol and the web UI.

    >>> app = create_app(ServeSettings(bundle=Path("runs/credit/model")))  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from trainlab import __version__
from trainlab.serve import api, recommend, ui
from trainlab.serve.jobs import JobManager
from trainlab.serve.model import RequestProblem, ServedModel

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC = ("/health", "/ready", "/v2/health/live", "/v2/health/ready", "/login")
STATIC = Path(__file__).parent / "ui" / "static"
TOKEN_COOKIE = "trainlab_token"


@dataclass(frozen=True)
class ServeSettings:
    """What ``trainlab serve`` was started with."""

    bundle: Path | None = None
    model_name: str | None = None
    token: str | None = None
    runs_dir: Path = Path("runs")
    registry: Path | None = None
    max_request_mb: float = 100.0
    max_rows: int = 100_000
    workers: int = 1


class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than this server's limit of {limit / 1e6:g} MB. Send fewer "
                              "rows per request, or start the server with a larger --max-request-mb.")


class Guard:
    """ASGI middleware: the API token (every path but health, static files and login) and the body size limit."""

    def __init__(self, app: ASGIApp, token: str | None, limit: int) -> None:
        self.app = app
        self.token = token
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        if self.token and not (path in PUBLIC or path.startswith("/static/")) and not self._authorized(headers):
            await self._deny(scope, receive, send, headers)
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            detail = PayloadTooLarge(self.limit).detail
            if path.startswith("/ui/"):
                await ui.error_page(Request(scope), 413, detail)(scope, receive, send)
            else:
                await JSONResponse({"detail": detail, "field": "body"}, 413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)

    def _authorized(self, headers: dict[str, str]) -> bool:
        token = (self.token or "").encode()
        given = headers.get("authorization", "")
        candidates = [given[7:].strip() if given.lower().startswith("bearer ") else "", headers.get("x-api-key", "")]
        cookie = SimpleCookie()
        cookie.load(headers.get("cookie", ""))
        if TOKEN_COOKIE in cookie:
            candidates.append(cookie[TOKEN_COOKIE].value)
        return any(c and secrets.compare_digest(c.encode(), token) for c in candidates)

    async def _deny(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        if scope["method"] == "GET" and "text/html" in headers.get("accept", ""):
            from fastapi.responses import RedirectResponse

            await RedirectResponse("/login", 303)(scope, receive, send)
            return
        body = {"detail": "This server needs an API token: send the header 'Authorization: Bearer <token>'.",
                "field": "Authorization"}
        if scope["path"].startswith("/v2/"):
            body = {"error": body["detail"]}
        await JSONResponse(body, 401, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The server for ``settings``: loads and verifies the bundle now, so a bad bundle fails at start-up."""
    settings = settings or ServeSettings()
    recommender = recommend.load_if_recommender(settings.bundle)
    model = ServedModel.load(settings.bundle, settings.model_name) if settings.bundle and not recommender else None
    jobs = JobManager(settings.runs_dir, settings.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()

    app = FastAPI(title="trainlab", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Predictions from a trainlab model (own JSON API and the Open Inference Protocol), "
                              "and a web UI to train models without code.")
    app.state.settings = settings
    app.state.model = model
    app.state.recommender = recommender
    app.state.jobs = jobs
    app.add_middleware(Guard, token=settings.token, limit=int(settings.max_request_mb * 1e6))
    _add_error_handlers(app)
    app.include_router(api.build_router(model, settings.max_rows))
    if recommender is not None:
        app.include_router(recommend.build_router(recommender))
    app.include_router(ui.build_router(settings, model, jobs), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI from the files shipped in the package (no CDN)."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="trainlab API",
                                   swagger_js_url="/static/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui.css", swagger_favicon_url="/static/favicon.png")

    return app


def _add_error_handlers(app: FastAPI) -> None:
    def answer(request: Request, status: int, message: str, field: str | None) -> JSONResponse:
        if request.url.path.startswith("/v2/"):
            return JSONResponse({"error": message}, status)
        return JSONResponse({"detail": message, "field": field}, status)

    @app.exception_handler(RequestProblem)
    async def problem(request: Request, exc: RequestProblem) -> JSONResponse:
        return answer(request, exc.status, exc.message, exc.field)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/ui/"):
            return ui.error_page(request, exc.status_code, str(exc.detail))
        field = "body" if exc.status_code == 413 else None
        return answer(request, exc.status_code, str(exc.detail), field)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = where[-1] if where else None
        return answer(request, 422, f"{field or 'request'}: {first.get('msg', 'invalid value')}", field)
