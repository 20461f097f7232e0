"""TrainConfig and its parts: every option of a run, validated once at the boundary."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from trainlab.errors import ConfigError, did_you_mean, raise_all

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
PRESETS: tuple[str, ...] = ("fast", "balanced", "best")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
RAY_ADDRESS = re.compile(r"auto|[^\s:/]+:\d{1,5}")  # 'auto' or the HOST:PORT of a Ray cluster's head


@dataclass(frozen=True)
class SplitConfig:
    """How rows are split into train and test, and train into validation folds."""

    test_size: float = 0.2
    stratify: bool = True
    time_column: str | None = None
    group_column: str | None = None
    folds: int = 5

    def problems(self) -> list[str]:
        out = []
        if not (isinstance(self.test_size, int | float) and 0 < self.test_size < 1):
            out.append(
                f"Option --test-size must be between 0 and 1 (exclusive), got {self.test_size!r}. "
                "Use 0.2 for an 80/20 split or 0.3 for 70/30."
            )
        if not (isinstance(self.folds, int) and self.folds >= 2):
            out.append(f"Option --folds must be an integer of at least 2, got {self.folds!r}.")
        if self.time_column and self.group_column:
            out.append(
                "Options --time-column and --group-column cannot be used together: "
                "choose a chronological split or a split by group."
            )
        return out

    @property
    def kind(self) -> str:
        """'time', 'group', 'stratified' or 'random': the one kind every later split reuses."""
        if self.time_column:
            return "time"
        if self.group_column:
            return "group"
        return "stratified" if self.stratify else "random"


@dataclass(frozen=True)
class BudgetConfig:
    """How much the search may spend: wall-clock seconds, a number of trials, or both."""

    time_limit: float | None = 60.0
    max_trials: int | None = None

    def problems(self) -> list[str]:
        out = []
        tl = self.time_limit
        if tl is not None and (not isinstance(tl, int | float) or not math.isfinite(tl) or tl <= 0):
            out.append(f"Option --time-limit must be a positive number of seconds, got {tl!r}.")
        if self.max_trials is not None and (not isinstance(self.max_trials, int) or self.max_trials < 1):
            out.append(f"Option --max-trials must be a positive integer, got {self.max_trials!r}.")
        return out


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs to know besides the data."""

    target: str
    task: Task | None = None
    metric: str | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    weight_column: str | None = None
    seed: int = 0
    preset: str = "balanced"
    models: tuple[str, ...] | None = None
    exclude_models: tuple[str, ...] = ()
    jobs: int | None = None
    refit_full: bool = False
    device: str = "auto"
    out_dir: Path = Path("runs")
    name: str | None = None
    ray: str | None = None
    distributed: bool = False
    """With ``ray``: train LightGBM and XGBoost data-parallel on the cluster from a table in parts
    (``trainlab.distributed``)."""
    sensitive: tuple[str, ...] = ()
    exclude_sensitive: bool = False
    intended_use: str | None = None
    exportable: bool = False
    """Train only families whose models export to ONNX (``trainlab export --format onnx``)."""
    member: str | None = None  # the table inside a zip archive of several

    def __post_init__(self) -> None:
        problems = self.split.problems() + self.budget.problems()
        if not isinstance(self.target, str) or not self.target:
            problems.append("Option --target is required: name the column to predict.")
        if self.task is not None and self.task not in TASKS:
            problems.append(f"Option --task must be one of {', '.join(TASKS)}, got {self.task!r}.")
        if self.preset not in PRESETS:
            problems.append(f"Option --preset must be one of {', '.join(PRESETS)}, got {self.preset!r}.")
        if not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"Option --seed must be a non-negative integer, got {self.seed!r}.")
        if self.jobs is not None and (not isinstance(self.jobs, int) or self.jobs < 1):
            problems.append(f"Option --jobs must be a positive integer (or left out: automatic), got {self.jobs!r}.")
        if self.device not in DEVICES:
            problems.append(f"Option --device must be one of {', '.join(DEVICES)}, got {self.device!r}.")
        if self.ray is not None and not (isinstance(self.ray, str) and RAY_ADDRESS.fullmatch(self.ray)):
            problems.append(f"Option --ray must be 'auto' or the HOST:PORT of a Ray cluster's head "
                            f"(e.g. 10.0.0.5:6379), got {self.ray!r}.")
        if self.distributed and self.ray is None:
            problems.append("Option --distributed trains on a Ray cluster: give its address too (--ray auto or "
                            "--ray HOST:PORT; see docs/ray.md).")
        if self.exclude_sensitive and not self.sensitive:
            problems.append("Option --exclude-sensitive needs --sensitive: name the columns to leave out of the "
                            "features and to measure fairness on (e.g. --sensitive sex,age).")
        if self.target in self.sensitive:
            problems.append(f"Option --sensitive names the target '{self.target}': give the columns that describe "
                            "groups of people (e.g. sex, age), not the column to predict.")
        raise_all(problems, ConfigError)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, as stored in run.json and the bundle manifest."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["models"] = list(self.models) if self.models is not None else None
        d["exclude_models"] = list(self.exclude_models)
        d["sensitive"] = list(self.sensitive)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d["split"] = SplitConfig(**d.get("split", {}))
        d["budget"] = BudgetConfig(**d.get("budget", {}))
        d["out_dir"] = Path(d.get("out_dir", "runs"))
        if d.get("models") is not None:
            d["models"] = tuple(d["models"])
        d["exclude_models"] = tuple(d.get("exclude_models", ()))
        d["sensitive"] = tuple(d.get("sensitive", ()))
        return cls(**d)


SPLIT_OPTIONS = {"test_size", "stratify", "time_column", "group_column", "folds"}
BUDGET_OPTIONS = {"time_limit", "max_trials"}


def make_config(target: str, **options: Any) -> TrainConfig:
    """A TrainConfig from flat options as the CLI and ``train()`` take them (test_size=0.3, time_limit=30, ...)."""
    split = {k: options.pop(k) for k in list(options) if k in SPLIT_OPTIONS}
    budget = {k: options.pop(k) for k in list(options) if k in BUDGET_OPTIONS}
    if budget.get("max_trials") is not None and "time_limit" not in budget:
        budget["time_limit"] = None  # a trial budget alone makes the run repeatable
    known = set(TrainConfig.__dataclass_fields__) - {"split", "budget", "target"}
    unknown = sorted(set(options) - known)
    if unknown:
        valid = sorted(known | SPLIT_OPTIONS | BUDGET_OPTIONS)
        raise ConfigError(f"Unknown option(s) {', '.join(unknown)}.{did_you_mean(unknown[0], valid)} "
                          f"Valid options: {', '.join(valid)}.")
    for key in ("models", "exclude_models", "sensitive"):
        if isinstance(options.get(key), str):
            options[key] = tuple(k.strip() for k in options[key].split(",") if k.strip())
        elif options.get(key) is not None:
            options[key] = tuple(options[key])
    if "out_dir" in options:
        options["out_dir"] = Path(options["out_dir"])
    return TrainConfig(target=target, split=SplitConfig(**split), budget=BudgetConfig(**budget), **options)


SPLIT_KINDS: tuple[str, ...] = ("auto", "time", "random")


@dataclass(frozen=True)
class RecommendConfig:
    """Every option of a recommendation run (``trainlab train --task recommend``), validated once.

    ``positive`` counts only ratings of at least that value as positive (None: every interaction is);
    ``split`` 'auto' splits by time when ``time_column`` is given, else a random share of each user's rows.
    ``user`` and ``item`` left as None are suggested from the column names (``data.interactions``).
    """

    user: str | None = None
    item: str | None = None
    rating: str | None = None
    time_column: str | None = None
    positive: float | None = None
    k: int = 10
    split: str = "auto"
    test_size: float = 0.1
    valid_size: float = 0.1
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    seed: int = 0
    models: tuple[str, ...] | None = None
    exclude_models: tuple[str, ...] = ()
    jobs: int | None = None
    out_dir: Path = Path("runs")
    name: str | None = None
    item_features: str | None = None
    """A table of the items' side features (``data.side``), read by the families that use them (hybrid_knn)."""
    user_features: str | None = None
    """A table of the users' side features (``data.side``): users unknown at training who are listed there get the
    items of the users most like them by features (cold start) instead of the most popular items."""

    def __post_init__(self) -> None:
        problems = self.budget.problems()
        for option, value in (("--user", self.user), ("--item", self.item)):
            if value is not None and (not isinstance(value, str) or not value):
                problems.append(f"Option {option} must name the column of {option[2:]} ids, got {value!r}.")
        if not (isinstance(self.k, int) and self.k >= 1):
            problems.append(f"Option --k must be a positive integer (the length of each list), got {self.k!r}.")
        if self.split not in SPLIT_KINDS:
            problems.append(f"Option --split must be one of {', '.join(SPLIT_KINDS)}, got {self.split!r}.")
        if self.split == "time" and not self.time_column:
            problems.append("Option --split time needs --time-column: name the column of interaction times.")
        for option, share in (("--test-size", self.test_size), ("--valid-size", self.valid_size)):
            if not (isinstance(share, int | float) and 0 < share < 0.5):
                problems.append(f"Option {option} must be a share of each user's interactions between 0 and 0.5, "
                                f"got {share!r}. Use 0.1 for RecBole's 80/10/10.")
        if self.positive is not None and not self.rating:
            problems.append("Option --positive needs --rating: name the column whose values it thresholds.")
        if not isinstance(self.seed, int) or self.seed < 0:
            problems.append(f"Option --seed must be a non-negative integer, got {self.seed!r}.")
        raise_all(problems, ConfigError)

    @property
    def split_kind(self) -> str:
        """'time' or 'random': the split this run makes."""
        return "time" if self.split == "time" or (self.split == "auto" and self.time_column) else "random"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        d["models"] = list(self.models) if self.models is not None else None
        d["exclude_models"] = list(self.exclude_models)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RecommendConfig:
        d = dict(d)
        d["budget"] = BudgetConfig(**d.get("budget", {}))
        d["out_dir"] = Path(d.get("out_dir", "runs"))
        if d.get("models") is not None:
            d["models"] = tuple(d["models"])
        d["exclude_models"] = tuple(d.get("exclude_models", ()))
        return cls(**d)


def make_recommend_config(user: str | None = None, item: str | None = None, **options: Any) -> RecommendConfig:
    """A RecommendConfig from flat options (time_limit=60, models='ease,als', ...), as the CLI and Python take them."""
    budget = {k: options.pop(k) for k in list(options) if k in BUDGET_OPTIONS}
    if budget.get("max_trials") is not None and "time_limit" not in budget:
        budget["time_limit"] = None
    known = set(RecommendConfig.__dataclass_fields__) - {"budget", "user", "item"}
    unknown = sorted(set(options) - known)
    if unknown:
        valid = sorted(known | BUDGET_OPTIONS)
        raise ConfigError(f"Unknown option(s) {', '.join(unknown)}.{did_you_mean(unknown[0], valid)} "
                          f"Valid options: {', '.join(valid)}.")
    for key in ("models", "exclude_models"):
        if isinstance(options.get(key), str):
            options[key] = tuple(k.strip() for k in options[key].split(",") if k.strip())
        elif options.get(key) is not None:
            options[key] = tuple(options[key])
    if "out_dir" in options:
        options["out_dir"] = Path(options["out_dir"])
    return RecommendConfig(user=user, item=item, budget=BudgetConfig(**budget), **options)
