"""Tables of shapes the dev datasets lack, for the harness (``../shared/bench/run.py``) to run through ``BENCH_DATA``:
scikit-learn's bundled digits (1,797 x 64, 10 classes), breast cancer and iris, and generated ones: 40,000 rows of
13 classes, 20,000 of 26 classes, 3,000 rows x 800 columns, a 30,000-row regression whose categories have 1,000 and
400 levels, 60,000 rows of 5 classes, and a 1,100-row regression with heavy-tailed noise.

    python bench/probe_tables.py --out /tmp/probe
    cd ../shared/bench && BENCH_DATA=/tmp/probe python run.py --system lgbm-default --budget 30 --datasets all \\
        --out /tmp/probe-lgbm.csv

Nothing here is tuned on: these tables check that a shape the dev tables never showed does not break a run (a
trainlab score below LightGBM's plain default is the sign to look for).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets


def bundled() -> dict[str, tuple[pd.DataFrame, str, str, str | None]]:
    """scikit-learn's own small tables, with text labels."""
    digits = datasets.load_digits(as_frame=True).frame
    digits["target"] = digits["target"].astype(str)
    cancer = datasets.load_breast_cancer(as_frame=True).frame
    cancer["target"] = cancer["target"].map({0: "malignant", 1: "benign"})
    iris = datasets.load_iris(as_frame=True).frame
    iris["target"] = iris["target"].astype(str)
    return {"digits": (digits, "target", "multiclass", None),
            "breast_cancer": (cancer, "target", "binary", "malignant"),
            "iris": (iris, "target", "multiclass", None)}


def generated() -> dict[str, tuple[pd.DataFrame, str, str, str | None]]:
    """Generated tables of costly or unusual shapes (fixed seeds)."""
    rng = np.random.default_rng(7)
    x, y = datasets.make_classification(n_samples=40_000, n_features=24, n_informative=12, n_redundant=4,
                                        n_classes=13, n_clusters_per_class=2, class_sep=1.2, flip_y=0.05,
                                        random_state=3)
    many = pd.DataFrame(x, columns=[f"x{i}" for i in range(24)])
    many["c1"] = pd.cut(many["x0"] + rng.normal(size=len(many)), 8, labels=list("abcdefgh")).astype(str)
    many["target"] = [f"k{v}" for v in y]
    x, y = datasets.make_friedman1(n_samples=1_100, n_features=12, noise=1.5, random_state=5)
    friedman = pd.DataFrame(x, columns=[f"x{i}" for i in range(12)])
    friedman["target"] = y * 10 + rng.standard_t(3, size=len(y)) * 3
    rng = np.random.default_rng(11)
    x, y = datasets.make_classification(n_samples=20_000, n_features=16, n_informative=10, n_redundant=3,
                                        n_classes=26, n_clusters_per_class=1, class_sep=1.5, flip_y=0.02,
                                        random_state=4)
    letters = pd.DataFrame(x.round(3), columns=[f"f{i}" for i in range(16)])
    letters["letter"] = [chr(65 + v) for v in y]
    x, y = datasets.make_classification(n_samples=3_000, n_features=800, n_informative=30, n_redundant=20,
                                        n_classes=2, weights=[0.8], random_state=5)
    wide = pd.DataFrame(x.round(4), columns=[f"g{i}" for i in range(800)])
    wide["label"] = np.where(y == 1, "yes", "no")
    n, levels = 30_000, {"shop": (1_000, 1.0), "item": (400, 2.0), "region": (30, 0.5)}
    codes = {c: rng.integers(0, k, n) for c, (k, _) in levels.items()}
    effects = {c: rng.normal(0, scale, k) for c, (k, scale) in levels.items()}
    x1, x2 = rng.normal(size=n), rng.uniform(0, 10, n)
    sales = sum(effects[c][codes[c]] for c in levels) + np.sin(x2) * 2 + x1 * 0.5 + rng.normal(0, 1, n)
    shops = pd.DataFrame({"shop": [f"s{v}" for v in codes["shop"]], "item": [f"i{v}" for v in codes["item"]],
                          "region": [f"r{v}" for v in codes["region"]], "x1": x1.round(3), "x2": x2.round(3),
                          "sales": sales.round(3)})
    x, y = datasets.make_classification(n_samples=60_000, n_features=20, n_informative=8, n_classes=5,
                                        n_clusters_per_class=3, flip_y=0.1, random_state=6)
    long = pd.DataFrame(x.round(3), columns=[f"h{i}" for i in range(20)])
    long["kind"] = [f"c{v}" for v in y]
    return {"synth_13class": (many, "target", "multiclass", None),
            "synth_friedman": (friedman, "target", "regression", None),
            "synth_26class": (letters, "letter", "multiclass", None),
            "synth_wide": (wide, "label", "binary", "yes"),
            "synth_highcard": (shops, "sales", "regression", None),
            "synth_5class_60k": (long, "kind", "multiclass", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the tables and their manifest.json")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name, (frame, target, task, positive) in {**bundled(), **generated()}.items():
        frame.to_parquet(out / f"{name}.parquet")
        entry = {"name": name, "file": f"{name}.parquet", "target": target, "task": task, "group": "dev"}
        if positive is not None:
            entry["positive_class"] = positive
        manifest.append(entry)
    (out / "manifest.json").write_text(json.dumps({"datasets": manifest}, indent=1))
    print(f"{len(manifest)} tables in {out}")


if __name__ == "__main__":
    main()
