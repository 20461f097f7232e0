"""Record trainlab's own trials on the dev datasets: the raw material of the learned portfolio and cost model.

    python bench/portfolio/collect.py --datasets all --out bench/portfolio/trials.jsonl.gz

Each dataset is split as the peer harness splits it (80/20, seed 0, stratified for classification); its training
part is subsampled to ``--rows`` rows and every configuration of ``configs.all_configs`` is scored out of fold on
it (``--folds``-fold, trainlab's own trial code). One JSON line per trial is appended (gzip members), so an
interrupted collection resumes where it stopped.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.portfolio.configs import all_configs

from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.split import make_split
from trainlab.models.registry import get_spec
from trainlab.run import training_data
from trainlab.search.cost import category_levels, probe
from trainlab.search.trial import Candidate, TrainingData, run_trial

DATA = Path(os.environ.get("BENCH_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


def dev_datasets(names: str) -> list[dict[str, Any]]:
    manifest = json.loads((DATA / "manifest.json").read_text())["datasets"]
    chosen = [d for d in manifest if d.get("group") != "scale"]
    return chosen if names == "all" else [d for d in chosen if d["name"] in names.split(",")]


def prepared(entry: dict[str, Any], rows: int, folds: int, seed: int) -> TrainingData:
    """The harness's training part of one dataset, subsampled, as trainlab's trials see it."""
    frame = pd.read_parquet(DATA / entry["file"])
    target, task = entry["target"], entry["task"]
    if task != "regression":
        frame[target] = frame[target].astype(str)
    strat = frame[target] if task != "regression" else None
    train, _ = train_test_split(frame, test_size=0.2, random_state=seed, stratify=strat)
    if len(train) > rows:
        strat = train[target] if task != "regression" else None
        train, _ = train_test_split(train, train_size=rows, random_state=seed, stratify=strat)
    # jobs=2: two trials side by side, one thread each
    config = make_config(target, task=task, seed=seed, folds=folds, test_size=0.1, jobs=2)
    checked = check_data(train.reset_index(drop=True), config)
    split = make_split(checked.frame, checked.schema, config.split, seed)
    return training_data(checked, split, config)


def done_ids(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with gzip.open(path, "rt") as f:
        return {(r["dataset"], r["config"]) for r in map(json.loads, f)}


_DATA: tuple[dict[str, Any], TrainingData, float] | None = None  # one dataset, sent once to each worker


def _init(entry: dict[str, Any], data: TrainingData, limit_s: float) -> None:
    global _DATA
    _DATA = (entry, data, limit_s)


def _record_in_worker(config: dict[str, Any]) -> dict[str, Any]:
    assert _DATA is not None
    # OpenMP and BLAS pools limited as the search's workers limit them (search/executor.py): unlimited, the
    # histogram-boosting trials of two workers ran 11 times slower in the median (34 s a fold on 3,200 rows
    # against 0.43 s), and the cost model learned those times
    with threadpool_limits(limits=_DATA[1].n_jobs):
        return record(*_DATA[:2], config, _DATA[2])


def record(entry: dict[str, Any], data: TrainingData, config: dict[str, Any], limit_s: float) -> dict[str, Any]:
    """One configuration's trial on one dataset, as a JSON-ready row."""
    spec = get_spec(config["family"]).for_task(data.context.task)
    params = {**spec.defaults, **{k: v for k, v in config["params"].items() if k in spec.space}}
    start = time.perf_counter()
    result = run_trial(Candidate(config["id"], spec.key, params), data, time.monotonic() + limit_s)
    wall = time.perf_counter() - start
    return {"dataset": entry["name"], "task": entry["task"], "config": config["id"], "family": spec.key,
            "params": config["params"], "status": result.status, "score": result.score,
            "metric": data.metric.name, "greater_is_better": data.metric.greater_is_better,
            "metrics": result.metrics, "fit_time_s": result.fit_time_s, "predict_time_s": result.predict_time_s,
            "wall_s": wall, "rows": len(data.y), "columns": int(data.features.shape[1]),
            "levels": category_levels(data.features, data.schema.by_role("categorical")),
            "classes": int(data.context.n_classes), "folds": len(data.folds), "error": result.error[:200]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--datasets", default="all")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("trials.jsonl.gz"))
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--trial-limit", type=float, default=60.0, help="seconds a trial may take (else it fails)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="trials side by side, one thread each")
    p.add_argument("--families", default="", help="comma list: only these families")
    p.add_argument("--per-family", type=int, default=None,
                   help="only each family's default and its first N random configurations (cost-only collections)")
    args = p.parse_args(argv)
    done = done_ids(args.out)
    configs = [c for c in all_configs(args.seed) if (not args.families or c["family"] in args.families.split(","))
               and (args.per_family is None or int(c["id"].rsplit(":", 1)[1]) <= args.per_family)]
    for entry in dev_datasets(args.datasets):
        todo = [c for c in configs if (entry["name"], c["id"]) not in done
                and entry["task"] in get_spec(c["family"]).tasks]
        if not todo:
            continue
        data = prepared(entry, args.rows, args.folds, args.seed)
        probe_s = probe()  # the machine's speed beside its trials: the cost model is scaled by it
        start = time.perf_counter()
        with cf.ProcessPoolExecutor(args.workers, initializer=_init,
                                    initargs=(entry, data, args.trial_limit)) as pool:
            for row in pool.map(_record_in_worker, todo):
                with gzip.open(args.out, "at") as f:  # one gzip member per line: an interrupted run loses little
                    f.write(json.dumps({**row, "probe_s": probe_s}, default=float) + "\n")
        print(f"{entry['name']}: {len(todo)} trials in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
