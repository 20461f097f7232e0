"""Where trials run. The scheduler hands a batch of candidates to an executor and gets results back in order.

``InProcessExecutor`` runs them one after another in this process; ``ProcessExecutor`` runs them on local worker
processes (``--jobs N``), each with a memory cap, so a trial that dies or runs out of memory fails alone. A cluster
executor plugs in by offering the same ``workers`` and ``run``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Protocol

from threadpoolctl import threadpool_limits

from trainlab.models.registry import REGISTRY, ModelSpec
from trainlab.search.trial import Candidate, TrainingData, TrialResult, run_trial

GRACE_S = 1.0


class Executor(Protocol):
    """Runs candidates on the training data; results come back in the order the candidates were given."""

    workers: int

    def run(self, candidates: list[Candidate], deadline: float, prune_worse_than: list[float | None]) -> list[TrialResult]:
        ...

    def close(self) -> None:
        ...


class InProcessExecutor:
    """One trial at a time, in this process."""

    workers = 1

    def __init__(self, data: TrainingData) -> None:
        global _FORK_IS_SAFE
        self.data = data
        _FORK_IS_SAFE = False  # the trials run here, in this process

    def run(self, candidates: list[Candidate], deadline: float, prune_worse_than: list[float | None]) -> list[TrialResult]:
        return [run_trial(c, self.data, deadline, p) for c, p in zip(candidates, prune_worse_than, strict=True)]

    def close(self) -> None:
        pass


_WORKER_DATA: TrainingData | None = None  # the training data, sent once to each worker process
THREADED_LIBRARIES = ("lightgbm", "xgboost", "catboost", "torch")
_FORK_IS_SAFE = True  # until this process has run a search: from then on its model libraries may hold threads


def _init_worker(data: TrainingData, memory_limit_bytes: int | None, families: dict[str, ModelSpec]) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data
    for key, spec in families.items():  # families registered at run time reach a spawned worker too
        REGISTRY.setdefault(key, spec)
    if memory_limit_bytes:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)  # a cap this process was started under (ulimit -v) holds
        cap = memory_limit_bytes if hard == resource.RLIM_INFINITY else min(memory_limit_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _pools_may_run() -> bool:
    """Whether a model library with its own thread pools (OpenMP) was imported here, so may hold threads that a
    fork would copy mid-use: a model loaded and used before training, in a notebook or a test (a forked worker
    then hung in its first LightGBM trial). trainlab imports them only when a model needs them."""
    return any(name in sys.modules for name in THREADED_LIBRARIES)


def gpu_visible() -> bool:
    """Whether an NVIDIA driver is loaded here, known without importing torch (an import in this process would
    make the worker pool spawn rather than fork)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def _ready() -> bool:
    return True


@contextmanager
def _script_hidden() -> Iterator[None]:
    """Keep spawned workers from running the user's script again: they need trainlab, not the script, and a
    script without an ``if __name__ == "__main__":`` guard that trains twice would otherwise start a search in
    every worker while it starts, which hangs the pool (``python -m`` modules alike: their name is hidden too).
    The script stays visible when a model family was registered from it (its workers must import it to find
    that family)."""
    main = sys.modules.get("__main__")
    own = any(getattr(spec.build, "__module__", None) == "__main__" for spec in REGISTRY.values())
    if main is None or own:
        yield
        return
    spec, path = main.__dict__.get("__spec__"), main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__spec__ = spec
        if path is not None:
            main.__file__ = path


def _run_in_worker(candidate: Candidate, deadline_in_s: float, prune_worse_than: float | None) -> TrialResult:
    assert _WORKER_DATA is not None, "worker started without data"
    # BLAS and OpenMP pools would otherwise use every core in every worker: --jobs 2 on 2 cores made a
    # histogram-boosting fold take 6.3 s instead of 0.7 s. Libraries a trial loads are limited once loaded.
    with threadpool_limits(limits=_WORKER_DATA.n_jobs):
        return run_trial(candidate, _WORKER_DATA, time.monotonic() + deadline_in_s, prune_worse_than)


class ProcessExecutor:
    """Trials on ``workers`` local processes; a crashed or overdue worker fails its trial and is replaced.

    Each worker's address space is capped (``memory_limit_mb``, else its share of 80 % of the memory), except
    where a trial may train on a GPU (``gpu``): a CUDA context maps the GPU's memory into the process, and under
    the cap it cannot start (every neural_net trial failed at once on an H200, Fashion-MNIST, ``--jobs 16``)."""

    def __init__(self, data: TrainingData, workers: int, memory_limit_mb: int | None = None, gpu: bool = False) -> None:
        self.data = data
        self.workers = workers
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = memory_limit_mb * 2**20 if memory_limit_mb else int(0.8 * total / workers)
        self.memory_limit: int | None = None if gpu else limit
        global _FORK_IS_SAFE
        self.spawns = not _FORK_IS_SAFE or _pools_may_run()
        self.pool = self._start()
        _FORK_IS_SAFE = False

    def _start(self) -> cf.ProcessPoolExecutor:
        """Fork for the first search of this process (instant: no model library has started threads yet); spawn
        afterwards, since a fork of a process whose OpenMP threads ran (refits, a second search) can hang."""
        context = mp.get_context("spawn" if self.spawns else "fork")
        pool = cf.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                      initargs=(self.data, self.memory_limit, dict(REGISTRY)))
        with self._starting():
            pool.submit(_ready).result()  # forked workers all start now, before this process starts any thread
        return pool

    def _starting(self) -> AbstractContextManager[None]:
        """Around a call that may start workers: spawned ones start on demand, while the script is hidden."""
        return _script_hidden() if self.spawns else nullcontext()

    def run(self, candidates: list[Candidate], deadline: float, prune_worse_than: list[float | None]) -> list[TrialResult]:
        futures = [self.submit(c, deadline, p) for c, p in zip(candidates, prune_worse_than, strict=True)]
        seconds = deadline - time.monotonic()
        cf.wait(futures, timeout=max(0.0, seconds) + GRACE_S if seconds != float("inf") else None)
        return self.collect(list(zip(candidates, futures, strict=True)))

    def submit(self, candidate: Candidate, deadline: float,
               prune_worse_than: float | None = None) -> cf.Future[TrialResult]:
        """Start one trial on the next free worker (queued while all are busy)."""
        with self._starting():
            return self.pool.submit(_run_in_worker, candidate, deadline - time.monotonic(), prune_worse_than)

    def collect(self, started: list[tuple[Candidate, cf.Future[TrialResult]]]) -> list[TrialResult]:
        """The results of started trials, in their order: one still running is stopped (it outlasted its deadline)
        and fails, as does one whose worker died; then the workers are replaced."""
        results, broken = [], False
        for candidate, future in started:
            if not future.done():
                results.append(TrialResult(candidate, "failed", error="still running at the time limit; stopped"))
                broken = True
                continue
            try:
                results.append(future.result())
            except MemoryError:
                results.append(TrialResult(candidate, "failed", error="ran out of memory (worker memory cap)"))
            except cf.process.BrokenProcessPool:
                results.append(TrialResult(candidate, "failed", error="its worker process died (crash or memory)"))
                broken = True
        if broken:
            self._restart()
        return results

    def _restart(self) -> None:
        self.close()
        self.spawns = True
        self.pool = self._start()

    def close(self) -> None:
        """Stop the workers now, also one still busy with an overdue or interrupted trial."""
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        # a worker stopped while it sent a result leaves half a message, which the pool's manager thread would wait
        # on for ever (and the interpreter joins that thread at exit: a run that hangs after Ctrl-C, or after a
        # trial stopped at the time limit). With this process's end of the result pipe closed too, the wait ends
        # in end-of-file once the workers are gone. Read before shutdown(), which drops the queue.
        writer = getattr(getattr(self.pool, "_result_queue", None), "_writer", None)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if writer is not None:
            writer.close()
