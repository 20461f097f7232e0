"""The errors trainlab raises for things a user can fix.

Every message says what is wrong, where (file, column, option), what was received and what to do.
Each class also inherits the matching builtin, so ``except ValueError`` keeps working::

    TrainlabError (Exception)
     ├── DataError (ValueError)           the table: missing file, bad target, one class, ...
     ├── ConfigError (ValueError)         an option: negative time limit, unknown model key, ...
     ├── BundleError (ValueError)         a saved model: tampered, foreign, wrong version
     ├── SchemaError (DataError)          rows at predict time that do not match the training schema
     └── MissingDependencyError (ImportError)  an optional extra is not installed
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class TrainlabError(Exception):
    """Base class of every error trainlab raises on purpose."""


class DataError(TrainlabError, ValueError):
    """The input table cannot be used as it is."""


class SchemaError(DataError):
    """Rows given to a trained model do not match the columns it was trained on."""


class ConfigError(TrainlabError, ValueError):
    """An option has a value trainlab cannot use."""


class BundleError(TrainlabError, ValueError):
    """A model bundle is missing, damaged, tampered with or not trainlab's."""


class MissingDependencyError(TrainlabError, ImportError):
    """An optional dependency is needed for this feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the package '{package}', which is not installed. "
            f"Install it with: pip install 'trainlab[{extra}]'"
        )


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' Did you mean 'x'?' hint for a misspelt name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" Did you mean '{close[0]}'?" if close else ""


def list_names(names: Sequence[str], limit: int = 12) -> str:
    """Comma-separated names, shortened with an ellipsis after ``limit``."""
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (", …" if len(names) > limit else "")


def raise_all(problems: Sequence[str], error: type[TrainlabError]) -> None:
    """Raise ``error`` listing every problem at once, or do nothing when there is none."""
    if not problems:
        return
    if len(problems) == 1:
        raise error(problems[0])
    raise error(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))
