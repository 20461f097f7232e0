"""Recommenders after training: scored on new interactions, new interactions folded in (CLI, Python, server),
items new since training ranked by popularity. Generated interactions with planted tastes; nothing downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from test_recommend import make_interactions
from trainlab.cli import app
from trainlab.errors import DataError
from trainlab.rec_run import RecommendRun, train_recommender
from trainlab.recommender import Recommender


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RecommendRun:
    out = tmp_path_factory.mktemp("runs")
    return train_recommender(make_interactions(), user="user_id", item="item_id", rating="stars", positive=4,
                             time_limit=None, max_trials=3, models=("popularity", "ease"), out_dir=out, name="use",
                             jobs=1)


def new_interactions() -> pd.DataFrame:
    """Later interactions of the same users (a fresh draw of their tastes) plus a user and an item unseen."""
    frame = make_interactions(seed=7)
    frame = frame[frame["user_id"] <= 60]
    extra = pd.DataFrame([(5000, "i1", 5, 1), (5000, "i2", 5, 2), (7, "brand-new", 5, 3)], columns=frame.columns)
    return pd.concat([frame, extra], ignore_index=True)


def test_evaluate_scores_new_interactions_against_popularity(run: RecommendRun) -> None:
    model = Recommender.load(run.bundle_path)
    result = model.evaluate(new_interactions())
    assert result["k"] == 10 and result["users"] == 61 and result["new_users"] == 1
    assert result["left_out_new_item_rows"] == 1 and result["unknown_items"] == ["brand-new"]
    assert result["metrics"]["ndcg@10"] > 1.4 * result["popularity"]["ndcg@10"]
    assert result["at_training"]["ndcg@10"] == pytest.approx(run.test_metrics["ndcg@10"])
    with pytest.raises(DataError, match=r"has no 'user_id' column"):
        model.evaluate(new_interactions().rename(columns={"user_id": "who"}))


def test_cli_evaluate_prints_table_and_json(run: RecommendRun, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    new_interactions().to_csv(path, index=False)
    runner = CliRunner()
    shown = runner.invoke(app, ["evaluate", str(run.bundle_path), str(path)])
    assert shown.exit_code == 0, shown.output
    assert "ndcg@10" in shown.stdout and "vs popularity" in shown.stdout and "brand-new" in shown.stdout
    data = json.loads(runner.invoke(app, ["evaluate", str(run.bundle_path), str(path), "--json", "--k", "5"]).stdout)
    assert data["k"] == 5 and "ndcg@5" in data["metrics"]


def test_fold_in_rescores_known_and_new_users_and_ranks_new_items_by_popularity(run: RecommendRun) -> None:
    model = Recommender.load(run.bundle_path)
    cold = model.recommend("newcomer", 5)
    group0 = [f"i{i}" for i in range(3)]
    liked = model.recommend("newcomer", 5, new_items=group0)  # a new user's recent items fold in (EASE)
    assert sum(int(i[1:]) // 15 == 0 for i in liked["item"]) >= 4 and not cold["item"].equals(liked["item"])
    assert not set(liked["item"]) & set(group0)
    # a new item bought by many users ranks high for the others, one bought once stays low
    buyers = pd.DataFrame({"user_id": range(200, 260), "item_id": "hit-item", "stars": 5})
    summary = model.fold_in(pd.concat([buyers, pd.DataFrame({"user_id": [300], "item_id": ["rare-item"],
                                                              "stars": [5]})]))
    assert summary["unknown_items"] == 2 and summary["known_users"] == 0
    assert "recommended by popularity until retraining" in model.fold_in_note(summary)
    full = model.recommend("4", 60)
    ranks = dict(zip(full["item"], full["rank"], strict=True))
    assert ranks["hit-item"] <= 3 and ranks["rare-item"] > 30
    assert "hit-item" not in set(model.recommend("200", 60)["item"])  # its buyers have seen it


def test_cli_recommend_with_new_interactions(run: RecommendRun, tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    pd.DataFrame({"user_id": [4, 4, 4], "item_id": ["i30", "i31", "i32"], "stars": [5, 5, 5]}).to_csv(path, index=False)
    runner = CliRunner()
    before = runner.invoke(app, ["recommend", str(run.bundle_path), "--user", "4", "-k", "45"])
    after = runner.invoke(app, ["recommend", str(run.bundle_path), "--user", "4", "-k", "45", "--with", str(path)])
    assert after.exit_code == 0, after.output
    assert "Folded in 3 new interactions of 1 users (1 known at training)" in " ".join(after.stderr.split())
    items_after = [line.split(",")[1] for line in after.stdout.splitlines()[1:]]
    assert not {"i30", "i31", "i32"} & set(items_after) and before.stdout != after.stdout


def test_server_folds_in_recent_items(run: RecommendRun) -> None:
    from fastapi.testclient import TestClient

    from trainlab.serve.app import ServeSettings, create_app

    client = TestClient(create_app(ServeSettings(bundle=run.bundle_path)))
    plain = client.get("/recommend", params={"user": "4", "k": 5}).json()
    recent = client.post("/recommend", json={"user": "4", "items": ["i0", "i3", "i4", "ghost"], "k": 5}).json()
    assert recent["folded_in"] == 4 and recent["unknown_items"] == ["ghost"] and "not known at training" in recent["note"]
    assert [r["score"] for r in recent["items"]] != [r["score"] for r in plain["items"]]
    assert client.post("/recommend", json={"user": "4", "k": 0}).status_code == 422
    page = client.get("/recommendations", params={"user": "4", "recent": "i30, ghost"})
    assert page.status_code == 200 and "folded in" in page.text and np.isfinite(recent["items"][0]["score"])


def test_monitor_flags_moved_popularity_and_new_items_only(run: RecommendRun) -> None:
    from trainlab.lifecycle.recommend import popularity_drift

    model = Recommender.load(run.bundle_path)
    same = popularity_drift(model, make_interactions(seed=7), "m")
    assert not same["drifted"] and same["psi"] < 0.1 and same["new_items_share"] == 0.0
    moved = make_interactions(seed=7)
    moved.loc[moved.index % 3 == 0, "item_id"] = "i44"
    fresh = moved.index % 5 == 0
    moved.loc[fresh, "item_id"] = [f"fresh{i % 7}" for i in moved.index[fresh]]
    drift = popularity_drift(model, moved, "m")
    assert drift["drifted"] and drift["gainers"][0]["item"] == "i44"
    assert drift["total_variation"] > 2 * drift["total_variation_sampling"]
    assert any("PSI" in r for r in drift["reasons"]) and any("unknown at training" in r for r in drift["reasons"])


def test_register_monitor_and_retrain_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_interactions(90).to_csv("r.csv", index=False)
    later = make_interactions(90, seed=9)
    later["ts"] += 10**7
    later.to_csv("new.csv", index=False)
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "r.csv", "--task", "recommend", "--rating", "stars", "--positive", "4",
                                  "--time-column", "ts", "--models", "popularity,ease", "--max-trials", "3",
                                  "--name", "first", "--register", "tastes"])
    assert trained.exit_code == 0 and "Registered tastes@1 (champion)" in trained.stderr, trained.output
    watched = runner.invoke(app, ["monitor", "tastes", "new.csv", "--json"])
    assert watched.exit_code == 0 and not json.loads(watched.stdout)["drifted"]
    retrained = runner.invoke(app, ["retrain", "tastes", "new.csv", "--json"])
    assert retrained.exit_code == 0, retrained.output
    result = json.loads(retrained.stdout)
    assert result["mode"] == "append" and result["metric"] == "ndcg@10" and result["challenger"] == "tastes@2"
    assert result["train_rows"] > len(later) and result["held_out_rows"] >= 90
    assert result["promoted"] == (result["challenger_score"] > result["champion_score"])


def test_blend_is_tried_after_the_search_and_kept_only_if_it_pays(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from trainlab.search import rec_blend

    options = {"user": "user_id", "item": "item_id", "rating": "stars", "positive": 4, "time_limit": None,
               "max_trials": 4, "models": ("popularity", "ease", "item_knn", "blend"), "out_dir": tmp_path, "jobs": 1}
    honest = train_recommender(make_interactions(90), name="honest", **options)
    families = set(honest.leaderboard["family"])
    assert ("blend" in families) != ("blend" in honest.skipped)
    if "blend" in honest.skipped:
        assert "did not pay on validation" in honest.skipped["blend"]
    monkeypatch.setattr(rec_blend, "MIN_GAIN", -1.0)  # keep it whatever it scores
    kept = train_recommender(make_interactions(90), name="kept", **options)
    row = kept.leaderboard.set_index("family").loc["blend"]
    assert row["model"].startswith("Blend (") and row["test_ndcg@10"] > 0 and "blend" not in kept.skipped


def test_item_features_let_the_hybrid_recommend_items_no_one_has_tried(tmp_path: Path) -> None:
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(45)] + ["cold0", "cold1"],
                          "genre": [f"g{i // 15}" for i in range(45)] + ["g0", "g1"],
                          "title": [f"title {i}" for i in range(47)]})
    items.to_csv(tmp_path / "items.csv", index=False)
    runner = CliRunner()
    make_interactions(90).to_csv(tmp_path / "r.csv", index=False)
    done = runner.invoke(app, ["train", str(tmp_path / "r.csv"), "--task", "recommend", "--rating", "stars",
                               "--positive", "4", "--models", "popularity,hybrid_knn", "--max-trials", "3",
                               "--item-features", str(tmp_path / "items.csv"), "--out", str(tmp_path), "--name", "h"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "Item features: genre of 47 items (2 without interactions join the catalogue)" in said
    assert "'title' has 48 distinct words for 47 items: free text, left out" in said
    model = Recommender.load(tmp_path / "h" / "model")
    assert model.family == "hybrid_knn"
    full = model.recommend("4", 47)  # user 4 likes group 0
    ranks = dict(zip(full["item"], full["rank"], strict=True))
    assert ranks["cold0"] < ranks["cold1"] and ranks["cold0"] <= 8
    plain = train_recommender(make_interactions(90), user="user_id", item="item_id", rating="stars", positive=4,
                              time_limit=None, max_trials=2, models=("popularity", "hybrid_knn"), out_dir=tmp_path,
                              name="plain", jobs=1)
    assert "hybrid_knn" in plain.skipped and "--item-features" in plain.skipped["hybrid_knn"]
