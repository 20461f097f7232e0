"""Fashion-MNIST through the folder path: the IDX files of Debian's dataset-fashion-mnist are written as class
folders of PNG files, trainlab trains on the training folder and predicts the test folder.

    apt-get install dataset-fashion-mnist
    python bench/fashion_mnist.py --train-rows 60000 --test-rows 10000 --time-limit 600   # the issue's target
    python bench/fashion_mnist.py --train-rows 12000 --test-rows 2000 --time-limit 240    # a smaller run
    python bench/fashion_mnist.py --time-limit 180 --jobs 16 --source DIR                  # on a GPU machine

On a machine with a CUDA GPU the network trains there (``device='auto'``); ``--source`` names a folder holding the
four IDX files where Debian's package is not installed.

Prints the leaderboard, the test accuracy on the official test images, and the CNN's images per second.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

SOURCE = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")


def read_idx(source: Path, name: str) -> np.ndarray:
    data = gzip.decompress((source / name).read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_folder(images: np.ndarray, labels: np.ndarray, folder: Path, rows: int, seed: int) -> None:
    """The first ``rows`` of a seeded shuffle, as folder/<class>/<index>.png."""
    from PIL import Image

    order = np.random.default_rng(seed).permutation(len(images))[:rows]
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in order:
        Image.fromarray(images[i]).save(folder / CLASSES[labels[i]] / f"{i}.png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-rows", type=int, default=60_000)
    p.add_argument("--test-rows", type=int, default=10_000)
    p.add_argument("--time-limit", type=float, default=600)
    p.add_argument("--models", default="linear,lightgbm,neural_net")
    p.add_argument("--work", type=Path, default=Path("fashion-mnist-bench"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="CPU cores (default: automatic, as trainlab train)")
    p.add_argument("--source", type=Path, default=SOURCE, help="folder of the IDX files (default: Debian's)")
    p.add_argument("--report", action="store_true", help="also write report.html (its analysis shares the limit)")
    args = p.parse_args()
    train_dir, test_dir = args.work / "train", args.work / "test"
    if not train_dir.exists():
        for part, folder, rows in (("train", train_dir, args.train_rows), ("t10k", test_dir, args.test_rows)):
            write_folder(read_idx(args.source, f"{part}-images-idx3-ubyte.gz"),
                         read_idx(args.source, f"{part}-labels-idx1-ubyte.gz"), folder, rows, args.seed)
    import trainlab
    from trainlab.data.load import load_table
    from trainlab.data.split import media_valid_size

    started = time.monotonic()
    run = trainlab.train(train_dir, target="label", time_limit=args.time_limit, models=tuple(args.models.split(",")),
                         test_size=0.05, jobs=args.jobs, out_dir=args.work / "runs", seed=args.seed, started=started,
                         report=args.report)
    seconds = time.monotonic() - started
    rows = load_table(test_dir)
    predicted = run.predictor.predict(rows)
    accuracy = float(np.mean(predicted == rows["label"].to_numpy()))
    shown = [c for c in ("val_accuracy", "val_log_loss") if c in run.leaderboard.columns]
    print(run.leaderboard[["model", "status", *shown, "fit_time_s"]].to_string(index=False))
    print("\n".join(f.message for f in run.findings if f.code in ("media_budget", "media_varies")))
    history = next(run.bundle_path.rglob("history.json"), None)
    pace = None
    if history is not None:
        epochs = json.loads(history.read_text())["epochs"]
        # the trial fits on the rows outside its holdout, which is the early-stopping set
        fitted = run.split["train_rows"] * (1 - media_valid_size(run.split["train_rows"]))
        pace = [round(fitted / e["seconds"]) for e in epochs]
    network = next(run.bundle_path.rglob("network.json"), None)
    described = json.loads(network.read_text()) if network is not None else {}
    cnn = {"trained_on": described.get("trained_on"),
           "channels": [m["channels"] for m in described.get("architecture", {}).get("media", [])]}
    calibration = json.loads((run.folder / "run.json").read_text()).get("calibration") or {}
    print(json.dumps({"train_images": args.train_rows, "cnn": cnn, "test_images": len(rows), "time_limit_s": args.time_limit,
                      "run_seconds": round(seconds, 1), "best_model": run.best_model,
                      "calibration": {k: calibration.get(k) for k in ("method", "oof_accuracy")},
                      "test_accuracy": round(accuracy, 4), "cnn_images_per_s_by_epoch": pace}, indent=1))


if __name__ == "__main__":
    main()
