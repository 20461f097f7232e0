"""The search adapted to the table's shape: tables with far more columns than rows (wide), and long ones.

On a wide table (more feature columns than training rows, and at least ``WIDE_MIN_COLUMNS`` of them) every
family's preprocessing ends in a feature screen that keeps the columns most associated with the target (fitted
inside each fold, and searchable), the families that declare ``wide_defaults`` (strongly regularized linear
models) run first with them, and the rest follow in their usual order.

On a long table (at least ``LARGE_ROWS`` training rows) the boosting families (those that stop early) run
first, cheapest first: a booster's default is the quickest good model on many rows, while linear models on
one-hot columns, trees grown to full depth and naive Bayes are cheap per row but rarely the best, and would
otherwise spend the first part of a short budget.

On pictures and sound (``for_media``) the network's CNN is the model worth the budget: its default trial runs
first and may take ``MEDIA_NETWORK_SHARE`` of the time left (its epochs are planned to end before that), then
every other family (the baselines on extracted features) on a stratified sample of at most
``MEDIA_SAMPLE_ROWS`` rows, with what remains.
"""

from __future__ import annotations

from dataclasses import replace

from trainlab.data.checks import Finding
from trainlab.models.registry import ModelSpec, Param
from trainlab.search.sampling import SAMPLE_MIN
from trainlab.search.trial import TrainingData

WIDE_MIN_COLUMNS = 300
SCREEN_MIN = 20
"""The screen keeps at least this many columns, else as many as there are training rows (at most 1,000)."""
SCREEN_MAX = 1000
LARGE_ROWS = 50_000
SAMPLE_ROWS = SAMPLE_MIN
"""On a long table the first trial of each family fits its folds on a stratified sample of this many rows; later
trials on a sample grown with the time left (search/sampling.py); the final model refits on all of them."""
MEDIA_SAMPLE_ROWS = 5_000
MEDIA_NETWORK_SHARE = 0.9
"""The CNN's share of the time left: at 85 % the baselines on their sample used 39 s of the 80 s left to them
(Fashion-MNIST, 60,000 pictures, 600 s), while the CNN was still improving when its share ran out."""
MEDIA_LR = 2e-3
"""The CNN's peak learning rate (the tabular MLP's default is 1e-3): its loss still fell steeply at 1e-3."""
MEDIA_FAMILY = "neural_net"


def shape_families(families: list[ModelSpec], data: TrainingData) -> tuple[list[ModelSpec], list[Finding]]:
    """The families as they run on this table's shape, and findings for the run that say what changed and why."""
    n_rows = len(data.features)
    n_features = len(data.schema.features)  # the table's columns: a picture column is one, not its pixels
    families, wide = for_wide(families, n_rows, n_features)
    if any(c.role in ("image", "audio") for c in data.schema.features):
        families, media = for_media(families, n_rows)
        notes = [("wide_table", wide), ("media_budget", media)]
    else:
        families, large = for_large(families, n_rows)
        notes = [("wide_table", wide), ("large_table", large)]
    return families, [Finding("info", code, note) for code, note in notes if note]


def for_large(families: list[ModelSpec], n_rows: int) -> tuple[list[ModelSpec], str | None]:
    """Boosters first on a long table (see the module's docstring), and the sentence that says so."""
    if n_rows < LARGE_ROWS:
        return families, None
    boosters = sorted((s for s in families if s.early_stop is not None and s.rounds_param), key=lambda s: s.cost)
    if not boosters:
        return families, None
    ordered = [replace(s, defaults={**s.defaults, "sample_rows": SAMPLE_ROWS})
               for s in boosters + [s for s in families if s not in boosters]]
    return ordered, (f"Large table ({n_rows} training rows): the boosting families ({', '.join(s.key for s in boosters)}) "
                     f"run first, the others after them. Trials fit on a stratified sample of the rows (all "
                     f"validation rows are scored) so that more of them fit in the budget: {SAMPLE_ROWS} rows for "
                     "each family's first, then as many as let a trial take a fifth of the time left (a fit's "
                     "cost measured on the family's last sample, grown like rows ** 1.8). The final model refits "
                     "on all training rows, a booster with the rounds all rows need or, when those would not fit the "
                     "time left, fewer at a proportionally higher learning rate.")


def for_media(families: list[ModelSpec], n_rows: int) -> tuple[list[ModelSpec], str | None]:
    """The network first with most of the budget, the baselines after it on a sample (the module's docstring)."""
    network = [replace(s, cost=min(s.cost, 1), defaults={**s.defaults, "budget_share": MEDIA_NETWORK_SHARE,
                                                          "lr": MEDIA_LR})
               for s in families if s.key == MEDIA_FAMILY]  # cost 1: among the first defaults the search runs
    baselines = [s for s in families if s.key != MEDIA_FAMILY]
    if n_rows > MEDIA_SAMPLE_ROWS:
        baselines = [replace(s, defaults={**s.defaults, "sample_rows": MEDIA_SAMPLE_ROWS}) for s in baselines]
    if not network:
        return baselines, None
    sampled = (f"on a stratified sample of {MEDIA_SAMPLE_ROWS} of the {n_rows} training rows (all validation rows "
               "are scored; a final refit uses all of them)" if n_rows > MEDIA_SAMPLE_ROWS else "on every row")
    names = ", ".join(s.key for s in baselines) or "none"
    return network + baselines, (f"Pictures or sound: the {MEDIA_FAMILY} CNN runs first, on every row, and may take "
                                 f"{MEDIA_NETWORK_SHARE:.0%} of the time left; the baselines on extracted features "
                                 f"({names}) follow {sampled}.")


def is_wide(n_rows: int, n_features: int) -> bool:
    """Whether a table of ``n_rows`` training rows and ``n_features`` feature columns counts as wide."""
    return n_features >= WIDE_MIN_COLUMNS and n_features > n_rows


def screen_size(n_rows: int, n_features: int) -> int:
    """Columns the default screen keeps: about one per training row, within [SCREEN_MIN, SCREEN_MAX]."""
    return min(n_features, max(SCREEN_MIN, min(n_rows, SCREEN_MAX)))


def for_wide(families: list[ModelSpec], n_rows: int, n_features: int) -> tuple[list[ModelSpec], str | None]:
    """The families as they run on this table, and a sentence for the run saying what changed (None: nothing)."""
    if not is_wide(n_rows, n_features):
        return families, None
    keep = screen_size(n_rows, n_features)
    space = Param("int", min(SCREEN_MIN, n_features), min(n_features, 10 * keep), log=True)
    shaped = [replace(s, defaults={**s.defaults, **s.wide_defaults, "screen": keep},
                      space={**s.space, "screen": space}) for s in families]
    shaped.sort(key=lambda s: not s.wide_defaults)  # stable: the regularized families first, the rest as before
    first = ", ".join(s.key for s in shaped if s.wide_defaults) or "none"
    note = (f"Wide table ({n_features} feature columns, {n_rows} training rows): every model sees the {keep} "
            f"columns a univariate F-test ranks highest on its training rows (the number is tuned); strongly "
            f"regularized families ({first}) run first.")
    return shaped, note
