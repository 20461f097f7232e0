"""The search budget: wall-clock seconds (measured from the start of the run) and/or a number of trials."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

REFIT_SLACK = 0.05
"""Share of the time limit the final refits may run past it (a run may end up to 10 % late)."""
FIRST_KEEP = 0.2
"""Share of ``reserve_s`` still kept back while no trial has succeeded: the first model may run into the time
set aside for the analysis and report (which then shrink to what is left), so that a short limit on a slow table
still gives a model whenever one fits at all."""
SEEDS = 16
"""The most fits, each with its own seed, the final refit averages for a family whose fit depends on the seed
(``ModelSpec.seeded``: row and column sampling, random initial weights), as many as the time left holds. Refit on
the harness's training rows of 8 dev tables with portfolio configurations of LightGBM, XGBoost and CatBoost
(``bench/seed_average.py --seeds 16``), the average of 4 seeds' fits scored better on the test rows than the mean
single fit in 24 of 24 cases, and the average of 16 better than that of 4 in 24 of 24 (ames_housing, LightGBM: RMSE
24,122 single, 23,606 with 4, 23,479 with 16)."""
SEEDS_KEPT = 4
"""The most seeds the search keeps back time for (within ``SEED_SHARE`` of the limit); more are fitted only with
time the search leaves unspent."""
SEED_SHARE = 0.2
"""The search keeps back time for more than one seed's refit while all of them take at most this share of the
limit (``seed_count``); the final refit averages as many seeds as the time then left holds."""


def seed_count(one_s: float, room_s: float, most: int = SEEDS) -> int:
    """How many seeds' refits of ``one_s`` seconds each fit in ``room_s`` seconds: 1 to ``most``."""
    if one_s <= 0:
        return most
    return max(1, min(most, int(room_s // one_s)))


@dataclass
class Budget:
    """Tracks what is spent. ``reserve_s`` is kept back for evaluating and saving; ``refit_s`` for refitting the best."""

    time_limit: float | None
    max_trials: int | None = None
    started: float = field(default_factory=time.monotonic)
    trials_done: int = 0
    reserve_s: float = 0.0
    refit_s: float = 0.0
    refits: float = 1.0
    """The final refits, counted in refits on the training rows: 1, or with --refit-full one more on every row (1 +
    all rows / training rows). ``refit_s`` keeps back time for all of them (``Scheduler._refit_estimate``)."""

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self, first: bool = False) -> float:
        """Seconds left for trials (infinite without a time limit); ``first``: for the first model (FIRST_KEEP)."""
        if self.time_limit is None:
            return float("inf")
        if first:
            return self.time_limit - self.elapsed() - FIRST_KEEP * self.reserve_s
        return self.time_limit - self.elapsed() - self.reserve_s - self.refit_s

    def refit_time_left(self, slack: bool = True) -> float:
        """Seconds the final refit may take: what is left of the limit once saving's reserve is set aside (its own
        reserve plus whatever trials left unspent; less when the last trials overran), plus (``slack``) half of the
        10 % the limit may be exceeded by, so that trials that overran a little do not leave only the quickest
        model. Without ``slack``: what a sampled booster's rounds are planned to fit in."""
        if self.time_limit is None:
            return float("inf")
        extra = REFIT_SLACK * self.time_limit if slack else 0.0
        return max(0.0, self.time_limit - self.elapsed() - self.reserve_s) + extra

    def optional_time_left(self) -> float:
        """Seconds optional work (the second refit of --refit-full) may take: what is left until the limit plus the
        refits' slack once saving's reserve is set aside, so that the slack the first refit left unused is not lost
        (a table of 142 rows whose search ran to the limit skipped a 0.04 s second refit) and the run still ends as
        late as the first refit's slack allows at most."""
        if self.time_limit is None:
            return float("inf")
        return max(0.0, (1 + REFIT_SLACK) * self.time_limit - self.elapsed() - self.reserve_s)

    def to_limit(self) -> float:
        """Seconds until the time limit (infinite without one; negative past it)."""
        return float("inf") if self.time_limit is None else self.time_limit - self.elapsed()

    def stop_now(self) -> None:
        """Ctrl-C: the search ends here, and the run finishes as if its time limit were now, its refit and saving
        (and analysis) given the time kept back for them, not what was left of a long limit."""
        if self.time_limit is not None:
            self.time_limit = min(self.time_limit, self.elapsed() + self.refit_s + self.reserve_s)

    def deadline(self, first: bool = False) -> float:
        """The monotonic clock time by which trials must stop."""
        return time.monotonic() + self.remaining(first)

    def why_stopped(self) -> str:
        if self.max_trials is not None and self.trials_done >= self.max_trials:
            return f"trial budget reached (--max-trials {self.max_trials})"
        return "time limit reached before it could start"

    def exhausted(self, first: bool = False) -> bool:
        if self.max_trials is not None and self.trials_done >= self.max_trials:
            return True
        return self.remaining(first) <= 0
