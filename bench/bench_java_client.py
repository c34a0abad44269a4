"""Java client benchmark: records per second, one thread and all cores, per golden model.

    .venv/bin/python bench/bench_java_client.py [--rows 100000] [--rounds 5] [--models forest ...]

Publishes the golden cases into a temporary store, starts ``pmmlkit serve`` on it (a subprocess on
127.0.0.1, four waitress threads), compiles java_client/src/bench (``gradle benchClasses``) and,
per model, runs io.pmmlkit.bench.ClientBench in its own JVM. That program scores the same --rows
records (the golden input, tiled) with, interleaved round by round (reversed every other round) after two warm-up rounds:
- raw JPMML-Evaluator, the way its README scores a record (prepare each field, evaluate, decode);
- the embedded pmmlkit Scorer (``scoreAll``; all cores: ``scoreAll(records, true)``);
- the HTTP ServiceClient against the service (1000 records per request; all cores: concurrent
  requests).
"All cores" for raw JPMML is the records split into one slice per core on a thread pool.
It prints the median records/s of --rounds rounds and the library's overhead over raw JPMML
(target: under 10%): the median over rounds of each round's raw/embedded ratio. A measurement, not a test: the exit code is 0 whatever the numbers. The
service shares the machine with the benchmark JVM: read the HTTP columns as ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_http import HOST, PMMLKIT, ROOT, start_server, wait_ready

from pmmlkit.scoring.store import ModelStore

GOLDEN = ROOT / "tests" / "golden"
CARD = {
    "created_by": "bench",
    "description": "golden case",
    "algorithm": {"estimator": "sklearn", "params": {}},
    "input_schema": [],
    "target": {"name": "y", "kind": "classification"},
    "library_versions": {},
}
COLUMNS = [
    ("raw 1", "jpmml_raw_1"),
    ("embedded 1", "embedded_1"),
    ("raw all", "jpmml_raw_all"),
    ("embedded all", "embedded_all"),
    ("http 1", "http_1"),
    ("http all", "http_all"),
]


def run_model(name: str, url: str, rows: int, rounds: int) -> dict[str, float]:
    classpath = f"{ROOT / 'build/classes/java/bench'}:{ROOT / 'scoring/jars'}/*"
    command = ["java", "-cp", classpath, "io.pmmlkit.bench.ClientBench"]
    args = [str(GOLDEN / name), url, name, str(rows), str(rounds)]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"ClientBench failed for {name}:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    fields = dict(item.split("=") for item in line.split()[2:])
    return {key: float(value) for key, value in fields.items()}


def print_table(results: dict[str, dict[str, float]]) -> None:
    header = f"{'model':<16}" + "".join(f"{title:>14}" for title, _ in COLUMNS)
    print("records per second (median)")
    print(header + f"{'overhead 1':>12}{'overhead all':>14}")
    for name, rates in results.items():
        cells = "".join(f"{rates[key]:>14,.0f}" for _, key in COLUMNS)
        print(f"{name:<16}{cells}{rates['overhead_1']:>12.1%}{rates['overhead_all']:>14.1%}")
    print()
    print("target: the embedded scorer's overhead over raw JPMML-Evaluator under 10%")
    for name, rates in results.items():
        for threads in ("1", "all"):
            overhead = rates[f"overhead_{threads}"]
            verdict = "PASS" if overhead < 0.10 else "FAIL"
            print(f"  {name:<16} {threads:>3} thread(s) {overhead:+6.1%}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=5)
    cases = sorted(p.name for p in GOLDEN.iterdir() if (p / "model.pmml").exists())
    parser.add_argument("--models", nargs="+", default=cases, choices=cases)
    args = parser.parse_args()
    subprocess.run(
        ["gradle", "--quiet", "--console=plain", "pythonJars", "benchClasses"], cwd=ROOT, check=True
    )
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        store = Path(tmp) / "store"
        store.mkdir()
        for case in args.models:
            ModelStore(store).publish(case, (GOLDEN / case / "model.pmml").read_bytes(), CARD)
        command = [str(PMMLKIT), "serve", "--store", str(store), "--threads", "4"]
        server = start_server(
            stack, "pmmlkit", [*command, "--reload-interval", "0"], Path(tmp) / "log"
        )
        wait_ready(server, "/readyz")
        url = f"http://{HOST}:{server.port}"
        results = {}
        for name in args.models:
            print(f"{name}: {args.rows} records x {args.rounds} rounds ...", file=sys.stderr)
            results[name] = run_model(name, url, args.rows, args.rounds)
    print_table(results)


if __name__ == "__main__":
    main()
