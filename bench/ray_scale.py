"""Wall time of one search at a fixed trial budget, 1 and 2 worker processes, local executor beside Ray, in one run.

    .venv/bin/python bench/ray_scale.py [--data FILE --target COLUMN] [--trials 8] [--models a,b]

It starts its own Ray cluster on this machine (a head, then one more node, one CPU each, as separate processes)
and stops that cluster, and only it, at the end. Each search runs in a fresh Python process, in this order: local 1
and 2, the same with OMP_NUM_THREADS=1, Ray 1 (head only), Ray 2 (head and node). 'search s' is the time from the
first trial to the end of the search, 'total s' the whole ``trainlab.train`` call (without the report), 'process s'
that plus Python's start and imports. On a machine with 2 cores, two workers can at best halve the search.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trainlab

DATA = Path(__file__).resolve().parents[1] / "examples" / "german_credit.csv"
BIN = Path(sys.executable).parent
# One default trial per family and no tuning: the same trials with 1 or 2 workers (tuning asks Optuna for as many
# candidates as there are workers at a time, so it would try other parameters, at another cost, with 2).
MODELS = "linear,decision_tree,knn,lightgbm,xgboost,hist_gradient_boosting,random_forest,extra_trees"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A Ray node in the foreground (``--block``): a SIGTERM to it stops that node only."""
    with log.open("wb") as out:
        node = subprocess.Popen([str(BIN / "ray"), "start", *args, "--num-cpus", "1", "--disable-usage-stats",
                                 "--object-store-memory", str(200 * 2**20), "--block"],
                                stdout=out, stderr=subprocess.STDOUT)
    while b"Ray runtime started" not in log.read_bytes():
        if node.poll() is not None:
            sys.exit(f"ray start failed: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    return node


def search(data: Path, target: str, options: dict[str, Any]) -> dict[str, Any]:
    """One search, in this process."""
    marks: dict[str, float] = {}

    def listen(kind: str, info: dict[str, Any]) -> None:
        if kind == "trial_start":
            marks.setdefault("first_trial", time.perf_counter())
        if kind == "stage" and info["name"].startswith("Refitting"):
            marks["search_end"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run = trainlab.train(data, target=target, out_dir=out, report=False, listener=listen, **options)
        total = time.perf_counter() - t0
    trials = [(t.candidate.name, round(t.score, 6)) for t in run.trials]
    return {"search": marks["search_end"] - marks["first_trial"], "total": total, "trials": trials,
            "failed": sum(not t.ok for t in run.trials)}


def in_child(args: argparse.Namespace, jobs: int, ray: str | None = None, **env: str) -> dict[str, Any]:
    """One search in a fresh process: a process that already ran a search must not fork workers again."""
    command = [sys.executable, __file__, "--data", str(args.data), "--target", args.target, "--trials",
               str(args.trials), "--models", args.models, "--jobs", str(jobs), *(["--ray", ray] if ray else [])]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **env})
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--target", default="creditability")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--jobs", type=int, help=argparse.SUPPRESS)  # given: run one search here, print JSON
    parser.add_argument("--ray", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.jobs is not None:
        # A generous time limit only so that --jobs 1 also runs in a worker process; the trial budget ends it.
        options = {"max_trials": args.trials, "time_limit": 3600, "models": args.models.split(","), "seed": 0,
                   "jobs": args.jobs, **({"ray": args.ray} if args.ray else {})}
        print(json.dumps(search(args.data, args.target, options)))
        return
    rows = [("local", jobs, in_child(args, jobs)) for jobs in (1, 2)]
    # Ray runs each task with OMP_NUM_THREADS set to its CPUs; local workers leave OpenMP and BLAS at every core
    rows += [("local, OMP_NUM_THREADS=1", jobs, in_child(args, jobs, OMP_NUM_THREADS="1")) for jobs in (1, 2)]
    temp_dir = tempfile.mkdtemp(prefix="trl-bench-", dir="/tmp")
    port, nodes = _free_port(), []
    try:
        nodes.append(start_node(["--head", "--port", str(port), "--include-dashboard=false", "--temp-dir", temp_dir,
                                 "--dashboard-port", str(_free_port())], Path(temp_dir) / "head.log"))
        address = f"127.0.0.1:{port}"
        rows.append(("ray", 1, in_child(args, 1, address)))
        nodes.append(start_node(["--address", address, "--dashboard-agent-listen-port", str(_free_port())],
                                Path(temp_dir) / "node.log"))
        rows.append(("ray", 2, in_child(args, 2, address)))
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)
            node.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)
    print(f"{args.data.name}, --max-trials {args.trials}, --models {args.models}")
    print(f"{'executor':<26}{'workers':>8}{'search s':>10}{'total s':>9}{'process s':>11}{'failed':>8}  "
          "same trials and scores as local")
    local = {jobs: result["trials"] for name, jobs, result in rows if name == "local"}
    for name, jobs, result in rows:
        same = "yes" if result["trials"] == local[jobs] else "no"
        print(f"{name:<26}{jobs:>8}{result['search']:>10.1f}{result['total']:>9.1f}{result['process']:>11.1f}"
              f"{result['failed']:>8}  {same}")


if __name__ == "__main__":
    main()
