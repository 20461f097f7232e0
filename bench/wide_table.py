"""A wide table at a short limit: 60 rows x 3,000 numeric columns (the label from the first five), --time-limit 10.

    flock /tmp/heavy.lock env PYTHONPATH=src python bench/wide_table.py [--limit 10] [--work /tmp/wide-bench]

Prints when each trial ended and each stage began (seconds after ``trainlab.train`` was called, so the import of
``trainlab.run`` counts, as it does for the limit), the run's timings (``first_model_s``: the first usable model
saved, after ``prepare_s``), the wall time and the best model's test metrics, or the error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def write_table(path: Path, rows: int = 60, columns: int = 3000) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, columns))
    y = np.where(x[:, :5].sum(axis=1) + rng.normal(scale=0.5, size=rows) > 0, "a", "b")
    pd.DataFrame(x, columns=[f"c{i}" for i in range(columns)]).assign(y=y).to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=float, default=10.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/wide-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    table = args.work / "wide.csv"
    if not table.exists():
        write_table(table)
    import trainlab

    started = time.monotonic()

    def listen(kind: str, info: dict[str, Any]) -> None:
        at = time.monotonic() - started
        if kind == "stage":
            print(f"{at:6.2f} s  stage: {info.get('name')}")
        elif kind == "trial_end":
            trial = info["trial"]
            print(f"{at:6.2f} s  {trial.candidate.name}: {trial.status} (score {trial.score:.4f})")

    try:
        run = trainlab.train(str(table), target="y", out_dir=str(args.work / "runs"), time_limit=args.limit,
                             listener=listen)
        result = {"wall_s": round(time.monotonic() - started, 2), "timings": run.timings, "best": run.best_model,
                  "test": run.test_metrics}
    except Exception as exc:  # the failure is the figure
        result = {"wall_s": round(time.monotonic() - started, 2), "error": str(exc)}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
