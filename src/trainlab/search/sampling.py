"""Long tables: trials on a stratified sample whose size grows with the time left, and final refits that fit it.

On a long table (``shape.LARGE_ROWS`` training rows or more) every trial fits its folds on a stratified sample of
the fold's rows (all validation rows are still scored). The first trial of each family uses ``SAMPLE_MIN`` rows;
each later one is sized from a cost model and the time left: the family's last trial took ``t`` seconds on ``n``
rows, a fit's cost grows like ``rows ** COST_EXPONENT``, and the new sample is as large as lets the trial take
``1 / TRIALS_AHEAD`` of the seconds left (never fewer than ``SAMPLE_MIN`` rows, never more than the fold has).
A long budget therefore tunes on most of the rows, a short one on a small sample.

The final model refits on every training row. A booster tuned on a sample stopped early after fewer rounds than
all rows need (rounds grow like ``rows ** ROUNDS_EXPONENT``); its refit gets the grown round count, and when
those rounds on all rows would not fit the time left (measured per round on the sample, scaled by the rows), it
gets as many rounds as fit, with a learning rate raised in proportion (``rounds x learning rate`` held constant,
at most ``MAX_LEARNING_RATE``). Such a refit is worth making down to ``shortest_refit_seconds``: the rounds that,
at ``MAX_LEARNING_RATE``, keep the ``rounds x learning rate`` the sample's own folds stopped at; a model of as
much shrinkage fitted on all the rows is no worse than the sample's. The search's refit reserve and the final
choice both ask these two functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainlab.models.registry import ModelSpec
    from trainlab.search.trial import TrialResult

SAMPLE_MIN = 20_000
"""Rows of the first trial of each family on a long table (a LightGBM default on nyc_flights: about 2 s)."""
TRIALS_AHEAD = 5
"""A grown sample is sized so that the trial takes a fifth of the seconds left."""
COST_EXPONENT = 1.8
"""A booster's fit time grows like rows ** 1.8: more rows, and early stopping then needs more rounds."""
ROUNDS_EXPONENT = 0.9
"""Early-stopped rounds grow like rows ** 0.9 (LightGBM's default on nyc_flights, measured on a shared 2-core
machine: 174 rounds on 20,000 rows, 487 on 60,000, 1,614 on 217,000)."""
ROUND_COST_EXPONENT = 0.5
"""A round's time grows like rows ** 0.5 from a sample to all rows: on small samples a round's fixed costs (and the
validation rows scored every round) weigh most (LightGBM on nyc_flights: 9 ms a round on 20,000 rows with 47,000
validation rows, 20 ms on 262,000 rows without)."""
FAMILY_ROUND_COST_EXPONENT = {"catboost": 0.8}
"""Families whose round time grows faster than ``ROUND_COST_EXPONENT``: CatBoost's target statistics of the
categories cost per row (on nyc_flights grown to 1M rows: 15 ms a round in a trial on 20,000 rows, 278 ms in the
refit on 800,000). Whatever the estimate, a refit stops adding trees at its deadline."""
MAX_LEARNING_RATE = 0.3
MIN_ROUNDS = 50
LONG_TUNE_SHARE = 0.5
"""On a long table under a time limit the cheap families (boosters first) are tuned for half of the time left after
their defaults, before the costly families (forests, CatBoost, SVM, the network) run their defaults: at 60 s on
nyc_flights those took 27 s of the budget on a 20,000-row sample and none was the best. Tables of text alone do the
same (``Scheduler._cheap_first``)."""
REFIT_SHARE = 0.4
"""On a long table the search keeps back at most this share of the time limit for the final refit."""


def grown_size(previous: TrialResult | None, fold_rows: int, seconds_left: float) -> int:
    """Rows for the next trial of a family, from its last trial (``previous``) and the seconds left."""
    if previous is None or not previous.ok or not previous.sampled:
        return min(SAMPLE_MIN, fold_rows)
    rows = int(previous.candidate.params["sample_rows"])
    target = seconds_left / TRIALS_AHEAD - previous.predict_time_s
    if previous.fit_time_s <= 0 or target <= previous.fit_time_s:
        return max(min(SAMPLE_MIN, fold_rows), min(fold_rows, rows if target > 0 else SAMPLE_MIN))
    grown = int(rows * (target / previous.fit_time_s) ** (1 / COST_EXPONENT))
    return max(min(SAMPLE_MIN, fold_rows), min(fold_rows, grown))


def rounds_for(best_rounds: float, fit_rows: int, refit_rows: int, sampled: bool) -> float:
    """Rounds a refit on ``refit_rows`` needs, from a fold that stopped at ``best_rounds`` on ``fit_rows``: in
    proportion to the rows for a fold fitted on all its rows (as before sampling existed), like rows ** 0.9 from a
    sample (``ROUNDS_EXPONENT``)."""
    ratio = refit_rows / max(1, fit_rows)
    return best_rounds * (ratio ** ROUNDS_EXPONENT if sampled else ratio)


def refit_seconds(trial: TrialResult, spec: ModelSpec, params: dict[str, Any], n_rows: int) -> float | None:
    """Seconds a refit of a sampled booster trial with ``params`` on ``n_rows`` takes (None: not such a trial)."""
    if not trial.sampled or spec.early_stop is None or not trial.rounds \
            or not trial.fit_rows or spec.rounds_param is None:
        return None
    growth = FAMILY_ROUND_COST_EXPONENT.get(spec.key, ROUND_COST_EXPONENT)
    per_round = trial.fit_time_s / trial.rounds * (n_rows / trial.fit_rows) ** growth
    return float(per_round * params.get(spec.rounds_param, trial.rounds))


def shortest_refit_seconds(trial: TrialResult, spec: ModelSpec, params: dict[str, Any], n_rows: int) -> float | None:
    """Seconds of the shortest refit of a sampled booster trial on ``n_rows`` worth making: as many rounds at
    ``MAX_LEARNING_RATE`` as keep the ``rounds x learning rate`` its folds stopped at on the sample (the sample's
    rounds when the family has no learning rate), at least ``MIN_ROUNDS`` (None: not such a trial)."""
    needed = refit_seconds(trial, spec, params, n_rows)
    if needed is None or spec.rounds_param is None or trial.rounds is None:
        return None
    wanted = float(params.get(spec.rounds_param, trial.rounds))
    rate = params.get("learning_rate")
    least = trial.rounds * float(rate) / MAX_LEARNING_RATE if rate else trial.rounds
    return needed * min(wanted, max(MIN_ROUNDS, least)) / max(1.0, wanted)


def within_time(trial: TrialResult, spec: ModelSpec, params: dict[str, Any], n_rows: int,
                seconds: float) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``params`` for refitting a sampled booster trial on ``n_rows`` within ``seconds``, and what was changed
    (None when the trial was not a sampled booster's)."""
    needed = refit_seconds(trial, spec, params, n_rows)
    if needed is None or spec.rounds_param is None:
        return params, None
    rounds = int(params[spec.rounds_param])
    note: dict[str, Any] = {"sampled_rows": int(trial.candidate.params["sample_rows"]), "rounds": rounds}
    if needed <= seconds:
        return params, note
    fitting = max(MIN_ROUNDS, int(rounds * seconds / needed))
    if fitting >= rounds:
        return params, note
    changed = {**params, spec.rounds_param: fitting}
    note.update({"rounds": fitting, "rounds_wanted": rounds})
    if "learning_rate" in params:
        rate = min(MAX_LEARNING_RATE, float(params["learning_rate"]) * rounds / fitting)
        changed["learning_rate"] = rate
        note.update({"learning_rate": round(rate, 4), "learning_rate_tuned": params["learning_rate"]})
    return changed, note
