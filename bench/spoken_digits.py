"""Spoken digits synthesized by espeak-ng, tested on voices never heard in training (a split by voice).

    apt-get install espeak-ng
    python bench/spoken_digits.py --time-limit 120

Each voice (an accent with a variant: en-us+m3, en-gb-scotland+f2, ...) says the ten digits at three speeds and
two pitches; a CSV of path, label and voice is trained with --group-column voice, so the test voices are
unseen. Prints the leaderboard and the test accuracy.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import time
from pathlib import Path

import pandas as pd

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
VARIANTS = ("m1", "m3", "f2", "f4")


def synthesize(folder: Path) -> pd.DataFrame:
    rows = []
    for accent, variant in itertools.product(ACCENTS, VARIANTS):
        voice = f"{accent}+{variant}"
        for digit, speed, pitch in itertools.product(DIGITS, (130, 170, 210), (35, 65)):
            path = folder / voice / f"{digit}-{speed}-{pitch}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), digit],
                           check=True, capture_output=True)
            rows.append({"path": str(path.relative_to(folder)), "label": digit, "voice": voice})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "digits.csv", index=False)
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time-limit", type=float, default=120)
    p.add_argument("--models", default="linear,lightgbm,neural_net")
    p.add_argument("--work", type=Path, default=Path("spoken-digits-bench"))
    args = p.parse_args()
    if not (args.work / "digits.csv").exists():
        synthesize(args.work)
    import trainlab

    started = time.monotonic()
    run = trainlab.train(args.work / "digits.csv", target="label", group_column="voice", time_limit=args.time_limit,
                         models=tuple(args.models.split(",")), jobs=1, out_dir=args.work / "runs", started=started)
    print(run.leaderboard[["model", "status", "val_accuracy", "fit_time_s"]].to_string(index=False))
    print(json.dumps({"clips": int(run.split["train_rows"] + run.split["test_rows"]), "split": run.split,
                      "best_model": run.best_model, "test_accuracy_unseen_voices": round(run.test_metrics["accuracy"], 4),
                      "run_seconds": round(time.monotonic() - started, 1)}, indent=1))


if __name__ == "__main__":
    main()
