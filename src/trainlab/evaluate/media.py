"""The evaluation of a model on one picture or sound column, as plain data for the report: a gallery of the most
confident mistakes (the decoded picture or spectrogram, and the clip itself as WAV text), the importance of each
region as a mean occlusion map per class, a few occlusion heat maps of single files, and the network's curves.

Occlusion hides one square of a decoded picture or spectrogram at a time (filled with its mean) and measures how
much probability the predicted class loses; it works for any family, in memory, through ``batch_features``.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.data.media import audio
from trainlab.data.media.cache import decoded
from trainlab.data.media.features import batch_features
from trainlab.data.schema import ColumnInfo, Schema

GALLERY = 12
"""Most confident mistakes shown."""
CLIPS = 8
"""Of those, the clips embedded as sound (each at most CLIP_SECONDS)."""
CLIP_SECONDS = 2.0
CLIP_RATE = 16_000
GRID = 8
"""Squares per side an occlusion map hides in turn."""
SALIENCY_ROWS = 6
"""Correctly predicted files per class averaged into its map."""
MAX_SALIENCY_CLASSES = 20
EXAMPLES = 3
"""Single-file heat maps, as ``trainlab explain`` draws them."""


def media_column(schema: Schema) -> ColumnInfo | None:
    """The model's one picture or sound column, when that is all it reads (else None: no media evaluation)."""
    media = [c for c in schema.features if c.role in ("image", "audio")]
    return media[0] if len(media) == 1 and len(schema.features) == 1 else None


def media_evaluation(model: Any, schema: Schema, rows: pd.DataFrame, y: np.ndarray, output: np.ndarray,
                     pred: np.ndarray, seed: int = 0) -> dict[str, Any] | None:
    """Gallery, saliency and heat maps of a classifier on one picture or sound column (None otherwise)."""
    column = media_column(schema)
    if column is None or schema.task == "regression" or not column.media:
        return None
    params = column.media
    paths = rows[column.name].astype(str).to_numpy()
    classes = [str(c) for c in schema.classes]
    return {"column": column.name, "kind": params["kind"], "grid": GRID,
            "gallery": gallery(paths, y, output, pred, classes, params),
            "saliency": saliency(model, column.name, params, paths, y, pred, classes, seed),
            "examples": examples(model, column.name, params, paths, y, output, classes)}


def gallery(paths: np.ndarray, y: np.ndarray, output: np.ndarray, pred: np.ndarray, classes: list[str],
            params: dict[str, Any]) -> list[dict[str, Any]]:
    """The wrong predictions the model was surest of: file, truth, prediction, confidence, the decoded file
    (pixels 0-255, or the log-mel spectrogram), and for sound the clip as base64 WAV."""
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-output[wrong, pred[wrong]], kind="stable")][:GALLERY]
    items = []
    for rank, i in enumerate(order):
        item: dict[str, Any] = {"file": str(paths[i]), "name": Path(str(paths[i])).name, "actual": classes[y[i]],
                                "predicted": classes[pred[i]], "confidence": round(float(output[i, pred[i]]), 4)}
        array = decoded(paths[i], params)
        if params["kind"] == "image":
            item["pixels"] = array.astype(np.uint8).tolist()
        else:
            item["spectrogram"] = np.round(array[0], 2).tolist()
            if rank < CLIPS:
                item["wav_base64"] = wav_base64(paths[i])
        items.append(item)
    return items


def wav_base64(path: str) -> str:
    """The clip, mono at CLIP_RATE, its first CLIP_SECONDS, as a 16-bit WAV file in base64."""
    import soundfile

    signal = audio.mono(path, CLIP_RATE)[: int(CLIP_SECONDS * CLIP_RATE)]
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(signal, -1, 1), CLIP_RATE, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def occlusion(model: Any, column: str, params: dict[str, Any], batch: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(n, GRID, GRID): the probability of class ``target[k]`` that file k loses when each square is hidden."""
    n, _, h, w = batch.shape
    rows, cols = np.array_split(np.arange(h), GRID), np.array_split(np.arange(w), GRID)
    hidden = np.repeat(batch[:, None], GRID * GRID + 1, axis=1)  # (n, 1 + squares, c, h, w); copy 0 is whole
    fill = batch.mean(axis=(1, 2, 3)).astype(batch.dtype)
    for k, (i, j) in enumerate((i, j) for i in range(GRID) for j in range(GRID)):
        hidden[:, k + 1, :, rows[i][0]:rows[i][-1] + 1, cols[j][0]:cols[j][-1] + 1] = fill[:, None, None, None]
    flat = hidden.reshape(n * (GRID * GRID + 1), *batch.shape[1:])
    proba = model.output(batch_features(flat, pd.RangeIndex(len(flat)), column, params))
    proba = proba.reshape(n, GRID * GRID + 1, -1)
    chosen = proba[np.arange(n), :, target]  # (n, 1 + squares)
    return (chosen[:, :1] - chosen[:, 1:]).reshape(n, GRID, GRID)


def saliency(model: Any, column: str, params: dict[str, Any], paths: np.ndarray, y: np.ndarray, pred: np.ndarray,
             classes: list[str], seed: int) -> dict[str, Any]:
    """Per class: the mean occlusion map of up to SALIENCY_ROWS correctly predicted files, and their mean picture
    or spectrogram (the regions the model relies on for that class: its feature importance)."""
    rng = np.random.default_rng(seed)
    maps: dict[str, Any] = {}
    for k, name in enumerate(classes[:MAX_SALIENCY_CLASSES]):
        right = np.flatnonzero((y == k) & (pred == k))
        if not len(right):
            continue
        chosen = rng.choice(right, size=min(SALIENCY_ROWS, len(right)), replace=False)
        batch = np.stack([decoded(p, params) for p in paths[chosen]])
        heat = occlusion(model, column, params, batch, np.full(len(chosen), k))
        maps[name] = {"files": len(chosen), "heat": np.round(heat.mean(axis=0), 4).tolist(),
                      "mean": np.round(batch.astype(np.float32).mean(axis=0), 2).tolist()}
    return {"method": f"occlusion: each of {GRID}x{GRID} squares hidden in turn, probability of the true class lost, "
                      f"averaged over up to {SALIENCY_ROWS} correctly predicted test files per class",
            "classes": maps}


def examples(model: Any, column: str, params: dict[str, Any], paths: np.ndarray, y: np.ndarray, output: np.ndarray,
             classes: list[str]) -> list[dict[str, Any]]:
    """Occlusion heat maps of EXAMPLES test files of different classes, as ``trainlab explain`` draws them."""
    chosen: list[int] = []
    for k in range(len(classes)):
        found = np.flatnonzero(y == k)
        if len(found):
            chosen.append(int(found[0]))
        if len(chosen) == EXAMPLES:
            break
    if not chosen:
        return []
    batch = np.stack([decoded(p, params) for p in paths[chosen]])
    top = output[chosen].argmax(axis=1)
    heat = occlusion(model, column, params, batch, top)
    out = []
    for n, i in enumerate(chosen):
        ranked = np.argsort(-output[i])[:3]
        out.append({"file": str(paths[i]), "name": Path(str(paths[i])).name, "actual": classes[y[i]],
                    "top": [{"class": classes[c], "probability": round(float(output[i, c]), 4)} for c in ranked],
                    "heat": np.round(heat[n], 4).tolist(),
                    "decoded": (batch[n].astype(np.uint8).tolist() if params["kind"] == "image"
                                else np.round(batch[n][0], 2).tolist())})
    return out


def network_curves(bundle: Path) -> dict[str, Any] | None:
    """The network's per-epoch curves (``history.json`` of a neural_net in the bundle), if it has one."""
    found = sorted(Path(bundle).rglob("history.json")) if Path(bundle).is_dir() else []
    if not found:
        return None
    history = json.loads(found[0].read_text(encoding="utf-8"))
    return {"metric": history.get("metric"), "best_epoch": history.get("best_epoch"),
            "epochs": [{k: e.get(k) for k in ("epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds")}
                       for e in history.get("epochs", [])]}
