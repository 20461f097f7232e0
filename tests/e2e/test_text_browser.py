"""A real browser (Debian's chromium via Playwright) asks a text model for a prediction and sees the words that
pushed it coloured inside the text itself, with a legend."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

sys.path.insert(0, str(Path(__file__).parents[1]))
from serve_helpers import running  # noqa: E402
from test_text import BAD, GOOD, reviews  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
REVIEW = "A superb cast, but the plot is tedious and the ending clumsy; still, a delightful and moving film!"


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_explained_words_are_coloured_in_the_text(tmp_path: Path) -> None:
    import trainlab
    from trainlab.serve.app import ServeSettings, create_app

    runs = tmp_path / "runs"
    trainlab.train(reviews(300), target="verdict", models=("linear",), max_trials=1, time_limit=None, out_dir=runs,
                   name="reviews", report=False)
    shots = Path(os.environ.get("TRAINLAB_SCREENSHOTS", tmp_path))
    with running(create_app(ServeSettings(runs_dir=runs))) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        try:
            page.goto(f"{base}/ui/runs/reviews")
            page.fill("textarea[name=review]", REVIEW)
            page.fill("input[name=length]", "0.5")
            page.click("#predict")
            page.wait_for_selector("#marked-review mark")
            marks = {m.inner_text().lower(): m.get_attribute("class")
                     for m in page.query_selector_all("#marked-review mark")}
            assert page.inner_text("#marked-review") == REVIEW  # the text whole, in its own order and case
            explained = page.inner_text(".why-title b")
            up, down = (GOOD, BAD) if explained == "fresh" else (BAD, GOOD)
            assert all(marks.get(w) == "up" for w in up if w in marks) and any(w in marks for w in up)
            assert all(marks.get(w) == "down" for w in down if w in marks) and any(w in marks for w in down)
            assert "raises" in page.inner_text(".legend.raises") and "lowers" in page.inner_text(".legend.lowers")
            shots.mkdir(parents=True, exist_ok=True)
            page.locator("#prediction-result").screenshot(path=str(shots / "text-explanation.png"))
        finally:
            browser.close()
    assert 5_000 < (shots / "text-explanation.png").stat().st_size < 300_000
