"""The server's recommender: ``GET /recommend?user=..&k=..``, ``GET /similar?item=..`` and a web page to pick a
user and see their list beside their history (``/recommendations``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

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


def _answer(model: Recommender, user: str, k: int, exclude_seen: bool) -> dict[str, Any]:
    ranked = model.ranked([user], k, exclude_seen)[0]
    return {"user": user, "known": model.knows(user), "model": model.family,
            "items": [{"rank": rank + 1, "item": item, "score": score} for rank, (item, score) in enumerate(ranked)]}


def build_router(model: Recommender) -> APIRouter:
    router = APIRouter()

    @router.get("/recommend", tags=["recommend"])
    def recommend(user: Annotated[str, Query(description="The user's id, as in the training data.")], k: K = 10,
                  exclude_seen: bool = True) -> dict[str, Any]:
        """The user's top k items (rank, item, score); a user unseen in training gets the most popular items."""
        return _answer(model, user, k, exclude_seen)

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
    def page(request: Request, user: str | None = None, k: int = 10) -> HTMLResponse:
        k = min(max(k, 1), MAX_K)
        answer = _answer(model, user, k, True) if user else None
        return TEMPLATES.TemplateResponse(request, "recommend.html", {
            "users": model.state.users[:PICK_USERS], "n_users": len(model.state.users), "user": user, "k": k,
            "answer": answer, "history": model.history(user)[:30] if user else [], "family": model.family,
            "served": None})

    return router
