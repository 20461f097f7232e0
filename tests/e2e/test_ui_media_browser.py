"""A real browser (Debian's chromium via Playwright): upload a zip of class folders of pictures, train, then drop a
picture on the run page and read its class probabilities."""

from __future__ import annotations

import base64
import importlib.util
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")
if importlib.util.find_spec("PIL") is None:
    pytest.skip("Pillow (the [media] extra) is not installed", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from test_ui_browser import ARGS, CHROMIUM, server  # noqa: E402, F401  (the fixture)

from test_media import SHAPES, draw, make_photos  # noqa: E402

SCREENSHOT = os.environ.get("TRAINLAB_UI_SCREENSHOT")
"""Where to save a screenshot of the page predicting a dropped picture (the docs' one), when set."""

DROP = """([selector, name, data]) => {
  const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
  const files = new DataTransfer();
  files.items.add(new File([bytes], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  for (const kind of ["dragenter", "dragover", "drop"]) {
    target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: files }));
  }
}"""


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)")
def test_upload_a_zip_of_pictures_train_and_predict_a_dropped_picture(server: str, tmp_path: Path) -> None:  # noqa: F811
    photos = make_photos(tmp_path / "photos", per_class=14)
    archive = tmp_path / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(photos.rglob("*.png")):
            z.write(path, "shapes/" + path.relative_to(photos).as_posix())
    dropped = tmp_path / "dropped-cross.png"
    draw("cross", np.random.default_rng(42)).save(dropped)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        try:
            page.goto(server + "/")
            page.set_input_files("#file", str(archive))
            page.click("#upload")
            page.wait_for_url("**/ui/datasets/**")
            assert page.input_value("#target") == "label"
            assert "image" in page.inner_text("#types")
            page.fill("#time_limit", "20")
            for box in page.query_selector_all("input[name=models]"):
                if box.get_attribute("value") != "linear":
                    box.uncheck()
            page.click("#train")
            page.wait_for_url("**/ui/jobs/**")
            page.wait_for_selector("#open-run", state="visible", timeout=120_000)
            page.click("#open-run")
            page.wait_for_url("**/ui/runs/**")
            assert page.is_visible("#predict-file-form")
            data = base64.b64encode(dropped.read_bytes()).decode("ascii")
            page.evaluate(DROP, ["#predict-file-form", dropped.name, data])
            page.wait_for_selector("#probabilities", timeout=30_000)
            assert page.get_attribute("#dropped-image", "alt") == dropped.name
            assert page.inner_text("#predicted") in SHAPES
            rows = page.inner_text("#probabilities").splitlines()
            assert sum(any(shape in row for shape in SHAPES) for row in rows) == len(SHAPES)
            assert dropped.name in page.inner_text("#prediction")
            wrong = tmp_path / "notes.txt"
            wrong.write_text("not a picture")
            page.set_input_files("#media-file", str(wrong))
            page.wait_for_selector("#prediction .error", timeout=30_000)
            assert "notes.txt" in page.inner_text("#prediction")
            if SCREENSHOT:  # the documentation's screenshot: the page predicting the dropped picture
                page.set_input_files("#media-file", str(dropped))
                page.wait_for_selector("#probabilities", timeout=30_000)
                page.locator("#predict-file-form").scroll_into_view_if_needed()
                page.screenshot(path=SCREENSHOT, full_page=False)
        finally:
            browser.close()
