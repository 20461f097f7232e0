"""Recommendation: checks and split of interactions, ranking metrics, the families, a run end to end, the
bundle, and the CLI, Python and server faces. Generated interactions with planted tastes; nothing downloaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from typer.testing import CliRunner

from trainlab.cli import app
from trainlab.config import make_recommend_config
from trainlab.data.interactions import check_interactions, split_interactions, suggest_columns
from trainlab.errors import BundleError, ConfigError, DataError
from trainlab.evaluate.ranking import list_metrics, top_k, user_metrics
from trainlab.rec_run import RecommendRun, train_recommender
from trainlab.recommender import Recommender
from trainlab.testing.recommend import check_recommender, recommender_keys

FAMILIES = ("popularity", "item_knn", "ease", "als", "bpr", "mf")
N_ITEMS = 45


def make_interactions(n_users: int = 150, seed: int = 0) -> pd.DataFrame:
    """Users in three taste groups: each rates ~14 items, most from its group's third of the catalogue (4-5 stars)
    and a few elsewhere (1-2 stars), at increasing times."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        group = user % 3
        liked = rng.choice(np.arange(group * 15, group * 15 + 15), 11, replace=False)
        other = rng.choice(np.setdiff1d(np.arange(N_ITEMS), liked), 3, replace=False)
        for t, item in enumerate(rng.permutation(np.concatenate([liked, other]))):
            stars = rng.integers(4, 6) if item in liked else rng.integers(1, 3)
            rows.append((user + 1, f"i{item}", int(stars), 1_600_000_000 + 3600 * t + user))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "stars", "ts"])


@pytest.fixture(scope="module")
def rec_run(tmp_path_factory: pytest.TempPathFactory) -> RecommendRun:
    out = tmp_path_factory.mktemp("runs")
    return train_recommender(make_interactions(), user="user_id", item="item_id", rating="stars", positive=4,
                             time_limit=None, max_trials=8, models=FAMILIES, out_dir=out, name="tastes", jobs=1)


def test_ranking_metrics_match_hand_computed_values() -> None:
    relevant = sparse.csr_matrix(np.array([[0, 1, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=float))
    lists = np.array([[1, 2, 3], [4, 5, 2]])
    got = user_metrics(lists, relevant, 3)
    ideal = 1 + 1 / np.log2(3)
    assert got["ndcg"][0] == pytest.approx((1 + 1 / np.log2(4)) / ideal)
    assert got["recall"].tolist() == [1.0, 0.0] and got["hit"].tolist() == [1.0, 0.0]
    assert got["precision"][0] == pytest.approx(2 / 3)
    assert got["map"][0] == pytest.approx((1 + 2 / 3) / 2)
    listed = list_metrics(lists, np.array([5.0, 4, 3, 2, 1, 0]), 3)
    assert listed["coverage@3"] == pytest.approx(5 / 6)
    assert top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), 3).tolist() == [[1, 3, 2]]


def test_columns_are_suggested_from_their_names() -> None:
    assert suggest_columns(["userId", "movieId", "rating", "timestamp"]) == {
        "user": "userId", "item": "movieId", "rating": "rating", "time": "timestamp"}
    data = check_interactions(make_interactions(30), make_recommend_config())
    assert data.columns["user"] == "user_id" and data.columns["item"] == "item_id"


def test_checks_fix_and_say_what_they_did() -> None:
    frame = make_interactions(30)
    frame = pd.concat([frame, frame.head(3)], ignore_index=True)  # three repeated pairs
    frame["user_id"] = frame["user_id"].astype(float)  # ids written as 1.0, 2.0 ...
    frame.loc[5, "stars"] = -1
    data = check_interactions(frame, make_recommend_config(user="user_id", item="item_id", rating="stars"))
    codes = {f.code: f.message for f in data.findings}
    assert "3 interactions repeat" in codes["duplicates"]
    assert "read as 1" in codes["float_ids"] and "1" in data.users and "1.0" not in data.users
    assert "1 ratings in 'stars' are below 0" in codes["rating_range"]
    assert len(data.user) == len(frame) - 3 - 1


@pytest.mark.parametrize(("options", "error", "message"), [
    ({"user": "usr_id"}, ConfigError, r"Column 'usr_id' \(--user\) not found\. Did you mean 'user_id'\?"),
    ({"rating": "stars", "positive": 9}, ConfigError, r"--positive 9 is above every rating in 'stars' \(they range 1..5\)"),
    ({"rating": "item_id"}, DataError, r"Column 'item_id' \(--rating\) has .* values that are not numbers"),
    ({"positive": 4}, ConfigError, r"Option --positive needs --rating"),
    ({"k": 0}, ConfigError, r"Option --k must be a positive integer"),
], ids=["misspelt-user", "positive-above-range", "non-numeric-rating", "positive-without-rating", "k-zero"])
def test_user_mistakes_get_clear_errors(options: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        check_interactions(make_interactions(20), make_recommend_config(**{"item": "item_id", **options}))


def test_split_is_per_user_and_by_time_with_a_time_column() -> None:
    frame = make_interactions(40)
    frame = pd.concat([frame, pd.DataFrame([(999, "i1", 5, 1)], columns=frame.columns)], ignore_index=True)
    config = make_recommend_config(user="user_id", item="item_id", time_column="ts", test_size=0.2, valid_size=0.1)
    data = check_interactions(frame, config)
    split = split_interactions(data, config)
    assert split.kind == "time"
    for u in range(data.n_users):
        mine = data.user == u
        if mine.sum() == 1:  # a single interaction stays in training
            assert split.train[mine].all()
            continue
        assert split.test[mine].sum() == int(mine.sum() * 0.2) and split.valid[mine].sum() == 1
        assert data.time[mine & split.test].min() > data.time[mine & ~split.test].max()
    random = split_interactions(data, make_recommend_config(user="user_id", item="item_id", time_column="ts",
                                                            split="random"))
    assert random.kind == "random" and not np.array_equal(random.test, split.test)


def test_cold_start_users_are_counted() -> None:
    frame = make_interactions(30)
    frame.loc[frame["user_id"] == 1, "stars"] = 1  # user 1 likes nothing in training ...
    frame.loc[(frame["user_id"] == 1) & (frame["ts"] == frame.loc[frame["user_id"] == 1, "ts"].max()), "stars"] = 5
    config = make_recommend_config(user="user_id", item="item_id", rating="stars", positive=4, time_column="ts")
    split = split_interactions(check_interactions(frame, config), config)
    assert split.info["cold_start_test_users"] == 1  # ... but liked their latest item, held out for test


@pytest.mark.parametrize("key", recommender_keys())
def test_every_recommender_family_passes_the_conformance_checks(key: str) -> None:
    check_recommender(key)


def test_run_ranks_families_and_beats_popularity(rec_run: RecommendRun) -> None:
    board = rec_run.leaderboard
    assert set(board["family"]) == set(FAMILIES) and (board["status"] == "ok").all()
    assert board["val_ndcg@10"].is_monotonic_decreasing
    popularity = board.set_index("family").loc["popularity", "test_ndcg@10"]
    assert rec_run.test_metrics["ndcg@10"] > 1.4 * popularity
    assert rec_run.split["kind"] == "random" and 90 < rec_run.split["test_users"] <= 150
    for name in ("run.json", "leaderboard.csv", "trials.csv", "recommend.json", "report.html"):
        assert (rec_run.folder / name).is_file(), name
    assert len(pd.read_csv(rec_run.folder / "trials.csv")) == 8
    report = (rec_run.folder / "report.html").read_text(encoding="utf-8")
    assert "Test metrics by user activity" in report and "Held out for test" in report and "built-in" not in report
    assert f"{rec_run.split['users']} users, {rec_run.split['items']} items" in report


def test_bundle_holds_numbers_and_json_only_and_refuses_tampering(rec_run: RecommendRun, tmp_path: Path) -> None:
    files = sorted(p.relative_to(rec_run.bundle_path).as_posix() for p in rec_run.bundle_path.rglob("*") if p.is_file())
    assert all(f.endswith((".npy", ".json")) for f in files), files
    model = Recommender.load(rec_run.bundle_path)
    assert model.recommend("4", 5).equals(rec_run.recommend("4", 5))
    tampered = tmp_path / "model"
    shutil.copytree(rec_run.bundle_path, tampered)
    np.save(tampered / "popularity.npy", np.zeros(N_ITEMS, np.float32), allow_pickle=False)
    with pytest.raises(BundleError, match=r"popularity\.npy' was modified after saving"):
        Recommender.load(tampered)


def test_recommendations_follow_tastes_and_leave_out_seen_items(rec_run: RecommendRun) -> None:
    model = rec_run.recommender
    group_of = {f"i{i}": i // 15 for i in range(N_ITEMS)}
    top = model.recommend("4", k=5)  # user 4 is in taste group 0
    assert list(top["rank"]) == [1, 2, 3, 4, 5]
    assert not set(top["item"]) & set(model.history("4"))
    assert sum(group_of[i] == 0 for i in top["item"]) >= 4
    with_seen = model.recommend("4", k=N_ITEMS, exclude_seen=False)
    assert set(model.history("4")) <= set(with_seen["item"])
    cold = model.recommend("nobody", k=3)
    assert list(cold["item"]) == [model.state.items[i] for i in np.argsort(-model.state.popularity, kind="stable")[:3]]
    similar = model.similar_items("i3", k=5)
    assert "i3" not in set(similar["item"]) and sum(group_of[i] == 0 for i in similar["item"]) >= 4


def test_cli_trains_and_recommends(tmp_path: Path) -> None:
    data = tmp_path / "ratings.csv"
    make_interactions(60).to_csv(data, index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(data), "--task", "recommend", "--rating", "stars", "--time-column", "ts",
                                 "--models", "popularity,ease", "--max-trials", "3", "--out", str(tmp_path),
                                 "--name", "cli", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["best_model"] in ("EASE", "Popularity")
    bundle = tmp_path / "cli" / "model"
    one = runner.invoke(app, ["recommend", str(bundle), "--user", "2", "-k", "3"])
    assert one.exit_code == 0 and one.stdout.splitlines()[0] == "rank,item,score" and len(one.stdout.splitlines()) == 4
    pd.DataFrame({"user_id": [1, 2, 99999]}).to_csv(tmp_path / "users.csv", index=False)
    many = runner.invoke(app, ["recommend", str(bundle), str(tmp_path / "users.csv"), "-k", "2", "-o",
                               str(tmp_path / "top.csv")])
    assert many.exit_code == 0, many.output
    top = pd.read_csv(tmp_path / "top.csv")
    assert list(top.columns) == ["user", "rank", "item", "score"] and len(top) == 6
    missing = runner.invoke(app, ["recommend", str(bundle), "-k", "2"])
    assert isinstance(missing.exception, ConfigError) and "Give one user with --user ID" in str(missing.exception)


def test_server_answers_recommend_and_shows_the_page(rec_run: RecommendRun) -> None:
    from fastapi.testclient import TestClient

    from trainlab.serve.app import ServeSettings, create_app

    client = TestClient(create_app(ServeSettings(bundle=rec_run.bundle_path)))
    answer = client.get("/recommend", params={"user": "4", "k": 3}).json()
    assert answer["known"] and [r["item"] for r in answer["items"]] == list(rec_run.recommend("4", 3)["item"])
    assert client.get("/recommend", params={"user": "4", "k": 0}).status_code == 422
    assert client.get("/similar", params={"item": "nope"}).status_code == 404
    page = client.get("/recommendations", params={"user": "4", "k": 3})
    assert page.status_code == 200 and 'id="recommendations"' in page.text and answer["items"][0]["item"] in page.text


def test_cli_mistake_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    data = tmp_path / "ratings.csv"
    make_interactions(20).to_csv(data, index=False)
    done = subprocess.run([str(Path(sys.executable).parent / "trainlab"), "train", str(data), "--task", "recommend",
                           "--user", "usr", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Column 'usr' (--user) not found. Did you mean 'user_id'?" in " ".join(done.stderr.split())


def test_new_interactions_fold_in_and_table_commands_point_to_recommend(rec_run: RecommendRun) -> None:
    import trainlab

    model = rec_run.recommender
    before = model.recommend("4", k=5)
    after = model.recommend("4", k=5, new_items=[before["item"][0]])
    assert before["item"][0] not in set(after["item"]) and not after["score"].equals(before["score"])
    with pytest.raises(BundleError, match=r"holds a recommender.*trainlab recommend"):
        trainlab.load(rec_run.bundle_path)
