"""Per-row feature contributions (SHAP values): the boosters' own TreeSHAP, exact linear contributions, a
weighted sum over an ensemble's members, and sampling Shapley values with a small background for the rest.

Contributions are given per input feature (the columns ``make_features`` makes); the values of a row plus
its base value add up to the model's output in ``unit`` (log-odds or probability of the explained class, or
the predicted number). A calibrated model's native contributions are rescaled where its calibration is linear
in the log-odds (Platt scaling, temperature), so they add up to the calibrated log-odds; after any other
calibration they explain the score before it, and ``method`` says so.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

SAMPLING_PERMUTATIONS = 8


@dataclass
class Contributions:
    """``values`` is rows x features; ``explained`` is the class index explained per row (None for regression)."""

    values: np.ndarray
    base: np.ndarray
    features: list[str]
    unit: str
    method: str
    explained: np.ndarray | None = None

    def mean_abs(self) -> dict[str, float]:
        """Global importance: the mean absolute contribution of each feature, largest first."""
        means = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(len(self.features))
        order = np.argsort(-means, kind="stable")
        return {self.features[i]: float(means[i]) for i in order}


def explained_classes(output: np.ndarray, task: str, positive_index: int) -> np.ndarray | None:
    """The class explained for each row: the positive class for binary tasks, the predicted class for multiclass."""
    if task == "regression":
        return None
    if task == "binary":
        return np.full(len(output), positive_index)
    return output.argmax(axis=1)


def contributions(model: Any, features: pd.DataFrame, background: pd.DataFrame, *, positive_index: int = 1,
                  seed: int = 0) -> Contributions:
    """Contributions of each feature to each row's output, by the most exact method the model allows."""
    native = native_contributions(model, features, background, positive_index=positive_index)
    if native is not None:
        return native
    explained = explained_classes(model.output(features), model.task, positive_index)
    return sampling_shapley(model, features, background, explained, seed=seed)


def native_contributions(model: Any, features: pd.DataFrame, background: pd.DataFrame, *,
                         positive_index: int = 1, seconds: float = math.inf) -> Contributions | None:
    """The model's own exact contributions (TreeSHAP, linear terms), or None when it has none.

    A model of many members (an ensemble, averaged fold models) is explained member by member, each with fixed
    costs (a text model names and maps its hundreds of thousands of terms); when the members done so far say that
    all of them would take more than ``seconds``, none are given (the values are empty, the method says why)."""
    output = model.output(features)
    explained = explained_classes(output, model.task, positive_index)
    native = _native(model, features, background, explained, time.monotonic() + seconds)
    return None if native is None else through_calibrator(native, getattr(model, "calibrator", None))


def through_calibrator(found: Contributions, calibrator: Any) -> Contributions:
    """Native contributions (raw log-odds) carried through the model's calibrator, when it has one.

    Platt scaling (binary: a * log-odds + b) and temperature scaling (multiclass: scores / T) are linear in the
    log-odds, so values and base are scaled to add up exactly to the calibrated log-odds. Other calibrators
    (isotonic, per-class Platt) are not: the contributions stay those of the uncalibrated score, and say so.
    """
    if calibrator is None or found.explained is None:
        return found
    method, params = calibrator.method, calibrator.params
    if method == "sigmoid":
        a, b = float(params["a"]), float(params["b"])
        sign = np.where(found.explained == 1, 1.0, -1.0)  # Platt scales the second class's log-odds
        return replace(found, values=a * found.values, base=a * found.base + b * sign, unit="calibrated log-odds",
                       method=f"{found.method}, scaled by the Platt calibration (a * log-odds + b, a={a:.4g}, "
                              f"b={b:.4g}): adds up to the calibrated log-odds")
    if method == "temperature":
        t = float(params["temperature"])
        return replace(found, values=found.values / t, base=found.base / t, unit="calibrated log-odds",
                       method=f"{found.method}, divided by the calibration temperature {t:.4g}: adds up to the "
                              "calibrated score of the class")
    names = {"isotonic": "isotonic calibration; the ranking holds",
             "sigmoid_ovr": "per-class Platt calibration (one-vs-rest, renormalized)"}
    return replace(found, method=f"{found.method}; contributions explain the model's score before "
                                 f"{names.get(method, f'{method} calibration')}")


def _native(model: Any, features: pd.DataFrame, background: pd.DataFrame, explained: np.ndarray | None,
            deadline: float = math.inf) -> Contributions | None:
    members = getattr(model, "members", None)
    if members is None:
        return _single(model, features, background, explained)
    started, parts = time.monotonic(), []
    for m in members:
        part = _single(m, features, background, explained)
        if part is None:
            return None
        parts.append(part)
        expected = started + (time.monotonic() - started) * len(members) / len(parts)
        if len(parts) < len(members) and expected > deadline:
            return Contributions(np.zeros((0, 0)), np.zeros(0), [], "",
                                 f"not computed: the model's {len(members)} members would take about "
                                 f"{expected - started:.1f} s, more than the time left")
    done = [p for p in parts if p is not None]
    values = sum(w * p.values for w, p in zip(model.weights, done, strict=True))
    base = sum(w * p.base for w, p in zip(model.weights, done, strict=True))
    methods = ", ".join(sorted({p.method for p in done}))
    approx = "" if explained is None else " (log-odds summed: approximate for averaged probabilities)"
    return Contributions(np.asarray(values), np.asarray(base), done[0].features, done[0].unit,
                         f"weighted sum of members' values: {methods}{approx}", explained)


def _single(model: Any, features: pd.DataFrame, background: pd.DataFrame,
            explained: np.ndarray | None) -> Contributions | None:
    """Native contributions of one trained model, mapped back to input features; None when it has none."""
    estimator = model.estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = model.preprocessor.transform(features)
        columns = list(prepared.columns) if isinstance(prepared, pd.DataFrame) else model.prepared_names
        found = None if sp.issparse(prepared) else _tree_shap(estimator, prepared)
        if found is None and sp.issparse(prepared):
            found = _linear_sparse(estimator, prepared, model.preprocessor.transform(background),
                                   _sources(columns, list(features.columns)))
            columns = list(features.columns)
        elif found is None:
            found = _linear(estimator, prepared, model.preprocessor.transform(background))
    if found is None:
        return None
    raw, method = found  # raw: rows x outputs x (prepared columns + 1 for the base)
    if explained is None:
        picked = raw[:, 0, :]
    elif raw.shape[1] == 1:
        picked = raw[:, 0, :] * np.where(explained == 1, 1.0, -1.0)[:, None]
    else:
        picked = raw[np.arange(len(raw)), explained, :]
    values = _to_features(picked[:, :-1], columns, list(features.columns))
    unit = "predicted value" if explained is None else "log-odds"
    return Contributions(values, picked[:, -1], list(features.columns), unit, method, explained)


def _tree_shap(estimator: Any, prepared: pd.DataFrame) -> tuple[np.ndarray, str] | None:
    n, f = prepared.shape
    booster = getattr(estimator, "booster_", None) or getattr(estimator, "booster", None)
    if booster is not None and hasattr(booster, "num_feature"):
        raw = np.asarray(booster.predict(prepared, pred_contrib=True))
        return raw.reshape(n, -1, f + 1), "TreeSHAP (LightGBM pred_contrib)"
    if hasattr(estimator, "get_booster"):
        import xgboost as xgb

        booster = estimator.get_booster()
        matrix = xgb.DMatrix(prepared, feature_types=booster.feature_types, enable_categorical=True)
        raw = np.asarray(booster.predict(matrix, pred_contribs=True))
        return raw.reshape(n, -1, f + 1), "TreeSHAP (XGBoost pred_contribs)"
    inner = getattr(estimator, "model_", None)
    if inner is not None and hasattr(inner, "get_feature_importance"):
        from catboost import Pool

        cat = [i for i, dtype in enumerate(prepared.dtypes) if not pd.api.types.is_numeric_dtype(dtype)]
        raw = np.asarray(inner.get_feature_importance(Pool(prepared, cat_features=cat), type="ShapValues"))
        return raw.reshape(n, -1, f + 1), "TreeSHAP (CatBoost ShapValues)"
    return None


def _linear(estimator: Any, prepared: pd.DataFrame, background: pd.DataFrame) -> tuple[np.ndarray, str] | None:
    coef = getattr(estimator, "coef_", None)
    if coef is None or not hasattr(estimator, "intercept_"):
        return None
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=float))
    x = prepared.to_numpy(dtype=float)
    mean = background.to_numpy(dtype=float).mean(axis=0)
    values = (x - mean)[:, None, :] * coef[None, :, :]
    base = np.broadcast_to(intercept + coef @ mean, (len(x), coef.shape[0]))
    return np.concatenate([values, base[:, :, None]], axis=2), "exact linear contributions"


def _linear_sparse(estimator: Any, prepared: Any, background: Any, sources: np.ndarray) -> tuple[np.ndarray, str] | None:
    """Exact linear contributions on sparse columns (text terms), summed per input feature as they are computed:
    a dense rows x columns matrix would not fit in memory."""
    coef = getattr(estimator, "coef_", None)
    if coef is None or not hasattr(estimator, "intercept_"):
        return None
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=float))
    n_groups = int(sources.max(initial=-1)) + 1
    kept = np.flatnonzero(sources >= 0)
    groups = sp.csr_matrix((np.ones(len(kept)), (kept, sources[kept])), shape=(len(sources), n_groups))
    x = sp.csr_matrix(prepared, dtype=float)
    mean = np.asarray(sp.csr_matrix(background, dtype=float).mean(axis=0)).ravel()
    values = np.stack([(x.multiply(c).tocsr() @ groups).toarray() - groups.T @ (mean * c) for c in coef], axis=1)
    base = np.broadcast_to(intercept + coef @ mean, (x.shape[0], coef.shape[0]))
    return np.concatenate([values, base[:, :, None]], axis=2), "exact linear contributions"


MISSING_PREFIX = "missingindicator_"
"""How scikit-learn names the missing-value indicator of a column."""


def _sources(prepared: list[str], features: list[str]) -> np.ndarray:
    """The input feature each prepared column comes from (one-hot, missing indicators, text terms); -1 if none.

    A column named as a feature (or as its missing indicator) is that feature's; any other takes the longest
    feature name it starts with, followed by '_'. Vectorized: a text column brings hundreds of thousands of terms.
    """
    index = {name: i for i, name in enumerate(features)}
    names = np.asarray(prepared, dtype=str)
    marked = np.strings.startswith(names, MISSING_PREFIX)
    bare = np.where(marked, np.strings.slice(names, len(MISSING_PREFIX), None), names)
    out = pd.Index(features).get_indexer(pd.Index(bare)).astype(np.int64)
    for feature in sorted(features, key=len, reverse=True):
        rest = np.flatnonzero(out < 0)
        if not len(rest):
            break
        out[rest[np.strings.startswith(names[rest], f"{feature}_")]] = index[feature]
    return out


def _to_features(values: np.ndarray, prepared: list[str], features: list[str]) -> np.ndarray:
    """Sum the contributions of prepared columns (one-hot, missing indicators) into their input feature."""
    out = np.zeros((values.shape[0], len(features)))
    for j, source in enumerate(_sources(prepared, features)):
        if source >= 0:
            out[:, source] += values[:, j]
    return out


def sampling_shapley(model: Any, features: pd.DataFrame, background: pd.DataFrame, explained: np.ndarray | None,
                     *, permutations: int = SAMPLING_PERMUTATIONS, seed: int = 0) -> Contributions:
    """Shapley values estimated by permutation sampling against background rows; works for any model.

    Each permutation walks from a background row to the explained row one feature at a time; a feature's
    value is its average change of the output. Values plus base add up exactly to the output.
    """
    rng = np.random.default_rng(seed)
    n, f = features.shape
    x = features.to_numpy(dtype=object)
    bg = background.to_numpy(dtype=object)
    dtypes = features.dtypes.to_dict()
    values = np.zeros((n, f))
    base = np.zeros(n)
    for _ in range(permutations):
        order = rng.permutation(f)
        states = np.repeat(bg[rng.integers(len(bg), size=n)][None], f + 1, axis=0)
        for k, column in enumerate(order, start=1):
            states[k:, :, column] = x[:, column]
        frame = pd.DataFrame(states.reshape(-1, f), columns=features.columns).astype(dtypes)
        out = _pick(model.output(frame), np.tile(explained, f + 1) if explained is not None else None)
        out = out.reshape(f + 1, n)
        values[:, order] += np.diff(out, axis=0).T
        base += out[0]
    unit = "predicted value" if explained is None else "probability"
    return Contributions(values / permutations, base / permutations, list(features.columns), unit,
                         f"sampling Shapley values ({permutations} permutations, {len(bg)} background rows)", explained)


def _pick(output: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    if classes is None:
        return np.asarray(output, dtype=float)
    return np.asarray(output)[np.arange(len(output)), classes]
