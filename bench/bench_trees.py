"""Tree benchmark: the compiled tree evaluator against every other engine, side by side.

    .venv/bin/python bench/bench_trees.py [--rounds 15] [--rows 1000] [--models forest hgb100 ...]

Models: the demo pipelines of the engine benchmark (logistic_mixed, forest: 20 trees of depth 6,
regressor: 60-tree gradient boosting), "forest100" (RandomForestClassifier, 100 trees of depth 12,
trained on 20,000 rows: the 30 MB PMML of the design notes) and "hgb100"
(HistGradientBoostingClassifier, 100 iterations, on the mixed numeric/text data of
boosting_mixed). Each is fitted (seeded), converted with the project's converter into a
temporary directory, then benchmarked in a process of its own (JIT profiles of one model slow
another). In that process, every round times each engine once on the same --rows rows, in a
shuffled order:
- sklearn 1: ``predict_proba``/``predict`` on a pandas frame, one thread (threadpoolctl, n_jobs=1);
- sklearn all: the same with every core (n_jobs=-1, OpenMP default);
- pypmml: ``Model.predict`` on the frame (py4j, a second JVM);
- jpmml: ``Scorer.scoreColumns`` with the compiled evaluator turned off, on Java arrays built once;
- compiled: ``Scorer.scoreColumns`` of the compiled evaluator on the same arrays;
- bridge: ``Model.score_batch`` on the frame (conversion to and from Java included, compiled).
It prints median milliseconds per batch and the target ratios (jpmml/compiled at least 5;
sklearn 1/compiled above 1), then the load times of forest100's PMML, plain and gzip: "ready"
when the load returns and the model scores (parse and verify; JPMML-Evaluator serves),
"compiled" when the background compile and its check against JPMML-Evaluator have ended and the
compiled evaluator serves (target: ready under 3 s). The first load of the process (cold: JVM
started, classes not loaded, nothing JIT-compiled) is reported apart from the medians of three
later ones (warm), and so are loads compiling before returning and JPMML-Evaluator only. A
measurement, not a test: exit code 0 whatever the numbers. On 2 cores, read the ratios, not the
digits.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("sklearn 1", "sklearn all", "pypmml", "jpmml", "compiled", "bridge")
FOREST100_TRAIN_ROWS = 20_000


DESCRIPTIONS = {
    "forest100": "Random forest (100 trees of depth 12) on six numeric features.",
    "hgb100": "Histogram gradient boosting (100 iterations) on numeric and text fields.",
}
TARGETS = {"forest100": "label", "hgb100": "approved"}


def builders() -> dict:
    """Seeded builders (numpy Generator -> fitted pipeline, training frame, input rows)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn2pmml.pipeline import PMMLPipeline

    from pmmlkit.converter import demo_pipelines as dp

    def forest100(rng):
        def sample(n):
            x = dp.numeric_frame(rng, n, 6, "f")
            signal = np.sin(6 * x.f1) + (x.f2 > 0.5) * x.f3 * 2 - x.f4 * x.f5
            label = (signal + rng.normal(0, 0.3, n) > 0.3).astype(int)
            return x, label.rename("label")

        forest = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=dp.SEED)
        train = sample(FOREST100_TRAIN_ROWS)
        pipeline = PMMLPipeline([("classifier", forest)]).fit(*train)
        return pipeline, dp._joined(train), sample(dp.N_INPUT)[0]

    def hgb100(rng):
        pipeline, train, inputs = dp.build_boosting_mixed(rng)
        booster = HistGradientBoostingClassifier(max_iter=100, random_state=dp.SEED)
        pipeline.steps[-1] = ("classifier", booster)
        pipeline.fit(train.drop(columns="approved"), train["approved"])
        return pipeline, train, inputs

    return {
        "logistic_mixed": dp.build_logistic_mixed,
        "forest": dp.build_forest,
        "regressor": dp.build_regressor,
        "forest100": forest100,
        "hgb100": hgb100,
    }


def seed_index(name: str) -> int:
    from pmmlkit.converter.demo_pipelines import CASES

    return list(CASES).index(name) if name in CASES else 100 + len(name)


def set_threads(pipeline, n_jobs) -> None:
    estimator = pipeline.steps[-1][1]
    if "n_jobs" in estimator.get_params():
        estimator.set_params(n_jobs=n_jobs)


def run_model(name: str, args) -> dict:
    """Fits, converts and times one model; returns medians (ms) and load times."""
    with tempfile.TemporaryDirectory(prefix="bench-trees-") as work:
        return time_model(name, Path(work), args)


def time_model(name: str, work: Path, args) -> dict:
    import jpype
    from bench_engine import java_call, sklearn_call
    from pypmml import Model as PypmmlModel
    from threadpoolctl import threadpool_limits

    from pmmlkit.converter.demo_pipelines import SEED
    from pmmlkit.converter.sklearn_export import export_pmml
    from pmmlkit.scoring.engine import Model, start_jvm
    from pmmlkit.scoring.settings import Settings

    pipeline, _, inputs = builders()[name](np.random.default_rng([SEED, seed_index(name)]))
    frame = inputs.sample(args.rows, replace=True, random_state=0).reset_index(drop=True)
    pmml_path = work / "model.pmml"
    export_pmml(pipeline, pmml_path, verification_frame=inputs.head(20))
    settings = Settings(jvm_heap="4g")
    start_jvm(settings)  # not part of any load time
    cold_ready, cold_compiled, compiled = timed_load(pmml_path.read_bytes(), settings, Model)
    jpmml = Model.load_bytes(pmml_path.read_bytes(), "jpmml", settings, compile=False)
    pypmml = PypmmlModel.fromFile(str(pmml_path))
    predict = sklearn_call(pipeline)

    def sklearn_one():
        set_threads(pipeline, 1)
        with threadpool_limits(1):
            predict(frame)

    def sklearn_all():
        set_threads(pipeline, -1)
        predict(frame)

    calls = {
        "sklearn 1": sklearn_one,
        "sklearn all": sklearn_all,
        "pypmml": lambda: pypmml.predict(frame),
        "jpmml": java_call(jpmml, frame),
        "compiled": java_call(compiled, frame),
        "bridge": lambda: compiled.score_batch(frame),
    }
    timings = {engine: [] for engine in calls}
    order = list(calls)
    for round_ in range(args.rounds + args.warmup):
        random.Random(round_).shuffle(order)
        for engine in order:
            start = time.perf_counter_ns()
            calls[engine]()
            if round_ >= args.warmup:
                timings[engine].append(time.perf_counter_ns() - start)
    result = {e: statistics.median(t) / 1e6 for e, t in timings.items()}
    result["engine"] = compiled.engine
    result["pmml MB"] = pmml_path.stat().st_size / 1e6
    if name == "forest100":
        result["load"] = load_times(pmml_path, settings, Model)
        result["load"]["plain, first load (cold)"] = (cold_ready, cold_compiled)
    jpype.JClass("java.lang.System").gc()
    return result


def timed_load(data: bytes, settings, Model, compile_="background") -> tuple:
    """Seconds until the load returns ready to score, seconds until its engine has settled
    (compiled, or not, in the background), and the model."""
    start = time.perf_counter()
    model = Model.load_bytes(data, "load", settings, compile=compile_)
    ready = time.perf_counter() - start
    model.await_engine(600)
    return ready, time.perf_counter() - start, model


def load_times(pmml_path: Path, settings, Model) -> dict:
    """Medians of three loads (ready, compiled) of each kind, in seconds, plain and gzip."""
    plain = pmml_path.read_bytes()
    packed = gzip.compress(plain, compresslevel=6)
    times = {"plain MB": len(plain) / 1e6, "gzip MB": len(packed) / 1e6}
    for label, data, compile_ in (
        ("plain", plain, "background"),
        ("gzip", packed, "background"),
        ("plain, compiled before returning", plain, "now"),
        ("plain, JPMML-Evaluator only", plain, False),
    ):
        samples = [timed_load(data, settings, Model, compile_)[:2] for _ in range(3)]
        times[label] = tuple(statistics.median(s[i] for s in samples) for i in (0, 1))
    return times


def run_in_child(name: str, args) -> dict:
    command = [sys.executable, __file__, "--child", name, "--rounds", str(args.rounds)]
    command += ["--rows", str(args.rows), "--warmup", str(args.warmup)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name}: benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def print_tables(results: dict, args) -> None:
    print(
        f"\nMedian ms per batch of {args.rows} rows, {args.rounds} rounds, engines shuffled per round."
    )
    header = f"{'model':<16}{'PMML MB':>8}" + "".join(f"{e:>12}" for e in ENGINES)
    header += f"{'jpmml/comp':>12}{'skl1/comp':>11}{'sklall/comp':>12}"
    print(header + "\n" + "-" * len(header))
    for name, r in results.items():
        line = f"{name:<16}{r['pmml MB']:8.1f}" + "".join(f"{r[e]:12.2f}" for e in ENGINES)
        line += f"{r['jpmml'] / r['compiled']:12.1f}{r['sklearn 1'] / r['compiled']:11.2f}"
        print(line + f"{r['sklearn all'] / r['compiled']:12.2f}")
    print("\nEngine per model:")
    for name, r in results.items():
        print(f"  {name}: {r['engine']}")
    for name, r in results.items():
        if "load" in r:
            print_load(name, r["load"])
    print("\nTargets (trees only): jpmml/compiled >= 5 and sklearn 1/compiled > 1 on a batch.")
    for name, r in results.items():
        if r["engine"].startswith("compiled"):
            ok = r["jpmml"] / r["compiled"] >= 5 and r["sklearn 1"] > r["compiled"]
            print(f"  {name:<16}{'PASS' if ok else 'FAIL'}")


def print_load(name: str, load: dict) -> None:
    print(f"\nLoading {name} (seconds; warm: median of 3 loads; target: ready to score < 3 s):")
    sizes = f"PMML {load['plain MB']:.1f} MB, gzip {load['gzip MB']:.1f} MB"
    print(f"  {sizes:<36}{'ready':>8}{'compiled':>10}")
    for label in (
        "plain, first load (cold)",
        "plain",
        "gzip",
        "plain, compiled before returning",
        "plain, JPMML-Evaluator only",
    ):
        ready, compiled = load[label]
        never = label.endswith("only")
        print(f"  {label:<36}{ready:8.2f}{'-' if never else format(compiled, '.2f'):>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Compiled tree evaluator benchmark.")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--models", nargs="*", help="Models to run (default: all).")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_model(args.child, args)))
        return
    names = args.models or list(builders())
    results = {}
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = run_in_child(name, args)
    print_tables(results, args)


if __name__ == "__main__":
    main()
