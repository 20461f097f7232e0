"""Build the learned portfolio and the cost model from recorded trials (``collect.py``), and validate the portfolio
leave-one-dataset-out.

    python bench/portfolio/build.py                      # writes src/trainlab/search/{portfolio,costs}.json
    python bench/portfolio/build.py --check              # prints the leave-one-dataset-out table only
    python bench/portfolio/build.py --leave-out wine --out DIR   # both files built without wine's trials, in DIR

The cost model is also fitted on ``trials-large.jsonl.gz``: a few configurations per family recorded on the dev
tables of over 20,000 rows at up to 40,000 (``collect.py --rows 40000 --per-family 3``), which the portfolio does not
read (its trials share one subsample size, so that configurations compare across datasets). Fitted on 5,000-row
subsamples alone, the model expected CatBoost's default to fit diamonds' 28,800 rows in 0.6 s; it took 10.0 s.
And on ``trials-shapes.jsonl.gz``: each family's default and one random configuration on generated tables of
150-1,000 columns and 8-30 classes (``shapes.py``), shapes no dev table has. Their CatBoost trials all ran past
that collection's 60 s limit; ``trials-shapes-catboost.jsonl.gz`` holds CatBoost's recorded again under 300 s
(13 of 16 ended, 20-92 s a fold). It is not read by default: fitted with it, alone or with a second column slope
past 100 columns, the cost model was closer on the wide tables, but runs at 30 s on the dev tables and probe
tables were no better (docs/benchmarks.md, twenty-sixth session); add it with ``--cost-trials``.

Normalized error: on each dataset a configuration's error (1 - AUC, log loss or RMSE) is rescaled so that the
best recorded configuration is 0 and the median one 1 (clipped to [0, 1]; a failed trial is 1). The portfolio is
grown greedily: each step adds the configuration that most lowers the mean over datasets of the best normalized
error among those chosen *per unit of cost*, until nothing lowers it or ``--size`` are chosen. A configuration's cost
is its seconds relative to the median trial of each dataset, averaged over datasets, plus ``OVERHEAD`` (so that
trivial configurations do not win on cost alone). The search runs the portfolio in order under a time limit, so the
order decides what a short budget reaches: ``--check`` replays it on the recorded trials within fixed budgets.

Ordering by gain alone put costly configurations first; leave-one-dataset-out, over the 19 dev datasets, the best
normalized error reached within 25 s of recorded trial time was 0.091 by gain and 0.055 by gain per cost
(``--check``; 6 s: 0.140 and 0.107; 100 s: 0.066 and 0.053).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import lsq_linear

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from trainlab.search.cost import cost_features  # noqa: E402

PACKAGE = ROOT / "src" / "trainlab" / "search"
RIDGE = 1e-2
OVERHEAD = 0.3
"""Added to each configuration's relative cost: a third of a median trial (in the --check replay, 0.1 and 1.0 gave
leave-one-dataset-out errors within 0.03 of 0.3's at every budget)."""
BUDGETS = (3, 6, 12, 25, 50, 100)
SHAPE = ("log_rows", "log_rows_over", "log_columns", "log_classes", "log_levels")
"""Regressors of the table's size, whose coefficients are kept at 0 or above: a fit never gets quicker on more rows,
columns, classes or category levels, while a free fit over 19 tables gave the network's columns -0.06."""


def load_trials(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def error_table(trials: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, Any]]]:
    """Normalized error by dataset and configuration, and each configuration's family, params, seconds by dataset
    (``wall``) and relative cost by dataset (``cost``: seconds over the dataset's median trial)."""
    raw: dict[str, dict[str, float]] = defaultdict(dict)
    configs: dict[str, dict[str, Any]] = {}
    for t in trials:
        ok = t["status"] == "ok" and t["score"] is not None and math.isfinite(t["score"])
        raw[t["dataset"]][t["config"]] = (-t["score"] if t["greater_is_better"] else t["score"]) if ok else math.inf
        configs.setdefault(t["config"], {"id": t["config"], "family": t["family"], "params": t["params"], "wall": {}})
        configs[t["config"]]["wall"][t["dataset"]] = t["wall_s"]
    table = {}
    for dataset, errors in raw.items():
        finite = np.array([e for e in errors.values() if math.isfinite(e)])
        best, median = float(finite.min()), float(np.median(finite))
        scale = max(median - best, 1e-12)
        table[dataset] = {c: 1.0 if not math.isfinite(e) else float(np.clip((e - best) / scale, 0, 1))
                          for c, e in errors.items()}
    medians = {d: float(np.median([c["wall"][d] for c in configs.values() if d in c["wall"]])) for d in raw}
    for c in configs.values():
        c["cost"] = {d: s / max(medians[d], 1e-9) for d, s in c["wall"].items()}
    return table, configs


def greedy(table: dict[str, dict[str, float]], configs: dict[str, dict[str, Any]], size: int) -> list[str]:
    """Configuration ids in the order greedy selection picks them (see the module docstring)."""
    datasets = sorted(table)
    ids = sorted(configs)
    if not datasets:
        return []
    errors = np.array([[table[d].get(c, 1.0) for c in ids] for d in datasets])  # datasets x configurations
    best = np.ones(len(datasets))
    chosen: list[str] = []
    cost = np.array([np.mean([configs[c]["cost"].get(d, 1.0) for d in datasets]) for c in ids]) + OVERHEAD
    while len(chosen) < size:
        means = np.minimum(errors, best[:, None]).mean(axis=0)
        gain = best.mean() - means
        if gain.max() <= 1e-9 and chosen:
            break
        pick = int(np.argmax(np.where(gain > 1e-9, gain / cost, -cost)))  # nothing gains (first step): the cheapest
        chosen.append(ids[pick])
        best = np.minimum(best, errors[:, pick])
    return chosen


def fit_costs(trials: list[dict[str, Any]]) -> dict[str, Any]:
    """Per family, a ridge fit of log seconds per fold on ``cost_features`` (rows, columns, classes, category levels,
    parameters), from the trials that ended. Those stopped by their time limit are left out: in, as the mean of the
    folds they timed, they doubled CatBoost's expected seconds on every table (depth-8 CatBoost on 3-class tables of
    100-250 rows and CatBoost on ames_housing's 39 categorical columns are slow; on caravan's 85 numeric columns it
    is not), and a 30 s run there skipped every CatBoost configuration."""
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trials:
        if t["status"] == "ok":
            by_family[t["family"]].append(t)
    model: dict[str, Any] = {}
    for family, rows in by_family.items():
        names, _ = cost_features(family, rows[0], rows[0]["params"])
        x = np.array([cost_features(family, r, r["params"])[1] for r in rows])
        y = np.log(np.array([r["fit_time_s"] + r["predict_time_s"] for r in rows]) + 1e-3)
        # ridge as least squares on rows appended for the penalty, the table's size bounded below by 0 (SHAPE)
        penalty = np.sqrt(RIDGE) * np.eye(x.shape[1])
        low = [0.0 if name in SHAPE else -np.inf for name in names]
        coef = lsq_linear(np.vstack([x, penalty]), np.concatenate([y, np.zeros(x.shape[1])]), bounds=(low, np.inf)).x
        resid = y - x @ coef
        model[family] = {"features": names, "coef": [round(float(c), 5) for c in coef],
                         "log_sd": round(float(resid.std()), 4), "trials": len(rows)}
    probes = [t["probe_s"] for t in trials if t.get("probe_s")]
    return {"probe_s": float(np.median(probes)) if probes else None, "families": model}


def replay(order: list[str], dataset: str, table: dict[str, dict[str, float]], configs: dict[str, dict[str, Any]],
           budget: float) -> float:
    """The best normalized error that running ``order`` on ``dataset`` reaches within ``budget`` seconds of its
    recorded trials, skipping a configuration that would not fit in the time left (as the scheduler does)."""
    used, best = 0.0, 1.0
    for c in order:
        seconds = configs[c]["wall"].get(dataset, math.inf)
        if used + seconds <= budget:
            used += seconds
            best = min(best, table[dataset].get(c, 1.0))
    return best


def leave_one_out(table: dict[str, dict[str, float]], configs: dict[str, dict[str, Any]], size: int,
                  firsts: tuple[int, ...], budgets: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    """For each dataset, the best normalized error among the first k configurations of the portfolio built with it
    (in sample) and without it (leave-one-dataset-out), and the same within each budget of recorded seconds."""
    full = greedy(table, configs, size)
    out = []
    for held in sorted(table):
        rest = {d: v for d, v in table.items() if d != held}
        lodo = greedy(rest, configs, size)
        row: dict[str, Any] = {"dataset": held}
        for k in firsts:
            row[f"in_{k}"] = min(table[held].get(c, 1.0) for c in full[:k])
            row[f"lodo_{k}"] = min((table[held].get(c, 1.0) for c in lodo[:k]), default=1.0)
        for b in budgets:
            row[f"in_{b}s"] = replay(full, held, table, configs, b)
            row[f"lodo_{b}s"] = replay(lodo, held, table, configs, b)
        out.append(row)
    return out


def print_table(rows: list[dict[str, Any]], keys: tuple[str, ...], label: str) -> None:
    print(f"{'dataset':16}" + "".join(f"  in@{k:<4} lodo@{k:<4}" for k in keys))
    mean = {"dataset": "mean", **{f"{w}_{k}": np.mean([r[f"{w}_{k}"] for r in rows])
                                  for k in keys for w in ("in", "lodo")}}
    for r in [*rows, mean]:
        print(f"{r['dataset']:16}" + "".join(f"  {r[f'in_{k}']:7.3f} {r[f'lodo_{k}']:8.3f}" for k in keys))
    print(label)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--trials", type=Path, default=Path(__file__).with_name("trials.jsonl.gz"))
    p.add_argument("--cost-trials", type=Path, nargs="*",
                   default=[Path(__file__).with_name(n) for n in ("trials-large.jsonl.gz", "trials-shapes.jsonl.gz")],
                   help="more recorded trials for the cost model only (larger tables, generated shapes)")
    p.add_argument("--size", type=int, default=40)
    p.add_argument("--check", action="store_true", help="print the leave-one-dataset-out table, write nothing")
    p.add_argument("--leave-out", default=None, help="build without this dataset's trials (for lodo_runs.py)")
    p.add_argument("--out", type=Path, default=PACKAGE, help="folder for portfolio.json and costs.json")
    args = p.parse_args(argv)
    trials = [t for t in load_trials(args.trials) if t["dataset"] != args.leave_out]
    timed = [t for path in args.cost_trials for t in load_trials(path) if t["dataset"] != args.leave_out]
    if args.leave_out is not None:
        return write(trials, timed, args.size, args.out)
    table, configs = error_table(trials)
    firsts = (1, 3, 5, 10, 20)
    rows = leave_one_out(table, configs, args.size, firsts, BUDGETS)
    print_table(rows, tuple(map(str, firsts)), "best normalized error among the portfolio's first k configurations "
                "(0 = best recorded, 1 = median), built with the dataset (in) and without it (lodo)\n")
    print_table(rows, tuple(f"{b}s" for b in BUDGETS), "the same, reached within b seconds of the dataset's recorded "
                "trials, in the portfolio's order, skipping what would not fit")
    if args.check:
        return 0
    return write(trials, timed, args.size, args.out)


def write(trials: list[dict[str, Any]], timed: list[dict[str, Any]], size: int, folder: Path) -> int:
    """Build the portfolio from ``trials`` and the cost model from them and ``timed`` into ``folder``."""
    table, configs = error_table(trials)
    chosen = greedy(table, configs, size)
    portfolio = {"built_from": {"datasets": sorted(table), "trials": len(trials), "rows": max(t["rows"] for t in trials),
                                "rule": "greedy on mean normalized out-of-fold error (bench/portfolio/build.py)"},
                 "configs": [{k: configs[c][k] for k in ("id", "family", "params")} for c in chosen]}
    (folder / "portfolio.json").write_text(json.dumps(portfolio, indent=1) + "\n")
    (folder / "costs.json").write_text(json.dumps(fit_costs(trials + timed), indent=1) + "\n")
    print(f"portfolio: {len(chosen)} configurations: {', '.join(chosen)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
