"""A zip of pictures trains like its folder and predicts file by file; unsafe archives are refused."""

from __future__ import annotations

import importlib.util
import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import skip_without_extra
from trainlab.errors import DataError

if importlib.util.find_spec("PIL") is None or importlib.util.find_spec("soundfile") is None:
    skip_without_extra("Pillow and soundfile (the [media] extra) are not installed")

from test_media import SHAPES, draw, make_photos


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, prefix + path.relative_to(folder).as_posix())
        z.writestr("__MACOSX/._junk.png", b"resource fork")
    return archive


def test_a_zip_of_class_folders_reads_like_the_folder(tmp_path: Path) -> None:
    from trainlab.data.load import load_table

    photos = make_photos(tmp_path / "photos", per_class=3)
    archive = zip_folder(photos, tmp_path / "photos.zip", prefix="photos/")
    frame = load_table(archive, unpack_into=tmp_path / "into")
    assert sorted(frame["label"].unique()) == sorted(SHAPES) and len(frame) == 9
    assert frame["path"].iloc[0] == str(tmp_path / "into" / "photos" / "circle" / "0.png")
    assert frame.attrs["unpacked"]["archive"] == str(archive)
    assert not (tmp_path / "into" / "__MACOSX").exists()


@pytest.mark.parametrize(("name", "message"), [
    ("../escape.png", "leads outside"), ("/abs/escape.png", "leads outside"), ("C:/x/escape.png", "leads outside"),
    ("a/../../escape.png", "leads outside")])
def test_entries_that_leave_the_folder_are_refused(tmp_path: Path, name: str, message: str) -> None:
    from trainlab.data.load import load_table

    archive = tmp_path / "evil.zip"
    picture = io.BytesIO()
    draw("circle", np.random.default_rng(0)).save(picture, format="PNG")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ok/a.png", picture.getvalue())
        z.writestr(name, picture.getvalue())
    with pytest.raises(DataError, match=message):
        load_table(archive, unpack_into=tmp_path / "into")
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "into").exists()


def test_links_in_a_zip_are_refused(tmp_path: Path) -> None:
    from trainlab.data.load import load_table

    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a/b.png", b"not read")
        info = zipfile.ZipInfo("a/link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="link"):
        load_table(archive, unpack_into=tmp_path / "into")


def test_train_from_a_zip_and_predict_a_zip_folder_and_table(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import trainlab
    from trainlab.cli import app

    archive = zip_folder(make_photos(tmp_path / "photos", per_class=10), tmp_path / "photos.zip")
    run = trainlab.train(archive, target="label", out_dir=tmp_path / "runs", models=("linear",), max_trials=1,
                         time_limit=None, report=False)
    unpacked = [f for f in run.findings if f.code == "unpacked"]
    assert unpacked and str(tmp_path / "runs" / "unzipped") in unpacked[0].message

    new = tmp_path / "new"
    (new / "sub").mkdir(parents=True)
    rng = np.random.default_rng(3)
    draw("circle", rng).save(new / "a.png")
    draw("cross", rng).save(new / "sub" / "b.png")
    new_zip = zip_folder(new, tmp_path / "new.zip")
    (tmp_path / "rows.csv").write_text("path\nnew/a.png\nnew/sub/b.png\n")
    header = ["path", "prediction", *(f"proba_{c}" for c in sorted(SHAPES))]
    found = [str(new / "a.png"), str(new / "sub" / "b.png")]
    for source, paths in ((new_zip, ["a.png", "sub/b.png"]), (new, found), (tmp_path / "rows.csv", found)):
        out = tmp_path / f"p-{source.name}.csv"
        result = CliRunner().invoke(app, ["predict", str(run.bundle_path), str(source), "-o", str(out)])
        assert result.exit_code == 0, result.output
        lines = out.read_text().splitlines()
        assert lines[0].split(",") == header
        assert [line.split(",")[0] for line in lines[1:]] == paths


def test_the_command_line_trains_a_zip_without_target(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trainlab.cli import app

    archive = zip_folder(make_photos(tmp_path / "photos", per_class=6), tmp_path / "photos.zip", prefix="photos/")
    result = CliRunner().invoke(app, ["train", str(archive), "--models", "linear", "--max-trials", "1",
                                      "--out", str(tmp_path / "runs"), "--name", "zipped"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "zipped" / "model").is_dir()
    assert list((tmp_path / "runs" / "unzipped").glob("photos-*/photos/circle/0.png"))
