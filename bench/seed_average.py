"""Does averaging a refit over seeds help on the test rows? The evidence behind ``search.budget.SEEDS``.

    python bench/seed_average.py --datasets german_credit,credit_data,telco_churn,ames_housing,hpc_jobs,islr_wage \
        --configs lightgbm:4,xgboost:1,catboost:3 --seeds 4

Each dev table is split as the peer harness splits it (80/20, seed 0, stratified for classification). Each portfolio
configuration is scored by trainlab's own trial (k-fold, for the rounds its boosters early-stop at), then refit on
all training rows with seeds 0 .. N-1. Printed per table and configuration: the harness metric of the single fits
(mean and spread) and of averages of k seeds' outputs for k = 2, 4, 8 ... N: the mean score of the N // k averages of
disjoint groups of k seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import trainlab.estimators  # noqa: F401  (registers every family)
from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.prepare import make_features
from trainlab.data.split import make_split
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.run import training_data
from trainlab.search.trial import Candidate, run_trial

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PORTFOLIO = Path(__file__).resolve().parents[1] / "src" / "trainlab" / "search" / "portfolio.json"


def harness_score(entry: dict, truth: pd.Series, output: np.ndarray, classes: list[str]) -> float:
    """The harness's metric: AUC of the positive class, log loss, or RMSE."""
    if entry["task"] == "binary":
        positive = str(entry["positive_class"])
        return float(roc_auc_score(truth.astype(str) == positive, output[:, classes.index(positive)]))
    if entry["task"] == "multiclass":
        return float(log_loss(truth.astype(str), output, labels=classes))
    return float(mean_squared_error(truth, output) ** 0.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", required=True, help="comma list of dev tables")
    p.add_argument("--configs", required=True, help="comma list of portfolio configuration ids")
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args(argv)
    manifest = {d["name"]: d for d in json.loads((DATA / "manifest.json").read_text())["datasets"]}
    portfolio = {c["id"]: c for c in json.loads(PORTFOLIO.read_text())["configs"]}
    counts = [k for k in (2, 4, 8, 16, 32) if k < args.seeds] + [args.seeds]
    print(f"| dataset | configuration | single fits: mean (sd) | {' | '.join(f'{k} averaged' for k in counts)} |\n"
          f"|---|---|---|{'---|' * len(counts)}")
    for name in args.datasets.split(","):
        entry = manifest[name]
        frame = pd.read_parquet(DATA / entry["file"])
        target, task = entry["target"], entry["task"]
        if task != "regression":
            frame[target] = frame[target].astype(str)
        train, test = train_test_split(frame, test_size=0.2, random_state=0,
                                       stratify=frame[target] if task != "regression" else None)
        config = make_config(target, task=task, seed=0, jobs=2)
        checked = check_data(train.reset_index(drop=True), config)
        split = make_split(checked.frame, checked.schema, config.split, 0)
        split.train = np.arange(len(checked.frame))  # the trial's folds, and the refit on every training row
        data = training_data(checked, split, config)
        schema, classes = checked.schema, [str(c) for c in checked.schema.classes]
        features = make_features(test, schema)
        for config_id in args.configs.split(","):
            chosen = portfolio[config_id]
            spec = get_spec(chosen["family"]).for_task(task)
            trial = run_trial(Candidate(config_id, spec.key, {**spec.defaults, **chosen["params"]}), data,
                              time.monotonic() + 600)
            outputs = [fit_model(spec, trial.final_params, schema, data.features, data.y, None, seed, 2)
                       .output(features) for seed in range(args.seeds)]
            singles = [harness_score(entry, test[target], o, classes) for o in outputs]
            averaged = [np.mean([harness_score(entry, test[target], np.mean(outputs[g * k:(g + 1) * k], axis=0), classes)
                                 for g in range(args.seeds // k)]) for k in counts]
            print(f"| {name} | {config_id} | {np.mean(singles):.5g} ({np.std(singles):.2g}) | "
                  f"{' | '.join(f'{a:.5g}' for a in averaged)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
