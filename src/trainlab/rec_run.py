"""A recommendation run: interactions in, a leaderboard of recommender families, a tested model in a bundle.

The steps are the same as a table's: load and check, split (per user), search the families under the budget
(scored on the validation interactions), refit each family's best on training plus validation interactions
and test it once on the test interactions, save the best (by validation) and write the run folder and report.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from trainlab.bundle.manifest import library_versions
from trainlab.bundle.recommender import RecommenderState, save_recommender
from trainlab.config import RecommendConfig, make_recommend_config
from trainlab.data.checks import Finding
from trainlab.data.interactions import Interactions, InteractionSplit, check_interactions, split_interactions
from trainlab.data.load import fingerprint, load_table
from trainlab.data.side import ItemFeatures, read_item_features, read_user_features
from trainlab.errors import DataError
from trainlab.evaluate.ranking import RANKING_METRIC, RankingResult, by_activity
from trainlab.models.recbase import RecommenderBase
from trainlab.models.registry import get_spec, select_families
from trainlab.recommender import Recommender
from trainlab.report.recommend import write_recommend_report
from trainlab.search.budget import REFIT_SLACK, Budget
from trainlab.search.rec_blend import blend_trial
from trainlab.search.recommend import RankingTask, RecTrial, best_per_family, fit_and_score, search

Listener = Callable[[str, dict[str, Any]], None]
SAMPLE_USERS = 3


@dataclass
class RecommendRun:
    """The outcome of ``train_recommender``: leaderboard, best model, test scores and the run folder."""

    config: RecommendConfig
    folder: Path
    findings: list[Finding]
    split: dict[str, Any]
    leaderboard: pd.DataFrame
    best_model: str
    test_metrics: dict[str, float]
    recommender: Recommender
    trials: list[RecTrial] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def bundle_path(self) -> Path:
        return self.folder / "model"

    def recommend(self, user: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        return self.recommender.recommend(user, k, exclude_seen)

    def similar_items(self, item: Any, k: int = 10) -> pd.DataFrame:
        return self.recommender.similar_items(item, k)


def train_recommender(data: pd.DataFrame | str | Path, config: RecommendConfig | None = None, *,
                      listener: Listener | None = None, started: float | None = None,
                      **options: Any) -> RecommendRun:
    """Train, compare and save recommenders on an interactions table; options are those of
    ``trainlab train --task recommend`` (user='user_id', item='item_id', rating=None, k=10, time_limit=60, ...)."""
    started = time.monotonic() if started is None else started
    config = config or make_recommend_config(**options)
    notify: Listener = listener or (lambda kind, info: None)
    budget = Budget(config.budget.time_limit, config.budget.max_trials, started=started)
    notify("stage", {"name": "Loading and checking the interactions"})
    frame = load_table(data)
    inter = check_interactions(frame, config)
    features = _item_features(inter, config)
    users_side = _user_features(inter, config)
    split = split_interactions(inter, config)
    if not split.test.any() or not (split.valid & inter.positive).any():
        raise DataError("No user has enough interactions to hold some out for validation and test (each needs at "
                        "least 3). Give more interactions per user, or larger --test-size/--valid-size.")
    families, skipped = select_families("recommend", int(split.train.sum()), config.models, config.exclude_models)
    families = [f for f in families if f.key != "blend"]  # built from the others' best after the search
    if features is None:
        families = [f for f in families if f.key != "hybrid_knn"]
        if config.models is not None and "hybrid_knn" in config.models:
            skipped["hybrid_knn"] = "needs the items' side features: give --item-features items.csv"
    folder = _run_folder(config, data)
    n_jobs = config.jobs or os.cpu_count() or 1
    notify("stage", {"name": f"Training {len(families)} recommender families", "metric": f"{RANKING_METRIC}@{config.k}"})
    valid_task = _task(inter, split.train, split.valid, config, n_jobs, features)
    trials = search(families, valid_task, budget, notify)
    leaders = best_per_family(trials)
    if config.models is None or "blend" in config.models:
        notify("stage", {"name": "Trying a blend of the best families on validation"})
        blend, note = blend_trial(leaders, valid_task, budget, len(trials))
        if blend is None:
            skipped["blend"] = note
        else:
            leaders = sorted([*leaders, blend], key=lambda t: (not t.ok, -t.score if t.ok else 0.0))
    notify("stage", {"name": "Refitting each family's best and testing it"})
    full = split.train | split.valid
    test_task = _task(inter, full, split.test, config, n_jobs, features)
    tested, final = _test_leaders(leaders, test_task, budget)
    if final is None:
        raise DataError("Every recommender trial failed: " + "; ".join(f"{t.name}: {t.error}" for t in trials[:5]))
    best, model, result = final
    tested_state = RecommenderState(family=best.family, params=best.params, model=model, users=inter.users,
                                    items=inter.items, history=test_task.fit_matrix, seen=test_task.seen,
                                    popularity=test_task.popularity,
                                    columns={**inter.columns, "positive": config.positive},
                                    user_feature_ids=users_side.ids if users_side else None,
                                    user_features=users_side.matrix if users_side else None)
    # The bundle scores from every interaction, the test ones too: a user is never offered an item they already
    # have, and families that score from a history (EASE, item kNN) use all of it. The fitted model is the tested one.
    every = np.ones(len(inter.user), dtype=bool)
    state = replace(tested_state, history=inter.matrix(every), seen=inter.matrix(every, positive_only=False),
                    popularity=np.asarray((inter.matrix(every) > 0).sum(axis=0), dtype=np.float32).ravel())
    data_fingerprint = fingerprint(frame)
    details: dict[str, Any] = {"config": config.to_dict(), "data_fingerprint": data_fingerprint,
               "metrics": {"ranking_metric": f"{RANKING_METRIC}@{config.k}", "validation": best.metrics,
                           "test": result.summary}, "extras": {"model_name": best.name, "k": config.k}}
    manifest = save_recommender(state, folder / "model", **details)
    leaderboard = make_rec_leaderboard(tested, config.k)
    run = RecommendRun(config=config, folder=folder, findings=inter.findings, split=split.describe(),
                       leaderboard=leaderboard, best_model=best.name, test_metrics=result.summary,
                       recommender=Recommender(state, manifest), trials=trials, skipped=skipped,
                       timings={"total_s": budget.elapsed()})
    _write_run_folder(run, data, data_fingerprint, _insights(inter, split, result, Recommender(tested_state), config))
    notify("stage", {"name": "Writing report.html"})
    write_recommend_report(folder)
    run.timings["total_s"] = budget.elapsed()
    notify("done", {"run": run})
    return run


def _item_features(inter: Interactions, config: RecommendConfig) -> sparse.csr_matrix | None:
    """The items' side features aligned with the catalogue, which grows by the items listed there that no one
    interacted with (they can only be recommended by a family that reads the features); None without them."""
    if not config.item_features:
        return None
    side = read_item_features(load_table(config.item_features), inter.columns.get("item"))
    known = set(inter.items)
    cold = [i for i in side.ids if i not in known]
    inter.items.extend(cold)
    inter.findings.extend(side.findings)
    inter.findings.append(Finding("info", "item_features", f"Item features: {', '.join(side.columns)} of "
                                  f"{len(side.ids)} items ({len(cold)} without interactions join the catalogue); "
                                  "read by the hybrid_knn family.", None))
    return side.aligned(inter.items)


def _user_features(inter: Interactions, config: RecommendConfig) -> ItemFeatures | None:
    """The users' side features (kept in the bundle): a user unknown at training who is listed there is
    recommended the items of the users most like them by features; None without them."""
    if not config.user_features:
        return None
    side = read_user_features(load_table(config.user_features), inter.columns.get("user"))
    known = set(inter.users)
    cold = sum(u not in known for u in side.ids)
    inter.findings.extend(side.findings)
    inter.findings.append(Finding("info", "user_features", f"User features: {', '.join(side.columns)} of "
                                  f"{len(side.ids)} users ({cold} without interactions); a user unknown at training "
                                  "who is listed there gets the items of the 50 users most like them by features "
                                  "instead of the most popular items.", None))
    return side


def _task(inter: Interactions, fit_rows: np.ndarray, target_rows: np.ndarray, config: RecommendConfig,
          n_jobs: int, features: sparse.csr_matrix | None = None) -> RankingTask:
    fit = inter.matrix(fit_rows)
    popularity = np.asarray((fit > 0).sum(axis=0), dtype=np.float32).ravel()
    return RankingTask(fit_matrix=fit, seen=inter.matrix(fit_rows, positive_only=False),
                       relevant=inter.matrix(target_rows), popularity=popularity, k=config.k, seed=config.seed,
                       n_jobs=n_jobs, item_features=features)


Tested = tuple[RecTrial, RecommenderBase, RankingResult]


def _test_leaders(leaders: list[RecTrial], task: RankingTask,
                  budget: Budget) -> tuple[list[tuple[RecTrial, dict[str, float] | None, float]], Tested | None]:
    """Refit each family's best on training plus validation rows and test it, best first, while time allows
    (the best and the popularity baseline always); returns (trial, test scores or None, refit seconds) per family
    and the best's model with its test result."""
    rows: list[tuple[RecTrial, dict[str, float] | None, float]] = []
    final: Tested | None = None
    limit = None if budget.time_limit is None else budget.time_limit * (1 + REFIT_SLACK)
    for trial in leaders:
        fits = limit is None or budget.elapsed() + 1.3 * trial.fit_time_s < limit
        if not trial.ok or not (final is None or trial.family == "popularity" or fits):
            rows.append((trial, None, 0.0))
            continue
        model, result, fit_s, _ = fit_and_score(get_spec(trial.family), trial.params, task)
        rows.append((trial, result.summary, fit_s))
        if final is None:
            final = (trial, model, result)
    return rows, final


def make_rec_leaderboard(rows: list[tuple[RecTrial, dict[str, float] | None, float]], k: int) -> pd.DataFrame:
    """One row per family (its best trial), best validation score first, with the test scores of its refit."""
    records = []
    for trial, test, refit_s in rows:
        record: dict[str, Any] = {"model": trial.name, "family": trial.family, "status": trial.status,
                                  "error": trial.error}
        record.update({f"val_{name}": value for name, value in trial.metrics.items()})
        record.update({f"test_{name}": value for name, value in (test or {}).items()})
        record.update({"fit_time_s": round(trial.fit_time_s, 4), "predict_time_s": round(trial.predict_time_s, 4),
                       "refit_time_s": round(refit_s, 4)})
        records.append(record)
    return pd.DataFrame(records)


def _insights(inter: Interactions, split: InteractionSplit, result: RankingResult, model: Recommender,
              config: RecommendConfig) -> dict[str, Any]:
    """The report's extra tables: metrics by user activity, and a few users' histories beside their lists."""
    activity = np.bincount(inter.user[split.train | split.valid], minlength=inter.n_users)
    rng = np.random.default_rng(config.seed)
    chosen = rng.choice(result.users, size=min(SAMPLE_USERS, len(result.users)), replace=False)
    samples = []
    for u in chosen:
        user = inter.users[int(u)]
        held = set(inter.items[i] for i in inter.item[split.test & (inter.user == u) & inter.positive])
        recs = model.recommend(user, config.k)
        samples.append({"user": user, "history": model.history(user)[:15], "history_size": len(model.history(user)),
                        "recommended": [{"item": it, "score": s, "hit": it in held}
                                        for it, s in zip(recs["item"], recs["score"], strict=True)],
                        "held_out": sorted(held)[:15]})
    return {"by_activity": by_activity(result, activity, config.k), "samples": samples}


def _run_folder(config: RecommendConfig, data: Any) -> Path:
    stem = Path(str(data)).stem if isinstance(data, str | Path) else "interactions"
    name = config.name or f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    folder, n = config.out_dir / name, 1
    while folder.exists() and (folder / "run.json").exists():
        n += 1
        folder = config.out_dir / f"{name}-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_run_folder(run: RecommendRun, data: Any, data_fingerprint: str, insights: dict[str, Any]) -> None:
    """run.json, leaderboard.csv, trials.csv and recommend.json (the report's tables), each written atomically."""
    record = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "status": "finished", "task": "recommend",
              "data": str(data) if isinstance(data, str | Path) else "DataFrame", "data_fingerprint": data_fingerprint,
              "config": run.config.to_dict(), "versions": library_versions(), "split": run.split,
              "ranking_metric": f"{RANKING_METRIC}@{run.config.k}", "columns": run.recommender.state.columns,
              "findings": [f.to_dict() for f in run.findings], "skipped_families": run.skipped,
              "best_model": run.best_model, "best_family": run.recommender.family, "test_metrics": run.test_metrics,
              "timings": run.timings}
    _write(run.folder / "run.json", json.dumps(record, indent=2, default=str))
    _write(run.folder / "leaderboard.csv", run.leaderboard.to_csv(index=False))
    trials = pd.DataFrame([t.record() for t in run.trials])
    if not trials.empty:
        trials["params"] = trials["params"].map(json.dumps)
    _write(run.folder / "trials.csv", trials.to_csv(index=False))
    _write(run.folder / "recommend.json", json.dumps(insights, indent=2, default=float))


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
