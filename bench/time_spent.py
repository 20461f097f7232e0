"""Where the time of trainlab runs went, read from their run folders: the trials' work by outcome, and the final
refits, expected (what decided that they fit) beside measured.

    python bench/time_spent.py RUN_DIR [RUN_DIR ...]
    python bench/time_spent.py /tmp/bench-*/runs/*/       # the peer harness's kept workdirs (run.py --keep-workdir)

A run folder holds ``run.json`` and ``search/trials.jsonl``. A trial's work is its folds' fit and predict seconds
summed (one worker's time; two workers run side by side): ``lost`` is the work of trials that ended without a
score (failed, stopped by the time limit, pruned after their first fold).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def trial_work(trial: dict[str, Any]) -> float:
    """Seconds of fold work a recorded trial took: a finished trial records the mean fold, the others their sums."""
    seconds = float(trial.get("fit_time_s") or 0.0) + float(trial.get("predict_time_s") or 0.0)
    return seconds * len(trial.get("fold_scores") or [1]) if trial["status"] == "ok" else seconds


def run_row(folder: Path) -> dict[str, Any]:
    """One run's figures: its name, limit, total seconds, trial counts and work by outcome, and its refits."""
    record = json.loads((folder / "run.json").read_text())
    trials = [json.loads(line) for line in (folder / "search" / "trials.jsonl").read_text().splitlines() if line]
    searched = [t for t in trials if t["family"] != "ensemble"]
    ok = [t for t in searched if t["status"] == "ok"]
    lost = [t for t in searched if t["status"] != "ok"]
    harness = re.match(r"bench-(.+)-[^-]+$", folder.parent.parent.name)  # the harness's workdir: bench-<name>-<tmp>
    refit = record.get("refit") or {}
    return {"run": harness.group(1) if harness else folder.name,
            "limit_s": (record["config"]["budget"] or {}).get("time_limit"),
            "total_s": (record.get("timings") or {}).get("total_s"),
            "ok": len(ok), "lost": len(lost),
            "ok_work_s": sum(map(trial_work, ok)), "lost_work_s": sum(map(trial_work, lost)),
            "longest_lost": max(lost, key=trial_work, default=None),
            "refit_s": refit.get("seconds"), "refit_expected_s": refit.get("expected_s"),
            "full_s": refit.get("full_s"), "full_expected_s": refit.get("full_expected_s")}


def fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    rows = [run_row(folder) for folder in p.parse_args(argv).runs if (folder / "run.json").exists()]
    print("| run | limit s | total s | trials ok / lost | work ok s | work lost s (share) | longest lost trial | "
          "refit s (expected) | refit on every row s (expected) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["run"]):
        work = r["ok_work_s"] + r["lost_work_s"]
        share = r["lost_work_s"] / work if work else 0.0
        longest = r["longest_lost"]
        worst = f"{longest['name']}: {trial_work(longest):.1f} s, {longest['error'][:60]}" if longest else ""
        print(f"| {r['run']} | {fmt(r['limit_s'], 0)} | {fmt(r['total_s'])} | {r['ok']} / {r['lost']} | "
              f"{r['ok_work_s']:.1f} | {r['lost_work_s']:.1f} ({share:.0%}) | {worst} | "
              f"{fmt(r['refit_s'], 2)} ({fmt(r['refit_expected_s'], 2)}) | {fmt(r['full_s'], 2)} "
              f"({fmt(r['full_expected_s'], 2)}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
