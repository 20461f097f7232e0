"""Trial workers read the training table from pages they share with the run's process: no worker holds a copy."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap

import pytest

# In a fresh process: the first search of a process forks its workers (search/executor.py), and this one's tests
# have run searches already. The worker reads every value of the features, then says how much of the memory
# that holds them is shared (with the parent that made them) and how much is its own.
SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import pandas as pd
    from trainlab.data.schema import infer_schema
    from trainlab.evaluate.metrics import Context, resolve_metric
    from trainlab.search import executor
    from trainlab.search.trial import TrainingData

    def holding_pages() -> dict:
        features = executor._WORKER_DATA.features
        total = float(sum(features[c].sum() for c in features.columns))  # every value read
        values = features["x0"].to_numpy()
        low, high = values.ctypes.data, values.ctypes.data + values.nbytes
        kb, inside = dict.fromkeys(("Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty"), 0), False
        for line in open("/proc/self/smaps"):  # the mappings that hold the column's values
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start, end = (int(v, 16) for v in head[0].split("-"))
                inside = start < high and end > low
            elif inside and head[0].rstrip(":") in kb:
                kb[head[0].rstrip(":")] += int(head[1])
        return {"kb": kb, "total": total}

    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(400_000, 10)), columns=[f"x{i}" for i in range(10)])  # 32 MB
    y = rng.normal(size=len(features))
    schema = infer_schema(features.head(100).assign(y=y[:100]), "y")
    data = TrainingData(schema=schema, features=features, y=y, weights=None, folds=[], context=Context("regression"),
                        metric=resolve_metric(None, "regression"), seed=0)
    pool = executor.ProcessExecutor(data, workers=2)
    try:
        print(json.dumps([pool.pool.submit(holding_pages).result() for _ in range(2)]))
    finally:
        pool.close()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_trial_workers_share_the_training_table_instead_of_copying_it() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for worker in json.loads(done.stdout.strip().splitlines()[-1]):
        kb = worker["kb"]
        shared, own = kb["Shared_Clean"] + kb["Shared_Dirty"], kb["Private_Clean"] + kb["Private_Dirty"]
        assert shared >= 3_000, kb  # the column's 3.2 MB, read in full, sit in the parent's pages
        assert own < 0.05 * shared, kb


# A plain script without an ``if __name__ == "__main__":`` guard: its second search spawns workers, which must not
# run the script again (before search/executor.py hid it while they started, the run hung with no message).
UNGUARDED = textwrap.dedent("""
    import numpy as np
    import pandas as pd
    import trainlab

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = np.where(frame["a"] + rng.normal(scale=0.5, size=300) > 0, "yes", "no")
    for i in range(2):
        run = trainlab.train(frame, target="y", models=("linear",), max_trials=1, jobs=2, report=False,
                             out_dir=OUT, name=f"run{i}")
        print("trained", i, run.best_model, flush=True)
""")


@pytest.mark.slow
def test_an_unguarded_script_can_train_twice(tmp_path) -> None:
    script = tmp_path / "twice.py"
    script.write_text(f"OUT = {str(tmp_path / 'runs')!r}\n" + UNGUARDED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["trained 0 linear", "trained 1 linear"]


# A worker stopped while it sent a large result (a trial that ended just past the time limit, on a long table)
# leaves half a message in the result pipe: the pool's manager thread waits for the rest, and the interpreter
# joins that thread at exit. Here the half message is written by hand, as the stopped worker would have.
HALF_SENT = textwrap.dedent("""
    import os, struct
    import numpy as np
    import pandas as pd
    from trainlab.data.schema import infer_schema
    from trainlab.evaluate.metrics import Context, resolve_metric
    from trainlab.search import executor
    from trainlab.search.trial import TrainingData

    features = pd.DataFrame({"x": np.arange(100.0)})
    schema = infer_schema(features.assign(y=np.arange(100.0)), "y")
    data = TrainingData(schema=schema, features=features, y=np.arange(100.0), weights=None, folds=[],
                        context=Context("regression"), metric=resolve_metric(None, "regression"), seed=0)
    pool = executor.ProcessExecutor(data, workers=1)
    manager = pool.pool._executor_manager_thread
    writer = pool.pool._result_queue._writer
    os.write(writer.fileno(), struct.pack("!i", 1_000_000) + b"x" * 1_000)  # 1 MB announced, 1 kB sent
    pool.close()
    manager.join(timeout=20)
    print("manager thread ended" if not manager.is_alive() else "manager thread still waiting", flush=True)
""")


def test_closing_the_pool_ends_its_wait_on_a_half_sent_result() -> None:
    done = subprocess.run([sys.executable, "-c", HALF_SENT], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1:] == ["manager thread ended"], done.stdout + done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]


FORKS = textwrap.dedent("""
    import sys
    import numpy as np
    import pandas as pd
    if sys.argv[1] == "after-lightgbm":
        import lightgbm  # noqa: F401  (a model loaded and used here before training: its OpenMP pool may run)
    from trainlab.data.schema import infer_schema
    from trainlab.evaluate.metrics import Context, resolve_metric
    from trainlab.search import executor
    from trainlab.search.trial import TrainingData

    features = pd.DataFrame({"x": np.arange(100.0)})
    schema = infer_schema(features.assign(y=np.arange(100.0)), "y")
    data = TrainingData(schema=schema, features=features, y=np.arange(100.0), weights=None, folds=[],
                        context=Context("regression"), metric=resolve_metric(None, "regression"), seed=0)
    pool = executor.ProcessExecutor(data, workers=1)
    print("spawns" if pool.spawns else "forks", flush=True)
    pool.close()
""")


@pytest.mark.parametrize(("before", "start"), [("nothing", "forks"), ("after-lightgbm", "spawns")])
def test_workers_are_spawned_once_a_threaded_model_library_was_loaded(before: str, start: str) -> None:
    """A fork copies a running OpenMP pool mid-use: a worker forked after a LightGBM prediction hung."""
    done = subprocess.run([sys.executable, "-c", FORKS, before], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [start]


CAPS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    import pandas as pd
    from trainlab.data.schema import infer_schema
    from trainlab.evaluate.metrics import Context, resolve_metric
    from trainlab.search import executor
    from trainlab.search.trial import TrainingData

    def address_space_cap():
        return resource.getrlimit(resource.RLIMIT_AS)[0]

    features = pd.DataFrame({"x": np.arange(100.0)})
    schema = infer_schema(features.assign(y=np.arange(100.0)), "y")
    data = TrainingData(schema=schema, features=features, y=np.arange(100.0), weights=None, folds=[],
                        context=Context("regression"), metric=resolve_metric(None, "regression"), seed=0)
    pool = executor.ProcessExecutor(data, workers=1, memory_limit_mb=4096, gpu=sys.argv[1] == "gpu")
    cap = pool.pool.submit(address_space_cap).result()
    print("unlimited" if cap == resource.RLIM_INFINITY else f"{cap >> 20} MB", flush=True)
    pool.close()
""")


@pytest.mark.parametrize("where", ["cpu", "gpu"])
def test_workers_that_may_train_on_a_gpu_have_no_address_space_cap(where: str) -> None:
    """A CUDA context maps the GPU's memory into the process: under the cap it cannot start ('out of memory')."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)  # a cap this process runs under holds in its workers too
    given = 4096 << 20 if hard == resource.RLIM_INFINITY else min(4096 << 20, hard)  # RLIM_INFINITY is -1
    given = soft if where == "gpu" else given  # on a GPU the workers only inherit this process's cap
    cap = "unlimited" if given == resource.RLIM_INFINITY else f"{given >> 20} MB"
    done = subprocess.run([sys.executable, "-c", CAPS, where], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == cap
