"""Generated tables of the shapes the dev datasets lack, recorded for the cost model only (never for the portfolio).

    python bench/portfolio/shapes.py --out /tmp/shapes
    BENCH_DATA=/tmp/shapes python bench/portfolio/collect.py --rows 40000 --per-family 3 \\
        --families lightgbm,xgboost,catboost,hist_gradient_boosting,random_forest,extra_trees,linear,knn,neural_net \\
        --out bench/portfolio/trials-shapes.jsonl.gz

The dev tables have at most 85 columns and 6 classes, so the cost model extrapolated past them: it expected a
LightGBM configuration to take 0.2 s a fold on 2,400 rows by 800 columns, where it took 6.3 s. These tables span
150-1,000 columns, 8-30 classes and 3,000-20,000 rows, with a learnable signal (a booster's trees, and so its
seconds, depend on how long early stopping lets it grow). Their scores are not looked at: only the seconds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

SHAPES = [  # name, rows, columns, classes (0: regression), categorical columns
    ("shape_wide_binary", 3_000, 600, 2, 0),
    ("shape_wider_5class", 2_000, 1_000, 5, 0),
    ("shape_wide_regression", 4_000, 300, 0, 2),
    ("shape_12class", 12_000, 20, 12, 1),
    ("shape_30class", 6_000, 40, 30, 0),
    ("shape_8class_150", 5_000, 150, 8, 2),
    ("shape_binary_120", 20_000, 120, 2, 3),
    ("shape_regression_200", 10_000, 200, 0, 0),
]


def table(rows: int, columns: int, classes: int, categorical: int, seed: int) -> pd.DataFrame:
    """A table of this shape whose target depends on a tenth of the columns (at least 5, at most 40)."""
    informative = int(min(40, max(5, columns // 10)))
    if classes:
        x, y = datasets.make_classification(n_samples=rows, n_features=columns, n_informative=informative,
                                            n_redundant=min(10, columns - informative), n_classes=classes,
                                            n_clusters_per_class=1, class_sep=1.0, flip_y=0.03, random_state=seed)
        target = pd.Series([f"c{v}" for v in y])
    else:
        x, y = datasets.make_regression(n_samples=rows, n_features=columns, n_informative=informative, noise=10.0,
                                        random_state=seed)
        target = pd.Series(y)
    frame = pd.DataFrame(x.round(4), columns=[f"x{i}" for i in range(columns)])
    rng = np.random.default_rng(seed)
    for i in range(categorical):  # a category read off an informative column, with noise: 20-200 levels
        levels = int(rng.integers(20, 200))
        noisy = frame[f"x{i}"] + rng.normal(scale=0.5, size=rows)
        frame[f"x{i}"] = pd.qcut(noisy, levels, labels=False, duplicates="drop").map(lambda v: f"L{v}")
    frame["target"] = target
    return frame


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    for seed, (name, rows, columns, classes, categorical) in enumerate(SHAPES):
        table(rows, columns, classes, categorical, seed).to_parquet(args.out / f"{name}.parquet", index=False)
        task = "regression" if not classes else "binary" if classes == 2 else "multiclass"
        entries.append({"name": name, "file": f"{name}.parquet", "target": "target", "task": task,
                        **({"positive_class": "c1"} if task == "binary" else {})})
    (args.out / "manifest.json").write_text(json.dumps({"datasets": entries}, indent=1) + "\n")
    print(f"{len(entries)} tables in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
