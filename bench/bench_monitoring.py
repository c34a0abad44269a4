"""What the prediction log costs: `pmmlkit serve` with logging on against the same with it off,
side by side, in one run.

    .venv/bin/python bench/bench_monitoring.py [--replicates 3] [--rounds 4] [--seconds 2]
                                               [--inputs-rate 0.1] [--load 0.5]
                                               [--models forest ...] [--kinds batch single]

Three servers serve a copy of the demo store (pmmlkit's default --threads each, subprocesses
on 127.0.0.1): "logged" writes every prediction (and --inputs-rate of the inputs) to a SQLite
prediction log; "off" and "off-b" run with --prediction-log off. "off-b" is the control: off-b
against off is what two identical servers differ by (A/A), the noise floor the overhead must be
read against. For each model, kind (1000-row JSON batch, single record) and number of clients
(1, 4; separate processes), each server first gets --warm-seconds of untimed requests, then the
three take turns for --rounds rounds of --seconds each (who goes first rotates: a round is the
three back to back). All that --replicates times, each with three fresh server processes and a
fresh log: two identical processes differ by several % for as long as they run (the JVM's
compiled code, the interpreter's memory layout), so a single pair of processes measures that
difference as much as the log's cost. It prints p50/p95/p99 and requests per second pooled over
everything, and the p95 overhead of logging against "off" (target: at most 5%) two ways: of the
pooled latencies, with a bootstrap 95% interval over requests, and as the median of each
round's p95 ratio (paired: the servers of a round ran back to back), with a bootstrap 95%
interval over replicates and rounds; the A/A difference the same two ways; and, per replicate,
the rows the log wrote and dropped. A measurement, not a test: the exit code is 0 whatever the
numbers.

Closed-loop clients (the next request when the answer is in) with 4 clients on a 2-core machine
keep the cores saturated: there p95 is mostly queueing, and the log's CPU shows in it as lost
throughput. The paced phase ("4 @50%") asks instead what logging adds to latency under a load
the server carries: 4 clients send at a fixed rate, --load times the requests per second "off"
served closed-loop in this run (the same rate for all three servers), and latency counts from
when each request was due, so a server that falls behind pays for it (no coordinated omission).
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
ENDPOINTS = ("logged", "off", "off-b")
KINDS = {"1000 rows": "batch", "1 row": "single"}  # bench_http's payloads -> --kinds


def bench(args) -> None:
    results: dict[tuple, list[list]] = {}  # (model, kind, clients, server) -> runs per replicate
    for replicate in range(args.replicates):
        for key, runs in replicate_run(args).items():
            results.setdefault(key, []).append(runs)
        print(f"replicate {replicate + 1} of {args.replicates}: done", flush=True)
    report(results, args)


def replicate_run(args) -> dict:
    """One replicate: three fresh servers (a fresh log) through every configuration."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="pmmlkit-bench-log-") as directory:
        tmp = Path(directory)
        shutil.copytree(DEMO, tmp / "store")
        common = [str(http.PMMLKIT), "serve", "--store", str(tmp / "store"), "--host", http.HOST]
        common += ["--reload-interval", "0"]
        logged = [*common, "--prediction-log", str(tmp / "log.sqlite3")]
        logged += ["--log-inputs-rate", str(args.inputs_rate)]
        with contextlib.ExitStack() as stack:
            off = [*common, "--prediction-log", "off"]
            servers = {
                "logged": http.start_server(stack, "logged", logged, tmp / "logged.log"),
                "off": http.start_server(stack, "off", off, tmp / "off.log"),
                "off-b": http.start_server(stack, "off-b", off, tmp / "off-b.log"),
            }
            for server in servers.values():
                http.wait_ready(server, "/readyz")
            pool = http.ClientPool(max(http.CLIENTS))
            stack.callback(pool.close)
            results = measure(pool, servers, args)
            metrics = http.request_once(servers["logged"].port, "GET", "/metrics")[1].decode()
    for line in metrics.splitlines():
        if line.startswith("pmmlkit_prediction_log_"):
            print(" ", line)
    return results


def measure(pool: http.ClientPool, servers: dict, args) -> dict:
    results, round_ = {}, 0
    # bench_http's runs end at a count or a time cap: closed loop ends at --seconds; paced, at
    # its count of requests (--seconds at the pace), the cap only stopping a server far behind
    closed = argparse.Namespace(warmup=args.warmup, time_cap=args.seconds)
    paced = argparse.Namespace(warmup=args.warmup, time_cap=args.seconds + 60)
    for name in args.models:
        features = pd.read_csv(GOLDEN / name / "input.csv")
        for kind, body in http.payloads(features, 1000).items():
            if KINDS[kind] not in args.kinds:
                continue
            for server in servers.values():
                status, answer = http.request_once(
                    server.port, "POST", f"/v1/models/{name}/predict", body
                )
                if status != 200 or b'"errors":[{' in answer:
                    raise SystemExit(f"{server.name} {name} {kind}: {status} {answer[:300]!r}")
                http.warm(pool, server, f"/v1/models/{name}/predict", body, args.warm_seconds)
            path = f"/v1/models/{name}/predict"
            for clients in http.CLIENTS:
                for _ in range(args.rounds):
                    for endpoint in _turn(round_):
                        run = http.load(pool, servers[endpoint], path, body, clients, 10**9, closed)
                        results.setdefault((name, kind, str(clients), endpoint), []).append(run)
                    round_ += 1
                print(f"  {name} {kind}, {clients} client(s): done", flush=True)
            if not args.load:
                continue
            # The same offered load for the three: a share of what "off" served closed-loop
            clients = max(http.CLIENTS)
            served = results[name, kind, str(clients), "off"]
            rate = (
                args.load * sum(len(r.latencies_s) for r in served) / sum(r.wall_s for r in served)
            )
            pace = clients / rate  # seconds between two requests of one client
            count = max(int(args.seconds / pace), 1)
            label = f"{clients} @{args.load:.0%}"
            for _ in range(args.rounds):
                for endpoint in _turn(round_):
                    run = http.load(
                        pool, servers[endpoint], path, body, clients, count, paced, pace
                    )
                    results.setdefault((name, kind, label, endpoint), []).append(run)
                round_ += 1
            print(f"  {name} {kind}, {clients} clients at {rate:.0f} requests/s: done", flush=True)
    return results


def _turn(round_: int) -> tuple[str, ...]:
    """The servers in the order of this round: who goes first rotates."""
    turn = round_ % len(ENDPOINTS)
    return ENDPOINTS[turn:] + ENDPOINTS[:turn]


def p95_ratio(a_s: np.ndarray, b_s: np.ndarray, rng) -> tuple[float, float, float]:
    """p95(a) / p95(b) - 1 of the pooled latencies, with a bootstrap 95% interval (1000
    resamples of each)."""
    point = np.percentile(a_s, 95) / np.percentile(b_s, 95) - 1
    draws = [
        np.percentile(rng.choice(a_s, a_s.size), 95) / np.percentile(rng.choice(b_s, b_s.size), 95)
        - 1
        for _ in range(1000)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, low, high


def p95(run) -> float:
    return float(np.percentile(run.latencies_s, 95))


def paired_ratio(a_runs: list[list], b_runs: list[list], rng) -> tuple[float, float, float]:
    """The median of p95(a) / p95(b) - 1 within a round, over the rounds of all replicates,
    with a bootstrap 95% interval (replicates resampled, then rounds within each). A round runs
    the three servers back to back, so what slows the machine for a while (another tenant of
    the host, a client descheduled) falls on one round of all three and cancels out of its
    ratio. A replicate is three fresh server processes: two identical processes differ by a
    few % for as long as they run (the JVM's compiled code, the interpreter's memory layout),
    which no number of rounds averages out, so the interval counts replicates, not requests."""

    def within(a_replicate: list, b_replicate: list) -> np.ndarray:
        pairs = zip(a_replicate, b_replicate, strict=True)
        return np.array([p95(a) / p95(b) - 1 for a, b in pairs])

    ratios = [within(a, b) for a, b in zip(a_runs, b_runs, strict=True)]
    draws = [
        np.median(np.concatenate([rng.choice(ratios[i], ratios[i].size) for i in picked]))
        for picked in rng.integers(len(ratios), size=(2000, len(ratios)))
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(np.median(np.concatenate(ratios))), low, high


def report(results: dict, args) -> None:
    print(
        f"\nLatency per request (ms) pooled over {args.replicates} replicate(s) of "
        f"{args.rounds} rotating rounds of {args.seconds:g} s; inputs logged for "
        f"{args.inputs_rate:.0%} of rows. Against 'off': the p95 of the pooled latencies "
        "[bootstrap 95% interval over requests], and the median over rounds of the round's p95 "
        "ratio [bootstrap 95% interval over replicates and rounds]; off-b against off is the "
        "A/A noise floor."
    )
    header = (
        f"{'model':<16}{'kind':<11}{'clients':>7}  {'log':<8}{'p50':>8}{'p95':>9}{'p99':>9}"
        f"{'req/s':>9}{'n':>7}  {'pooled p95 vs off':<29}{'round p95 vs off':<28}"
    )
    print(header + "\n" + "-" * len(header))
    rng = np.random.default_rng(0)
    verdicts: dict[bool, list[tuple[bool, bool]]] = {}  # paced? -> (median, interval) within
    for (name, kind, clients, endpoint), replicates in results.items():
        runs = [run for replicate in replicates for run in replicate]
        latencies = np.concatenate([r.latencies_s for r in runs]) * 1000
        rate = len(latencies) / sum(r.wall_s for r in runs)
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
        against = ""
        if endpoint != "off":
            off_replicates = results[name, kind, clients, "off"]
            off = np.concatenate([r.latencies_s for rs in off_replicates for r in rs])
            ratio, low, high = p95_ratio(latencies, off * 1000, rng)
            paired, p_low, p_high = paired_ratio(replicates, off_replicates, rng)
            against = f"{ratio:+7.1%} [{low:+7.1%}, {high:+7.1%}]  "
            against += f"{paired:+7.1%} [{p_low:+7.1%}, {p_high:+7.1%}]"
            if endpoint == "logged":
                within = (paired <= OVERHEAD_LIMIT, p_high <= OVERHEAD_LIMIT)
                verdicts.setdefault("@" in clients, []).append(within)
        print(
            f"{name:<16}{kind:<11}{clients:>7}  {endpoint:<8}{p50:8.2f}{p95:9.2f}{p99:9.2f}"
            f"{rate:9.1f}{len(latencies):7d}  {against}"
        )
    print(
        f"\nTarget: logging adds at most {OVERHEAD_LIMIT:.0%} to p95 (read on the round p95 "
        "ratios: the median, and the upper end of its interval)."
    )
    for paced, within in sorted(verdicts.items()):
        how = f"offered {args.load:.0%} of 'off's throughput" if paced else "closed loop"
        print(
            f"  {how}: median within in {sum(m for m, _ in within)} of {len(within)} "
            f"configurations, whole interval within in {sum(i for _, i in within)}."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Prediction log on vs off, over HTTP.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed, per client.")
    parser.add_argument(
        "--warm-seconds", type=float, default=3.0, help="Untimed seconds per model, kind, server."
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="Rotating rounds (each server first in turn)."
    )
    parser.add_argument(
        "--replicates", type=int, default=3,
        help="Times the three servers are started afresh (fresh processes, fresh log).",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, default=2.0, help="Seconds per server and round (a run)."
    )
    parser.add_argument("--inputs-rate", type=float, default=0.1, help="--log-inputs-rate.")
    parser.add_argument(
        "--load",
        type=float,
        default=0.5,
        help="Paced phase: offered load as a share of what 'off' served closed-loop (0: none).",
    )
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument(
        "--kinds", nargs="*", choices=KINDS.values(), default=list(KINDS.values()),
        help="Requests of 1000 rows (batch), of one record (single).",
    )  # fmt: skip
    started = time.perf_counter()
    bench(parser.parse_args())
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
