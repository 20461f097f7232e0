"""A real browser (Debian's chromium via Playwright) goes upload -> train -> leaderboard -> predict."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(tmp_path: Path):
    import uvicorn

    from trainlab.serve.app import ServeSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServeSettings(runs_dir=tmp_path / "runs"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 160
    size = rng.normal(10, 3, n).round(2)
    colour = rng.choice(["red", "green", "blue"], n)
    label = np.where(size + (colour == "red") * 3 + rng.normal(0, 1, n) > 11, "big", "small")
    path = tmp_path / "fruit.csv"
    pd.DataFrame({"size": size, "colour": colour, "label": label}).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_upload_train_leaderboard_predict(server: str, table: Path, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        try:
            page.goto(server + "/")
            page.set_input_files("#file", str(table))
            page.click("#upload")
            page.wait_for_url("**/ui/datasets/**")
            assert page.input_value("#target") == "label"  # suggested: a column named like a label
            assert "categorical" in page.inner_text("#types")
            page.fill("#time_limit", "15")  # at 5 s the job once did not finish within 90 s on a loaded machine
            for box in page.query_selector_all("input[name=models]"):
                if box.get_attribute("value") != "linear":
                    box.uncheck()
            page.click("#train")
            page.wait_for_url("**/ui/jobs/**")
            page.wait_for_selector("#open-run", state="visible", timeout=90_000)
            assert int(page.inner_text("#finished")) >= 1
            page.reload()  # the job survives a reload
            page.click("#open-run")
            page.wait_for_url("**/ui/runs/**")
            assert "linear" in page.inner_text("#leaderboard")
            page.wait_for_selector("#chart .plot-container")  # Plotly drew the leaderboard from the local file
            page.fill("input[name=size]", "15")
            page.select_option("select[name=colour]", "red")
            page.click("#predict")
            page.wait_for_selector("#predicted")
            assert page.inner_text("#predicted") in ("big", "small")
            page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
            page.goto(server + "/docs")
            page.wait_for_selector(".swagger-ui .info")  # the API docs render from the packaged Swagger UI
        finally:
            browser.close()
    assert (tmp_path / "run.png").stat().st_size > 10_000
    assert requested and all(url.startswith(server) for url in requested)  # nothing from a CDN or elsewhere
