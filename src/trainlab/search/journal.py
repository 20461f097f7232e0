"""The search's record in the run folder: one JSON line per finished trial plus its out-of-fold predictions.

It is what makes a run resumable: after a crash, kill or Ctrl-C, ``load`` gives back every finished trial.
A line cut short by a kill is ignored; out-of-fold arrays are written before their line, atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from trainlab.search.trial import Candidate, TrialResult

LINES = "trials.jsonl"
STUDIES = "optuna.db"


class TrialJournal:
    """Appends finished trials to ``<folder>/trials.jsonl`` and reads them back."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        (self.folder / "oof").mkdir(parents=True, exist_ok=True)

    @property
    def storage_url(self) -> str:
        """Optuna's SQLite storage for this run's studies."""
        return f"sqlite:///{(self.folder / STUDIES).resolve()}"

    def append(self, result: TrialResult) -> None:
        if result.oof is not None:
            path = self.folder / "oof" / f"{result.number}.npy"
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, result.oof)
            os.replace(tmp, path)
        c = result.candidate
        line = {"number": result.number, "name": c.name, "family": c.family, "params": c.params, "source": c.source,
                "status": result.status, "score": result.score, "metrics": result.metrics,
                "fit_time_s": result.fit_time_s, "predict_time_s": result.predict_time_s, "error": result.error,
                "fold_scores": result.fold_scores, "refit_params": result.refit_params}
        with (self.folder / LINES).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, default=float) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def clear(self) -> None:
        """Forget every trial (and Optuna study): a search that starts again on other validation rows."""
        for path in [self.folder / LINES, self.folder / STUDIES, *(self.folder / "oof").glob("*.npy")]:
            path.unlink(missing_ok=True)

    def load(self) -> list[TrialResult]:
        path = self.folder / LINES
        if not path.exists():
            return []
        results = []
        for text in path.read_text(encoding="utf-8").splitlines():
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                continue  # the last line of a killed run may be cut short
            oof_path = self.folder / "oof" / f"{line['number']}.npy"
            oof = np.load(oof_path, allow_pickle=False) if oof_path.exists() else None
            candidate = Candidate(name=line["name"], family=line["family"], params=line["params"],
                                  source=line["source"])
            results.append(TrialResult(candidate, line["status"], score=line["score"], metrics=line["metrics"],
                                       fit_time_s=line["fit_time_s"], predict_time_s=line["predict_time_s"],
                                       error=line["error"], oof=oof, number=line["number"],
                                       fold_scores=line["fold_scores"], refit_params=line.get("refit_params")))
        return results
