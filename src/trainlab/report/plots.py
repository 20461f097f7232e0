"""The report's plots: matplotlib figures rendered to PNG and returned as base64 text to inline in the HTML."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator, NullFormatter

BLUE, ORANGE, GREY, RED, GREEN = "#2563eb", "#ea580c", "#9ca3af", "#dc2626", "#16a34a"
PALETTE = [BLUE, ORANGE, GREEN, "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#b45309", RED, GREY]
STYLE: dict[str, Any] = {"axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "font.size": 9, "axes.titlesize": 10, "axes.titleweight": "bold", "figure.dpi": 100}


@contextmanager
def _figure(width: float, height: float, ncols: int = 1) -> Iterator[tuple[Any, Any]]:
    with plt.rc_context(STYLE):  # type: ignore[arg-type]
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, layout="constrained")
        try:
            yield fig, axes[0]
        finally:
            plt.close(fig)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def target_split(profile: dict[str, Any]) -> str | None:
    """Class counts (or target quantiles) in the training and test parts."""
    if not profile:
        return None
    with _figure(6, 2.8) as (fig, (ax,)):
        if "classes" in profile:
            labels = profile["classes"][:20]
            x = np.arange(len(labels))
            train = np.array(profile["train"][:20], dtype=float)
            test = np.array(profile["test"][:20], dtype=float)
            ax.bar(x - 0.2, train / max(train.sum(), 1), 0.4, label=f"train ({int(train.sum()):,} rows)", color=BLUE)
            ax.bar(x + 0.2, test / max(test.sum(), 1), 0.4, label=f"test ({int(test.sum()):,} rows)", color=ORANGE)
            ax.set_xticks(x, labels, rotation=30 if len(labels) > 6 else 0)
            ax.set_ylabel("share of rows")
            ax.set_title("Target classes in the training and test parts")
        else:
            qs = [int(q * 100) for q in profile["quantiles"]]
            ax.plot(qs, profile["train"], "o-", color=BLUE, label="train")
            ax.plot(qs, profile["test"], "s--", color=ORANGE, label="test")
            ax.set_xlabel("percentile of the target")
            ax.set_ylabel("target value")
            ax.set_title("Target distribution in the training and test parts")
        ax.legend(frameon=False)
        return _png(fig)


def model_scores(board: list[dict[str, Any]], metric: str) -> str | None:
    """Validation score of every model that ran, best on top."""
    rows = [r for r in board if r.get("status") == "ok" and r.get(f"val_{metric}") is not None][:25]
    if not rows:
        return None
    with _figure(6.2, 0.6 + 0.32 * len(rows)) as (fig, (ax,)):
        names = [str(r["model"]) for r in rows][::-1]
        scores = [float(r[f"val_{metric}"]) for r in rows][::-1]
        colors = [GREEN if i == len(rows) - 1 else BLUE for i in range(len(rows))]
        ax.barh(names, scores, color=colors)
        lo, hi = min(scores), max(scores)
        pad = (hi - lo) * 0.15 or abs(hi) * 0.05 or 0.05
        ax.set_xlim(lo - pad * 3 if lo - pad * 3 > 0 or lo < 0 else 0, hi + pad)
        for y, s in enumerate(scores):
            ax.text(s, y, f" {s:.4f}", va="center", fontsize=8)
        ax.set_xlabel(f"validation {metric} (cross-validation)")
        ax.set_title("Model comparison: score")
        return _png(fig)


def model_times(board: list[dict[str, Any]]) -> str | None:
    """Fit and predict seconds per model (log scale)."""
    rows = [r for r in board if r.get("fit_time_s") is not None][:25]
    if not rows:
        return None
    with _figure(6.2, 0.6 + 0.32 * len(rows)) as (fig, (ax,)):
        names = [str(r["model"]) for r in rows][::-1]
        y = np.arange(len(rows))
        fit = [max(float(r["fit_time_s"] or 0), 1e-4) for r in rows][::-1]
        pred = [max(float(r.get("predict_time_s") or 0), 1e-4) for r in rows][::-1]
        ax.barh(y + 0.2, fit, 0.4, color=BLUE, label="fit (per fold)")
        ax.barh(y - 0.2, pred, 0.4, color=ORANGE, label="predict (per fold)")
        ax.set_yticks(y, names)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("seconds (log scale)")
        ax.set_title("Model comparison: execution time")
        ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)
        return _png(fig)


def tuning(trials: list[dict[str, Any]], metric: str, greater: bool) -> str | None:
    """Every trial's score in the order it ran, per family, with the best so far."""
    ok = [t for t in trials if t.get("status") == "ok" and t.get("score") is not None]
    if len(ok) < 2:
        return None
    with _figure(6.4, 3.2) as (fig, (ax,)):
        families = list(dict.fromkeys(str(t["family"]) for t in ok))
        for i, family in enumerate(families):
            mine = [t for t in ok if str(t["family"]) == family]
            ax.scatter([t["number"] for t in mine], [t["score"] for t in mine], s=18, color=PALETTE[i % len(PALETTE)],
                       label=family, zorder=3)
        order = sorted(ok, key=lambda t: t["number"])
        scores = np.array([t["score"] for t in order], dtype=float)
        best = np.maximum.accumulate(scores) if greater else np.minimum.accumulate(scores)
        ax.step([t["number"] for t in order], best, where="post", color="black", lw=1, label="best so far")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trial number")
        ax.set_ylabel(f"validation {metric}")
        ax.set_title("Hyperparameter tuning: every trial")
        ax.legend(frameon=False, fontsize=7, ncol=2)
        return _png(fig)


def classification_curves(curves: dict[str, Any]) -> str | None:
    """ROC, precision-recall and calibration side by side."""
    if not curves or curves.get("kind") == "regression":
        return None
    with _figure(10.5, 3.3, ncols=3) as (fig, (roc, pr, cal)):
        series = {curves.get("positive_class", "positive"): curves} if curves["kind"] == "binary" else curves["per_class"]
        for i, (label, c) in enumerate(list(series.items())[:8]):
            if "roc" not in c:
                continue
            color = PALETTE[i % len(PALETTE)]
            roc.plot(c["roc"]["fpr"], c["roc"]["tpr"], color=color, label=f"{label} (AUC {c['roc']['auc']:.3f})")
            pr.plot(c["pr"]["recall"], c["pr"]["precision"], color=color,
                    label=f"{label} (AP {c['pr']['average_precision']:.3f})")
        roc.plot([0, 1], [0, 1], "--", color=GREY, lw=1)
        roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
        pr.set(xlabel="recall", ylabel="precision", title="Precision-recall curve", ylim=(0, 1.02))
        roc.legend(frameon=False, fontsize=7)
        pr.legend(frameon=False, fontsize=7)
        c = curves["calibration"]
        cal.plot([0, 1], [0, 1], "--", color=GREY, lw=1, label="perfectly calibrated")
        cal.plot(c["predicted"], c["observed"], "o-", color=BLUE, label=f"model (Brier {c['brier']:.3f})")
        what = "confidence of the predicted class" if curves["kind"] == "multiclass" else "predicted probability"
        cal.set(xlabel=what, ylabel="observed frequency", title="Calibration", xlim=(0, 1), ylim=(0, 1))
        cal.legend(frameon=False, fontsize=7)
        return _png(fig)


def regression_curves(curves: dict[str, Any]) -> str | None:
    """Predicted vs actual, and residuals vs predicted."""
    if not curves or curves.get("kind") != "regression":
        return None
    actual, predicted = np.array(curves["actual"]), np.array(curves["predicted"])
    with _figure(10, 3.6, ncols=2) as (fig, (left, right)):
        left.scatter(actual, predicted, s=6, alpha=0.35, color=BLUE, edgecolors="none")
        lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        left.plot([lo, hi], [lo, hi], "--", color=RED, lw=1, label="perfect prediction")
        left.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
        left.legend(frameon=False)
        right.scatter(predicted, actual - predicted, s=6, alpha=0.35, color=ORANGE, edgecolors="none")
        right.axhline(0, color="black", lw=1)
        right.set(xlabel="predicted", ylabel="actual − predicted", title="Residuals vs predicted")
        if curves.get("sampled"):
            fig.suptitle(f"a random sample of {len(actual):,} rows", fontsize=8, color=GREY)
        return _png(fig)


def confusion(conf: dict[str, Any] | None) -> str | None:
    """Confusion matrix: colour by the share of each true class, text with count and share."""
    if not conf:
        return None
    labels = conf["labels"]
    k = len(labels)
    if k > 25:
        return None
    counts, rates = np.array(conf["counts"]), np.array(conf["rates"])
    size = min(7.0, 2.2 + 0.55 * k)
    with _figure(size + 0.8, size) as (fig, (ax,)):
        image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
        ax.grid(False)
        ax.set_xticks(range(k), labels, rotation=30 if k > 4 else 0)
        ax.set_yticks(range(k), labels)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{counts[i, j]:,}\n{rates[i, j]:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.55 else "black")
        ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
        return _png(fig)


def segments(segs: list[dict[str, Any]] | None, measure: str) -> str | None:
    """Error per segment of the most important features, against the overall error."""
    if not segs:
        return None
    shown = segs[:3]
    with _figure(3.6 * len(shown), 3.0, ncols=len(shown)) as (fig, axes):
        for ax, seg in zip(axes, shown, strict=False):
            names = [s["segment"] for s in seg["segments"]]
            errors = [s["error"] for s in seg["segments"]]
            colors = [RED if s["segment"] == seg["worst"] else BLUE for s in seg["segments"]]
            ax.bar(range(len(names)), errors, color=colors)
            ax.axhline(seg["overall_error"], color="black", lw=1, ls="--", label="overall")
            ax.set_xticks(range(len(names)), [n if len(n) <= 14 else n[:13] + "…" for n in names], rotation=35,
                          ha="right", fontsize=7)
            ax.set_title(seg["feature"])
            ax.set_ylabel(measure)
            ax.legend(frameon=False, fontsize=7)
        return _png(fig)


def learning_curve(curve: dict[str, Any] | None, skill_name: str) -> str | None:
    """Training and validation skill against the number of training rows."""
    if not curve or len(curve.get("sizes", [])) < 2:
        return None
    # a size whose fit did not finish is stored as null: float arrays carry it as NaN, a gap in the lines
    sizes, train, valid = (np.asarray([np.nan if v is None else v for v in curve[k]], dtype=float)
                           for k in ("sizes", "train", "validation"))
    with _figure(6.2, 3.2) as (fig, (ax,)):
        ax.plot(sizes, train, "o-", color=BLUE, label="training rows (what it learned from)")
        ax.plot(sizes, valid, "s-", color=ORANGE, label="validation rows (unseen)")
        ax.fill_between(sizes, train, valid, color=GREY, alpha=0.15)
        ax.set(xlabel="training rows", ylabel=skill_name, title="Learning curve")
        ax.legend(frameon=False, fontsize=8)
        return _png(fig)


def importance(imp: dict[str, Any] | None, top: int = 15) -> str | None:
    """Permutation importance (with spread) and mean |SHAP| side by side, most important on top."""
    if not imp or not imp.get("permutation"):
        return None
    perm = list(imp["permutation"].items())[:top][::-1]
    shap = list((imp.get("shap") or {}).get("mean_abs", {}).items())[:top][::-1]
    height = 0.8 + 0.28 * max(len(perm), len(shap))
    with _figure(10.5, height, ncols=2) as (fig, (left, right)):
        left.barh([p[0] for p in perm], [p[1]["mean"] for p in perm], xerr=[p[1]["std"] for p in perm],
                  color=BLUE, ecolor=GREY)
        left.axvline(0, color="black", lw=0.8)
        left.set(xlabel=f"{imp['metric']} lost when the feature is shuffled", title="Permutation importance (test set)")
        if shap:
            right.barh([s[0] for s in shap], [s[1] for s in shap], color=ORANGE)
            right.set(xlabel=f"mean |contribution| ({imp['shap']['unit']})", title="SHAP: mean absolute contribution")
        else:
            right.set_axis_off()
        return _png(fig)

