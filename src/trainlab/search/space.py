"""Turns a family's search space, declared as data (``Param``), into Optuna distributions and suggestions."""

from __future__ import annotations

from typing import Any

import optuna

from trainlab.models.registry import ModelSpec, Param


def distribution(param: Param) -> optuna.distributions.BaseDistribution:
    if param.kind == "int":
        return optuna.distributions.IntDistribution(int(param.low), int(param.high), log=param.log)
    if param.kind == "float":
        return optuna.distributions.FloatDistribution(param.low, param.high, log=param.log)
    if param.kind == "choice":
        return optuna.distributions.CategoricalDistribution(param.choices)
    raise ValueError(f"unknown parameter kind {param.kind!r}")


def distributions(spec: ModelSpec) -> dict[str, optuna.distributions.BaseDistribution]:
    return {name: distribution(p) for name, p in spec.space.items()}


def suggest(trial: optuna.Trial, spec: ModelSpec) -> dict[str, Any]:
    """The family's defaults with every searchable parameter replaced by Optuna's suggestion."""
    params = dict(spec.defaults)
    for name, dist in distributions(spec).items():
        params[name] = trial._suggest(name, dist)
    return params


def searchable_defaults(spec: ModelSpec) -> dict[str, Any]:
    """The default values of the searchable parameters that lie inside the space (to seed the sampler)."""
    return searchable_values(spec, spec.defaults)


def searchable_values(spec: ModelSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The values in ``params`` of the searchable parameters that lie inside the family's space (None too, where it is
    one of a choice's values: class_weight's default)."""
    seeds = {}
    for name, dist in distributions(spec).items():
        if name not in params:
            continue
        value = params[name]
        try:
            inside = dist._contains(dist.to_internal_repr(value))
        except (ValueError, TypeError):  # e.g. 0.0 on a log scale, None for a number
            inside = False
        if inside:
            seeds[name] = value
    return seeds
