"""Which trials should ensembles choose from? One search per table, every pool rule scored on the same trials.

    python bench/ensemble_pool.py --budget 120 --datasets german_credit,diabetes --tops 1,3,5 --rows rows.jsonl

Each table is split as the peer harness splits it (80/20, seed 0, stratified for classes) and searched once
(``trainlab.train`` on the training rows, every trial keeping its fold models). Then, for each number of a family's
best trials averaged into its one pool entry (``search.ensemble.FAMILY_TOP``), the final choice is made as a run
makes it: the best out of fold among the best single trial, the greedy ensemble and the stacked one. Its fold
models, averaged (a forest, which keeps none, fitted once on all training rows), are scored on the harness test
rows: the pool rule is compared on the same trials, free of the search's and the refit's run-to-run noise. Prints a
markdown table; ``--rows`` also writes every option's out-of-fold and test score, a JSON line per table and rule.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

import trainlab
import trainlab.run
from trainlab.data.prepare import make_features
from trainlab.evaluate.metrics import is_better
from trainlab.final import encode_target
from trainlab.models.fitted import TrainedModel, fit_model
from trainlab.models.registry import get_spec
from trainlab.search import ensemble
from trainlab.search.ensemble import EnsembleModel, members_of, select_ensemble
from trainlab.search.scheduler import Scheduler, SearchResult
from trainlab.search.stacking import stack_ensemble
from trainlab.search.trial import Candidate, TrainingData, TrialResult

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def search_table(name: str, budget: float) -> tuple[SearchResult, TrainingData, pd.DataFrame, dict[str, Any]]:
    """The search of one table's harness training rows, the training data it ran on, and the harness test rows."""
    meta = next(d for d in json.loads((DATASETS / "manifest.json").read_text())["datasets"] if d["name"] == name)
    frame = pd.read_parquet(DATASETS / meta["file"])
    target = meta["target"]
    train, test = train_test_split(frame, test_size=0.2, random_state=0,
                                   stratify=frame[target] if meta["task"] != "regression" else None)
    seen: dict[str, Any] = {}
    original = trainlab.run.finish

    def capture(search: SearchResult, *args: Any, **kwargs: Any) -> Any:
        seen["search"], seen["training"] = search, args[3]
        seen["kept"] = {t.candidate.name: t.fold_models for t in search.trials}  # the run drops them after
        return original(search, *args, **kwargs)

    trainlab.run.finish = capture
    Scheduler._drop_fold_models = lambda self: None  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as out:
            trainlab.train(train, target=target, task=meta["task"], time_limit=budget, out_dir=out, name=name,
                           seed=0, report=False)
    finally:
        trainlab.run.finish = original
    for t in seen["search"].trials:
        t.fold_models = seen["kept"][t.candidate.name]
    return seen["search"], seen["training"], test, meta


def tested_model(trial: TrialResult, trials: list[TrialResult], training: TrainingData) -> EnsembleModel:
    """The trial's fold models averaged (for an ensemble, every member's by its weight); a member that kept none
    (forests) is fitted once on all training rows instead."""
    members: list[TrainedModel] = []
    weights: list[float] = []
    for member, weight in members_of(trial, trials):
        models = member.fold_models or [fit_model(get_spec(member.candidate.family), member.final_params,
                                                  training.schema, training.features, training.y, training.weights,
                                                  training.seed, training.n_jobs)]
        members += models
        weights += [weight / len(models)] * len(models)
    return EnsembleModel(members, weights)


def test_score(output: np.ndarray, y: np.ndarray, task: str) -> float:
    if task == "binary":
        return float(roc_auc_score(y, output[:, 1]))
    if task == "multiclass":
        return float(log_loss(y, output, labels=list(range(output.shape[1]))))
    return float(mean_squared_error(y, output) ** 0.5)


def options(trials: list[TrialResult], training: TrainingData) -> list[tuple[str, TrialResult]]:
    """The final choice's options: the best single trial and the two ensembles (those that exist)."""
    metric = training.metric
    singles = [t for t in trials if t.ok and not np.isnan(t.score)]
    best = sorted(singles, key=lambda t: -t.score if metric.greater_is_better else t.score)[0]
    found: list[tuple[str, TrialResult]] = [("single", best)]
    for label, make in (("greedy", select_ensemble), ("stacked", stack_ensemble)):
        picked = make(trials, training)
        if picked is not None:
            members = {t.candidate.name: w for t, w in zip(picked.trials, picked.weights, strict=True)}
            found.append((label, TrialResult(Candidate(label, "ensemble", {"members": members}), "ok",
                                             score=picked.score)))
    return found


def choose(found: list[tuple[str, TrialResult]], training: TrainingData) -> tuple[str, TrialResult]:
    """The final choice among ``options``, by out-of-fold score."""
    label, trial = found[0]
    for other_label, other in found[1:]:
        if is_better(other.score, trial.score, training.metric):
            label, trial = other_label, other
    return label, trial


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--datasets", required=True, help="comma-separated names from the shared manifest")
    p.add_argument("--tops", default="1,3,5", help="how many of a family's best trials its pool entry averages, "
                   "comma-separated")
    p.add_argument("--rows", type=Path, help="a JSON-lines file to append every option's scores to")
    args = p.parse_args()
    tops = [int(c) for c in args.tops.split(",")]
    print("| dataset | metric | trials | " + " | ".join(f"top {c}" for c in tops) + " |")
    print("|---|---|---|" + "---|" * len(tops))
    for name in args.datasets.split(","):
        search, training, test, meta = search_table(name, args.budget)
        schema = training.schema
        features = make_features(schema.check_rows(test), schema)
        y = encode_target(test, schema)
        singles = [t for t in search.trials if t.candidate.family != "ensemble"]
        cells = []
        for top in tops:
            ensemble.FAMILY_TOP = top
            found = options(singles, training)
            tested = {}
            for label, trial in found:
                tested[label] = test_score(tested_model(trial, singles, training).output(features), y, meta["task"])
            label, trial = choose(found, training)
            cells.append(f"{tested[label]:.5g} ({label}, oof {trial.score:.5g})")
            if args.rows:
                with args.rows.open("a") as out:
                    out.write(json.dumps({"dataset": name, "budget": args.budget, "top": top, "chosen": label,
                                          "oof": {k: t.score for k, t in found}, "test": tested}) + "\n")
        print(f"| {name} | {training.metric.name} | {len(singles)} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
