"""Benchmark of the neural_net family (not a test): score beside LightGBM defaults, ensemble gain, throughput.

    .venv/bin/python bench/neural.py                         # every dataset of ../shared/datasets, then speed
    .venv/bin/python bench/neural.py --datasets german_credit,penguins --speed-rows 0
    .venv/bin/python bench/neural.py --datasets none --device cuda   # throughput on a GPU only

Per dataset: the same 80/20 split trainlab uses; both families fit on 80% of the training rows with their
default parameters (LightGBM early-stopped on the other 20%, as in trainlab's trials); a blend weight for
the network is chosen on that 20% too (0 means it does not help); all three are scored on the test rows
with the task's ranking metric (AUC, log loss, RMSE). The gap is relative to LightGBM, positive = worse.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.prepare import make_features
from trainlab.data.split import make_split
from trainlab.evaluate.metrics import Context, resolve_metric
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec
from trainlab.run import encode_target

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def compare(entry: dict[str, Any], nn_params: dict[str, Any], seed: int) -> dict[str, Any]:
    """LightGBM defaults vs the network on one dataset, and whether blending the network in helps."""
    frame = load_table(DATASETS / entry["file"])
    config = make_config(entry["target"], task=entry["task"], seed=seed)
    checked = check_data(frame, config)
    schema = checked.schema
    split = make_split(checked.frame, schema, config.split, seed)
    train, test = checked.frame.iloc[split.train], checked.frame.iloc[split.test]
    x_train, y_train = make_features(train, schema), encode_target(train, schema)
    x_test, y_test = make_features(test, schema), encode_target(test, schema)
    rng = np.random.default_rng(seed)
    valid = rng.random(len(y_train)) < 0.2
    metric = resolve_metric(None, schema.task)
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    n_classes = max(len(schema.classes), 2)

    def evaluate(out: np.ndarray, y: np.ndarray) -> float:
        return float(metric.compute(y, out, Context(schema.task, positive, n_classes)))

    outputs, seconds = {}, {}
    for family, params in (("lightgbm", get_spec("lightgbm").defaults), ("neural_net", nn_params)):
        started = time.perf_counter()
        model = fit_model(get_spec(family), params, schema, x_train[~valid], y_train[~valid], None, seed, n_jobs=1,
                          valid=(x_train[valid], y_train[valid]))  # LightGBM stops adding trees on these rows
        seconds[family] = time.perf_counter() - started
        outputs[family] = (model.output(x_train[valid]), model.output(x_test))
        if family == "neural_net":
            epochs = len(model.estimator.history_)
            best_epoch = model.estimator.best_epoch_
    blends = np.linspace(0, 1, 11)
    val_scores = [evaluate((1 - w) * outputs["lightgbm"][0] + w * outputs["neural_net"][0], y_train[valid])
                  for w in blends]
    best_w = float(blends[int(np.argmax(val_scores) if metric.greater_is_better else np.argmin(val_scores))])
    lgb_test = evaluate(outputs["lightgbm"][1], y_test)
    nn_test = evaluate(outputs["neural_net"][1], y_test)
    blend_test = evaluate((1 - best_w) * outputs["lightgbm"][1] + best_w * outputs["neural_net"][1], y_test)
    gap = (lgb_test - nn_test) / abs(lgb_test) if metric.greater_is_better else (nn_test - lgb_test) / abs(lgb_test)
    improves = best_w > 0 and (blend_test > lgb_test if metric.greater_is_better else blend_test < lgb_test)
    return {"dataset": entry["name"], "task": schema.task, "rows": len(y_train), "metric": metric.name,
            "lightgbm": round(lgb_test, 4), "neural_net": round(nn_test, 4), "gap_%": round(100 * gap, 2),
            "blend_w": best_w, "blend": round(blend_test, 4), "nn_helps": improves,
            "lgb_s": round(seconds["lightgbm"], 1), "nn_s": round(seconds["neural_net"], 1),
            "epochs": epochs, "best_epoch": best_epoch}


def throughput(rows: int, device: str, seed: int) -> dict[str, Any]:
    """Rows per second per epoch of the default network on a generated table (20 numbers, 3 categories)."""
    import torch

    from trainlab.models.neural.estimator import NeuralNetModel

    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(rows, 20)), columns=[f"x{i}" for i in range(20)])
    for j, card in enumerate((5, 50, 500)):
        x[f"c{j}"] = rng.integers(0, card, rows).astype(str)
    y = (x["x0"] + x["x1"] * x["x2"] + (x["c0"] == "1") + rng.normal(size=rows) > 0).astype(int).to_numpy()
    params = {**get_spec("neural_net").defaults, "epochs": 3, "patience": 100, "device": device}
    model = NeuralNetModel(task="binary", n_jobs=torch.get_num_threads(), **params).fit(x, y)
    per_epoch = [h["seconds"] for h in model.history_]
    fit_rows = rows * (1 - model.validation_fraction)
    return {"rows": rows, "device": model.device_, "threads": model.threads_, "batch_size": model.batch_size_,
            "epoch_s": [round(s, 2) for s in per_epoch], "rows_per_s": round(fit_rows / min(per_epoch))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="all", help="comma-separated names, 'all' or 'none'")
    p.add_argument("--params", default="{}", help="JSON overriding the network's default parameters")
    p.add_argument("--speed-rows", type=int, default=100_000, help="rows of the throughput table (0: skip)")
    p.add_argument("--device", default="cpu", help="device for the throughput run: cpu, cuda or auto")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    manifest = json.loads((DATASETS / "manifest.json").read_text())["datasets"]
    wanted = None if args.datasets == "all" else set(args.datasets.split(","))
    nn_params = {**get_spec("neural_net").defaults, "device": "cpu", **json.loads(args.params)}
    rows = []
    for entry in manifest:
        if wanted is None or entry["name"] in wanted:
            rows.append(compare(entry, nn_params, args.seed))
            print(json.dumps(rows[-1]), flush=True)
    if rows:
        table = pd.DataFrame(rows)
        print(table.to_string(index=False))
        print(f"median gap to LightGBM: {table['gap_%'].median():.2f}%   "
              f"network improves the blend on {int(table['nn_helps'].sum())} of {len(table)} datasets")
    if args.speed_rows:
        print(json.dumps(throughput(args.speed_rows, args.device, args.seed)))


if __name__ == "__main__":
    main()
