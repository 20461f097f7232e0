"""load_table reads every supported format and refuses files that are not usable tables, saying why."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trainlab.data.load import fingerprint, load_table
from trainlab.errors import DataError

SMALL = pd.DataFrame({"name": ["Zoë", "Ånne", "Çem"], "amount": [1.5, 2.0, 3.25], "ok": ["yes", "no", "yes"]})


def _check(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["name", "amount", "ok"]
    assert frame["amount"].tolist() == [1.5, 2.0, 3.25]
    assert frame["name"].tolist() == ["Zoë", "Ånne", "Çem"]


@pytest.mark.parametrize(
    ("suffix", "write"),
    [
        ("csv", lambda f, p: f.to_csv(p, index=False)),
        ("csv", lambda f, p: f.to_csv(p, index=False, sep=";")),
        ("tsv", lambda f, p: f.to_csv(p, index=False, sep="\t")),
        ("csv", lambda f, p: f.to_csv(p, index=False, encoding="cp1252")),
        ("csv", lambda f, p: f.to_csv(p, index=False, encoding="utf-8-sig")),
        ("txt", lambda f, p: f.to_csv(p, index=False, sep="|")),
        ("parquet", lambda f, p: f.to_parquet(p, index=False)),
        ("xlsx", lambda f, p: f.to_excel(p, index=False)),
        ("json", lambda f, p: f.to_json(p, orient="records")),
        ("json", lambda f, p: f.to_json(p, orient="columns")),
        ("jsonl", lambda f, p: f.to_json(p, orient="records", lines=True)),
        ("json", lambda f, p: f.to_json(p, orient="records", lines=True)),
    ],
    ids=["csv-comma", "csv-semicolon", "tsv", "csv-cp1252", "csv-utf8-bom", "txt-pipe", "parquet", "excel",
         "json-records", "json-columns", "jsonl", "json-with-lines"],
)
def test_reads_every_format(tmp_path: Path, suffix: str, write) -> None:
    path = tmp_path / f"table.{suffix}"
    write(SMALL, path)
    _check(load_table(path))
    _check(load_table(str(path)))


def test_dataframe_is_copied_and_column_names_become_text() -> None:
    frame = pd.DataFrame({0: [1, 2], "b": [3, 4]})
    loaded = load_table(frame)
    assert list(loaded.columns) == ["0", "b"]
    loaded.loc[0, "b"] = 99
    assert frame.loc[0, "b"] == 3


def test_semicolon_csv_with_decimal_commas_in_quotes_keeps_columns(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text('name;amount\n"a, b";1\n"c";2\n', encoding="utf-8")
    assert list(load_table(path).columns) == ["name", "amount"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nope.csv", r"File '.*nope\.csv' not found\. Check the path\. Files here: other\.csv"),
        (lambda d: _write(d / "empty.csv", b""), r"is empty \(0 bytes\)"),
        (lambda d: _write(d / "blank.csv", b"\n\n\n"), r"has no columns"),
        (lambda d: _write(d / "header.csv", b"a,b,c\n"), r"has no data rows \(0 rows, 3 columns\)"),
        # an empty folder (a folder holding Parquet or CSV files is a table in parts)
        (lambda d: (d / "nothing").mkdir() or d / "nothing", r"holds no picture or sound files"),
        (lambda d: _write(d / "table.docx", b"hello"), r"extension '\.docx'.*Use \.csv"),
        (lambda d: _write(d / "binary.csv", b"PK\x03\x04\x00\x00binary"), r"looks binary, not a text CSV"),
        (lambda d: _write(d / "ragged.csv", b"a,b\n1,2\n3,4,5,6\n"), r"not a consistent table.*may be truncated"),
        (lambda d: _write(d / "bad.json", b'{"a": [1, 2'), r"could not be read as JSON"),
        (lambda d: _write(d / "scalar.json", b"5"), r"JSON values without column names"),
        (lambda d: _write(d / "list.json", b"[1, 2, 3]"), r"JSON values without column names"),
        (lambda d: _write(d / "lines.jsonl", b"1\n2\n"), r"JSON values without column names"),
        (lambda d: _write(d / "bad.xlsx", b"not really a workbook"), r"could not be read as EXCEL"),
    ],
    ids=["missing", "empty", "blank-lines", "header-only", "folder", "unknown-extension", "binary-renamed",
         "ragged-rows", "broken-json", "json-scalar", "json-list", "jsonl-scalars", "not-excel"],
)
def test_unusable_files_raise_data_error(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "other.csv").write_text("x\n1\n")
    with pytest.raises(DataError, match=message):
        load_table(make(tmp_path))


def test_truncated_parquet_is_refused(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    SMALL.to_parquet(whole)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError, match=r"could not be read as PARQUET.*truncated or not a table"):
        load_table(cut)


def test_empty_dataframe_is_refused() -> None:
    with pytest.raises(DataError, match=r"the DataFrame has no data rows"):
        load_table(pd.DataFrame({"a": []}))


def test_fingerprint_follows_the_values() -> None:
    same = SMALL.copy()
    assert fingerprint(SMALL) == fingerprint(same)
    same.loc[0, "amount"] = 1.6
    assert fingerprint(SMALL) != fingerprint(same)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _compress(kind: str, raw: bytes) -> bytes:
    import bz2
    import gzip
    import lzma

    import pyarrow as pa

    if kind == "zst":
        return pa.Codec("zstd").compress(raw, asbytes=True)
    return {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](raw)


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zst"])
@pytest.mark.parametrize("inner", ["csv", "parquet"])
def test_reads_compressed_tables(tmp_path: Path, kind: str, inner: str) -> None:
    plain = tmp_path / f"plain.{inner}"
    SMALL.to_csv(plain, index=False) if inner == "csv" else SMALL.to_parquet(plain, index=False)
    path = tmp_path / f"table.{inner}.{kind}"
    path.write_bytes(_compress(kind, plain.read_bytes()))
    _check(load_table(path))


def test_compressed_file_without_inner_extension_says_how_to_name_it(tmp_path: Path) -> None:
    path = tmp_path / "export.gz"
    path.write_bytes(_compress("gz", b"a,b\n1,2\n"))
    with pytest.raises(DataError, match=r"export.gz.*name it like 'data.csv.gz'"):
        load_table(path)


def test_damaged_compressed_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "table.csv.xz"
    path.write_bytes(b"not xz at all")
    with pytest.raises(DataError, match=r"table.csv.xz' could not be decompressed as .xz"):
        load_table(path)


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, raw in entries.items():
            archive.writestr(name, raw)
    return path


def test_zip_with_one_table_is_that_table(tmp_path: Path) -> None:
    raw = SMALL.to_csv(index=False).encode()
    path = _zip(tmp_path / "export.zip", {"__MACOSX/._t.csv": b"junk", "readme.md": b"# notes", "data/t.csv": raw})
    _check(load_table(path))


def test_zip_with_several_tables_names_them_and_member_picks_one(tmp_path: Path) -> None:
    raw = SMALL.to_csv(index=False).encode()
    path = _zip(tmp_path / "two.zip", {"train.csv": raw, "extra/more.parquet": b"x"})
    with pytest.raises(DataError, match=r"holds 2 tables: train.csv, extra/more.parquet. Pick one with --member"):
        load_table(path)
    _check(load_table(path, member="train.csv"))
    with pytest.raises(DataError, match=r"--member 'nope.csv' is not in it.*train.csv, extra/more.parquet"):
        load_table(path, member="nope.csv")


def test_zip_without_a_table_and_member_on_a_plain_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no table trainlab reads \(it holds: notes.md\)"):
        load_table(_zip(tmp_path / "none.zip", {"notes.md": b"hi"}))
    plain = tmp_path / "t.csv"
    SMALL.to_csv(plain, index=False)
    with pytest.raises(DataError, match=r"--member names a table inside a .zip archive, but '.*t.csv' is not one"):
        load_table(plain, member="t.csv")


def test_a_glob_or_a_folder_of_parts_is_one_table(tmp_path) -> None:
    import pandas as pd
    import pytest

    from trainlab.data.load import load_table
    from trainlab.errors import DataError

    whole = pd.DataFrame({"x": range(30), "y": ["a", "b", "c"] * 10})
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        whole.iloc[10 * i: 10 * (i + 1)].to_parquet(parts / f"part-{i}.parquet", index=False)
    assert load_table(str(parts / "*.parquet")).astype(whole.dtypes).equals(whole)  # read in compact types
    assert load_table(parts).astype(whole.dtypes).equals(whole)
    whole.iloc[:5].to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="No file matches"):
        load_table(str(tmp_path / "nothing-*.parquet"))
    whole.rename(columns={"x": "z"}).to_parquet(parts / "part-9.parquet", index=False)
    with pytest.raises(DataError, match="same columns"):
        load_table(parts)
