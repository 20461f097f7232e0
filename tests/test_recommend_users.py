"""User side features for recommenders (``--user-features users.csv``): a user unknown at training who is listed
there gets the items of the users most like them by features. Generated interactions where a user feature decides
the taste (test_recommend.make_interactions: user id u is in group (u - 1) % 3); nothing downloaded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from test_recommend import make_interactions
from trainlab.cli import app
from trainlab.recommender import Recommender

COLD = range(1001, 1031)  # users unknown at training, listed in the user features


def users_table() -> pd.DataFrame:
    ids = [*range(1, 91), *COLD]
    return pd.DataFrame({"user_id": ids, "segment": [f"s{(u - 1) % 3}" for u in ids],
                         "age": [20 + (u * 7) % 50 for u in ids],  # says nothing about taste
                         "nickname": [f"nick {u}" for u in ids]})  # free text: left out


def in_group(model: Recommender, user: int, k: int = 10) -> float:
    """Share of the user's top k that fall in their group's third of the catalogue (items g*15 .. g*15+14)."""
    group = (user - 1) % 3
    items = model.recommend(str(user), k)["item"]
    return float(items.map(lambda i: group * 15 <= int(i[1:]) < group * 15 + 15).mean())


def test_cold_users_get_their_lookalikes_items_not_the_most_popular(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from trainlab.serve.app import ServeSettings, create_app

    make_interactions(90).to_csv(tmp_path / "r.csv", index=False)
    users_table().to_csv(tmp_path / "users.csv", index=False)
    runner = CliRunner()
    done = runner.invoke(app, ["train", str(tmp_path / "r.csv"), "--task", "recommend", "--rating", "stars",
                               "--positive", "4", "--models", "popularity,ease", "--max-trials", "2",
                               "--user-features", str(tmp_path / "users.csv"), "--out", str(tmp_path), "--name", "u"])
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "User features: segment, age of 120 users (30 without interactions)" in said
    assert "User feature 'nickname'" in said and "free text, left out" in said
    model = Recommender.load(tmp_path / "u" / "model")  # the features travel in the bundle as .npy and JSON
    assert model.state.user_feature_ids is not None and len(model.state.user_feature_ids) == 120
    by_features = sum(in_group(model, u) for u in COLD) / len(COLD)
    assert by_features >= 0.9
    plain = Recommender(model.state.__class__(**{**model.state.__dict__, "user_features": None,
                                                  "user_feature_ids": None}))
    by_popularity = sum(in_group(plain, u) for u in COLD) / len(COLD)
    assert by_popularity < 0.6 and by_features > by_popularity + 0.3
    assert model.listed_by_features("1001") and not model.listed_by_features("5000") \
        and not model.listed_by_features("4")
    # a user in neither table still gets the most popular items
    assert model.recommend("5000", 10)["item"].tolist() == plain.recommend("5000", 10)["item"].tolist()

    shown = runner.invoke(app, ["recommend", str(tmp_path / "u" / "model"), "--user", "1002", "-k", "5"])
    assert shown.exit_code == 0, shown.output
    assert "users most like them by their side features" in " ".join(shown.output.split())
    client = TestClient(create_app(ServeSettings(bundle=tmp_path / "u" / "model")))
    answer = client.get("/recommend", params={"user": "1002", "k": 5}).json()
    assert answer["cold_start"] == "user_features"
    assert all(30 <= int(r["item"][1:]) < 45 for r in answer["items"])  # user 1002 is in group 2
    assert client.get("/recommend", params={"user": "5000"}).json()["cold_start"] == "popularity"
