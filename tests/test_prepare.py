"""The recipes' category codes: LightGBM and XGBoost keep every category of a long column, histogram boosting 255."""

from __future__ import annotations

import numpy as np
import pandas as pd

import trainlab
from trainlab.data.prepare import MAX_CODES, build_preprocessor, make_features
from trainlab.data.schema import infer_schema


def _shops(n_shops: int = 600, per_shop: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    shops = np.repeat([f"shop{i}" for i in range(n_shops)], per_shop)
    effect = dict(zip(np.unique(shops), rng.normal(0, 3, n_shops), strict=True))
    return pd.DataFrame({"shop": shops, "size": rng.normal(size=len(shops)),
                         "sales": [effect[s] for s in shops] + rng.normal(0, 0.3, len(shops))})


def test_boosters_keep_every_category_of_a_long_column_and_histogram_boosting_at_most_its_255():
    frame = _shops()
    schema = infer_schema(frame, "sales")
    features = make_features(frame, schema)
    booster = build_preprocessor(schema, "booster").fit_transform(features)
    histogram = build_preprocessor(schema, "histogram").fit_transform(features)
    assert booster["shop"].nunique() == 600
    assert histogram["shop"].nunique() == MAX_CODES


def test_a_booster_learns_the_effect_of_each_of_hundreds_of_categories(tmp_path):
    """With 400 shops of 30 rows each, LightGBM splits on every shop: capped at 255 codes, 145 shops shared one."""
    frame = _shops(400, 30)
    run = trainlab.train(frame, target="sales", out_dir=tmp_path, name="shops", models=("lightgbm",), max_trials=1,
                         report=False)
    spread = frame["sales"].std()
    assert run.test_metrics["rmse"] < 0.5 * spread
