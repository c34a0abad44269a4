"""What the prediction log costs, read inside one service: logging switched on and off by the
second in one server process, with an A/A control.

    .venv/bin/python bench/bench_log_overhead.py [--seconds 90] [--closed-seconds S]
                                                 [--slot 1.0] [--settle 0.3]
                                                 [--clients 4] [--load 0.3]
                                                 [--inputs-rate 0.1] [--warm-seconds 5]
                                                 [--models regressor forest ...]
                                                 [--kinds batch single]

bench_monitoring.py compares log-on and log-off servers, separate processes: two identical
processes differ by several % for as long as they run (the JVM's compiled code, the
interpreter's memory layout), so it needs replicates of fresh processes and its intervals stay
wide (+6 to +21% for 1000-row requests, the A/A control -7 to +4%). Here one service (this
file with --serve: pmmlkit's Service on 127.0.0.1, a SQLite prediction log in a temporary
directory, the demo store, the service's defaults otherwise) serves all the time, and a thread
of it switches the log on (the request path records every request as it does in production)
or off (nothing recorded; the writer process idles) at each wall-clock slot of --slot seconds.
Three slots make a cycle, one for each arm "on", "off" and "off-b" (off again: the A/A control),
in an order that takes each of the six orders once per six cycles (see arms_of). For each model
and kind (1000-row JSON batch, single record), after --warm-seconds untimed, --clients clients
(separate processes, one persistent connection each) send its requests for --seconds closed loop
(or --closed-seconds; the next request when the answer is in: the cores saturated, the log's CPU
shows as lost throughput), then for --seconds paced at --load times the requests a second "off"
served (latency from when each request was due: what logging adds under a load the service
carries). --load is 0.3 by default, not 0.5: this machine's speed moves by up to 2x within
minutes (2026-12-07: the regressor's 1000-row requests closed loop at 568, 300 and 458 a second
in three runs), so half of what a fast minute served saturated a slow one (the paced phase's p95
of "off" 4 to 186 ms for single records). In the slowest run, steal took a third of the CPU and
even 30% saturated (p50 11.3 ms paced, 12.3 ms closed loop): read the steal column. A request
counts for the arm of the slot it started in, unless it started in the slot's first --settle
seconds (the writer then still writes the last slot's records; a thread switched at the boundary
may run a little late). The p95 of each arm's requests pooled, "on" and "off-b" against "off",
with a bootstrap 95% interval over cycles (a cycle's requests are resampled together: what slows
the machine for a few seconds falls on the three arms of a cycle alike). Requests per second per
arm too, and where the CPU goes: per request, the service process's (by thread: Python threads
by name, the JVM's by its own), the log's writer process's and the monitoring reports' worker's,
read from /proc at each slot boundary and summed per arm. A measurement, not a test: the exit
code is 0 whatever the numbers. scikit-learn and pypmml have no prediction log to compare with:
this bench compares pmmlkit with itself.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import math
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_http as http  # payloads, request_once

ARMS = ("on", "off", "off-b")
MODELS = ("regressor", "forest", "logistic_mixed")
KINDS = {"1000 rows": "batch", "1 row": "single"}  # bench_http's payloads -> --kinds
OVERHEAD_LIMIT = 0.05
# The whole machine's, from /proc/stat: its busy CPU time (every process, the clients and the
# kernel's threads included) and its steal (CPU time the hypervisor gave other machines while
# this one's cores wanted it).
BUSY, STEAL = "machine:busy", "machine:steal"
SEED = 20261203


ORDERS = list(itertools.permutations(ARMS))


def arms_of(cycle: int) -> tuple[str, ...]:
    """The order of the arms in a cycle: the same in the server and the analysis. Each run of
    six cycles takes the six orders, shuffled: within them each arm follows "on" (whose records
    the writer may still be writing) equally often, which orders drawn per cycle left to
    chance. (It did not narrow the A/A arm's spread: 2026-12-07, 60 s runs, off-b against off
    -1.9 to +12.8% at p95 closed loop, as -10.6 to +2.1% with orders drawn per cycle.)"""
    orders = ORDERS.copy()
    random.Random(SEED * 1_000_003 + cycle // len(orders)).shuffle(orders)
    return orders[cycle % len(orders)]


def arm_at(moment: float, slot_s: float) -> tuple[int, str]:
    """The cycle and the arm of the slot a wall-clock moment falls in."""
    cycle, position = divmod(math.floor(moment / slot_s), len(ARMS))
    return cycle, arms_of(cycle)[position]


# -- the service, in its own process --------------------------------------------------------------


def serve(directory: Path, inputs_rate: float, slot_s: float) -> None:
    """pmmlkit's Service as `pmmlkit serve` runs it (garbage collector frozen after loading;
    access lines on stdout) on the store in ``directory``, its port written to the file "port"
    there, the log switched by the slot until stdin closes."""
    import threading

    from pmmlkit.scoring.server import Service
    from pmmlkit.scoring.settings import Settings

    settings = Settings(
        store=directory / "store", port=0, prediction_log=str(directory / "log.sqlite3"),
        log_inputs_rate=inputs_rate,
        reload_interval=0,
    )  # fmt: skip
    with Service(settings).start() as service:
        gc.collect()
        gc.freeze()
        observed, prediction_log = service.app, service.log  # the middleware that records
        ended = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), ended.set()), daemon=True).start()
        (directory / "port.tmp").write_text(str(service.port))
        (directory / "port.tmp").rename(directory / "port")
        with (directory / "cpu.tsv").open("a") as cpu:
            while not ended.is_set():
                now = time.time()
                _, arm = arm_at(now, slot_s)
                observed.log = prediction_log if arm == "on" else None
                slot = math.floor(now / slot_s)
                for name, seconds in cpu_seconds().items():  # what the last slot used
                    cpu.write(f"{slot}\t{name}\t{seconds}\n")
                cpu.flush()
                ended.wait((slot + 1) * slot_s - time.time() + 0.0005)
        observed.log = prediction_log  # what is queued is written on close


def cpu_seconds() -> dict[str, float]:
    """User + system CPU so far of this process's threads by kind ("service:" and a Python
    thread's name, digits dropped, or a JVM thread's: "service:waitress", "service:C2
    CompilerThre") and of each of its processes (the log's writer "pmmlkit-predlog", the
    monitoring reports' worker); Linux."""
    import threading

    ticks = os.sysconf("SC_CLK_TCK")
    named = {t.native_id: t.name for t in threading.enumerate()}
    found: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError, ValueError):
            head, tail = (task / "stat").read_text().rsplit(")", 1)
            kind = named.get(int(task.name), head.split("(", 1)[1])
            kind = "service:" + re.sub(r"[-_ #]*\d+$", "", kind)
            fields = tail.split()
            found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[child.name] = (int(fields[11]) + int(fields[12])) / ticks
    with contextlib.suppress(OSError, IndexError, ValueError):  # all cores: /proc/stat's "cpu"
        user, nice, system, _, _, irq, softirq, steal = (
            Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
        )
        found[BUSY] = sum(int(t) for t in (user, nice, system, irq, softirq)) / ticks
        found[STEAL] = int(steal) / ticks
    return found


# -- clients --------------------------------------------------------------------------------------


def client(connection) -> None:
    """A client in its own process: for each job, requests on one connection until the job's
    wall-clock end; sends back each request's start (wall clock) and latency. Closed loop (the
    next request when the answer is in) unless the job has a pace: then request i is due at
    start + pace * (i + a random offset), its start is when it was due and its latency counts
    from then, so a service that falls behind is charged for the wait (no coordinated
    omission)."""
    while (job := connection.recv()) is not None:
        port, path, body, until, pace_s = job
        starts, latencies, failed = [], [], 0
        link = HTTPConnection(http.HOST, port, timeout=120)
        wall, tick = time.time(), time.perf_counter()  # wall clock = wall + (perf - tick)
        offset = random.random()  # the clients' requests interleave rather than come together
        try:
            for i in itertools.count():
                began = time.perf_counter()
                if pace_s is not None:
                    began = tick + pace_s * (i + offset)
                    wait = began - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                if wall + began - tick >= until:
                    break
                failed += http.post(link, path, body) != 200
                latencies.append(time.perf_counter() - began)
                starts.append(wall + began - tick)
        except Exception as error:  # reported by the bench, which then stops
            connection.send((None, None, repr(error)))
            continue
        finally:
            link.close()
        connection.send((np.array(starts), np.array(latencies), failed))


class Clients(http.ClientPool):
    def __init__(self, size: int):
        super().__init__(size, client)

    def run(self, port: int, path: str, body: bytes, seconds: float, rate=None) -> tuple:
        """All clients for ``seconds``, closed loop or together sending ``rate`` requests a
        second: every request's start and latency."""
        until = time.time() + seconds
        pace_s = None if rate is None else len(self.pipes) / rate
        for pipe in self.pipes:
            pipe.send((port, path, body, until, pace_s))
        starts, latencies = [], []
        for pipe in self.pipes:
            if not pipe.poll(seconds + 180):
                raise SystemExit("A client gave no answer.")
            got_starts, got_latencies, failed = pipe.recv()
            if got_starts is None or failed:
                raise SystemExit(f"A client of {path} failed: {failed}")
            starts.append(got_starts)
            latencies.append(got_latencies)
        return np.concatenate(starts), np.concatenate(latencies), until - seconds, until


# -- analysis -------------------------------------------------------------------------------------


def by_cycle(starts, latencies, began: float, ended: float, slot_s: float, settle_s: float):
    """The latencies of the whole cycles within [began, ended): per cycle, per arm."""
    slots = np.floor(starts / slot_s).astype(np.int64)
    settled = starts - slots * slot_s >= settle_s
    cycles = {}
    width = slot_s * len(ARMS)
    for slot in np.unique(slots):
        cycle, position = divmod(int(slot), len(ARMS))
        if cycle * width < began or (cycle + 1) * width > ended:
            continue
        chosen = (slots == slot) & settled
        cycles.setdefault(cycle, {})[arms_of(cycle)[position]] = latencies[chosen]
    return [arms for arms in cycles.values() if len(arms) == len(ARMS)]


def cpu_by_arm(path: Path, starts, _latencies, began: float, ended: float, slot_s: float) -> dict:
    """Per arm, the CPU per request (ms) of each kind of thread or process that cpu_seconds
    reads: each slot's CPU (between the service's readings at its boundaries) and requests
    (all that started in it) summed per arm, whole cycles only."""
    readings: dict[int, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        slot, name, seconds = line.split("\t")
        readings.setdefault(int(slot), {}).setdefault(name, float(seconds))
    slots, counts = np.unique(np.floor(starts / slot_s).astype(np.int64), return_counts=True)
    counts = dict(zip(slots.tolist(), counts.tolist(), strict=True))
    width = slot_s * len(ARMS)
    used = {arm: {} for arm in ARMS}
    requests = dict.fromkeys(ARMS, 0)
    for slot, before in readings.items():
        cycle, position = divmod(slot, len(ARMS))
        after = readings.get(slot + 1)
        if after is None or cycle * width < began or (cycle + 1) * width > ended:
            continue
        arm = arms_of(cycle)[position]
        requests[arm] += counts.get(slot, 0)
        for name, seconds in after.items():
            used[arm][name] = used[arm].get(name, 0.0) + seconds - before.get(name, seconds)
    return {
        arm: {name: 1000 * cpu / max(requests[arm], 1) for name, cpu in sums.items()}
        for arm, sums in used.items()
    }


def parts(cpu: dict[str, float]) -> dict[str, float]:
    """A slot's CPU per request by process: the service, the log's writer, the others."""
    found = dict.fromkeys(("service", "writer", "others"), 0.0)
    for name, ms in cpu.items():
        if name.startswith("machine:"):
            continue
        if name.startswith("service:"):
            found["service"] += ms
        else:
            found["writer" if name == "pmmlkit-predlog" else "others"] += ms
    return found


def p95_against_off(cycles: list[dict], arm: str, rng) -> tuple[float, float, float]:
    """p95(arm) / p95(off) - 1 of the pooled requests, with a bootstrap 95% interval over
    cycles (2000 resamples)."""

    def ratio(picked) -> float:
        ours = np.concatenate([cycles[i][arm] for i in picked])
        off = np.concatenate([cycles[i]["off"] for i in picked])
        return np.percentile(ours, 95) / np.percentile(off, 95) - 1

    point = ratio(range(len(cycles)))
    draws = [ratio(picked) for picked in rng.integers(len(cycles), size=(2000, len(cycles)))]
    low, high = np.percentile(draws, [2.5, 97.5])
    return point, low, high


def rates(cycles: list[dict], args) -> dict[str, float]:
    """Each arm's requests a second over the counted part of its slots."""
    counted_s = len(cycles) * (args.slot - args.settle)
    return {arm: sum(c[arm].size for c in cycles) / counted_s for arm in ARMS}


def report(results: dict, args) -> None:
    print(
        f"\nLatency per request (ms), {args.clients} clients (closed loop, then paced: from when "
        "each request was due), one service whose log "
        f"is on or off by {args.slot:g} s slot (a slot's first {args.settle:g} s not counted); "
        f"inputs logged for {args.inputs_rate:.0%} of rows. p95 against 'off' with a bootstrap "
        "95% interval over cycles; off-b against off is the A/A noise floor."
    )
    header = (
        f"{'model':<16}{'kind':<11}{'load':<8}{'log':<7}{'p50':>8}{'p95':>9}{'p99':>9}{'req/s':>9}"
        f"{'n':>8}  {'p95 vs off':<27}{'req/s vs off':>12}"
    )
    print(header + "\n" + "-" * len(header))
    rng = np.random.default_rng(0)
    within: dict[str, list] = {}  # load -> (point, interval) within the target
    for (name, kind, load), (cycles, _) in results.items():
        served = rates(cycles, args)
        for arm in ARMS:
            latencies = np.concatenate([c[arm] for c in cycles]) * 1000
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
            against = ""
            if arm != "off":
                ratio, low, high = p95_against_off(cycles, arm, rng)
                against = f"{ratio:+7.1%} [{low:+7.1%}, {high:+7.1%}]  "
                against += f"{served[arm] / served['off'] - 1:+10.1%}"
                if arm == "on":
                    verdict = (ratio <= OVERHEAD_LIMIT, high <= OVERHEAD_LIMIT)
                    within.setdefault(load, []).append(verdict)
            print(
                f"{name:<16}{kind:<11}{load:<8}{arm:<7}{p50:8.2f}{p95:9.2f}{p99:9.2f}"
                f"{served[arm]:9.1f}{latencies.size:8d}  {against}"
            )
    print(
        "\nCPU per request (ms) of the service process (the JVM's threads included), the "
        "log's writer process and the others (the monitoring reports' worker), over each "
        "arm's whole slots; the clients not counted. Then the whole machine's (/proc/stat, not "
        "in the total): busy, the clients and the kernel's threads included, and steal, what "
        "the hypervisor gave other machines while this one's cores wanted it (large steal, "
        "large noise)."
    )
    header = f"{'model':<16}{'kind':<11}{'load':<8}{'log':<7}" + "".join(
        f"{p:>10}" for p in ("service", "writer", "others")
    )
    header += f"{'total':>10}{'vs off':>9}{'machine':>9}{'steal':>9}"
    print(header + "\n" + "-" * len(header))
    for (name, kind, load), (_, cpu) in results.items():
        off = sum(parts(cpu["off"]).values())
        for arm in ARMS:
            split = parts(cpu[arm])
            total = sum(split.values())
            columns = "".join(f"{ms:10.3f}" for ms in split.values())
            print(
                f"{name:<16}{kind:<11}{load:<8}{arm:<7}{columns}{total:10.3f}"
                f"{total / off - 1:+9.1%}{cpu[arm].get(BUSY, math.nan):9.3f}"
                f"{cpu[arm].get(STEAL, math.nan):9.3f}"
            )
    print("\nThe service's CPU per request (ms) by thread (0.01 ms or more in an arm):")
    for (name, kind, load), (_, cpu) in results.items():
        threads = sorted({t for arm in ARMS for t in cpu[arm] if t.startswith("service:")})
        for thread in threads:
            used = [cpu[arm].get(thread, 0.0) for arm in ARMS]
            if max(used) >= 0.01:
                figures = "".join(f"{arm} {ms:7.3f}  " for arm, ms in zip(ARMS, used, strict=True))
                print(f"  {name:<16}{kind:<11}{load:<8}{thread[8:]:<24}{figures}")
    print(f"\nTarget: logging adds at most {OVERHEAD_LIMIT:.0%} to p95.")
    for load, verdicts in within.items():
        how = "closed loop" if load == "closed" else f"paced at {load} of what 'off' served"
        print(
            f"  {how}: the point within in {sum(p for p, _ in verdicts)} of {len(verdicts)} "
            f"configurations, the whole interval within in {sum(i for _, i in verdicts)}."
        )


def wait_for_port(server: subprocess.Popen, path: Path) -> int:
    deadline = time.monotonic() + http.READY_TIMEOUT_S
    while not path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The service did not start (exit code {server.poll()}).")
        time.sleep(0.1)
    return int(path.read_text())


def bench(args) -> None:
    with tempfile.TemporaryDirectory(prefix="pmmlkit-bench-overhead-") as directory:
        tmp = Path(directory)
        shutil.copytree(http.ROOT / "pmml_models", tmp / "store")
        command = [sys.executable, __file__, "--serve", str(tmp)]
        command += ["--inputs-rate", str(args.inputs_rate), "--slot", str(args.slot)]
        with contextlib.ExitStack() as stack:
            output = stack.enter_context((tmp / "service.out").open("wb"))
            server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=output, cwd=http.ROOT)
            stack.callback(server.wait, timeout=120)
            stack.callback(server.stdin.close)
            port = wait_for_port(server, tmp / "port")
            clients = Clients(args.clients)
            stack.callback(clients.close)
            results = {}
            for name in args.models:
                features = pd.read_csv(http.ROOT / "tests" / "golden" / name / "input.csv")
                for kind, body in http.payloads(features, 1000).items():
                    if KINDS[kind] not in args.kinds:
                        continue
                    path = f"/v1/models/{name}/predict"
                    status, answer = http.request_once(port, "POST", path, body)
                    if status != 200 or b'"errors":[{' in answer:
                        raise SystemExit(f"{name} {kind}: {status} {answer[:300]!r}")
                    clients.run(port, path, body, args.warm_seconds)
                    rate = None  # closed loop first; then, paced, a share of what off served
                    for load in ("closed", f"{args.load:.0%}")[: 1 + bool(args.load)]:
                        seconds = args.seconds if rate else args.closed_seconds or args.seconds
                        run = clients.run(port, path, body, seconds, rate)
                        cycles = by_cycle(*run, args.slot, args.settle)
                        results[name, kind, load] = (
                            cycles,
                            cpu_by_arm(tmp / "cpu.tsv", *run, args.slot),
                        )
                        rate = args.load * rates(cycles, args)["off"]
                        print(f"  {name} {kind} {load}: {len(cycles)} cycles, {run[0].size} "
                              "requests", flush=True)  # fmt: skip
            metrics = http.request_once(port, "GET", "/metrics")[1].decode().splitlines()
            print(*(line for line in metrics if line.startswith("pmmlkit_prediction_log_")),
                  sep="\n")  # fmt: skip
    report(results, args)


def main() -> None:
    parser = argparse.ArgumentParser(description="Prediction log on vs off in one service.")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the service's process
    parser.add_argument(
        "--seconds", type=float, default=90.0, help="Timed seconds per model and kind."
    )
    parser.add_argument(
        "--closed-seconds", type=float,
        help="Timed seconds of the closed loop, if not --seconds (it also sets the paced rate).",
    )  # fmt: skip
    parser.add_argument(
        "--warm-seconds", type=float, default=5.0, help="Untimed, per model and kind."
    )
    parser.add_argument("--slot", type=float, default=1.0, help="Seconds the log stays on or off.")
    parser.add_argument(
        "--settle", type=float, default=0.3, help="A slot's first seconds, not counted."
    )
    parser.add_argument("--clients", type=int, default=4, help="Client processes.")
    parser.add_argument(
        "--load", type=float, default=0.3,
        help="Then paced: this share of the requests a second 'off' served closed loop (0: none).",
    )  # fmt: skip
    parser.add_argument("--inputs-rate", type=float, default=0.1, help="--log-inputs-rate.")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument(
        "--kinds", nargs="*", choices=KINDS.values(), default=list(KINDS.values()),
        help="Requests of 1000 rows (batch), of one record (single).",
    )  # fmt: skip
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.inputs_rate, args.slot)
        return
    if not 0 <= args.settle < args.slot:
        parser.error("--settle must be at least 0 and less than --slot")
    started = time.perf_counter()
    bench(args)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
