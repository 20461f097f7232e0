"""Past one machine: a table in parts trained data-parallel on a Ray cluster (``--ray ADDRESS --distributed``).

Ray Data reads the parts (Parquet or CSV files: a glob or a folder) on the cluster; the driver looks only at a
sample of the rows (``SCHEMA_ROWS``) to infer the schema and fit the booster recipe's preprocessing (category
codes), and at the test part. Ray Train's data-parallel LightGBM trainer (the V2 API: ``ray.train.lightgbm.
LightGBMTrainer`` with ``get_network_params``) then trains one model across ``workers`` workers, each of which
turns only its own shard of the training and validation rows into features: no worker holds the whole table.

What comes out is what a local run gives: a ``TrainedModel`` of the ``lightgbm`` family (the booster in
LightGBM's own text format, the preprocessing fitted on the sample), so the bundle, ``trainlab predict`` and the
server work unchanged. ``ray`` is imported only here, and only when asked for.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.config import TrainConfig
from trainlab.data.checks import CheckedData, check_data
from trainlab.data.load import table_parts
from trainlab.data.prepare import build_preprocessor, make_features
from trainlab.errors import DataError
from trainlab.evaluate.metrics import Context, compute_metrics
from trainlab.final import encode_target
from trainlab.models.fitted import TrainedModel
from trainlab.models.lightgbm import SPEC, LoadedBooster
from trainlab.search.ray_executor import _connect, _import_ray

SCHEMA_ROWS = 20_000
"""Rows the driver reads to infer the schema and fit the category codes (the first ones of the parts)."""
VALID_SHARE = 0.1
TEST_SHARE = 0.1
PARAMS = {"learning_rate": 0.1, "num_leaves": 63, "min_child_samples": 20, "feature_fraction": 0.8,
          "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1}
ROUNDS = 2000
PATIENCE = 50
WORKER_CPUS = 0.5


@dataclass
class DistributedFit:
    """The model trained on the cluster and what was measured on the way."""

    checked: CheckedData
    model: TrainedModel
    validation: dict[str, float]
    test_metrics: dict[str, float]
    rows: dict[str, int]
    workers: int
    seconds: float
    first_worker_rows: int = 0
    """Training rows the first worker held (its shard): fewer than ``rows["train"]`` when the data was split."""


def fit_distributed(source: str | Path, config: TrainConfig, workers: int = 2,
                    worker_memory: int | None = None) -> DistributedFit:
    """Train LightGBM data-parallel on the Ray cluster ``config.ray`` from the parts ``source``."""
    parts = table_parts(source)
    if not parts:
        raise DataError(f"--distributed reads a table in parts (a quoted glob such as 'parts/*.parquet', or a folder "
                        f"of Parquet or CSV files); '{source}' is neither, or matches no file.")
    ray = _import_ray()
    owns = _connect(ray, config.ray or "auto")
    try:
        return _fit(ray, [str(p) for p in parts], config, workers, worker_memory)
    finally:
        if owns and ray.is_initialized():
            ray.shutdown()


def _fit(ray: Any, files: list[str], config: TrainConfig, workers: int, worker_memory: int | None) -> DistributedFit:
    import ray.data
    import ray.train
    from ray.train.lightgbm import LightGBMTrainer

    started = time.monotonic()
    parquet = all(f.lower().endswith((".parquet", ".pq")) for f in files)
    data = ray.data.read_parquet(files) if parquet else ray.data.read_csv(files)
    sample = data.limit(SCHEMA_ROWS).to_pandas()
    checked = check_data(sample, config)
    schema = checked.schema
    if schema.task != "regression":  # every class of the whole table, not only the sample's
        classes = sorted(str(v) for v in data.unique(schema.target) if v is not None and v == v)
        if set(classes) != {str(c) for c in schema.classes}:
            raise DataError(f"The first {SCHEMA_ROWS} rows of the parts hold the classes {schema.classes}, the whole "
                            f"table {classes}: shuffle the parts so that every class appears early.")
    preprocessor = build_preprocessor(schema, SPEC.recipe, None, config.seed)
    preprocessor.fit(make_features(checked.frame, schema), encode_target(checked.frame, schema))
    rest, test = data.train_test_split(TEST_SHARE, shuffle=True, seed=config.seed)
    train, valid = rest.train_test_split(VALID_SHARE / (1 - TEST_SHARE), shuffle=True, seed=config.seed + 1)
    objective = {"regression": "regression", "binary": "binary"}.get(schema.task, "multiclass")
    params = {**PARAMS, "objective": objective, "seed": config.seed, "num_threads": 1,
              **({"num_class": len(schema.classes)} if objective == "multiclass" else {})}
    loop_config = {"schema": schema, "preprocessor": preprocessor, "params": params}
    storage = Path(tempfile.mkdtemp(prefix="trainlab-ray-train-"))
    # half a CPU each: the rest of each node's CPU stays free for Ray Data's tasks that read and split the parts
    resources = {"CPU": WORKER_CPUS, **({"memory": worker_memory} if worker_memory else {})}
    trainer = LightGBMTrainer(_train_worker, train_loop_config=loop_config, datasets={"train": train, "valid": valid},
                              scaling_config=ray.train.ScalingConfig(num_workers=workers, resources_per_worker=resources),
                              run_config=ray.train.RunConfig(storage_path=str(storage), name="trainlab"))
    result = trainer.fit()
    import lightgbm as lgb

    if result.checkpoint is None:
        raise DataError(f"Ray Train ended without a model: {result.error or 'no checkpoint was reported'}")
    with result.checkpoint.as_directory() as folder:
        booster = lgb.Booster(model_file=str(Path(folder) / "model.txt"))
        first_worker_rows = int((Path(folder) / "rows.txt").read_text())
        validation = json.loads((Path(folder) / "score.json").read_text())
    n_classes = max(len(schema.classes), 2) if schema.task != "regression" else 0
    labels = np.arange(n_classes) if schema.task != "regression" else None
    estimator = LoadedBooster(booster, schema.task, labels)
    model = TrainedModel(family="lightgbm", params={"n_estimators": booster.num_trees() // max(1, n_classes if
                                                                                             n_classes > 2 else 1),
                                                     **{k: v for k, v in PARAMS.items() if k != "verbose"}},
                         task=schema.task, n_classes=n_classes, preprocessor=preprocessor, estimator=estimator,
                         best_rounds=booster.best_iteration or None)
    test_frame = test.to_pandas()
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    context = Context(schema.task, positive, len(schema.classes))
    scores = compute_metrics(encode_target(test_frame, schema), model.output(make_features(test_frame, schema)), context)
    return DistributedFit(checked=checked, model=model, validation=validation, test_metrics=scores,
                          rows={"train": train.count(), "valid": valid.count(), "test": len(test_frame)},
                          workers=workers, seconds=round(time.monotonic() - started, 3),
                          first_worker_rows=first_worker_rows)


def _train_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: its shards of the training and validation rows become features here, then LightGBM's
    data-parallel training joins the other workers through ``get_network_params``."""
    import os

    import lightgbm as lgb
    import ray.train
    from ray.train.lightgbm import get_network_params

    schema, preprocessor, params = config["schema"], config["preprocessor"], config["params"]

    def shard(name: str) -> tuple[Any, np.ndarray]:
        frame = ray.train.get_dataset_shard(name).materialize().to_pandas()
        return preprocessor.transform(make_features(frame, schema)), encode_target(frame, schema)

    x, y = shard("train")
    vx, vy = shard("valid")
    categorical = [i for i, dtype in enumerate(getattr(x, "dtypes", [])) if np.issubdtype(dtype, np.integer)]
    train_set = lgb.Dataset(x, label=y, categorical_feature=categorical or "auto", free_raw_data=True)
    valid_set = lgb.Dataset(vx, label=vy, reference=train_set)
    booster = lgb.train({**params, **get_network_params()}, train_set, num_boost_round=ROUNDS,
                        valid_sets=[valid_set], valid_names=["valid"],
                        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
    scores = {f"valid_{k}": float(v) for k, v in booster.best_score.get("valid", {}).items()}
    rank = ray.train.get_context().get_world_rank()
    with tempfile.TemporaryDirectory() as folder:
        if rank == 0:
            booster.save_model(os.path.join(folder, "model.txt"), num_iteration=booster.best_iteration)
            Path(folder, "rows.txt").write_text(str(len(y)))
            Path(folder, "score.json").write_text(json.dumps(scores))
        ray.train.report({"rows": len(y)}, checkpoint=ray.train.Checkpoint.from_directory(folder) if rank == 0 else None)


def as_frame(fit: DistributedFit) -> pd.DataFrame:
    """The leaderboard of a distributed run: its one model."""
    return pd.DataFrame([{"model": "lightgbm_distributed", "family": "lightgbm", "status": "ok", "error": "",
                          **fit.validation, **{f"test_{k}": v for k, v in fit.test_metrics.items()},
                          "fit_time_s": fit.seconds, "predict_time_s": 0.0}])
