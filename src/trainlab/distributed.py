"""Past one machine: a table in parts trained data-parallel on a Ray cluster (``--ray ADDRESS --distributed``).

Ray Data reads the parts (Parquet or CSV files: a glob or a folder) on the cluster; the driver looks only at a
sample of the rows (``SCHEMA_ROWS``) to infer the schema and fit the booster recipe's preprocessing (category
codes), and at the validation and test parts. Ray Train's data-parallel trainers for LightGBM and XGBoost (the V2
API: ``LightGBMTrainer`` with ``get_network_params``, ``XGBoostTrainer`` with its collective) then train one model
each across ``workers`` workers, each of which turns only its own shard of the training and validation rows into
features: no worker holds the whole table. The model with the better validation score is the run's.

What comes out is what a local run gives: a ``TrainedModel`` of the ``lightgbm`` or ``xgboost`` family (the
booster in the library's own format, the preprocessing fitted on the sample), a leaderboard of both, so the
bundle, ``trainlab predict`` and the server work unchanged. ``ray`` is imported only here, and only when asked for.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainlab.config import TrainConfig
from trainlab.data.checks import CheckedData, check_data
from trainlab.data.load import table_parts
from trainlab.data.prepare import build_preprocessor, make_features
from trainlab.data.schema import Schema
from trainlab.errors import DataError
from trainlab.evaluate.metrics import Context, compute_metrics, resolve_metric
from trainlab.final import encode_target
from trainlab.models.fitted import TrainedModel
from trainlab.models.lightgbm import SPEC, LoadedBooster
from trainlab.models.xgboost import XGBoostModel
from trainlab.search.ray_executor import _connect, _import_ray

SCHEMA_ROWS = 20_000
"""Rows the driver reads to infer the schema and fit the category codes (the first ones of the parts)."""
VALID_SHARE = 0.1
TEST_SHARE = 0.1
LIGHTGBM: dict[str, Any] = {"learning_rate": 0.1, "num_leaves": 63, "min_child_samples": 20, "feature_fraction": 0.8,
            "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "verbose": -1}
XGBOOST: dict[str, Any] = {"eta": 0.1, "max_depth": 8, "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0,
           "tree_method": "hist"}
ROUNDS = 2000
PATIENCE = 50
WORKER_CPUS = 0.5
MODEL_FILE = "model.bin"
ROWS_FILE = "rows.txt"


@dataclass
class DistributedModel:
    """One booster trained on the cluster: its model and scores, and the rows its first worker held."""

    name: str
    model: TrainedModel
    validation: dict[str, float]
    test_metrics: dict[str, float]
    seconds: float
    first_worker_rows: int
    """Training rows the first worker held (its shard): fewer than all training rows when the data was split."""


@dataclass
class DistributedFit:
    """The models trained on the cluster, best first by the validation score, and the rows of each part."""

    checked: CheckedData
    models: list[DistributedModel]
    metric: str
    rows: dict[str, int]
    workers: int
    seconds: float

    @property
    def best(self) -> DistributedModel:
        return self.models[0]


def fit_distributed(source: str | Path, config: TrainConfig, workers: int = 2,
                    worker_memory: int | None = None) -> DistributedFit:
    """Train LightGBM and XGBoost data-parallel on the Ray cluster ``config.ray`` from the parts ``source``."""
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
    valid_frame, test_frame = valid.to_pandas(), test.to_pandas()
    metric = resolve_metric(config.metric, schema.task)
    # half a CPU each: the rest of each node's CPU stays free for Ray Data's tasks that read and split the parts
    scaling = ray.train.ScalingConfig(num_workers=workers, resources_per_worker={
        "CPU": WORKER_CPUS, **({"memory": worker_memory} if worker_memory else {})})
    loop_config = {"schema": schema, "preprocessor": preprocessor, "seed": config.seed}
    models = []
    for family in ("lightgbm", "xgboost"):
        begun = time.monotonic()
        storage = Path(tempfile.mkdtemp(prefix="trainlab-ray-train-"))
        trainer = _trainer(family, loop_config, {"train": train, "valid": valid}, scaling,
                             ray.train.RunConfig(storage_path=str(storage), name=f"trainlab-{family}"))
        result = trainer.fit()
        if result.checkpoint is None:
            raise DataError(f"Ray Train ended without a {family} model: {result.error or 'no checkpoint was reported'}")
        with result.checkpoint.as_directory() as folder:
            model = _trained(family, Path(folder) / MODEL_FILE, schema, preprocessor)
            first_worker_rows = int((Path(folder) / ROWS_FILE).read_text())
        models.append(DistributedModel(f"{family}_distributed", model, _scores(model, valid_frame, schema),
                                       _scores(model, test_frame, schema), round(time.monotonic() - begun, 3),
                                       first_worker_rows))
    # best first by the validation score (a stable sort: on a tie, LightGBM, trained first)
    models.sort(key=lambda m: -m.validation[metric.name] if metric.greater_is_better else m.validation[metric.name])
    return DistributedFit(checked=checked, models=models, metric=metric.name,
                          rows={"train": train.count(), "valid": len(valid_frame), "test": len(test_frame)},
                          workers=workers, seconds=round(time.monotonic() - started, 3))


def _scores(model: TrainedModel, frame: pd.DataFrame, schema: Schema) -> dict[str, float]:
    positive = schema.classes.index(schema.positive_class) if schema.positive_class is not None else 1
    context = Context(schema.task, positive, len(schema.classes))
    return compute_metrics(encode_target(frame, schema), model.output(make_features(frame, schema)), context)


def _trained(family: str, path: Path, schema: Schema, preprocessor: Any) -> TrainedModel:
    """The booster a worker saved, as the ``TrainedModel`` a local run of that family gives."""
    n_classes = max(len(schema.classes), 2) if schema.task != "regression" else 0
    labels = np.arange(n_classes) if schema.task != "regression" else None
    per_round = n_classes if n_classes > 2 else 1
    if family == "lightgbm":
        import lightgbm as lgb

        booster = lgb.Booster(model_file=str(path))
        estimator: Any = LoadedBooster(booster, schema.task, labels)
        params = {"n_estimators": booster.num_trees() // per_round, **{k: v for k, v in LIGHTGBM.items()
                                                                     if k != "verbose"}}
    else:
        import xgboost as xgb

        estimator = XGBoostModel(task=schema.task)
        estimator.model_ = (xgb.XGBRegressor if schema.task == "regression" else xgb.XGBClassifier)()
        estimator.model_.load_model(str(path))
        if labels is not None:
            estimator.classes_ = labels
        params = {"n_estimators": estimator.model_.get_booster().num_boosted_rounds(), **XGBOOST}
    return TrainedModel(family=family, params=params, task=schema.task, n_classes=n_classes,
                        preprocessor=preprocessor, estimator=estimator, best_rounds=int(params["n_estimators"]))


def _trainer(family: str, config: dict[str, Any], datasets: dict[str, Any], scaling: Any, run: Any) -> Any:
    """Ray Train's data-parallel trainer of ``family`` (lightgbm or xgboost), each worker running its loop below."""
    from ray.train.lightgbm import LightGBMTrainer
    from ray.train.xgboost import XGBoostTrainer

    trainer: Any = LightGBMTrainer if family == "lightgbm" else XGBoostTrainer
    loop = _lightgbm_worker if family == "lightgbm" else _xgboost_worker
    return trainer(loop, train_loop_config=config, datasets=datasets, scaling_config=scaling, run_config=run)


def _shard(name: str, config: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """This worker's shard of a dataset, as features (the preprocessing fitted on the driver) and target codes."""
    import ray.train

    schema, preprocessor = config["schema"], config["preprocessor"]
    frame = ray.train.get_dataset_shard(name).materialize().to_pandas()
    return preprocessor.transform(make_features(frame, schema)), encode_target(frame, schema)


def _lightgbm_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: its shards become features here, then LightGBM's data-parallel training joins the
    other workers through ``get_network_params``."""
    import lightgbm as lgb
    from ray.train.lightgbm import get_network_params

    schema = config["schema"]
    x, y = _shard("train", config)
    vx, vy = _shard("valid", config)
    objective = {"regression": "regression", "binary": "binary"}.get(schema.task, "multiclass")
    params = {**LIGHTGBM, "objective": objective, "seed": config["seed"], "num_threads": 1,
              **({"num_class": len(schema.classes)} if objective == "multiclass" else {})}
    categorical = [i for i, dtype in enumerate(getattr(x, "dtypes", [])) if np.issubdtype(dtype, np.integer)]
    train_set = lgb.Dataset(x, label=y, categorical_feature=categorical or "auto", free_raw_data=True)
    valid_set = lgb.Dataset(vx, label=vy, reference=train_set)
    booster = lgb.train({**params, **get_network_params()}, train_set, num_boost_round=ROUNDS,
                        valid_sets=[valid_set], valid_names=["valid"],
                        callbacks=[lgb.early_stopping(PATIENCE, verbose=False)])
    _report(len(y), lambda path: booster.save_model(path, num_iteration=booster.best_iteration))


def _xgboost_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: its shards become features here, then XGBoost's data-parallel training joins the
    other workers through the collective the trainer set up."""
    import xgboost as xgb

    schema = config["schema"]
    x, y = _shard("train", config)
    vx, vy = _shard("valid", config)
    objective = {"regression": "reg:squarederror", "binary": "binary:logistic"}.get(schema.task, "multi:softprob")
    params = {**XGBOOST, "objective": objective, "seed": config["seed"], "nthread": 1,
              **({"num_class": len(schema.classes)} if objective == "multi:softprob" else {})}
    # the booster recipe's integer columns are category codes: split them as categories, as a local run does
    types = ["c" if np.issubdtype(dtype, np.integer) else "q" for dtype in x.dtypes]
    train_set = xgb.DMatrix(_unseen_as_missing(x), label=y, feature_types=types, enable_categorical=True)
    valid_set = xgb.DMatrix(_unseen_as_missing(vx), label=vy, feature_types=types, enable_categorical=True)
    booster = xgb.train(params, train_set, num_boost_round=ROUNDS, evals=[(valid_set, "valid")],
                        early_stopping_rounds=PATIENCE, verbose_eval=False)
    _report(len(y), lambda path: booster[: booster.best_iteration + 1].save_model(path))


def _unseen_as_missing(x: pd.DataFrame) -> pd.DataFrame:
    """Category codes of values the driver's sample never saw (-1) as missing: XGBoost refuses a negative category
    in training rows (predicting, it sends one down the missing values' branch, as here)."""
    codes = [c for c in x.columns if pd.api.types.is_integer_dtype(x[c].dtype)]
    return x.assign(**{c: x[c].where(x[c] >= 0).astype("float32") for c in codes})


def _report(rows: int, save: Callable[[str], Any]) -> None:
    """Every worker reports its rows; the first also the model, saved by ``save`` as the checkpoint."""
    import ray.train

    with tempfile.TemporaryDirectory() as folder:
        first = ray.train.get_context().get_world_rank() == 0
        if first:
            save(str(Path(folder) / MODEL_FILE))
            (Path(folder) / ROWS_FILE).write_text(str(rows))
        ray.train.report({"rows": rows}, checkpoint=ray.train.Checkpoint.from_directory(folder) if first else None)


def as_frame(fit: DistributedFit) -> pd.DataFrame:
    """The leaderboard of a distributed run: its models, best first."""
    return pd.DataFrame([{"model": m.name, "family": m.model.family, "status": "ok", "error": "",
                          **{f"val_{k}": v for k, v in m.validation.items()},
                          **{f"test_{k}": v for k, v in m.test_metrics.items()},
                          "fit_time_s": m.seconds, "predict_time_s": 0.0} for m in fit.models])
