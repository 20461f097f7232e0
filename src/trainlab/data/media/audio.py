"""Sound: decoded by soundfile (libsndfile), mixed to mono, resampled, and turned into a log-mel spectrogram
of a fixed number of frames (centre crop or pad); MFCC and log-mel statistics for the classic families."""

from __future__ import annotations

from math import gcd
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 320
"""20 ms frames at 16 kHz, each a 32 ms window (N_FFT): the windows still overlap, so no stretch of sound is
skipped, and a CNN trained from scratch on the CPU (bound by its time limit) gets twice the epochs of 10 ms frames:
its cost is in proportion to the frames. Keyword spotting on small devices uses the same 20 ms stride."""
N_MELS = 40
N_MFCC = 20
MAX_SECONDS = 2.0
"""Clips longer than 2 s are centre-cropped to it; the column's length is its clips' 90th percentile."""
SILENT_RMS = 1e-4


def header(path: str | Path) -> tuple[float, int, int]:
    """(seconds, sample rate, channels) of a clip, fully decoded so that a damaged file fails here."""
    samples, rate = read_clip(path)
    return len(samples) / rate, rate, samples.shape[1]


def read_clip(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples as float32 (frames, channels) and the sample rate."""
    import soundfile

    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return samples, int(rate)


def choose_params(seconds: list[float]) -> dict[str, Any]:
    """The column's spectrogram: N_MELS bands, frames enough for 90 % of the clips (at most MAX_SECONDS)."""
    frames = int(np.percentile(seconds, 90) * SAMPLE_RATE / HOP) + 1 if seconds else 50
    return {"kind": "audio", "sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS,
            "frames": int(np.clip(frames, 16, MAX_SECONDS * SAMPLE_RATE / HOP))}


def mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """The clip as one float32 channel at ``sample_rate``."""
    from scipy.signal import resample_poly

    samples, rate = read_clip(path)
    signal = samples.mean(axis=1)
    if rate != sample_rate:
        common = gcd(rate, sample_rate)
        signal = resample_poly(signal, sample_rate // common, rate // common).astype(np.float32)
    return signal


def decode(path: str | Path, params: dict[str, Any]) -> np.ndarray:
    """The log-mel spectrogram (1, n_mels, frames) in float32, centre-cropped or padded with silence."""
    signal = mono(path, params["sample_rate"])
    logmel = log_mel(signal, params)
    frames = params["frames"]
    have = logmel.shape[1]
    if have >= frames:
        start = (have - frames) // 2
        logmel = logmel[:, start:start + frames]
    else:
        floor = np.full((logmel.shape[0], frames), np.log(1e-6), dtype=np.float32)
        start = (frames - have) // 2
        floor[:, start:start + have] = logmel
        logmel = floor
    return logmel[None].astype(np.float32)


def log_mel(signal: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Natural-log mel energies (n_mels, frames) of a Hann-windowed short-time Fourier transform."""
    n_fft, hop = params["n_fft"], params["hop"]
    padded = np.pad(signal, (n_fft // 2, n_fft // 2))
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft).astype(np.float32), axis=1)) ** 2
    energies = power @ mel_filters(params["sample_rate"], n_fft, params["n_mels"]).T
    return np.log(energies.T + 1e-6).astype(np.float32)


def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters (n_mels, n_fft // 2 + 1) equally spaced on the HTK mel scale."""
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = 700.0 * (10 ** (np.linspace(0, to_mel(np.array(sample_rate / 2)), n_mels + 2) / 2595.0) - 1.0)
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None] - low) / np.maximum(centre - low, 1e-9)
    falling = (high - bins[None]) / np.maximum(high - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def classic_features(batch: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Per clip: the mean and standard deviation over time of N_MFCC MFCCs and their deltas, and of each
    log-mel band, from (n, 1, n_mels, frames) spectrograms."""
    from scipy.fft import dct

    logmel = batch[:, 0]
    mfcc = dct(logmel, type=2, axis=1, norm="ortho")[:, :N_MFCC]
    delta = np.diff(mfcc, axis=2) if mfcc.shape[2] > 1 else np.zeros_like(mfcc)
    parts = [mfcc.mean(axis=2), mfcc.std(axis=2), delta.mean(axis=2), delta.std(axis=2),
             logmel.mean(axis=2), logmel.std(axis=2)]
    names = ([f"mfcc{i}_mean" for i in range(N_MFCC)] + [f"mfcc{i}_std" for i in range(N_MFCC)]
             + [f"dmfcc{i}_mean" for i in range(N_MFCC)] + [f"dmfcc{i}_std" for i in range(N_MFCC)]
             + [f"mel{i}_mean" for i in range(logmel.shape[1])] + [f"mel{i}_std" for i in range(logmel.shape[1])])
    return np.concatenate(parts, axis=1).astype(np.float32), names
