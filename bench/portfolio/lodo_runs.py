"""Leave one dataset out on real runs: each dev table is scored by trainlab with the portfolio and cost model built
without that table's trials, beside three runs with the shipped ones (model seeds 0, 1 and 2 on the same split), whose
spread is the noise a difference must stand out from. ``build.py --check`` replays recorded trials; this runs the
whole product through the peer harness (``../shared/bench``), as a user would meet it.

    python bench/portfolio/lodo_runs.py --budget 30 --work /tmp/lodo              # all tables, then the table
    python bench/portfolio/lodo_runs.py --budget 30 --work /tmp/lodo --report-only  # the table from what ran

Runs are resumable (a table already in a result file is skipped) and go table by table, the four runs of a table
one after the other, so that a change in the machine's load touches all four alike.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "bench"
SEEDS = (0, 1, 2)


def tables(spec: str) -> list[str]:
    manifest = json.loads((BENCH.parent / "datasets" / "manifest.json").read_text())["datasets"]
    names = [d["name"] for d in manifest if d.get("group") != "scale"]
    return names if spec == "all" else [n for n in spec.split(",") if n in names]


def left_out_tree(name: str, work: Path) -> Path:
    """A copy of the package whose portfolio and cost model were built without ``name``'s trials."""
    src = work / f"src-{name}"
    if not (src / ".built").exists():  # written once the copy and its build are complete
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(ROOT / "src" / "trainlab", src / "trainlab", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, str(ROOT / "bench" / "portfolio" / "build.py"), "--leave-out", name,
                        "--out", str(src / "trainlab" / "search")], check=True, stdout=subprocess.DEVNULL)
        (src / ".built").touch()
    return src


def harness(name: str, src: Path, out: Path, budget: float, model_seed: int) -> None:
    """One harness run of trainlab from ``src`` on one table (skipped when ``out`` already has it)."""
    cmd = f"{sys.executable} {ROOT / 'bench' / 'adapter.py'} --model-seed {model_seed}"
    subprocess.run([sys.executable, "run.py", "--system", "trainlab", "--cmd", cmd, "--python", sys.executable,
                    "--budget", str(budget), "--datasets", name, "--out", str(out), "--resume"],
                   cwd=BENCH, env={**os.environ, "PYTHONPATH": str(src)}, check=True, stdout=subprocess.DEVNULL)


def rows(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    with path.open() as f:
        return {r["dataset"]: r for r in csv.DictReader(f)}


def first_configs(folder: Path, k: int = 10) -> list[str]:
    return [c["id"] for c in json.loads((folder / "portfolio.json").read_text())["configs"][:k]]


def report(names: list[str], work: Path) -> None:
    """A markdown table: the three in-sample scores, their range, the left-out score and where it falls."""
    ins = [rows(work / f"in-seed{s}.csv") for s in SEEDS]
    lodo = rows(work / "lodo.csv")
    shipped = first_configs(ROOT / "src" / "trainlab" / "search")
    print("| dataset | metric | in sample, seeds 0 / 1 / 2 | range | left out | where | shared of first 10 |")
    print("|---|---|---|---|---|---|---|")
    inside = compared = 0
    for name in names:
        if name not in lodo or any(name not in r for r in ins):
            continue
        compared += 1
        metric = lodo[name]["primary_metric"]
        higher = metric == "roc_auc"
        scores = [float(r[name]["primary"]) for r in ins]
        low, high, held = min(scores), max(scores), float(lodo[name]["primary"])
        if low <= held <= high:
            where, inside = "inside", inside + 1
        else:
            gap = held - high if held > high else held - low
            worse = (gap < 0) == higher
            ranges = abs(gap) / max(high - low, 1e-12)
            where = f"{'worse' if worse else 'better'} by {abs(gap):.4g} ({ranges:.2g} x the range)"
        common = len(set(shipped) & set(first_configs(work / f"src-{name}" / "trainlab" / "search")))
        print(f"| {name} | {metric} | {' / '.join(f'{s:.5g}' for s in scores)} | {high - low:.4g} | {held:.5g} | "
              f"{where} | {common} |")
    print(f"\n{inside} of {compared} left-out scores inside the in-sample range of three seeds.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=30.0)
    p.add_argument("--work", type=Path, required=True, help="folder for the result files and the left-out packages")
    p.add_argument("--datasets", default="all", help="all, or a comma list of dev tables")
    p.add_argument("--report-only", action="store_true", help="print the table from the runs made so far")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    names = tables(args.datasets)
    if not args.report_only:
        for name in names:
            harness(name, ROOT / "src", args.work / "in-seed0.csv", args.budget, 0)
            harness(name, left_out_tree(name, args.work), args.work / "lodo.csv", args.budget, 0)
            for seed in SEEDS[1:]:
                harness(name, ROOT / "src", args.work / f"in-seed{seed}.csv", args.budget, seed)
    report(names, args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
