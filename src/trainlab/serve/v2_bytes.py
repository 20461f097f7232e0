"""BYTES tensors of the Open Inference Protocol: the binary data extension, text columns, and picture or sound
columns given as the files' content.

With the binary extension (header ``Inference-Header-Content-Length``) the body is the JSON header followed by
every binary input's bytes in order, each input's length in its ``parameters.binary_data_size``: a BYTES element
is a 4-byte little-endian length and that many bytes; numbers are little-endian arrays. In plain JSON, a BYTES
value of a picture or sound column is the file's content in base64 (a ``data:...;base64,`` URL works too); text
columns take UTF-8 text either way. A file's content is written under a temporary name whose suffix its first
bytes decide, and decoded from there by ``data.media`` like any file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import MEDIA_ROLES
from trainlab.data.media.cache import read_once_folder
from trainlab.data.schema import Schema
from trainlab.serve.model import RequestProblem

NUMPY_TYPES = {"BOOL": "<u1", "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "UINT8": "<u1",
               "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\x89PNG", 0, ".png"), (b"\xff\xd8\xff", 0, ".jpg"), (b"GIF8", 0, ".gif"), (b"BM", 0, ".bmp"),
    (b"WEBP", 8, ".webp"), (b"II*\x00", 0, ".tif"), (b"MM\x00*", 0, ".tif"), (b"WAVE", 8, ".wav"),
    (b"fLaC", 0, ".flac"), (b"OggS", 0, ".ogg"), (b"ID3", 0, ".mp3"), (b"\xff\xfb", 0, ".mp3"), (b"\xff\xf3", 0, ".mp3"),
]
"""A file's first bytes (at an offset) and the suffix that names its format."""


def split_body(raw: bytes, header_length: str) -> tuple[bytes, bytes]:
    """The JSON header and the binary tail of a body sent with the binary data extension."""
    try:
        n = int(header_length)
    except ValueError as exc:
        raise RequestProblem(400, "body",
                             f"Inference-Header-Content-Length must be a number, got {header_length!r}.") from exc
    if not 0 < n <= len(raw):
        raise RequestProblem(400, "body", f"Inference-Header-Content-Length is {n}, but the body has {len(raw)} bytes.")
    return raw[:n], raw[n:]


def attach_binary(inputs: Any, tail: bytes) -> None:
    """Give every input sent as binary (``parameters.binary_data_size``) its ``data``, read from ``tail`` in order;
    BYTES elements stay ``bytes``."""
    if not isinstance(inputs, list):
        return
    at = 0
    for tensor in inputs:
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or "binary_data_size" not in parameters:
            continue
        name, size = str(tensor.get("name")), parameters["binary_data_size"]
        if not isinstance(size, int) or size < 0 or at + size > len(tail):
            raise RequestProblem(400, name, f"Input '{name}' says binary_data_size {size!r}, but only "
                                            f"{len(tail) - at} bytes of binary data are left.")
        chunk, at = tail[at:at + size], at + size
        datatype = tensor.get("datatype")
        if datatype == "BYTES":
            tensor["data"] = _elements(chunk, name)
        elif datatype in NUMPY_TYPES:
            dtype = np.dtype(NUMPY_TYPES[datatype])
            if len(chunk) % dtype.itemsize:
                raise RequestProblem(400, name, f"Input '{name}': {len(chunk)} bytes are not whole {datatype} values.")
            values = np.frombuffer(chunk, dtype=dtype)
            tensor["data"] = (values != 0).tolist() if datatype == "BOOL" else values.tolist()
        else:
            raise RequestProblem(400, name, f"Input '{name}' has datatype {datatype!r}, which has no binary form here.")
    if at != len(tail):
        raise RequestProblem(400, "body", f"{len(tail) - at} bytes of binary data belong to no input.")


def _elements(chunk: bytes, name: str) -> list[bytes]:
    """The elements of a binary BYTES tensor: each a 4-byte little-endian length, then its bytes."""
    out, at = [], 0
    while at < len(chunk):
        if at + 4 > len(chunk):
            raise RequestProblem(400, name, f"Input '{name}': a BYTES element's 4-byte length is cut short.")
        n = int.from_bytes(chunk[at:at + 4], "little")
        if at + 4 + n > len(chunk):
            raise RequestProblem(400, name, f"Input '{name}': a BYTES element says {n} bytes, more than are left.")
        out.append(chunk[at + 4:at + 4 + n])
        at += 4 + n
    return out


def text_values(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Bytes of columns other than pictures and sound read as UTF-8 text (an invalid byte becomes U+FFFD)."""
    media = {c.name for c in schema.features if c.role in MEDIA_ROLES}
    for name in frame.columns:
        if name not in media and frame[name].map(lambda v: isinstance(v, bytes)).any():
            frame[name] = frame[name].map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
    return frame


@contextlib.contextmanager
def media_files(frame: pd.DataFrame, schema: Schema) -> Iterator[pd.DataFrame]:
    """``frame`` with each picture or sound column's file contents (bytes, or base64 text) written to temporary
    files and replaced by their paths, for as long as the block lasts."""
    roles = {c.name: c.role for c in schema.features if c.role in MEDIA_ROLES}
    present = [name for name in frame.columns if name in roles]
    if not present:
        yield frame
        return
    with read_once_folder("trainlab-v2-") as folder:
        out = frame.copy()
        for name in present:
            paths: list[str | None] = []
            for i, value in enumerate(frame[name].tolist()):
                if value is None:
                    paths.append(None)
                    continue
                content = value if isinstance(value, bytes) else _base64(value, name, i)
                suffix = file_suffix(content)
                if suffix is None:
                    kind = "picture" if roles[name] == "image" else "sound file"
                    raise RequestProblem(422, name, f"Input '{name}', element {i}: {len(content)} bytes that are no "
                                                    f"{kind} trainlab reads (send the file's content, base64 in JSON).")
                path = folder / f"{len(paths)}-{abs(hash(name)) % 10_000}{suffix}"
                path.write_bytes(content)
                paths.append(str(path))
            out[name] = paths
        yield out


def _base64(value: Any, name: str, i: int) -> bytes:
    text = str(value)
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestProblem(422, name, f"Input '{name}', element {i} is not base64: a picture or sound column takes "
                                        "the file's content, base64 in JSON (or raw with the binary extension).") from exc


def file_suffix(content: bytes) -> str | None:
    """The suffix of the file format whose signature ``content`` starts with, or None."""
    for signature, offset, suffix in SIGNATURES:
        if content[offset:offset + len(signature)] == signature:
            return suffix
    return None
