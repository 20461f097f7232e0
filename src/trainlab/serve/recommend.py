"""The server's recommender: ``GET /recommend?user=..&k=..``, ``GET /similar?item=..`` and a web page to pick a
user and see their list beside their history (``/recommendations``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from trainlab.bundle.recommender import is_recommender
from trainlab.errors import TrainlabError
from trainlab.recommender import Recommender
from trainlab.serve.model import RequestProblem

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "ui" / "templates"))
PICK_USERS = 200
MAX_K = 1000
K = Annotated[int, Query(ge=1, le=MAX_K, description="Length of the list.")]


def load_if_recommender(bundle: Path | None) -> Recommender | None:
    """The recommender in ``bundle``, or None when there is no bundle or it holds a table model."""
    return Recommender.load(bundle) if bundle is not None and is_recommender(bundle) else None


class RecentItems(BaseModel):
    """A user and the items they interacted with since training, folded in for this request only."""

    user: str = Field(description="The user's id, as in the training data (a new user is welcome).")
    items: list[str] = Field(default_factory=list, max_length=10_000,
                             description="Items the user interacted with since training (positives).")
    k: int = Field(10, ge=1, le=MAX_K, description="Length of the list.")
    exclude_seen: bool = True


def _answer(model: Recommender, user: str, k: int, exclude_seen: bool,
            recent: list[str] | None = None) -> dict[str, Any]:
    ranked = model.ranked([user], k, exclude_seen, {user: recent} if recent else None)[0]
    answer: dict[str, Any] = {"user": user, "known": model.knows(user), "model": model.family,
                              "items": [{"rank": rank + 1, "item": item, "score": score}
                                        for rank, (item, score) in enumerate(ranked)]}
    if not answer["known"] and not recent:
        answer["cold_start"] = "user_features" if model.listed_by_features(user) else "popularity"
    if recent:
        unknown = sorted({i for i in recent if i not in model.item_index})
        answer["folded_in"] = len(set(recent))
        answer["unknown_items"] = unknown
        answer["note"] = (f"{len(set(recent))} recent items folded in for this request: "
                          + (f"the {model.name} model re-scores the user from them" if model.state.model.folds_in
                             else f"the {model.name} model cannot fold in, so they are only left out of the list")
                          + (f"; {len(unknown)} of them were not known at training (e.g. {unknown[0]!r}): they count "
                             "toward new items' popularity and are never listed back to this user" if unknown else "")
                          + ".")
    return answer


def build_router(model: Recommender) -> APIRouter:
    router = APIRouter()

    @router.get("/recommend", tags=["recommend"])
    def recommend(user: Annotated[str, Query(description="The user's id, as in the training data.")], k: K = 10,
                  exclude_seen: bool = True) -> dict[str, Any]:
        """The user's top k items (rank, item, score); a user unseen in training gets the most popular items, or
        the items of the users most like them when the model was trained with ``--user-features`` listing them
        (``cold_start`` says which)."""
        return _answer(model, user, k, exclude_seen)

    @router.post("/recommend", tags=["recommend"])
    def recommend_recent(body: RecentItems) -> dict[str, Any]:
        """The user's top k with their recent items folded in (without retraining) where the family allows it
        (EASE, item kNN, ALS; the others leave them out of the list); items unknown at training are accepted and
        said in ``unknown_items``."""
        return _answer(model, body.user, body.k, body.exclude_seen, [str(i) for i in body.items])

    @router.get("/similar", tags=["recommend"])
    def similar(item: Annotated[str, Query(description="An item id, as in the training data.")],
                k: K = 10) -> dict[str, Any]:
        """The k items most similar to ``item``."""
        try:
            table = model.similar_items(item, k)
        except TrainlabError as exc:
            raise RequestProblem(404 if "not seen" in str(exc) else 400, "item", str(exc)) from exc
        return {"item": item, "items": table.to_dict(orient="records")}

    @router.get("/recommendations", response_class=HTMLResponse, include_in_schema=False)
    def page(request: Request, user: str | None = None, k: int = 10, recent: str = "") -> HTMLResponse:
        k = min(max(k, 1), MAX_K)
        items = [i.strip() for i in recent.replace(";", ",").split(",") if i.strip()][:1000]
        answer = _answer(model, user, k, True, items) if user else None
        return TEMPLATES.TemplateResponse(request, "recommend.html", {
            "users": model.state.users[:PICK_USERS], "n_users": len(model.state.users), "user": user, "k": k,
            "recent": ", ".join(items), "model_name": model.name,
            "answer": answer, "history": model.history(user)[:30] if user else [], "family": model.family,
            "served": None})

    return router
