"""How long does a trial's refit on all training rows take, against what its validation fits took?

    python bench/refit_cost.py --budget 30 --datasets all --rows refits.jsonl
    python bench/refit_cost.py --summary docs/refit-cost-30.jsonl

Each table is split as the peer harness splits it (80/20, seed 0, stratified for classes) and searched once
(``trainlab.train`` on the training rows, as ``bench/ensemble_pool.py`` does). Then up to ``--per-table`` of its
successful trials (the best of each family first) are refit as a run refits its final model (``fit_model`` with the
trial's ``final_params`` on every training row, the run's threads) and timed. Each row records what the search knew
of the trial (its mean fold's fit seconds, rows, early-stopped rounds, the rounds it may grow to) beside the measured
refit: the data the scheduler's refit estimate (``Scheduler.refit_cost``) is chosen on. Prints each estimate's
error, per family and over all refits; ``--rows`` writes one JSON line per refit, ``--summary F`` summarizes such a
file again.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.search.scheduler import REFIT_GROWTH, refit_rounds_share
from trainlab.search.trial import TrainingData, TrialResult

sys.path.insert(0, str(Path(__file__).parent))
from ensemble_pool import DATASETS, search_table


def picked(trials: list[TrialResult], count: int) -> list[TrialResult]:
    """Up to ``count`` trials to refit: each family's best first, then the next best, fitted on all rows (a
    sampled trial's refit is planned to a time, not measured here)."""
    ok = [t for t in trials if t.ok and t.candidate.family != "ensemble" and not t.sampled
          and not t.candidate.params.get("budget_share")]
    firsts: dict[str, TrialResult] = {}
    for t in ok:
        firsts.setdefault(t.candidate.family, t)
    rest = [t for t in ok if t not in firsts.values()]
    return (list(firsts.values()) + rest)[:count]


def refit_row(name: str, trial: TrialResult, training: TrainingData) -> dict[str, Any]:
    """One trial refit on every training row and timed, beside what the search knew of it."""
    spec = get_spec(trial.candidate.family)
    start = time.perf_counter()
    fit_model(spec, trial.final_params, training.schema, training.features, training.y, training.weights,
              training.seed, training.n_jobs)
    seconds = time.perf_counter() - start
    rounds_param = spec.rounds_param
    return {"dataset": name, "trial": trial.candidate.name, "family": trial.candidate.family,
            "folds": len(training.folds), "rows": len(training.y), "fit_rows": trial.fit_rows,
            "fit_s": trial.fit_time_s, "predict_s": trial.predict_time_s, "rounds": trial.rounds,
            "max_rounds": trial.candidate.params.get(rounds_param) if rounds_param else None,
            "refit_rounds": trial.final_params.get(rounds_param) if rounds_param else None,
            "rounds_share": refit_rounds_share(trial), "threads": training.n_jobs, "refit_s": seconds}


def estimates(row: dict[str, Any]) -> dict[str, float]:
    """The refit seconds each rule would have expected: the fold's fit grown by ``REFIT_GROWTH``, and that times a
    booster's rounds share (``refit_rounds_share``, what the scheduler uses)."""
    grown = REFIT_GROWTH * row["fit_s"]
    share = row["rounds_share"]
    return {"REFIT_GROWTH": grown, "REFIT_GROWTH x rounds share": grown * share}


def summary(rows: list[dict[str, Any]]) -> None:
    """A markdown table of each rule's measured over expected seconds, by family and over all refits."""
    print("| family | refits | rule | median measured / expected | mean abs log error |")
    print("|---|---|---|---|---|")
    families = sorted({r["family"] for r in rows})
    for family in [*families, "all"]:
        ours = [r for r in rows if family in ("all", r["family"])]
        for rule in estimates(ours[0]):
            logs = np.array([math.log(r["refit_s"] / max(1e-4, estimates(r)[rule])) for r in ours])
            print(f"| {family} | {len(ours)} | {rule} | {math.exp(float(np.median(logs))):.2f} "
                  f"| {np.mean(np.abs(logs)):.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=30.0)
    p.add_argument("--datasets", help="comma-separated names from the shared manifest, or all")
    p.add_argument("--per-table", type=int, default=10)
    p.add_argument("--rows", type=Path, help="a JSON-lines file to append every refit's row to")
    p.add_argument("--summary", type=Path, help="summarize the rows of this JSON-lines file instead of measuring")
    args = p.parse_args()
    if args.summary:
        summary([json.loads(line) for line in args.summary.read_text().splitlines() if line.strip()])
        return
    if not args.datasets:
        p.error("give --datasets (names, or all) to measure, or --summary FILE to summarize rows measured before")
    names = ([d["name"] for d in json.loads((DATASETS / "manifest.json").read_text())["datasets"]
              if d.get("group") != "scale"] if args.datasets == "all" else args.datasets.split(","))
    rows = []
    for name in names:
        search, training, _, _ = search_table(name, args.budget)
        for trial in picked(search.trials, args.per_table):
            row = refit_row(name, trial, training)
            rows.append(row)
            if args.rows:
                with args.rows.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    summary(rows)

if __name__ == "__main__":
    main()
