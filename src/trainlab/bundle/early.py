"""The first model a search finishes, saved as a usable bundle while the search goes on."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from trainlab.bundle.io import save_bundle
from trainlab.models.fitted import fit_model
from trainlab.models.persist import preload
from trainlab.models.registry import get_spec
from trainlab.search.budget import Budget
from trainlab.search.trial import TrainingData, TrialResult


class EarlyModel:
    """Saves the first model that finishes as a usable bundle, so a run stopped at any moment leaves one: the
    trial's first fold model, or a refit on all training rows for a family that keeps no fold models (forests).

    The write (and refit) happen on a background thread while the search goes on; ``wait`` joins it
    before the final bundle replaces this one.
    """

    def __init__(self, training: TrainingData, path: Path, details: dict[str, Any], budget: Budget) -> None:
        self.training, self.path, self.details, self.budget = training, path, details, budget
        self.saved_at: float | None = None
        self.thread: threading.Thread | None = None
        preload()  # the saving library, imported while the first trials run

    def on_event(self, kind: str, info: dict[str, Any]) -> None:
        """The search's listener: the first trial that ends well starts the save."""
        trial = info.get("trial")
        if self.thread is not None or kind != "trial_end" or trial is None or not trial.ok:
            return
        # the trial's own first fold model is saved as it is, when it kept one: a refit on every row would run beside
        # the search and slow it. For pictures and sound (one holdout) it would train the CNN a second time, past the
        # time limit (a 240 s run took 379 s); on a long table's sample (search/sampling.py) it would take as long as
        # the trial and more; on 10,000 review snippets it took 7 s of a 30 s run (counting the n-grams again)
        kept = trial.fold_models[0] if trial.fold_models else None
        self.thread = threading.Thread(target=self._save, args=(trial, kept), name="trainlab-early-model", daemon=True)
        self.thread.start()

    def _save(self, trial: TrialResult, kept: Any = None) -> None:
        t = self.training
        model = kept if kept is not None else fit_model(get_spec(trial.candidate.family), trial.final_params, t.schema,
                                                         t.features, t.y, t.weights, t.seed, t.n_jobs)
        save_bundle(model, t.schema, self.path, **self.details, extras={"model_name": trial.candidate.name,
                                                                       "early": True})
        self.saved_at = self.budget.elapsed()

    def wait(self) -> None:
        """Until the save has ended (at once when none started)."""
        if self.thread is not None:
            self.thread.join()

    def seconds_after(self, start: float) -> float | None:
        """When the early model was saved, in seconds after ``start`` of the run's clock; None when it was not."""
        return None if self.saved_at is None else round(self.saved_at - start, 3)
