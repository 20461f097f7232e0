"""ONNX export of a run's best model: export time, file size, onnxruntime's single-row latency against the bundle's,
and the largest difference from the bundle on every test row of that run (re-derived from run.json as the run
split them).

    python bench/onnx_export.py runs/<run>            # writes runs/<run>/model.onnx
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from trainlab.config import TrainConfig
from trainlab.data.checks import check_data
from trainlab.data.load import load_table
from trainlab.data.split import make_split
from trainlab.export import export_onnx
from trainlab.export.onnx import onnx_inputs
from trainlab.predict import Predictor

CALLS = 200


def p50_ms(call: object, rows: list[object]) -> float:
    times = []
    for row in rows:
        started = time.perf_counter()
        call(row)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def main(folder: Path) -> None:
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    config = TrainConfig.from_dict(record["config"])
    checked = check_data(load_table(record["data"]), config)
    split = make_split(checked.frame, checked.schema, config.split, config.seed)
    test = checked.frame.iloc[split.test].reset_index(drop=True)
    result = export_onnx(folder / "model", folder / "model.onnx", rows=test)
    predictor = Predictor.load(folder / "model")
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    columns = [(c.name, c.role) for c in predictor.schema.features]
    feeds = onnx_inputs(predictor.schema.check_rows(test), columns)
    every = session.run(None, feeds)[0]
    bundle = predictor.output(test)
    rows = [test.iloc[[i % len(test)]] for i in range(CALLS)]
    single = [{k: v[[i % len(test)]] for k, v in feeds.items()} for i in range(CALLS)]
    for call, sample in ((predictor.output, rows[:5]), (lambda f: session.run(None, f), single[:5])):
        p50_ms(call, sample)  # warm up
    figures = {"model": result.model, "left_out": result.left_out, "export_s": round(result.seconds, 2),
               "file_kib": round(result.size_bytes / 1024, 1), "test_rows": len(test),
               "checked_rows": result.checked_rows, "max_diff_checked_rows": result.max_difference,
               "max_diff_all_test_rows": float(np.abs(every - bundle).max()), "tolerance": result.tolerance,
               "onnxruntime_single_row_p50_ms": round(p50_ms(lambda f: session.run(None, f), single), 3),
               "bundle_single_row_p50_ms": round(p50_ms(predictor.output, rows), 3)}
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
