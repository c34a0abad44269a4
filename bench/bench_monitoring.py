"""What the prediction log costs: `pmmlkit serve` with logging on against the same with it off,
side by side, in one run.

    .venv/bin/python bench/bench_monitoring.py [--batch-requests 60] [--single-requests 400]
                                               [--rounds 3] [--inputs-rate 0.1]

Both servers serve a copy of the demo store (four waitress threads each, subprocesses on
127.0.0.1): "logged" writes every prediction (and --inputs-rate of the inputs) to a SQLite
prediction log, "off" runs with --prediction-log off. For each model, kind (1000-row JSON batch,
single record) and number of clients (1, 4), the two alternate for --rounds rounds (who goes first
alternates) and the latencies of all rounds are pooled. It prints p50/p95/p99, requests per second
and the p95 overhead of logging (target: at most 5%), and the rows the log wrote and dropped.
A measurement, not a test: the exit code is 0 whatever the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_http as http  # the servers, clients and payloads of the HTTP bench

DEMO = http.ROOT / "pmml_models"
GOLDEN = http.ROOT / "tests" / "golden"
MODELS = ("logistic_mixed", "forest", "regressor")
OVERHEAD_LIMIT = 0.05


def bench(args) -> None:
    import shutil

    with tempfile.TemporaryDirectory(prefix="pmmlkit-bench-log-") as directory:
        tmp = Path(directory)
        shutil.copytree(DEMO, tmp / "store")
        common = [str(http.PMMLKIT), "serve", "--store", str(tmp / "store"), "--host", http.HOST]
        common += ["--threads", str(http.SERVER_THREADS), "--reload-interval", "0"]
        logged = [*common, "--prediction-log", str(tmp / "log.sqlite3")]
        logged += ["--log-inputs-rate", str(args.inputs_rate)]
        with contextlib.ExitStack() as stack:
            servers = {
                "logged": http.start_server(stack, "logged", logged, tmp / "logged.log"),
                "off": http.start_server(
                    stack, "off", [*common, "--prediction-log", "off"], tmp / "off.log"
                ),
            }
            for server in servers.values():
                http.wait_ready(server, "/readyz")
            results = measure(servers, args)
            metrics = http.request_once(servers["logged"].port, "GET", "/metrics")[1].decode()
    report(results, args)
    for line in metrics.splitlines():
        if line.startswith("pmmlkit_prediction_log_"):
            print(line)


def measure(servers: dict, args) -> dict:
    results, round_ = {}, 0
    for name in args.models:
        features = pd.read_csv(GOLDEN / name / "input.csv")
        for kind, body in http.payloads(features, 1000).items():
            for server in servers.values():
                status, answer = http.request_once(
                    server.port, "POST", f"/v1/models/{name}/predict", body
                )
                if status != 200 or b'"errors":[{' in answer:
                    raise SystemExit(f"{server.name} {name} {kind}: {status} {answer[:300]!r}")
            count = args.single_requests if kind == "1 row" else args.batch_requests
            for clients in http.CLIENTS:
                for _ in range(args.rounds):
                    order = ("logged", "off") if round_ % 2 == 0 else ("off", "logged")
                    round_ += 1
                    for endpoint in order:
                        path = f"/v1/models/{name}/predict"
                        run = http.load(servers[endpoint], path, body, clients, count, args)
                        pooled = results.setdefault((name, kind, clients, endpoint), [])
                        pooled.append(run)
                print(f"  {name} {kind}, {clients} client(s): done", flush=True)
    return results


def report(results: dict, args) -> None:
    print(
        f"\nLatency per request (ms) pooled over {args.rounds} alternating rounds; "
        f"inputs logged for {args.inputs_rate:.0%} of rows."
    )
    header = (
        f"{'model':<16}{'kind':<11}{'clients':>7}  {'log':<8}{'p50':>8}{'p95':>9}{'p99':>9}"
        f"{'req/s':>9}{'n':>6}{'p95 overhead':>14}"
    )
    print(header + "\n" + "-" * len(header))
    verdicts = []
    for (name, kind, clients, endpoint), runs in results.items():
        latencies = np.concatenate([r.latencies_s for r in runs]) * 1000
        rate = len(latencies) / sum(r.wall_s for r in runs)
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
        overhead = ""
        if endpoint == "logged":
            off = np.concatenate([r.latencies_s for r in results[name, kind, clients, "off"]])
            ratio = p95 / np.percentile(off * 1000, 95) - 1
            overhead = f"{ratio:+13.1%}"
            verdicts.append(ratio <= OVERHEAD_LIMIT)
        print(
            f"{name:<16}{kind:<11}{clients:>7}  {endpoint:<8}{p50:8.2f}{p95:9.2f}{p99:9.2f}"
            f"{rate:9.1f}{len(latencies):6d}{overhead}"
        )
    print(
        f"\nTarget: logging adds at most {OVERHEAD_LIMIT:.0%} to p95: "
        f"{sum(verdicts)} of {len(verdicts)} configurations PASS."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Prediction log on vs off, over HTTP.")
    parser.add_argument("--batch-requests", type=int, default=60, help="Per client, per round.")
    parser.add_argument("--single-requests", type=int, default=400, help="Per client, per round.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed, per client thread.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds.")
    parser.add_argument("--time-cap", type=float, default=30.0, help="Seconds per run.")
    parser.add_argument("--inputs-rate", type=float, default=0.1, help="--log-inputs-rate.")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    started = time.perf_counter()
    bench(parser.parse_args())
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
