"""``--distributed`` on one Ray node and on two: wall time and test score of the same table in parts.

    flock /tmp/heavy.lock .venv/bin/python bench/ray_distributed.py [--parts 4]

It writes nyc_flights (../shared/datasets) as Parquet parts, starts its own Ray cluster on this machine (a head with
2 CPUs; then a head and a second node with 1 CPU each, as separate processes), runs ``trainlab train 'parts/*.parquet'
--ray ADDRESS --distributed`` in a fresh process on each, and stops that cluster, and only it, at the end. Both
train LightGBM and XGBoost data-parallel on two Ray Train workers. On one 2-core machine this measures the overhead
and the correctness of the distributed path (the same score either way), not a speed-up: the two nodes share the
same cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nyc_flights.parquet"
BIN = Path(sys.executable).parent
CHILD = """
import json, sys, time
import trainlab
t0 = time.perf_counter()
run = trainlab.train(sys.argv[1], target="late", out_dir=sys.argv[2], ray=sys.argv[3], distributed=True)
print(json.dumps({"wall_s": time.perf_counter() - t0, "test": run.test_metrics, "best": run.best_model,
                  "extras": run.predictor.manifest.extras["distributed"]}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(args: list[str], cpus: int, log: Path) -> subprocess.Popen[bytes]:
    """A Ray node in the foreground (``--block``): a SIGTERM to it stops that node only."""
    with log.open("wb") as out:
        node = subprocess.Popen([str(BIN / "ray"), "start", *args, "--num-cpus", str(cpus), "--disable-usage-stats",
                                 "--object-store-memory", str(300 * 2**20), "--node-ip-address", "127.0.0.1",
                                 "--block"], stdout=out, stderr=subprocess.STDOUT)
    while b"Ray runtime started" not in log.read_bytes():
        if node.poll() is not None:
            sys.exit(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return node


def run_on(nodes_cpus: list[int], parts: Path, work: Path) -> dict:
    temp_dir = tempfile.mkdtemp(prefix="trl-dist-", dir="/tmp")
    port, nodes = _free_port(), []
    try:
        nodes.append(start_node(["--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", temp_dir,
                                 "--dashboard-port", str(_free_port())], nodes_cpus[0], Path(temp_dir) / "head.log"))
        for i, cpus in enumerate(nodes_cpus[1:]):
            nodes.append(start_node(["--address", f"127.0.0.1:{port}", "--dashboard-agent-listen-port",
                                     str(_free_port())], cpus, Path(temp_dir) / f"node{i}.log"))
        done = subprocess.run([sys.executable, "-c", CHILD, str(parts / "*.parquet"), str(work),
                               f"127.0.0.1:{port}"], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr[-3000:])
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ray-distributed-"))
    parts = work / "parts"
    parts.mkdir()
    frame = pd.read_parquet(SOURCE).sample(frac=1.0, random_state=0).reset_index(drop=True)
    size = -(-len(frame) // args.parts)
    for i in range(args.parts):
        frame.iloc[i * size: (i + 1) * size].to_parquet(parts / f"part-{i}.parquet", index=False)
    rows = [("1 node, 2 CPUs", run_on([2], parts, work / "one")), ("2 nodes, 1 CPU each", run_on([1, 1], parts,
                                                                                                work / "two"))]
    print(f"nyc_flights, {len(frame)} rows in {args.parts} Parquet parts, LightGBM and XGBoost on 2 Ray Train workers")
    print(f"{'cluster':<22}{'wall s':>8}{'LightGBM s':>11}{'AUC':>8}{'XGBoost s':>10}{'AUC':>8}  {'kept':<21}"
          f"{'train rows':>11}{'first worker rows':>19}")
    for name, r in rows:
        models = r["extras"]["models"]
        light, xgb = models["lightgbm_distributed"], models["xgboost_distributed"]
        print(f"{name:<22}{r['wall_s']:>8.1f}{light['seconds']:>11.1f}{light['test']['roc_auc']:>8.4f}"
              f"{xgb['seconds']:>10.1f}{xgb['test']['roc_auc']:>8.4f}  {r['best']:<21}{r['extras']['rows']['train']:>11}"
              f"{r['extras']['first_worker_rows']:>19}")


if __name__ == "__main__":
    main()
