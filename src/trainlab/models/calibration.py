"""Calibrated probabilities: small calibrators fitted on out-of-fold predictions and stored as plain numbers.

Binary tasks: Platt scaling (``sigmoid``, two numbers on the logit of the second class's probability) or
``isotonic`` regression (its breakpoints, applied with ``np.interp``). Multiclass tasks: ``temperature``
scaling of the log-probabilities (one number) or ``sigmoid_ovr`` (Platt scaling per class, one-vs-rest,
then rows renormalized). ``choose_calibration`` keeps a calibrator only when cross-fitting on the
out-of-fold rows shows it lowers log loss, and, with more than two classes, does not lower accuracy: Platt scaling
per class can change the predicted class.

A calibrator's scale (Platt slope, inverse temperature) has a prior centred on leaving the probabilities as
they are. Without it, out-of-fold predictions with no mistakes (small, nearly separable tables) drive the fit
to sharpen every probability towards 0 and 1, and the first unusual row then costs a huge log loss.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.model_selection import StratifiedKFold

from trainlab.models.wrapped import Outputs, Wrapped

EPS = 1e-7
"""Probabilities are clipped to [EPS, 1 - EPS] before taking logits or logs."""
ISOTONIC_FLOOR = 1e-3
"""Isotonic outputs stay within [floor, 1 - floor]: a step to exactly 0 or 1 would cost infinite log loss."""
MARGIN = 0.005
"""A calibrator is kept only when it lowers the cross-fitted out-of-fold log loss by more than 0.5%."""
FOLDS = 5
MIN_ROWS = 30
ISOTONIC_MIN_ROWS = 1000
"""Isotonic regression is a candidate only on this many out-of-fold rows: on fewer its steps overfit, and a
row between two steps can be sent to the floor."""
PRIOR_SD = 0.5
"""Standard deviation of the prior on the log temperature and on the Platt slope (around 1): sharpening or
flattening by a factor e^0.5 costs as much log likelihood as 0.5 nats, over all rows together."""
MAX_ROWS = 50_000
"""On more out-of-fold rows than this, a seeded sample of them chooses and fits the calibrator (a few numbers)."""
BINARY_METHODS = ("sigmoid", "isotonic")
MULTICLASS_METHODS = ("temperature", "sigmoid_ovr")


@dataclass(frozen=True)
class Calibrator:
    """A fitted calibrator: its method and its parameters as plain numbers (JSON-ready)."""

    method: str
    params: dict[str, Any]

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities (rows x classes) for uncalibrated ones."""
        return _APPLY[self.method](np.asarray(proba, dtype=float), self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, data: Any, n_classes: int) -> Calibrator:
        """Read a stored calibrator back; ValueError saying what is wrong when the data is malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise ValueError("a calibrator must be an object with 'method' and 'params'")
        method, params = str(data.get("method")), data["params"]
        methods = () if n_classes < 2 else BINARY_METHODS if n_classes == 2 else MULTICLASS_METHODS
        if method not in methods:
            raise ValueError(f"calibration method {method!r} is not one of {', '.join(methods) or 'none'} "
                             f"(for {n_classes} classes)")
        _CHECK[method](params, n_classes)
        return cls(method=method, params=params)


@dataclass
class CalibratedModel(Wrapped):
    """A trained model whose class probabilities pass through a calibrator.

    Attributes it lacks (``estimator``, ``preprocessor``, ``members``, ``family``...) are the inner model's,
    so code that inspects models (explanations, learning curves) sees the model that was trained.
    """

    model: Outputs
    calibrator: Calibrator

    def output(self, features: pd.DataFrame) -> np.ndarray:
        return self.calibrator.apply(self.model.output(features))


M = TypeVar("M", bound=Outputs)


def calibrated(model: M, calibrator: Calibrator | None) -> M | CalibratedModel:
    """``model`` with its probabilities passed through ``calibrator`` (``model`` itself when that is None)."""
    return model if calibrator is None else CalibratedModel(model, calibrator)


def calibrate_oof(calibrator: Calibrator | None, oof: np.ndarray | None) -> np.ndarray | None:
    """Out-of-fold probabilities through ``calibrator``; rows never validated stay NaN."""
    if calibrator is None or oof is None:
        return oof
    out = np.array(oof, dtype=float)
    rows = ~np.isnan(out).any(axis=1)
    out[rows] = calibrator.apply(out[rows])
    return out


def choose_calibration(oof: np.ndarray | None, y: np.ndarray, n_classes: int, weights: np.ndarray | None = None,
                       seed: int = 0) -> tuple[Calibrator | None, dict[str, Any]]:
    """The calibrator with the lowest cross-fitted out-of-fold log loss, fitted on all out-of-fold rows, if it
    beats the uncalibrated log loss by more than ``MARGIN``; else None. Also the figures behind the choice:
    ``{"method", "oof_log_loss_before", "oof_log_loss_after", "candidates", "rows"}`` ("none" when kept raw).
    """
    record: dict[str, Any] = {"method": "none", "oof_log_loss_before": None, "oof_log_loss_after": None,
                              "candidates": {}, "rows": 0}
    if oof is None:
        return None, record | {"reason": "no out-of-fold predictions"}
    rows = np.flatnonzero(~np.isnan(oof).any(axis=1))
    if len(rows) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_ROWS, replace=False))
    p, t = np.asarray(oof, dtype=float)[rows], np.asarray(y)[rows].astype(int)
    w = None if weights is None else np.asarray(weights, dtype=float)[rows]
    counts = np.bincount(t, minlength=n_classes)
    record["rows"] = len(rows)
    if len(t) < MIN_ROWS or counts.min() < FOLDS:
        return None, record | {"reason": f"too few out-of-fold rows ({len(t)}; at least {MIN_ROWS}, and "
                                          f"{FOLDS} of each class)"}
    before = log_loss(t, p, n_classes, w)
    methods = [m for m in (BINARY_METHODS if n_classes == 2 else MULTICLASS_METHODS)
               if m != "isotonic" or len(t) >= ISOTONIC_MIN_ROWS]
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(p, t))
    held = {m: _cross_fit(m, p, t, w, n_classes, folds) for m in methods}
    scores = {m: log_loss(t, held[m], n_classes, w) for m in methods}
    record.update(oof_log_loss_before=before, candidates=scores)
    if n_classes > 2:  # per-class calibrators can change the predicted class: never at the cost of accuracy
        accuracy = {m: _accuracy(t, held[m], w) for m in methods}
        record["oof_accuracy"] = {"before": _accuracy(t, p, w), **accuracy}
        scores = {m: v for m, v in scores.items() if accuracy[m] >= record["oof_accuracy"]["before"]}
        if not scores:
            return None, record | {"oof_log_loss_after": before}
    best = min(scores, key=lambda m: scores[m])
    if not scores[best] < before * (1 - MARGIN):
        return None, record | {"oof_log_loss_after": before}
    return fit_calibrator(best, p, t, w, n_classes), record | {"method": best, "oof_log_loss_after": scores[best]}


def fit_calibrator(method: str, proba: np.ndarray, y: np.ndarray, weights: np.ndarray | None,
                   n_classes: int) -> Calibrator:
    """Fit calibrator ``method`` on these probabilities (rows x classes) and class indices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Calibrator(method, _FIT[method](np.asarray(proba, dtype=float), y, weights, n_classes))


def log_loss(y: np.ndarray, proba: np.ndarray, n_classes: int, weights: np.ndarray | None = None) -> float:
    """The (weighted) log loss, computed as trainlab's ``log_loss`` metric computes it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sk_log_loss(y, proba, labels=np.arange(n_classes), sample_weight=weights))


def _accuracy(y: np.ndarray, proba: np.ndarray, weights: np.ndarray | None) -> float:
    return float(np.average(proba.argmax(axis=1) == y, weights=weights))


def _cross_fit(method: str, p: np.ndarray, y: np.ndarray, w: np.ndarray | None, n_classes: int,
               folds: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    held = np.empty_like(p)
    for fit_rows, out_rows in folds:
        calibrator = fit_calibrator(method, p[fit_rows], y[fit_rows], None if w is None else w[fit_rows], n_classes)
        held[out_rows] = calibrator.apply(p[out_rows])
    return held


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _platt(x: np.ndarray, positive: np.ndarray, weights: np.ndarray | None) -> tuple[float, float]:
    """Slope and intercept of a weighted logistic regression of ``positive`` on the logit ``x`` (weights scaled
    to a mean of 1), with a Gaussian prior of ``PRIOR_SD`` on the slope around 1, by Newton's method with step
    halving. The prior keeps separable data finite and the slope near 1 unless many rows ask otherwise."""
    y = positive.astype(float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float) / np.mean(weights)
    design = np.column_stack([x, np.ones_like(x)])
    precision = np.array([PRIOR_SD ** -2, 0.0])
    centre = np.array([1.0, 0.0])

    def loss(theta: np.ndarray) -> float:
        z = design @ theta
        return float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + 0.5 * precision @ (theta - centre) ** 2)

    theta = centre.copy()  # start from the probabilities as they are
    current = loss(theta)
    for _ in range(100):
        p = _sigmoid(design @ theta)
        grad = design.T @ (w * (p - y)) + precision * (theta - centre)
        hess = (design.T * (w * p * (1 - p))) @ design + np.diag(precision + 1e-12)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-6 and loss(theta - size * step) > current:
            size /= 2
        theta, previous = theta - size * step, current
        current = loss(theta)
        if previous - current < 1e-10 * max(1.0, abs(previous)):
            break
    return float(theta[0]), float(theta[1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _two_columns(positive: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - positive, positive])


def _fit_sigmoid(p: np.ndarray, y: np.ndarray, w: np.ndarray | None, n_classes: int) -> dict[str, Any]:
    a, b = _platt(_logit(p[:, 1]), y == 1, w)
    return {"a": a, "b": b}


def _apply_sigmoid(p: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    return _two_columns(_sigmoid(params["a"] * _logit(p[:, 1]) + params["b"]))


def _fit_isotonic(p: np.ndarray, y: np.ndarray, w: np.ndarray | None, n_classes: int) -> dict[str, Any]:
    iso = IsotonicRegression(y_min=ISOTONIC_FLOOR, y_max=1 - ISOTONIC_FLOOR, out_of_bounds="clip")
    iso.fit(p[:, 1], (y == 1).astype(float), sample_weight=w)
    return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}


def _apply_isotonic(p: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    return _two_columns(np.interp(p[:, 1], params["x"], params["y"]))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_temperature(p: np.ndarray, y: np.ndarray, w: np.ndarray | None, n_classes: int) -> dict[str, Any]:
    z = np.log(np.clip(p, EPS, 1.0))

    def loss(log_t: float) -> float:  # all rows' log loss plus the prior on log T, both in nats
        return len(y) * log_loss(y, _softmax(z / math.exp(log_t)), n_classes, w) + 0.5 * (log_t / PRIOR_SD) ** 2
    found = minimize_scalar(loss, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return {"temperature": float(math.exp(found.x))}


def _apply_temperature(p: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    return _softmax(np.log(np.clip(p, EPS, 1.0)) / params["temperature"])


def _fit_sigmoid_ovr(p: np.ndarray, y: np.ndarray, w: np.ndarray | None, n_classes: int) -> dict[str, Any]:
    pairs = [_platt(_logit(p[:, k]), y == k, w) for k in range(n_classes)]
    return {"a": [a for a, _ in pairs], "b": [b for _, b in pairs]}


def _apply_sigmoid_ovr(p: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    scores = _sigmoid(np.asarray(params["a"]) * _logit(p) + np.asarray(params["b"]))
    return np.asarray(scores / scores.sum(axis=1, keepdims=True))


def _numbers(value: Any, name: str, length: int | None = None) -> list[float]:
    """``value`` as a list of finite floats (of ``length`` items when given), or ValueError."""
    if not isinstance(value, list) or not value or (length is not None and len(value) != length):
        wanted = f"{length} numbers" if length is not None else "a non-empty list of numbers"
        raise ValueError(f"calibration parameter '{name}' must be {wanted}, got {value!r:.80}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise ValueError(f"calibration parameter '{name}' holds values that are not finite numbers")
    return [float(v) for v in value]


def _check_sigmoid(params: dict[str, Any], n_classes: int) -> None:
    _numbers([params.get("a"), params.get("b")], "a, b")


def _check_isotonic(params: dict[str, Any], n_classes: int) -> None:
    x = _numbers(params.get("x"), "x")
    y = _numbers(params.get("y"), "y", len(x))
    if np.any(np.diff(x) < 0) or np.any(np.diff(y) < 0) or min(y) < 0 or max(y) > 1:
        raise ValueError("isotonic breakpoints must be increasing, with outputs between 0 and 1")


def _check_temperature(params: dict[str, Any], n_classes: int) -> None:
    if _numbers([params.get("temperature")], "temperature")[0] <= 0:
        raise ValueError("the temperature must be a positive number")


def _check_sigmoid_ovr(params: dict[str, Any], n_classes: int) -> None:
    _numbers(params.get("a"), "a", n_classes)
    _numbers(params.get("b"), "b", n_classes)


Fit = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", int], dict[str, Any]]
_FIT: dict[str, Fit] = {"sigmoid": _fit_sigmoid, "isotonic": _fit_isotonic, "temperature": _fit_temperature,
                        "sigmoid_ovr": _fit_sigmoid_ovr}
_APPLY: dict[str, Callable[[np.ndarray, dict[str, Any]], np.ndarray]] = {
    "sigmoid": _apply_sigmoid, "isotonic": _apply_isotonic, "temperature": _apply_temperature,
    "sigmoid_ovr": _apply_sigmoid_ovr}
_CHECK: dict[str, Callable[[dict[str, Any], int], None]] = {
    "sigmoid": _check_sigmoid, "isotonic": _check_isotonic, "temperature": _check_temperature,
    "sigmoid_ovr": _check_sigmoid_ovr}
