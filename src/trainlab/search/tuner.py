"""Hyperparameter search for one family with Optuna's TPE sampler, asked and told in trial-number order."""

from __future__ import annotations

import warnings

import numpy as np
import optuna

from trainlab.models.registry import ModelSpec
from trainlab.search.space import distributions, searchable_values, suggest
from trainlab.search.trial import Candidate, TrialResult

PRUNE_STARTUP = 4  # trials of a family before pruning starts


class FamilyTuner:
    """An Optuna study over one family's search space, seeded with the family's default result."""

    def __init__(self, spec: ModelSpec, seed: int, greater_is_better: bool, storage: str | None = None,
                 study_prefix: str = "") -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.spec = spec
        self.greater_is_better = greater_is_better
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study = optuna.create_study(direction="maximize" if greater_is_better else "minimize",
                                             sampler=sampler, storage=storage, load_if_exists=True,
                                             study_name=f"{study_prefix}{spec.key}")
        self.pending: dict[str, optuna.Trial] = {}
        self.first_fold_scores: list[float] = []
        self.count = len(self.study.trials)

    def seed_with(self, known: list[TrialResult]) -> None:
        """Tell the sampler how the family's configurations tried so far (its default, the portfolio's) scored, so
        that search starts from what is known. A resumed study already holds them."""
        if self.study.trials:
            return
        for result in known:
            params = searchable_values(self.spec, result.candidate.params)
            if result.ok and not np.isnan(result.score) and len(params) == len(self.spec.space):
                self.study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions(self.spec),
                                                               value=result.score))

    def ask(self) -> Candidate:
        trial = self.study.ask()
        self.count += 1
        name = f"{self.spec.key}_t{self.count}"
        self.pending[name] = trial
        return Candidate(name=name, family=self.spec.key, params=suggest(trial, self.spec), source="tuned")

    def prune_threshold(self) -> float | None:
        """First-fold score below which a new trial is hopeless: the median of earlier first folds."""
        if len(self.first_fold_scores) < PRUNE_STARTUP:
            return None
        return float(np.median(self.first_fold_scores))

    def tell(self, result: TrialResult) -> None:
        trial = self.pending.pop(result.candidate.name)
        if result.fold_scores:
            self.first_fold_scores.append(result.fold_scores[0])
        if result.ok and not np.isnan(result.score):
            self.study.tell(trial, result.score)
        elif result.status == "pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
