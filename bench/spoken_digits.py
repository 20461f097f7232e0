"""Spoken digits synthesized by Debian's speech engines, tested on voices never heard in training (a split by
voice), and on real human recordings.

    apt-get install espeak-ng flite asterisk-core-sounds-en-wav asterisk-core-sounds-en-gsm
    python bench/spoken_digits.py --time-limit 180

Each voice says the ten digits at three speeds and two pitches: espeak-ng (6 accents x 4 variants: en-us+m3,
en-gb-scotland+f2, ...) and flite (kal, kal16, awb, rms, slt). About half of the clips also get a degraded copy
(telephone band: resampled to 8 kHz, and noise at 10-30 dB SNR) in the same voice group. A CSV of path, label and
voice is trained with --group-column voice, so the test voices are unseen. The human recordings are Asterisk's
English digits (one speaker, 0.wav ... 9.wav at 8 kHz), also in their GSM-coded version (the same recording
through a telephone codec); GCompris's recorded voices are not in Debian's gcompris-qt-data (it downloads them).
Prints the leaderboard, the accuracy on the unseen voices and on the human recordings.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan")
VARIANTS = ("m1", "m3", "f2", "f4")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
SPEEDS = (0.75, 1.0, 1.3)
"""Relative speaking rates (espeak-ng words per minute 130, 170, 220; flite's duration stretch inverted)."""
PITCHES = (0, 1)
ASTERISK = Path("/usr/share/asterisk/sounds/en/digits")


def espeak(voice: str, digit: str, speed: float, pitch: int, path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(170 * speed)), "-p", str((35, 65)[pitch]), "-w",
                    str(path), digit], check=True, capture_output=True)


def flite(voice: str, digit: str, speed: float, pitch: int, path: Path) -> None:
    subprocess.run(["flite", "-voice", voice, "-t", digit, "-o", str(path), "--setf",
                    f"duration_stretch={1 / speed:.2f}", "--setf", f"int_f0_target_mean={(95, 150)[pitch]}"],
                   check=True, capture_output=True)


def degrade(path: Path, out: Path, rng: np.random.Generator) -> None:
    """A telephone-quality copy: band-limited through 8 kHz, with white noise at 10-30 dB SNR."""
    import soundfile
    from scipy.signal import resample_poly

    signal, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = signal.mean(axis=1)
    narrow = resample_poly(mono, 8000, rate).astype(np.float32)
    power = float(np.mean(narrow ** 2)) or 1e-8
    noise = rng.normal(0, np.sqrt(power / 10 ** (rng.uniform(10, 30) / 10)), narrow.size).astype(np.float32)
    soundfile.write(str(out), np.clip(narrow + noise, -1, 1), 8000)


def synthesize(folder: Path, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    voices = [(f"{a}+{v}", espeak) for a, v in itertools.product(ACCENTS, VARIANTS)]
    voices += [(f"flite-{v}", lambda voice, *rest: flite(voice.removeprefix("flite-"), *rest)) for v in FLITE_VOICES]
    rows = []
    for voice, engine in voices:
        (folder / voice).mkdir(parents=True, exist_ok=True)
        for digit, speed, pitch in itertools.product(DIGITS, SPEEDS, PITCHES):
            path = folder / voice / f"{digit}-{speed}-{pitch}.wav"
            engine(voice, digit, speed, pitch, path)
            rows.append({"path": str(path.relative_to(folder)), "label": digit, "voice": voice})
            if rng.random() < 0.5:
                phone = path.with_name(f"{path.stem}-phone.wav")
                degrade(path, phone, rng)
                rows.append({"path": str(phone.relative_to(folder)), "label": digit, "voice": voice})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "digits.csv", index=False)
    return table


def human_recordings(folder: Path) -> dict[str, pd.DataFrame]:
    """Asterisk's recorded digits, as WAV, and the same recordings decoded from their GSM files."""
    import soundfile

    found: dict[str, pd.DataFrame] = {}
    wavs = [(ASTERISK / f"{i}.wav", d) for i, d in enumerate(DIGITS) if (ASTERISK / f"{i}.wav").is_file()]
    if wavs:
        found["asterisk_wav"] = pd.DataFrame({"path": [str(p) for p, _ in wavs], "label": [d for _, d in wavs]})
    gsm = [(ASTERISK / f"{i}.gsm", d) for i, d in enumerate(DIGITS) if (ASTERISK / f"{i}.gsm").is_file()]
    if gsm:
        (folder / "human-gsm").mkdir(parents=True, exist_ok=True)
        paths = []
        for source, digit in gsm:
            out = folder / "human-gsm" / f"{digit}.wav"
            samples, rate = soundfile.read(str(source), format="RAW", subtype="GSM610", samplerate=8000, channels=1)
            soundfile.write(str(out), samples, rate)
            paths.append(str(out))
        found["asterisk_gsm"] = pd.DataFrame({"path": paths, "label": [d for _, d in gsm]})
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--time-limit", type=float, default=180)
    p.add_argument("--models", default="linear,lightgbm,neural_net")
    p.add_argument("--work", type=Path, default=Path("spoken-digits-bench"))
    args = p.parse_args()
    if not (args.work / "digits.csv").exists():
        synthesize(args.work)
    import trainlab

    started = time.monotonic()
    run = trainlab.train(args.work / "digits.csv", target="label", group_column="voice", time_limit=args.time_limit,
                         models=tuple(args.models.split(",")), jobs=1, out_dir=args.work / "runs", started=started,
                         report=False)
    seconds = time.monotonic() - started
    print(run.leaderboard[["model", "status", "val_accuracy", "fit_time_s"]].to_string(index=False))
    human = {}
    for name, rows in human_recordings(args.work).items():
        predicted = run.predictor.predict(rows)
        human[name] = {"clips": len(rows), "accuracy": round(float(np.mean(predicted == rows["label"].to_numpy())), 4),
                       "predicted": dict(zip(rows["label"], map(str, predicted), strict=True))}
    print(json.dumps({"clips": int(run.split["train_rows"] + run.split["test_rows"]), "split": run.split,
                      "best_model": run.best_model,
                      "test_accuracy_unseen_voices": round(run.test_metrics["accuracy"], 4),
                      "human_recordings": human, "run_seconds": round(seconds, 1)}, indent=1))


if __name__ == "__main__":
    main()
