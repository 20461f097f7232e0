"""The report opens in a real browser (Debian's headless Chromium): sections, plots, no console errors."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import trainlab

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (scripts/test installs it)")
def test_report_renders_in_headless_chromium(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(
        y=np.where(x[:, 0] + 0.5 * x[:, 1] ** 2 + rng.normal(size=300) * 0.5 > 0.3, "yes", "no"))
    run = trainlab.train(frame, target="y", time_limit=None, max_trials=3, out_dir=tmp_path,
                         models=("linear", "lightgbm"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"failed request {r.url}"))
        page.goto((run.folder / "report.html").as_uri())
        headings = page.locator("section h2").all_inner_texts()
        images = page.eval_on_selector_all("img.plot", "els => els.map(e => [e.complete, e.naturalWidth])")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not problems, problems
    for words in ("Data profile", "Model comparison", "Hyperparameter tuning", "metrics", "Confusion matrix",
                  "Learning curve", "Feature importance", "How to use"):
        assert any(words in h for h in headings), (words, headings)
    assert len(images) >= 8 and all(done and width > 100 for done, width in images)
    assert (tmp_path / "report.png").stat().st_size > 50_000
