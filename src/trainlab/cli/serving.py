"""The serve command: the REST API and the web UI on one port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trainlab.cli.console import err


def serve(
    model: Annotated[str | None, typer.Argument(
        help="A bundle folder, or a registered model NAME[@alias]; omit it for the web UI alone.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[str | None, typer.Option(envvar="TRAINLAB_TOKEN", show_envvar=True,
                                              help="API token required on every endpoint but health.")] = None,
    runs: Annotated[Path, typer.Option(help="Folder of run folders that the web UI lists and trains into.")] = Path("runs"),
    max_request_mb: Annotated[float, typer.Option(help="Largest request body (JSON or upload) in MB.")] = 100.0,
    registry: Annotated[Path | None, typer.Option(help="Model registry file (default ./trainlab.db).")] = None,
) -> None:
    """Serve a model over HTTP (/predict, /v2 Open Inference Protocol) and the no-code web UI on one port."""
    try:
        import uvicorn

        from trainlab.serve.app import ServeSettings, create_app
        from trainlab.serve.model import resolve_model
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart"):
            raise
        from trainlab.errors import MissingDependencyError

        raise MissingDependencyError(exc.name or "fastapi", "serve", "trainlab serve") from exc
    bundle, name = resolve_model(model, registry) if model else (None, None)
    app = create_app(ServeSettings(bundle=bundle, model_name=name, token=token or None, runs_dir=runs,
                                   registry=registry, max_request_mb=max_request_mb))
    if not token and host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]Warning:[/] listening on {host} without --token: anyone who can reach it can use it.")
    served = f"model '{app.state.model.name}' and " if app.state.model else ""
    if app.state.recommender is not None:
        served = "recommendations (/recommend, /recommendations) and "
    err.print(f"Serving {served}the web UI on http://{host}:{port}/  (API docs: /docs; Ctrl+C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
