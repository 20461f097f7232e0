"""Load test of `trainlab serve` on 127.0.0.1: latency and rows/s beside the same model's in-process predict time.

    .venv/bin/python bench/serve_load.py                       # trains a quick LightGBM model on the sample data
    .venv/bin/python bench/serve_load.py --bundle runs/x/model --data rows.csv --seconds 10

Starts the real server in a subprocess, sends JSON batches of 1, 100 and 10,000 rows from at most 50 concurrent
clients (bounded in requests and seconds), and prints p50/p99 latency, rows/s and errors. Not part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "german_credit.csv"
TARGET = "creditability"


def quick_bundle(out: Path) -> Path:
    import trainlab

    run = trainlab.train(SAMPLE, target=TARGET, time_limit=None, max_trials=1, models=("lightgbm",),
                         out_dir=out, name="bench")
    return run.bundle_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def in_process(bundle: Path, rows: list[dict], repeats: int) -> float:
    """Median seconds of the same model's predict on the same rows in this process (the server's code path)."""
    from trainlab.serve.model import ServedModel

    model = ServedModel.load(bundle)
    frame = pd.DataFrame.from_records(rows)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(frame)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def round_trips(url: str, n: int) -> list[float]:
    """Latencies of ``n`` GETs one after the other: the cost of HTTP and the framework alone."""
    with httpx.Client(timeout=60) as client:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - start)
        return times


async def concurrent(url: str, payload: bytes, clients: int, requests: int, seconds: float) -> dict:
    """``requests`` posts from ``clients`` concurrent clients, stopping early after ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for _ in counter:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            try:
                answer = await client.post(url, content=payload, headers={"content-type": "application/json"})
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - start
    return {"requests": len(latencies), "errors": errors, "wall_s": wall, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99)}


def paired(url: str, bundle: Path, row: dict, n: int) -> tuple[list[float], list[float]]:
    """In-process and over-HTTP times of the same row, taken alternately so that load on the machine hits both."""
    from trainlab.serve.model import ServedModel

    model = ServedModel.load(bundle)
    frame = pd.DataFrame.from_records([row])
    local, remote = [], []
    with httpx.Client(timeout=60) as client:
        for i in range(n + 20):
            start = time.perf_counter()
            model.predict(frame)
            middle = time.perf_counter()
            client.post(url, json=row).raise_for_status()
            if i >= 20:
                local.append(middle - start)
                remote.append(time.perf_counter() - middle)
    return local, remote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="model bundle (default: train a quick one on the sample data)")
    parser.add_argument("--data", type=Path, default=SAMPLE, help="rows to send (the target column is dropped)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0, help="at most this long per batch size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trainlab-bench-") as tmp:
        bundle = args.bundle or quick_bundle(Path(tmp))
        frame = pd.read_csv(args.data).drop(columns=[TARGET], errors="ignore")
        rows = json.loads(frame.sample(10_000, replace=True, random_state=0).to_json(orient="records"))
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
            report(base + "/predict", bundle, rows, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def report(url: str, bundle: Path, rows: list[dict], args: argparse.Namespace) -> None:
    health = percentile(round_trips(url.replace("/predict", "/health"), 300)[20:], 50)
    local, remote = paired(url, bundle, rows[0], 300)
    overhead = statistics.median(r - lo for r, lo in zip(remote, local, strict=True))
    print(f"Single row, one client: server p50 {percentile(remote, 50) * 1e3:.2f} ms, p99 "
          f"{percentile(remote, 99) * 1e3:.2f} ms; in-process predict p50 {percentile(local, 50) * 1e3:.2f} ms; "
          f"server overhead (median of paired differences) {overhead * 1e3:.2f} ms; "
          f"HTTP round trip alone (GET /health p50) {health * 1e3:.2f} ms")
    print(f"\n{args.clients} concurrent clients, at most {args.seconds:g} s per batch size:")
    print(f"{'batch':>7} {'requests':>9} {'errors':>7} {'p50 ms':>9} {'p99 ms':>9} {'rows/s':>10} "
          f"{'in-process ms':>14} {'in-process rows/s':>18}")
    for size, requests in ((1, 5000), (100, 2000), (10_000, 60)):
        payload = json.dumps(rows[:size]).encode()
        local = in_process(bundle, rows[:size], 5 if size == 10_000 else 30)
        result = asyncio.run(concurrent(url, payload, args.clients, requests, args.seconds))
        rate = result["requests"] * size / result["wall_s"]
        print(f"{size:>7} {result['requests']:>9} {result['errors']:>7} {result['p50'] * 1e3:>9.1f} "
              f"{result['p99'] * 1e3:>9.1f} {rate:>10.0f} {local * 1e3:>14.2f} {size / local:>18.0f}")


if __name__ == "__main__":
    main()
