"""The learned portfolio: configurations across families in the order that most lowered the mean normalized
out-of-fold error over the dev datasets (``bench/portfolio/build.py`` builds ``portfolio.json`` from recorded
trials). Under a time limit the search runs it in order on plain tables, then tunes with the time left; a trial
budget (``--max-trials``) keeps each family's default first, the repeatable comparison of families it promises.

Tables with text, pictures or sound, and wide tables, keep each family's default instead: the portfolio was learned
on plain tables, and their families carry settings of their own (text n-grams, encoders, feature screens).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from trainlab.models.registry import ModelSpec
from trainlab.search.shape import is_wide
from trainlab.search.trial import Candidate, TrainingData

OTHER_ROLES = ("text", "image", "audio")
SIZE_FACTOR = 2


@functools.cache
def entries() -> tuple[dict[str, Any], ...]:
    """The portfolio's configurations, best first: ``id`` ('<family>:<n>', n = 0 the default), family, params."""
    text = resources.files("trainlab.search").joinpath("portfolio.json").read_text()
    return tuple(json.loads(text)["configs"])


@functools.cache
def learned_rows() -> int:
    """The most training rows of the tables the portfolio's trials were recorded on (they were subsampled)."""
    text = resources.files("trainlab.search").joinpath("portfolio.json").read_text()
    return int(json.loads(text)["built_from"]["rows"])


def applies(data: TrainingData) -> bool:
    """Whether the portfolio was learned on tables like this one: plain columns, not wide, and at most
    ``SIZE_FACTOR`` times the rows its trials were recorded on. Its order ignores cost: on a 12,000-row table
    (hotel_rates, 30 s) its costly first configurations left time for 5 trials, RMSE 15.4 against 12.3 with each
    family's default first."""
    if any(data.schema.by_role(role) for role in OTHER_ROLES):
        return False
    if len(data.y) > SIZE_FACTOR * learned_rows():
        return False
    return not is_wide(len(data.y), len(data.schema.features))


def portfolio_candidates(families: list[ModelSpec]) -> list[Candidate]:
    """The portfolio's configurations of these families, in order, each on top of its family's defaults as they run
    here (so what the table's shape set, such as a row sample, stays). The defaults of families the portfolio does
    not hold run too, so that every family appears on the leaderboard: the cheapest (cost 0, a fraction of a second)
    before the portfolio, the others after it."""
    specs = {s.key: s for s in families}
    out = []
    for entry in entries():
        spec = specs.get(entry["family"])
        if spec is None:
            continue
        number = entry["id"].rsplit(":", 1)[1]
        params = {**spec.defaults, **{k: v for k, v in entry["params"].items() if k in spec.space}}
        default = number == "0"
        out.append(Candidate(name=spec.key if default else f"{spec.key}_p{number}", family=spec.key, params=params,
                             source="default" if default else "portfolio"))
    held = {c.family for c in out}
    missing = [s for s in families if s.key not in held]
    cheap = [Candidate(name=s.key, family=s.key, params=dict(s.defaults)) for s in missing if s.cost == 0]
    rest = [Candidate(name=s.key, family=s.key, params=dict(s.defaults)) for s in missing if s.cost > 0]
    return cheap + out + rest
