"""Issue 14's per-table bounds: is trainlab within reach of the best peer on every table, and never below the
LightGBM default? Reads harness result files (``../shared/bench/run.py``); each trainlab file is one run of it.

    python bench/bounds.py --trainlab A.csv [B.csv ...] --peers P1.csv P2.csv ...

A table passes when trainlab's score is no worse than the best peer's by more than 1 % of AUC (0.01), 2 % of RMSE
or 5 % of log loss (0.01 at least), and no worse than the LightGBM default's. The last column is each table's
largest wall time over the budget (issue 14's bound: 1.10).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

LGBM = "lgbm-default"


def allowed(metric: str, best: float) -> float:
    """How much worse than ``best`` a score may be."""
    if metric == "roc_auc":
        return 0.01
    if metric == "rmse":
        return 0.02 * best
    return max(0.05 * best, 0.01)


def worse_by(metric: str, score: float, than: float) -> float:
    """How much worse ``score`` is than ``than`` (negative: better)."""
    return than - score if metric == "roc_auc" else score - than


def read(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with path.open() as f:
            rows += [r for r in csv.DictReader(f) if r["status"] == "ok"]
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trainlab", type=Path, nargs="+", required=True, help="trainlab's result files, one run each")
    p.add_argument("--peers", type=Path, nargs="+", required=True, help="the peers' result files")
    args = p.parse_args(argv)
    peers: dict[str, dict[str, float]] = defaultdict(dict)
    for r in read(args.peers):
        peers[r["dataset"]][r["system"]] = float(r["primary"])
    runs: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in read(args.trainlab):
        runs[r["dataset"]].append(r)
    print("| dataset | metric | best peer | trainlab, each run | passes | LightGBM default | max wall / budget |")
    print("|---|---|---|---|---|---|---|")
    passed = total = 0
    for name in sorted(runs):
        metric = runs[name][0]["primary_metric"]
        scores = [float(r["primary"]) for r in runs[name]]
        known = peers.get(name, {})
        if not known:
            continue
        higher = metric == "roc_auc"
        who = (max if higher else min)(known, key=lambda s: known[s])
        ok = [worse_by(metric, s, known[who]) <= allowed(metric, known[who])
              and (LGBM not in known or worse_by(metric, s, known[LGBM]) <= 0) for s in scores]
        passed, total = passed + sum(ok), total + len(ok)
        wall = max(float(r["wall_time_s"]) / float(r["budget"]) for r in runs[name])
        lgbm = f"{known[LGBM]:.5g}" if LGBM in known else "-"
        print(f"| {name} | {metric} | {known[who]:.5g} ({who}) | {' / '.join(f'{s:.5g}' for s in scores)} | "
              f"{sum(ok)} of {len(ok)} | {lgbm} | {wall:.3f} |")
    print(f"\n{passed} of {total} runs within the bounds.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
