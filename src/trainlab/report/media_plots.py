"""The report's pictures for models on pictures and sound, drawn from the plain data of ``analysis.json``:
thumbnails and spectrograms of the gallery of mistakes, the network's curves per epoch, the mean occlusion map
per class and a few single heat maps. Each is base64 PNG text to inline in the HTML."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from trainlab.report.plots import BLUE, ORANGE, _figure, _png

THUMB = 96
"""Pixels a side of a gallery thumbnail (small pictures are enlarged without smoothing)."""


def thumbnail(pixels: list[Any]) -> str:
    """A decoded picture (channels, height, width; 0-255) as a PNG at least THUMB pixels a side."""
    from PIL import Image

    array = np.asarray(pixels, dtype=np.uint8)
    image = Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
    scale = max(1, THUMB // max(image.size))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def spectrogram(values: list[Any]) -> str:
    """A log-mel spectrogram (bands, frames) as a small coloured PNG, low frequencies at the bottom."""
    import matplotlib
    from PIL import Image

    array = np.asarray(values, dtype=np.float32)
    low, high = np.percentile(array, [2, 99.5])
    scaled = np.clip((array - low) / max(high - low, 1e-6), 0, 1)[::-1]
    rgb = (matplotlib.colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    image = image.resize((max(THUMB, image.width), 2 * image.height), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def gallery(media: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The gallery's items with their image (thumbnail or spectrogram) as base64 PNG, and the clip as a data URI."""
    if not media:
        return []
    items = []
    for item in media.get("gallery") or []:
        shown = dict(item)
        shown["png"] = thumbnail(item["pixels"]) if "pixels" in item else spectrogram(item["spectrogram"])
        if item.get("wav_base64"):
            shown["audio"] = f"data:audio/wav;base64,{item['wav_base64']}"
        items.append(shown)
    return items


def network_curves(curves: dict[str, Any] | None) -> str | None:
    """Training and validation loss, and the validation metric, per epoch, with the epoch kept marked."""
    epochs = (curves or {}).get("epochs") or []
    if len(epochs) < 1:
        return None
    x = [e["epoch"] for e in epochs]
    metric = curves.get("metric") or "metric" if curves else "metric"
    best = (curves or {}).get("best_epoch")
    with _figure(8.0, 3.0, ncols=2) as (fig, (left, right)):
        left.plot(x, [e["train_loss"] for e in epochs], marker="o", ms=3, color=BLUE, label="training")
        left.plot(x, [e["val_loss"] for e in epochs], marker="o", ms=3, color=ORANGE, label="validation")
        left.set(xlabel="epoch", ylabel="loss", title="Loss per epoch")
        left.legend()
        right.plot(x, [e["val_metric"] for e in epochs], marker="o", ms=3, color=ORANGE)
        right.set(xlabel="epoch", ylabel=f"validation {metric}", title=f"Validation {metric} per epoch")
        for ax in (left, right):
            if best:
                ax.axvline(best, color="#9ca3af", ls="--", lw=1)
        return _png(fig)


def _background(decoded: Any, kind: str) -> np.ndarray:
    """A picture as grey (height, width) in 0-1, or a spectrogram with low frequencies at the bottom."""
    array = np.asarray(decoded, dtype=np.float32)
    if kind == "image":
        grey = array.mean(axis=0) if array.ndim == 3 else array
        return grey / 255.0
    array = array[0] if array.ndim == 3 else array
    span = max(float(array.max() - array.min()), 1e-6)
    return ((array - array.min()) / span)[::-1]


def _heat(ax: Any, decoded: Any, heat: Any, kind: str, limit: float) -> Any:
    background = _background(decoded, kind)
    grid = np.asarray(heat, dtype=np.float32)
    grid = grid[::-1] if kind == "audio" else grid
    h, w = background.shape
    ax.imshow(background, cmap="gray", aspect="auto" if kind == "audio" else "equal")
    shown = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.55, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
                      aspect="auto" if kind == "audio" else "equal", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return shown


def saliency(media: dict[str, Any] | None) -> str | None:
    """Per class, its mean picture (or spectrogram) with the mean occlusion map over it."""
    classes = ((media or {}).get("saliency") or {}).get("classes") or {}
    if not classes or media is None:
        return None
    names = list(classes)
    cols = min(5, len(names))
    rows = -(-len(names) // cols)
    limit = max(max(float(np.abs(np.asarray(c["heat"])).max()) for c in classes.values()), 1e-6)
    import matplotlib.pyplot as plt

    from trainlab.report.plots import STYLE

    with plt.rc_context(STYLE):  # type: ignore[arg-type]
        fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols + 0.8, 2.1 * rows), squeeze=False,
                                 layout="constrained")
        try:
            shown: Any = None
            for ax, name in zip(axes.ravel(), names, strict=False):
                shown = _heat(ax, classes[name]["mean"], classes[name]["heat"], media["kind"], limit)
                ax.set_title(f"{name} ({classes[name]['files']})", fontsize=8)
            for ax in axes.ravel()[len(names):]:
                ax.axis("off")
            fig.colorbar(shown, ax=axes, fraction=0.03, label="probability lost when hidden")
            return _png(fig)
        finally:
            plt.close(fig)


def examples(media: dict[str, Any] | None) -> str | None:
    """A few test files with their occlusion heat maps and top classes, as ``trainlab explain`` draws them."""
    shown = (media or {}).get("examples") or []
    if not shown or media is None:
        return None
    limit = max(max(float(np.abs(np.asarray(e["heat"])).max()) for e in shown), 1e-6)
    with _figure(2.6 * len(shown) + 0.8, 2.8, ncols=len(shown)) as (fig, axes):
        image: Any = None
        for ax, e in zip(axes, shown, strict=False):
            image = _heat(ax, e["decoded"], e["heat"], media["kind"], limit)
            top = e["top"][0]
            ax.set_title(f"{e['name']}\n{top['class']} {top['probability']:.2f} (true {e['actual']})", fontsize=8)
        fig.colorbar(image, ax=list(axes), fraction=0.03, label="probability lost when hidden")
        return _png(fig)
