"""Retraining and monitoring of recommenders.

Retrain (``trainlab retrain NAME new.csv``): each user's latest positive new interactions (a random share
without a time column, ``--held-out``) are held out; the challenger is trained with the champion's recorded
configuration on the champion's training interactions plus the rest of the new ones (``--mode append``, the
default for recommenders; ``replace``: the new ones only; ``window``: the most recent rows of both). The
champion gets the same new interactions folded in (as far as its family allows), so both are scored on the
held-out interactions knowing the same: ndcg@k over the items each user had not seen, on the held-out
interactions whose items the champion knew (those with new items are counted: only the challenger can list them).

Monitor (``trainlab monitor MODEL new.csv``): how the items' popularity moved. The known items are cut into ten
bins holding a tenth of the training interactions each (the few most popular items to the long tail); PSI of the
new interactions' shares over those bins, with a chi-squared test so that a small sample's noise is not drift;
the total variation between the item distributions beside what sampling alone gives at that size; and the shares
of new interactions from users and on items unknown at training, with the items that gained the most share.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from trainlab.config import RecommendConfig
from trainlab.data.interactions import read_new_interactions
from trainlab.data.load import load_table
from trainlab.errors import DataError
from trainlab.lifecycle.registry import ModelVersion, Registry, register_run
from trainlab.lifecycle.retrain import (
    RetrainOptions,
    RetrainResult,
    _decision,
    _save_training_rows,
    recorded_training_data,
)
from trainlab.rec_run import train_recommender
from trainlab.recommender import Recommender
from trainlab.search.scheduler import Listener

BINS = 10
EPSILON = 1e-4
NOISE_DRAWS = 20


def retrain_recommender(name: str, champion: ModelVersion, bundle: Path, data: pd.DataFrame | str | Path,
                        options: RetrainOptions, registry: str | Path | None = None,
                        listener: Listener | None = None) -> RetrainResult:
    """A challenger recommender for the champion of ``name``, registered, and promoted if it ranks better."""
    model = Recommender.load(bundle)
    assert model.manifest is not None
    config = RecommendConfig.from_dict(model.manifest.config)
    budget = replace(config.budget, time_limit=options.time_limit) if options.time_limit is not None else config.budget
    config = replace(config, name=None, budget=budget, out_dir=options.out_dir or config.out_dir)
    frame = load_table(data)
    fit_rows, held_out = split_new(frame, model, options.held_out, config.seed)
    mode = "append" if options.mode == "auto" else options.mode
    training = fit_rows
    if mode != "replace":
        old = recorded_training_data(champion)
        training = pd.concat([old, fit_rows[[c for c in fit_rows.columns if c in old.columns]]], ignore_index=True)
        if mode == "window":
            training = training.iloc[-(options.window_rows or len(old)):].reset_index(drop=True)
    run = train_recommender(training, config, listener=listener)
    data_file = _save_training_rows(training, run.folder)
    model.fold_in(fit_rows)
    column = str(model.state.columns["item"])
    known = held_out[held_out[column].map(_text).isin(model.item_index)]
    metric = f"ndcg@{config.k}"
    champion_metrics = model.evaluate(known, config.k)["metrics"]
    challenger_metrics = run.recommender.evaluate(known, config.k)["metrics"]
    old_score, new_score = champion_metrics[metric], challenger_metrics[metric]
    better = new_score > old_score
    promoted = better or options.force
    decision = _decision(name, champion, metric, old_score, new_score, len(known), better, options.force)
    if len(known) < len(held_out):
        decision += (f" ({len(held_out) - len(known)} held-out interactions with items new since training are left "
                     "out: only the challenger could list them.)")
    evaluation = {"metric": metric, "held_out_rows": len(known), "mode": mode, "champion": champion.ref,
                  "champion_metrics": champion_metrics, "challenger_metrics": challenger_metrics,
                  "promoted": promoted, "forced": options.force and not better, "decision": decision}
    challenger = register_run(run, name, registry, data_path=data_file, parent_version=champion.version,
                              evaluation=evaluation, promote=promoted, note=decision)
    decision = decision.replace("the challenger", challenger.ref)
    return RetrainResult(name=name, mode=mode, metric=metric, champion=champion, challenger=challenger,
                         champion_score=old_score, challenger_score=new_score, champion_metrics=champion_metrics,
                         challenger_metrics=challenger_metrics, held_out_rows=len(known), train_rows=len(training),
                         promoted=promoted, forced=options.force and not better, decision=decision,
                         run=run)  # type: ignore[arg-type]


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def split_new(frame: pd.DataFrame, model: Recommender, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to learn from, held-out rows): per user, the latest ``share`` of positive new interactions (random
    without a time column), one at least for users with two or more."""
    table = read_new_interactions(frame, model.state.columns)
    rng = np.random.default_rng(seed)
    key = table["time"].to_numpy() if table["time"].notna().all() else rng.random(len(table))
    order = pd.DataFrame({"user": table["user"], "key": key, "positive": table["positive"]})
    order = order[order["positive"]].sort_values(["user", "key"])
    counts = order.groupby("user")["key"].transform("size")
    from_end = order.groupby("user").cumcount(ascending=False)
    n_held = np.maximum(np.floor(counts * share), (counts >= 2).astype(int))
    held = np.zeros(len(frame), dtype=bool)
    held[order.index[from_end.to_numpy() < n_held.to_numpy()]] = True
    if held.sum() < 1 or (~held).sum() < 1:
        raise DataError(f"The new interactions ({len(frame)} rows) are too few to both retrain and hold some out to "
                        "compare the challenger with the champion: give users with at least two positive ones.")
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)


def popularity_drift(model: Recommender, frame: pd.DataFrame, label: str, psi_threshold: float = 0.2,
                     new_items_threshold: float = 0.05, new_users_threshold: float = 0.5,
                     p_value: float = 0.01) -> dict[str, Any]:
    """How the item popularity of new interactions compares with training's; ``drifted`` and its reasons."""
    table = read_new_interactions(frame, model.state.columns)
    positive = table[table["positive"]]
    if positive.empty:
        raise DataError("The new interactions have no positive one: nothing to compare item popularity with.")
    reference = model.state.popularity.astype(float)
    known = positive["item"].isin(model.item_index)
    now = np.bincount(positive.loc[known, "item"].map(model.item_index), minlength=len(reference)).astype(float)
    order = np.argsort(-reference, kind="stable")
    cumulative = np.cumsum(reference[order]) / max(reference.sum(), 1.0)
    bin_of = np.empty(len(reference), dtype=int)
    bin_of[order] = np.minimum((cumulative * BINS - 1e-9).astype(int), BINS - 1)
    ref_share = np.bincount(bin_of, weights=reference, minlength=BINS) / max(reference.sum(), 1.0)
    now_counts = np.bincount(bin_of, weights=now, minlength=BINS)
    now_share = now_counts / max(now_counts.sum(), 1.0)
    r, n = np.clip(ref_share, EPSILON, None), np.clip(now_share, EPSILON, None)
    psi = float(np.sum((n - r) * np.log(n / r)))
    used = ref_share > 0
    p = float(stats.chisquare(now_counts[used], ref_share[used] / ref_share[used].sum() * now_counts.sum()).pvalue) \
        if now_counts.sum() > 0 else 1.0
    p_ref = reference / max(reference.sum(), 1.0)
    p_now = now / max(now.sum(), 1.0)
    tv = float(0.5 * np.abs(p_now - p_ref).sum())
    rng = np.random.default_rng(0)
    draws = rng.multinomial(int(max(now.sum(), 1)), p_ref, size=NOISE_DRAWS) / max(now.sum(), 1.0)
    tv_noise = float(np.mean(0.5 * np.abs(draws - p_ref).sum(axis=1)))
    users = set(positive["user"])
    new_users = float(np.mean([u not in model.user_index for u in positive["user"]]))
    new_items = float((~known).mean())
    gain = p_now - p_ref
    movers = [{"item": model.state.items[i], "share_training": float(p_ref[i]), "share_now": float(p_now[i])}
              for i in np.argsort(-gain)[:5]]
    unknown = positive.loc[~known, "item"].value_counts().head(5)
    reasons = []
    if psi >= psi_threshold and p < p_value:
        reasons.append(f"item popularity moved: PSI {psi:.3f} over the ten popularity bins (threshold "
                       f"{psi_threshold:g}, chi-squared p {p:.2g})")
    if new_items >= new_items_threshold:
        reasons.append(f"{new_items:.1%} of the positive new interactions are on items unknown at training "
                       f"(threshold {new_items_threshold:.0%}): retrain to learn them")
    if new_users >= new_users_threshold:
        reasons.append(f"{new_users:.1%} of the positive new interactions come from users unknown at training "
                       f"(threshold {new_users_threshold:.0%}): they get popular items until retraining")
    return {"model": label, "task": "recommend", "rows": len(table), "positive_rows": len(positive),
            "users": len(users), "reference_interactions": int(reference.sum()), "psi": psi, "p_value": p,
            "bins": [{"bin": b + 1, "items": int((bin_of == b).sum()), "share_training": float(ref_share[b]),
                      "share_now": float(now_share[b])} for b in range(BINS)],
            "total_variation": tv, "total_variation_sampling": tv_noise, "new_users_share": new_users,
            "new_items_share": new_items, "gainers": movers,
            "unknown_items": [{"item": str(i), "interactions": int(c)} for i, c in unknown.items()],
            "drifted": bool(reasons), "reasons": reasons,
            "thresholds": {"psi": psi_threshold, "new_items": new_items_threshold, "new_users": new_users_threshold,
                           "p_value": p_value}}


def recommender_champion(name: str, registry: str | Path | None) -> tuple[ModelVersion, Path] | None:
    """The champion of ``name`` and its bundle when it is a recommender, else None."""
    from trainlab.bundle.recommender import is_recommender
    from trainlab.lifecycle.registry import verified_bundle

    champion = Registry(registry).get(name)
    bundle = verified_bundle(champion)
    return (champion, bundle) if is_recommender(bundle) else None
