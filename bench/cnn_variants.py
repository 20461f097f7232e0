"""The picture CNN alone (``NeuralNetModel`` on raw pixels, no search), on Fashion-MNIST's IDX arrays: one training
recipe per call, so that variants can run side by side on one GPU and be compared on the official test images.

    python bench/cnn_variants.py --seconds 200 --label-smoothing 0.1 --select metric     # the defaults on pictures
    for s in 0 0.1; do python bench/cnn_variants.py --label-smoothing $s --source DIR & done; wait

Fits on ``--fit-rows`` training pictures, stops early on 3,000 others, and prints one JSON line: the recipe, the
epochs, the validation accuracy per epoch, the seconds per epoch and the test accuracy on the 10,000 test pictures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from fashion_mnist import SOURCE, read_idx

VALID_ROWS = 3_000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", type=Path, default=SOURCE, help="folder of the IDX files (default: Debian's)")
    p.add_argument("--fit-rows", type=int, default=57_000)
    p.add_argument("--seconds", type=float, default=200, help="the fit's deadline, as a trial's time limit")
    p.add_argument("--label-smoothing", type=float, default=None, help="default: the estimator's (0.1 on pictures)")
    p.add_argument("--select", choices=("metric", "loss"), default="metric",
                   help="early stopping and the epoch kept follow validation accuracy (default) or loss")
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--channels", type=int, default=None, help="default: by device (24 on the CPU, 64 on a GPU)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--flip", action="store_true")
    args = p.parse_args()

    import torch

    from trainlab.models.neural import estimator
    from trainlab.models.neural.loop import LoopConfig
    from trainlab.models.registry import FIT_DEADLINE

    def config(**kw: object) -> LoopConfig:  # the estimator's loop settings, with the selection asked for
        return LoopConfig(**{**kw, "select_by_metric": args.select == "metric"})

    estimator.LoopConfig = config  # type: ignore[assignment,misc]
    images, labels = (read_idx(args.source, f"train-{name}") for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"))
    test_images, test_labels = (read_idx(args.source, f"t10k-{name}")
                                for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"))
    order = np.random.default_rng(0).permutation(len(images))
    fit, valid = order[:args.fit_rows], order[-VALID_ROWS:]
    names = [f"img#image1x28x28#{i}" for i in range(784)]

    def frame(x: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(x.reshape(len(x), -1).astype(np.float32), columns=names)

    torch.set_num_threads(2)
    model = estimator.NeuralNetModel(task="multiclass", seed=0, n_jobs=2, lr=args.lr, patience=args.patience,
                                     label_smoothing=args.label_smoothing, channels=args.channels, flip=args.flip)
    started = time.time()
    FIT_DEADLINE.set(time.monotonic() + args.seconds)
    model.fit(frame(images[fit]), labels[fit], valid=(frame(images[valid]), labels[valid]))
    history = model.history_
    print(json.dumps({
        "recipe": {k: v for k, v in vars(args).items() if k != "source"}, "device": model.device_,
        "epochs": len(history), "best_epoch": model.best_epoch_, "temperature": round(model.temperature_, 3),
        "val_accuracy": [round(h["val_metric"], 4) for h in history],
        "seconds_per_epoch": round(float(np.median([h["seconds"] for h in history])), 2),
        "test_accuracy": round(float(np.mean(model.predict(frame(test_images)) == test_labels)), 4),
        "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
