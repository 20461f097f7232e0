"""Wide tables (far more columns than rows): a feature screen, regularized linear models first, and checks,
importance and the run that stay quick on thousands of columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trainlab.models  # noqa: F401  (registers the families)
from trainlab import train
from trainlab.config import make_config
from trainlab.data.checks import check_data
from trainlab.data.prepare import make_features
from trainlab.evaluate.importance import PERMUTED_MAX, feature_importance
from trainlab.evaluate.metrics import resolve_metric
from trainlab.models.fitted import fit_model
from trainlab.models.registry import get_spec, select_families
from trainlab.search.shape import for_wide, is_wide


def wide_table(rows: int = 50, columns: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns))
    y = np.where(x[:, :3].sum(axis=1) + 0.3 * rng.normal(size=rows) > 0, "yes", "no")
    return pd.DataFrame(x, columns=[f"g{i}" for i in range(columns)]).assign(y=y)


def test_wide_tables_screen_columns_and_run_regularized_families_first() -> None:
    families, _ = select_families("binary", 40, None, ())
    assert for_wide(families, 40, 200) == (families, None) and not is_wide(1000, 600)
    shaped, note = for_wide(families, 40, 600)
    assert shaped[0].key == "linear" and shaped[0].defaults["C"] == 0.05
    assert all(s.defaults["screen"] == 40 and "screen" in s.space for s in shaped)
    assert note is not None and "600 feature columns, 40 training rows" in note


def test_the_screen_keeps_the_columns_that_carry_the_signal() -> None:
    frame = wide_table()
    checked = check_data(frame, make_config("y", time_limit=None))
    features = make_features(checked.frame, checked.schema)
    y = (frame["y"] == "yes").to_numpy(dtype=int)
    model = fit_model(get_spec("linear"), {"C": 0.05, "screen": 20}, checked.schema, features, y, None, 0)
    kept = list(model.preprocessor.transform(features.head(3)).columns)
    assert len(kept) == 20 and {"g0", "g1", "g2"} <= set(kept)


def test_leak_check_and_importance_stay_within_bounds_on_thousands_of_columns() -> None:
    frame = wide_table(columns=2000)
    frame["leak"] = np.where(frame["y"] == "yes", 1.0, -1.0) + np.arange(len(frame)) * 1e-3
    checked = check_data(frame, make_config("y", time_limit=None))
    assert [f.column for f in checked.findings if f.code == "leakage"] == ["leak"]
    features = make_features(checked.frame, checked.schema)
    y = (frame["y"] == "yes").to_numpy(dtype=int)
    params = {**get_spec("naive_bayes").defaults, "screen": 30}
    model = fit_model(get_spec("naive_bayes"), params, checked.schema, features, y, None, 0)
    metric = resolve_metric("roc_auc", "binary")
    from trainlab.evaluate.analysis import context_for

    found = feature_importance(model, features, y, metric, context_for(checked.schema), features.head(10))
    assert len(found.permutation) == PERMUTED_MAX and found.shap == {}
    assert "not computed" in found.shap_method and found.ranking()[0] == "leak"


def test_a_wide_run_trains_and_says_what_it_changed(tmp_path: Path) -> None:
    run = train(wide_table(rows=60, columns=500), "y", models=("linear", "naive_bayes"), max_trials=3, folds=3,
                report=False, out_dir=tmp_path)
    assert run.best_model and [f.code for f in run.findings].count("wide_table") == 1
    trials = pd.read_csv(run.folder / "trials.csv")
    assert trials["model"].iloc[0] == "linear"


def test_long_tables_run_boosters_first_on_sampled_fit_rows() -> None:
    from trainlab.search.shape import SAMPLE_ROWS, for_large

    families, _ = select_families("binary", 60_000, None, ())
    assert for_large(families, 1000) == (families, None)
    shaped, note = for_large(families, 60_000)
    boosters = [s.key for s in shaped if s.early_stop is not None and s.rounds_param]  # not the network's watch
    assert [s.key for s in shaped[: len(boosters)]] == boosters and len(boosters) >= 2
    assert all(s.defaults["sample_rows"] == SAMPLE_ROWS for s in shaped)
    assert note is not None and "refits on all training rows" in note


def test_a_sampled_trial_fits_on_fewer_rows_and_scores_every_validation_row() -> None:
    from conftest import make_binary
    from trainlab.evaluate.metrics import Context
    from trainlab.search.trial import Candidate, TrainingData, run_trial

    frame = make_binary(n=300)
    checked = check_data(frame, make_config("outcome", time_limit=None))
    y = (frame["outcome"] == "good").to_numpy(dtype=int)
    folds = [(np.arange(0, 200), np.arange(200, 300)), (np.arange(100, 300), np.arange(0, 100))]
    data = TrainingData(checked.schema, make_features(checked.frame, checked.schema), y, None, folds,
                        Context("binary", 1, 2), resolve_metric("roc_auc", "binary"), seed=0)
    spec = get_spec("linear")
    result = run_trial(Candidate("linear", "linear", {**spec.defaults, "sample_rows": 50}), data, float("inf"))
    assert result.ok and not np.isnan(result.oof[np.r_[0:100, 200:300]]).any()
    assert all(len(m.estimator.coef_) == 1 for m in result.fold_models or [])


def test_a_threshold_leak_among_thousands_of_columns_is_found() -> None:
    frame = wide_table(rows=60, columns=3000, seed=3)
    rng = np.random.default_rng(4)
    score = rng.normal(size=60)
    frame["y"] = np.where(score > np.quantile(score, 0.4), "yes", "no")  # a cut inside a quantile bin
    frame["leak"] = score
    checked = check_data(frame, make_config("y", time_limit=None))
    assert [f.column for f in checked.findings if f.code == "leakage"] == ["leak"]


def test_features_of_many_numeric_columns_keep_their_order_and_types() -> None:
    from trainlab.data.prepare import as_flag, as_float, as_text

    rng = np.random.default_rng(5)
    frame = wide_table(rows=30, columns=400).assign(
        small=rng.integers(0, 9, 30).astype(np.int8), count=rng.integers(0, 900, 30), flag=rng.choice(["yes", "no"], 30),
        colour=rng.choice(["red", "blue"], 30), when=pd.date_range("2024-01-01", periods=30).astype(str),
        ratio=rng.normal(size=30).astype(np.float32))
    frame = frame[["small", *frame.columns[:200], "flag", "when", "colour", *frame.columns[200:400], "count", "ratio",
                   "y"]]
    checked = check_data(frame, make_config("y", time_limit=None))
    features = make_features(checked.frame, checked.schema)
    one_by_one = {}
    for col in checked.schema.features:
        s = checked.frame[col.name]
        if col.role == "datetime":
            one_by_one.update({f"{col.name}_{part}": features[f"{col.name}_{part}"] for part in
                               ("year", "month", "day", "dayofweek", "hour")})
        else:
            one_by_one[col.name] = {"numeric": as_float, "boolean": as_flag}.get(col.role, as_text)(s)
    expected = pd.DataFrame(one_by_one, index=checked.frame.index)
    expected.columns = expected.columns.astype(object)  # plain string labels (prepare.LABELS)
    pd.testing.assert_frame_equal(features, expected)
    assert features["small"].dtype == np.float32 and features["count"].dtype == np.float64


def test_the_cost_model_counts_the_columns_the_screen_keeps() -> None:
    from trainlab.data.split import make_split
    from trainlab.run import training_data
    from trainlab.search.budget import Budget
    from trainlab.search.cost import predict_seconds, table_shape
    from trainlab.search.scheduler import PLANS, Scheduler
    from trainlab.search.trial import Candidate

    config = make_config("y", time_limit=10)
    checked = check_data(wide_table(rows=60, columns=3000), config)
    data = training_data(checked, make_split(checked.frame, checked.schema, config.split, 0), config)
    scheduler = Scheduler(data, Budget(10), PLANS["balanced"], executor=None)  # type: ignore[arg-type]
    spec = get_spec("linear")
    screened = scheduler.predicted_time(Candidate("linear", "linear", {**spec.defaults, "screen": 48}))
    every = scheduler.predicted_time(Candidate("linear", "linear", dict(spec.defaults)))
    shape = table_shape(data)
    assert shape["columns"] > 2000
    assert screened == pytest.approx(predict_seconds("linear", {**shape, "columns": 48}, spec.defaults))
    assert every == pytest.approx(predict_seconds("linear", shape, spec.defaults))
    assert screened < every


def test_the_reference_profile_of_many_columns_matches_column_by_column() -> None:
    from trainlab.data.profile import feature_kinds, profile_column, profile_reference

    frame = wide_table(rows=40, columns=400)
    frame.iloc[::3, 5] = np.nan
    frame.iloc[::2, 7] = np.nan
    checked = check_data(frame, make_config("y", time_limit=None))
    features = make_features(checked.frame, checked.schema)
    found = profile_reference(features, checked.schema, np.full((40, 2), 0.5))["features"]
    assert found == {name: profile_column(features[name], kind) for name, kind in feature_kinds(checked.schema).items()}
