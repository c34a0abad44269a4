"""Engine benchmark: the golden models through every path, side by side, in one process.

    .venv/bin/python bench/bench_engine.py [--repeats 30] [--rows 1000]

Each golden model runs in a process of its own (see run_in_child); for each one (rebuilt from the seeded pipelines of tests/golden/make_golden.py, so
scikit-learn scores the very pipeline the PMML came from) it times, interleaved in every round:
- scikit-learn: ``predict_proba`` (classifiers) or ``predict`` on a pandas frame;
- pypmml: ``Model.predict`` on the same frame (py4j, a second JVM);
- Java scorer: ``Scorer.scoreColumns`` on Java arrays built beforehand, so only the engine runs;
- bridge: ``Model.score_batch`` on the frame, conversion to and from Java included;
and the same for a single record. It prints medians, rows per second and the two target ratios:
bridge / Java scorer on a batch (target at most 1.20) and bridge single record / scikit-learn
single record (target below 1.00). Timings are noisy on 2 cores: read the ratios, not the digits.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jpype
import numpy as np
from pypmml import Model as PypmmlModel

from pmmlkit.scoring.engine import Model, _java_column
from pmmlkit.scoring.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
WARMUP_ROUNDS = 15


def load_golden_builders():
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sklearn_call(pipeline):
    return pipeline.predict_proba if hasattr(pipeline, "predict_proba") else pipeline.predict


def java_call(model: Model, frame):
    """The Java scorer alone: arguments converted once, outside the timed call."""
    names = jpype.JArray(jpype.JString)([f.name for f in model.inputs])
    columns = jpype.JArray(jpype.JObject)(
        [_java_column(f, frame[f.name].to_numpy()) for f in model.inputs]
    )
    scorer = model._scorer
    return lambda: scorer.scoreColumns(names, columns)


def median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000


def time_round(calls: dict, timings: dict) -> None:
    for name, call in calls.items():
        start = time.perf_counter_ns()
        call()
        timings[name].append(time.perf_counter_ns() - start)


def bench_case(name, pipeline, frame, settings, repeats) -> dict:
    model = Model.load_file(GOLDEN / name / "model.pmml", settings)
    pypmml = PypmmlModel.fromFile(str(GOLDEN / name / "model.pmml"))
    record_frame = frame.head(1)
    record = {k: (None if v != v else v) for k, v in frame.iloc[0].to_dict().items()}
    predict = sklearn_call(pipeline)
    calls = {
        "sklearn batch": lambda: predict(frame),
        "pypmml batch": lambda: pypmml.predict(frame),
        "java batch": java_call(model, frame),
        "bridge batch": lambda: model.score_batch(frame),
        "sklearn single": lambda: predict(record_frame),
        "pypmml single": lambda: pypmml.predict(record),
        "bridge single": lambda: model.score(record),
    }
    timings = {key: [] for key in calls}
    for _ in range(WARMUP_ROUNDS):
        time_round(calls, {key: [] for key in calls})  # warm-up: the JIT compiles the hot paths
    for _ in range(repeats):
        time_round(calls, timings)
    return {key: median_us(samples) for key, samples in timings.items()}


def print_table(results: dict, rows: int) -> None:
    print(f"\nMedian times; batch = {rows} rows (us per batch, rows/s), single = one record (us).")
    header = f"{'model':<15}{'path':<9}{'batch us':>11}{'rows/s':>11}{'single us':>11}"
    print(header + "\n" + "-" * len(header))
    for name, t in results.items():
        for path in ("sklearn", "pypmml", "java", "bridge"):
            batch = t[f"{path} batch"]
            single = t.get(f"{path} single")
            single_text = f"{single:11.1f}" if single is not None else f"{'-':>11}"
            print(f"{name:<15}{path:<9}{batch:11.0f}{rows / batch * 1e6:11.0f}{single_text}")
    print("\nTargets: bridge/java batch <= 1.20; bridge/sklearn single < 1.00")
    print(
        f"{'model':<15}{'bridge/java batch':>19}{'bridge/sklearn single':>23}{'bridge/sklearn batch':>22}"
    )
    for name, t in results.items():
        print(
            f"{name:<15}{t['bridge batch'] / t['java batch']:19.2f}"
            f"{t['bridge single'] / t['sklearn single']:23.3f}{t['bridge batch'] / t['sklearn batch']:22.2f}"
        )


def run_in_process(name: str, args) -> dict:
    golden = load_golden_builders()
    index = list(golden.CASES).index(name)
    pipeline, _, inputs = golden.CASES[name](np.random.default_rng([golden.SEED, index]))
    frame = (
        golden.csv_round_trip(inputs)
        .sample(args.rows, replace=True, random_state=0)
        .reset_index(drop=True)
    )
    return bench_case(name, pipeline, frame, Settings(), args.repeats)


def run_in_child(name: str, args) -> dict:
    """One process per model: in one JVM, the JIT profile left by one model's run can slow
    another's by up to 5x (seen: forest 7 ms alone, 36 ms after logistic_mixed)."""
    command = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--repeats",
        str(args.repeats),
        "--rows",
        str(args.rows),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Engine benchmark over the golden models.")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--models", nargs="*", help="Golden cases to run (default: all).")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_in_process(args.child, args)))
        return
    names = args.models or list(load_golden_builders().CASES)
    print_table({name: run_in_child(name, args) for name in names}, args.rows)


if __name__ == "__main__":
    main()
