"""Trials as Ray tasks on a cluster (``--ray auto|ADDRESS``): the same ``workers``/``run``/``close`` as the local executors.

The training data goes to the cluster's object store once; each trial is one task that gets a reference to it.
How many trials run side by side and how many CPUs (threads) each gets:

- ``--jobs N`` (N > 1): N trials side by side, each with ``cluster CPUs // N`` CPUs (at least 1, at most the
  largest node's), so a run gives the same trials as ``--jobs N`` on one machine;
- ``--jobs 1`` (the default): the cluster is filled, one trial per CPU, one thread each; the number of trials
  side by side then follows the cluster's size, so pass ``--jobs`` for runs that must repeat exactly.

``ray`` is imported only when this executor is made: ``import trainlab`` and local runs never import it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import replace
from typing import Any

from trainlab.errors import ConfigError, MissingDependencyError
from trainlab.models.registry import REGISTRY, ModelSpec
from trainlab.search.executor import GRACE_S
from trainlab.search.trial import Candidate, TrainingData, TrialResult, run_trial

TASK_NAME = "trainlab_trial"  # the worker's process title while it runs a trial: ray::trainlab_trial
BASE_MEMORY = 256 * 2**20  # what a worker with trainlab's libraries loaded needs before it fits anything
MEMORY_PER_DATA = 8  # a trial holds a few copies of the features (fold slices, encoded matrices, the model)
START_HINT = ("Start one with 'ray start --head' on the head machine (it prints the address to pass), "
              "'ray start --address HEAD:PORT' on each other machine, then pass --ray HEAD:PORT, "
              "or --ray auto on a machine of the cluster.")


def _trial_task(candidate: Candidate, data: TrainingData, seconds_left: float, prune: float | None,
                families: dict[str, ModelSpec] | None = None) -> TrialResult:
    """Runs on a cluster worker; the driver's deadline arrives as seconds left (clocks differ between machines).
    ``families`` are the ones registered at run time on the driver (a test's slow fake, a user's own family)."""
    for key, spec in (families or {}).items():
        REGISTRY.setdefault(key, spec)
    return run_trial(candidate, data, time.monotonic() + seconds_left, prune)


class RayExecutor:
    """Trials as Ray tasks; a task whose worker or node dies, or that overruns the time limit, fails its trial."""

    def __init__(self, data: TrainingData, address: str, jobs: int = 1) -> None:
        self.ray = _import_ray()
        self.address = address
        self.owns_connection = _connect(self.ray, address)
        try:
            cpus, largest_node = _cluster_cpus(self.ray, address)
            self.cpus_per_trial = max(1, min(largest_node, cpus // jobs)) if jobs > 1 else 1
            self.workers = jobs if jobs > 1 else cpus
            self.memory = _memory_per_trial(data, self.ray)
            self.data_ref: Any = self.ray.put(replace(data, n_jobs=self.cpus_per_trial))
        except BaseException:
            self.close()
            raise
        self.task = self.ray.remote(_trial_task).options(name=TASK_NAME, max_retries=0, num_cpus=self.cpus_per_trial,
                                                         memory=self.memory)

    def run(self, candidates: list[Candidate], deadline: float, prune_worse_than: list[float | None]) -> list[TrialResult]:
        seconds = deadline - time.monotonic()
        refs = [self.task.remote(c, self.data_ref, seconds, p, self._family_of(c))
                for c, p in zip(candidates, prune_worse_than, strict=True)]
        timeout = None if seconds == float("inf") else max(0.0, seconds) + GRACE_S
        _, pending = self.ray.wait(refs, num_returns=len(refs), timeout=timeout)
        for ref in pending:
            self.ray.cancel(ref, force=True)
        late = set(pending)
        results = []
        for candidate, ref in zip(candidates, refs, strict=True):
            if ref in late:
                results.append(TrialResult(candidate, "failed", error="still running at the time limit; stopped"))
                continue
            try:
                results.append(self.ray.get(ref))
            except self.ray.exceptions.RayError as exc:
                results.append(TrialResult(candidate, "failed", error=_failure_reason(exc, self.ray)))
        return results

    def _family_of(self, candidate: Candidate) -> dict[str, ModelSpec] | None:
        """The candidate's family, sent with it: a family registered at run time (a test's slow fake, a user's own)
        is unknown to the workers, and one of trainlab's own travels as a few references (a worker keeps its own)."""
        spec = REGISTRY.get(candidate.family)
        return {candidate.family: spec} if spec is not None else None

    def close(self) -> None:
        """Let go of the data and disconnect; the cluster itself keeps running (it is the user's)."""
        self.data_ref = None
        if self.owns_connection and self.ray.is_initialized():
            self.ray.shutdown()


def _import_ray() -> Any:
    """The ``ray`` module, or the error that names the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "Option --ray (trials on a Ray cluster)") from exc
    return ray


def _connect(ray: Any, address: str) -> bool:
    """Join the cluster at ``address`` ('auto': RAY_ADDRESS or the one started on this machine); True when this
    call made the connection (a caller already connected keeps theirs, and ``close`` leaves it open)."""
    if ray.is_initialized():
        return False
    target = (os.environ.get("RAY_ADDRESS") or address) if address == "auto" else address
    if target != "auto":
        _probe(target, address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        where = "no running Ray cluster was found on this machine, and RAY_ADDRESS is not set" \
            if target == "auto" and isinstance(exc, ConnectionError) else f"joining the cluster at {target} failed ({first})"
        raise ConfigError(f"Option --ray {address}: {where}. {START_HINT}") from exc
    return True


def _probe(target: str, address: str) -> None:
    """Fail in seconds, with the address, where ``ray.init`` would retry for a minute."""
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            pass
    except (OSError, ValueError) as exc:
        shown = address if target == address else f"{address} (RAY_ADDRESS={target})"
        raise ConfigError(f"Option --ray {shown}: no Ray cluster answers at {target} ({exc}). {START_HINT}") from exc


def _cluster_cpus(ray: Any, address: str) -> tuple[int, int]:
    """The cluster's CPUs in all, and the most one node has (a trial asking for more would never start)."""
    total = int(ray.cluster_resources().get("CPU", 0))
    largest = max((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=0)
    if total < 1 or largest < 1:
        raise ConfigError(f"The Ray cluster at {address} has no CPUs for trials (option --ray). Add a node with "
                          "'ray start --address HEAD:PORT --num-cpus N', or start the head without --num-cpus 0.")
    return total, largest


def _memory_per_trial(data: TrainingData, ray: Any) -> int:
    """Bytes of memory a trial reserves on its node: a base plus a multiple of the features, capped at half the
    largest node's so that a big table never makes a task impossible to place."""
    features = int(data.features.memory_usage(deep=True).sum())
    largest = max((int(n["Resources"].get("memory", 0)) for n in ray.nodes() if n.get("Alive")), default=0)
    wanted = BASE_MEMORY + MEMORY_PER_DATA * features
    return min(wanted, largest // 2) if largest else wanted


def _failure_reason(exc: BaseException, ray: Any) -> str:
    """A plain reason for a trial that Ray could not bring back."""
    errors = ray.exceptions
    if isinstance(exc, errors.OutOfMemoryError):
        return "ran out of memory (Ray's memory monitor stopped its worker)"
    if isinstance(exc, errors.NodeDiedError | errors.LocalRayletDiedError):
        return "the cluster node running it died or left the cluster"
    if isinstance(exc, errors.WorkerCrashedError):
        return "its worker process died (crash, kill or memory)"
    if isinstance(exc, errors.TaskCancelledError):
        return "cancelled on the cluster"
    if isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None) or exc
        text = (str(cause).strip().splitlines() or [""])[0]
        hint = " (install trainlab, same version, on every node)" if isinstance(cause, ImportError) else ""
        return f"failed on the cluster: {type(cause).__name__}: {text}{hint}"[:300]
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"Ray could not run it: {type(exc).__name__}: {first}"[:300]
