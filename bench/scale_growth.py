"""How trainlab's cost grows with the rows: 10k, 100k, 1M and 3M-row tables made from nyc_flights.

    flock /tmp/heavy.lock .venv/bin/python bench/scale_growth.py --budget 60

How the tables are made: 20 % of nyc_flights' 327,346 rows (seed 0) are held out as the common test set. Each table
of N rows draws N rows with replacement from the other 80 % (seed 1) and adds noise to every numeric column but the
calendar ones (month, day, hour, minute): Gaussian noise with a standard deviation of 5 % of the column's own,
rounded back to whole numbers where the column holds whole numbers. Text columns (carrier, origin, dest) and the
target ('late') are kept as drawn. The noise keeps duplicated rows from being exact copies, so a model cannot
just memorise them.

For each size the script writes the table as Parquet, then runs ``trainlab train`` on it through the Python API in a
fresh process (``time_limit=--budget``, no report), and prints: the time until the first usable model was saved
(counted from the start of ``train``, loading included, imports not), the wall time of ``train``, the test AUC of
the whole run on the held-out rows (and the seconds that prediction took, outside the wall time: rows with a gap
where training rows had none are predicted over 30 donor rows, models/missing.py), the peak memory, and the time per
row of loading and preparing the table (read, check, split, features: the work that must touch every row).

Peak memory is given twice: ``peak_pss_mb``, the largest proportional set size of the run's process and its trial
workers together, sampled every 0.1 s (memory a forked worker shares with the run is counted once), and
``peak_rss_mb``, the run's own peak resident size plus its largest worker's (shared pages counted twice: an upper
bound).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nyc_flights.parquet"
SIZES = (10_000, 100_000, 1_000_000, 3_000_000)
CALENDAR = ("month", "day", "hour", "minute")
NOISE = 0.05

CHILD = """
import json, resource, sys, time
import pandas as pd
import trainlab
import trainlab.run  # train() imports it on first use: imported here, outside the clock
from sklearn.metrics import roc_auc_score
start = time.monotonic()  # after the imports: the figures are about the table's size
run = trainlab.train(sys.argv[1], target="late", time_limit=float(sys.argv[3]), out_dir=sys.argv[4], report=False,
                     started=start)
wall = time.monotonic() - start
test = pd.read_parquet(sys.argv[2])
auc = roc_auc_score(test["late"] == "late", run.predict_proba(test.drop(columns="late"))["late"])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"timings": run.timings, "auc": auc, "best": run.best_model, "peak_mb": own + workers,
                  "wall_s": wall, "test_predict_s": time.monotonic() - start - wall,
                  "refit": run.predictor.manifest.extras.get("refit")}))
"""


def make_tables(work: Path, sizes: tuple[int, ...], seed: int = 0) -> tuple[Path, dict[int, Path]]:
    """The held-out test rows and one noisy resampled table per size, as Parquet files under ``work``."""
    frame = pd.read_parquet(SOURCE)
    rng = np.random.default_rng(seed)
    held = rng.random(len(frame)) < 0.2
    test_path = work / "test.parquet"
    frame[held].to_parquet(test_path, index=False)
    pool = frame[~held].reset_index(drop=True)
    draw = np.random.default_rng(seed + 1)
    paths = {}
    for n in sizes:
        table = pool.iloc[draw.integers(0, len(pool), size=n)].reset_index(drop=True)
        for name in table.columns:
            column = table[name]
            if name in CALENDAR or not pd.api.types.is_numeric_dtype(column):
                continue
            noisy = column + draw.normal(0.0, NOISE * float(column.std()), size=n)
            whole = bool(np.all(np.mod(column.dropna(), 1) == 0))
            table[name] = noisy.round() if whole else noisy
        paths[n] = work / f"flights_{n}.parquet"
        table.to_parquet(paths[n], index=False)
        del table
    return test_path, paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=60.0, help="time limit of each run (seconds)")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)))
    p.add_argument("--work", default=None, help="folder for the tables and runs (default: a temporary one)")
    args = p.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    work = Path(args.work or tempfile.mkdtemp(prefix="scale-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    test_path, paths = make_tables(work, sizes)
    print(f"tables made in {time.monotonic() - t0:.0f} s under {work}", flush=True)
    rows = []
    for n, path in paths.items():
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(test_path), str(args.budget),
                                  str(work / f"runs-{n}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak_pss = 0.0
        while child.poll() is None:
            peak_pss = max(peak_pss, tree_pss_mb(child.pid))
            time.sleep(0.1)
        stdout, stderr = child.communicate()
        if child.returncode != 0:
            print(f"{n} rows: failed\n{stderr[-2000:]}", flush=True)
            continue
        r = json.loads(stdout.strip().splitlines()[-1])
        t = r["timings"]
        first = t["prepare_s"] + (t["first_model_s"] or float("nan"))
        rows.append({"rows": n, "prepare_s": round(t["prepare_s"], 2), "first_model_s": round(first, 2),
                     "wall_s": round(r["wall_s"], 1), "test_auc": round(r["auc"], 4), "best": r["best"],
                     "test_predict_s": round(r["test_predict_s"], 1),
                     "peak_pss_mb": round(peak_pss), "peak_rss_mb": round(r["peak_mb"]),
                     "prepare_us_per_row": round(1e6 * t["prepare_s"] / n, 2),
                     "first_model_us_per_row": round(1e6 * first / n, 2)})
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    print()
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    per_row = table.set_index("rows")["prepare_us_per_row"]
    grown = per_row[per_row.index >= 100_000]
    if len(grown) > 1:
        print(f"\nprepare time per row, 100k rows and up: {grown.min():.2f} to {grown.max():.2f} us "
              f"(max/min {grown.max() / grown.min():.2f}, target within 2x)")
    return 0


def tree_pss_mb(pid: int) -> float:
    """The proportional set size (MB) of process ``pid`` and its children: pages they share (a forked worker reads
    the table from its parent's pages) counted once in all, unlike the sum of their resident sizes."""
    kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if int(entry.name) == pid or parent == pid:
                kb += int((entry / "smaps_rollup").read_text().split("Pss:")[1].split()[0])
        except (OSError, IndexError, ValueError):  # a process that ended while it was read
            continue
    return kb / 1024


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
