"""Latency of one picture through `trainlab serve` (POST /predict/file) on 127.0.0.1, beside in-process predict.

    .venv/bin/python bench/serve_image.py                          # trains a small CNN on generated 28x28 shapes
    .venv/bin/python bench/serve_image.py --bundle runs/x/model --image some.png

Starts the real server in a subprocess, sends the same PNG 300 times from one client (after 20 warm-up
requests), and prints p50/p99 of the server round trip, the in-process predict of the same file and the HTTP
round trip alone (GET /health). The issue's target: p50 under 20 ms on the CPU. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import free_port, percentile, round_trips

SHAPES = ("circle", "square", "cross")


def shapes_folder(root: Path, per_class: int = 40) -> Path:
    """Grey 28x28 pictures of three shapes, like Fashion-MNIST's format."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for kind in SHAPES:
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            image = Image.new("L", (28, 28), int(rng.integers(0, 60)))
            pen = ImageDraw.Draw(image)
            x, y = (int(v) for v in rng.integers(9, 19, 2))
            r = int(rng.integers(4, 8))
            shade = int(rng.integers(180, 256))
            if kind == "circle":
                pen.ellipse([x - r, y - r, x + r, y + r], fill=shade)
            elif kind == "square":
                pen.rectangle([x - r, y - r, x + r, y + r], fill=shade)
            else:
                pen.line([x - r, y, x + r, y], fill=shade, width=2)
                pen.line([x, y - r, x, y + r], fill=shade, width=2)
            image.save(root / kind / f"{i}.png")
    return root


def quick_bundle(out: Path) -> Path:
    import trainlab

    run = trainlab.train(shapes_folder(out / "shapes"), target="label", time_limit=None, max_trials=1,
                         models=("neural_net",), out_dir=out, name="bench", report=False)
    return run.bundle_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a model on one picture column (default: train a small CNN)")
    parser.add_argument("--image", type=Path, help="the picture to send (default: one of the generated shapes)")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trainlab-bench-") as tmp:
        bundle = args.bundle or quick_bundle(Path(tmp))
        image = args.image or Path(tmp) / "shapes" / "cross" / "0.png"
        data = image.read_bytes()
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).parent / "trainlab"), "serve", str(bundle), "--port",
                                   str(port), "--runs", tmp], env={**os.environ, "TRAINLAB_TOKEN": ""})
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            report(base, bundle, image, data, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)


def report(base: str, bundle: Path, image: Path, data: bytes, n: int) -> None:
    from trainlab.serve.model import ServedModel

    model = ServedModel.load(bundle)
    column = model.predictor.schema.features[0].name
    frame = pd.DataFrame({column: [str(image)]})
    local, remote = [], []
    answer = None
    with httpx.Client(timeout=60) as client:
        for i in range(n + 20):
            start = time.perf_counter()
            model.predict(frame)
            middle = time.perf_counter()
            answer = client.post(f"{base}/predict/file", files={"file": (image.name, data, "image/png")})
            answer.raise_for_status()
            if i >= 20:
                local.append(middle - start)
                remote.append(time.perf_counter() - middle)
    health = percentile(round_trips(f"{base}/health", 220)[20:], 50)
    manifest = bundle / "manifest.json"
    family = json.loads(manifest.read_text()).get("model_family") if manifest.exists() else None
    print(json.dumps({"bundle": str(bundle), "family": family, "image": image.name, "bytes": len(data),
                      "requests": n, "server_p50_ms": round(percentile(remote, 50) * 1e3, 2),
                      "server_p99_ms": round(percentile(remote, 99) * 1e3, 2),
                      "in_process_p50_ms": round(percentile(local, 50) * 1e3, 2),
                      "http_round_trip_p50_ms": round(health * 1e3, 2),
                      "answer": answer.json() if answer is not None else None}, indent=1))


if __name__ == "__main__":
    main()
