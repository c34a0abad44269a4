"""HTTP benchmark: `pmmlkit serve` against a minimal scikit-learn service, side by side, in one run.

    .venv/bin/python bench/bench_http.py [--batch-requests 40] [--single-requests 300]
                                         [--warmup 10] [--warm-seconds 3] [--rows 1000]
                                         [--time-cap 60] [--threads T]
                                         [--models forest forest100 ...]

Into a temporary store it publishes the demo models exactly as ``pmmlkit.converter.demo``
does, plus bench_trees.py's "forest100" (100 trees of depth 12 on 20,000 rows: a 30 MB PMML) and
"hgb100" (histogram gradient boosting, 100 iterations, numeric and text fields), and
joblib-dumps the very same fitted pipelines next to it. Then it starts two servers as
subprocesses on 127.0.0.1:
- pmmlkit: ``pmmlkit serve --threads T --reload-interval 0`` (T: --threads, by default the
  service's own default; defaults otherwise: the prediction log is on),
  POST /v1/models/<name>/predict, timed once every background compile has ended;
- baseline: a Bottle app on waitress (4 threads) in this file (``--baseline-server DIR --port P``),
  POST /predict/<name>: a pandas frame from the records, ``predict_proba`` (classifiers) or
  ``predict`` (regressors), JSON lists back.
Both get byte-identical JSON bodies: {"records": [...]} with --rows rows of the model's training
frame (tiled when shorter; NaN as null) and {"record": {...}} with its first row. For every model,
kind and number of clients (1, 4: separate processes, so that no client waits for another's GIL; one
persistent http.client connection each), the two
endpoints run one after the other (which one goes first alternates): --warmup untimed requests per
connection, then a bounded number of timed requests per connection, within --time-cap seconds.
Before a model's first configuration, each endpoint gets --warm-seconds of untimed requests of
each kind (the JVM's JIT compiles the model's paths then, not during the timed requests).
It prints latency percentiles, requests per second, the CPU the server used over the timed phase
(200% = both cores of a 2-core machine) and the CPU of the client processes, then the
targets with PASS/FAIL. It is a measurement, not a test: the exit code is 0 whatever the numbers.
The clients share the machine with the servers: on 2 cores, read the ratios, not the digits.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PMMLKIT = Path(sys.executable).with_name("pmmlkit")
HOST = "127.0.0.1"
BASELINE_THREADS = 4  # waitress's default
CLIENTS = (1, 4)
ENDPOINTS = ("pmmlkit", "baseline")
READY_TIMEOUT_S = 180
MAX_BODY_BYTES = 16 << 20  # pmmlkit's default --max-body-bytes
HEADERS = {"Content-Type": "application/json"}
BATCH_P95_LIMIT_MS = 100.0
SINGLE_P99_LIMIT_MS = 5.0
P95_RATIO_LIMIT = 1.5


# -- models -----------------------------------------------------------------------------------


def build_models(store_dir: Path, pipelines_dir: Path) -> dict[str, pd.DataFrame]:
    """Publishes the demo models and forest100 into the store, dumps the same fitted pipelines
    for the baseline; returns each model's feature frame (training frame without the target)."""
    import joblib

    from pmmlkit.converter.card import fingerprint
    from pmmlkit.converter.convert import ConvertOptions, convert
    from pmmlkit.converter.demo import TARGETS, publish_demo
    from pmmlkit.converter.demo_pipelines import CASES, SEED
    from pmmlkit.scoring.settings import Settings
    from pmmlkit.scoring.store import ModelStore

    settings = Settings(store=store_dir)
    store = ModelStore(store_dir)
    started = time.perf_counter()
    published = {name: version for name, version, _ in publish_demo(store, settings)}
    from bench_trees import DESCRIPTIONS
    from bench_trees import TARGETS as TREE_TARGETS
    from bench_trees import builders as tree_builders

    extra = {name: build for name, build in tree_builders().items() if name in DESCRIPTIONS}
    builders = {**CASES, **extra}
    targets = {**TARGETS, **TREE_TARGETS}
    frames = {}
    for index, (name, build) in enumerate(builders.items()):
        # The builders are seeded: the same call as publish_demo's gives the same fit.
        pipeline, train, _ = build(np.random.default_rng([SEED, index]))
        if name in extra:
            card = convert(
                pipeline,
                train,
                target=targets[name],
                name=name,
                description=DESCRIPTIONS[name],
                store=store,
                settings=settings,
                options=ConvertOptions(created_by="pmmlkit bench"),
            )
            published[name] = card["version"]
        card = store.card(name, published[name])
        if card["training_data"]["sha256"] != fingerprint(train)["sha256"]:
            raise SystemExit(f"{name}: the rebuilt training frame differs from the published one")
        features = train.drop(columns=[targets[name]])
        joblib.dump(
            {
                "pipeline": pipeline,
                "columns": list(features.columns),
                "dtypes": {c: str(t) for c, t in features.dtypes.items()},
                "classifier": hasattr(pipeline, "predict_proba"),
            },
            pipelines_dir / f"{name}.joblib",
        )
        frames[name] = features
    print(f"Built and published {len(frames)} models in {time.perf_counter() - started:.0f} s.")
    return frames


# -- the baseline server ------------------------------------------------------------------------


def baseline_app(directory: Path):
    import bottle
    import joblib

    models = {path.stem: joblib.load(path) for path in sorted(directory.glob("*.joblib"))}
    app = bottle.Bottle()

    @app.get("/healthz")
    def healthz():
        bottle.response.content_type = "application/json"
        return json.dumps({"status": "ok", "models": sorted(models)})

    @app.post("/predict/<name>")
    def predict(name):
        bundle = models.get(name)
        if bundle is None:
            bottle.response.status = 404
            return json.dumps({"error": f"no model {name}"})
        # Read like pmmlkit reads (bottle's request.json stops at MEMFILE_MAX, 100 kB).
        payload = json.loads(bottle.request.body.read(MAX_BODY_BYTES + 1))
        records = [payload["record"]] if "record" in payload else payload["records"]
        # The training dtypes: a column all null (one record) must stay numeric, text object.
        frame = pd.DataFrame(records, columns=bundle["columns"]).astype(bundle["dtypes"])
        pipeline = bundle["pipeline"]
        bottle.response.content_type = "application/json"
        if bundle["classifier"]:
            answer = {
                "classes": [str(c) for c in pipeline.classes_],
                "probabilities": pipeline.predict_proba(frame).tolist(),
            }
        else:
            answer = {"predictions": pipeline.predict(frame).tolist()}
        return json.dumps(answer)

    return app


def run_baseline_server(directory: Path, port: int) -> None:
    import waitress

    waitress.serve(
        baseline_app(directory),
        host=HOST,
        port=port,
        threads=BASELINE_THREADS,
        max_request_body_size=MAX_BODY_BYTES,
        ident="baseline",
    )


# -- servers as subprocesses --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the server process, all threads (JVM included); Linux only."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(stack: contextlib.ExitStack, name: str, command: list[str], log: Path) -> Server:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
    server = Server(name, process, port, log)
    stack.callback(server.stop)
    return server


def wait_ready(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"The {server.name} server exited with code {server.process.returncode}:\n"
                + server.tail()
            )
        try:
            status, _ = request_once(server.port, "GET", path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(
        f"The {server.name} server was not ready within {READY_TIMEOUT_S} s:\n" + server.tail()
    )


def wait_compiled(server: Server, names: list[str]) -> None:
    """Waits until no model compiles in the background any more (a model serves, by
    JPMML-Evaluator, before its compile and check end: timing then would measure both)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    for name in names:
        while time.monotonic() < deadline:
            status, answer = request_once(server.port, "GET", f"/v1/models/{name}")
            if status == 200 and "in the background" not in json.loads(answer)["engine"]:
                break
            time.sleep(0.25)


def request_once(port: int, method: str, path: str, body: bytes | None = None):
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=HEADERS if body else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- payloads -----------------------------------------------------------------------------------


def json_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: NaN as None, numbers as Python numbers, text as text."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def encode(value) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()


def payloads(features: pd.DataFrame, rows: int) -> dict[str, bytes]:
    batch = features.iloc[np.resize(np.arange(len(features)), rows)]
    return {
        f"{rows} rows": encode({"records": json_records(batch)}),
        "1 row": encode({"record": json_records(features.head(1))[0]}),
    }


def paths(name: str) -> dict[str, str]:
    return {"pmmlkit": f"/v1/models/{name}/predict", "baseline": f"/predict/{name}"}


def check_answers(servers: dict[str, Server], name: str, bodies: dict[str, bytes], rows: int):
    """Once per model and kind: both answer 200, pmmlkit with no row errors."""
    for kind, body in bodies.items():
        for endpoint, path in paths(name).items():
            status, answer = request_once(servers[endpoint].port, "POST", path, body)
            where = f"{endpoint} {path} ({kind})"
            if status != 200:
                raise SystemExit(f"{where} answered {status}: {answer[:1000].decode()}")
            if endpoint != "pmmlkit":
                continue
            answer = json.loads(answer)
            if answer.get("errors"):
                raise SystemExit(f"{where} answered row errors: {answer['errors'][:5]}")
            if kind != "1 row" and len(answer.get("results", ())) != rows:
                raise SystemExit(f"{where} answered {len(answer.get('results', ()))} results")


# -- load ---------------------------------------------------------------------------------------


@dataclass
class Run:
    latencies_s: list[float] = field(default_factory=list)
    failed: int = 0
    wall_s: float = 0.0
    server_cpu_s: float | None = None
    client_cpu_s: float = 0.0


def client_process(connection) -> None:
    """A client in its own process (clients in threads of one process would queue for its GIL
    and time that too): runs the jobs the bench sends until it sends None."""
    while (job := connection.recv()) is not None:
        try:
            connection.send(run_job(connection, *job))
        except Exception as error:  # reported by the bench, which then stops
            connection.send(([], 0, 0.0, repr(error)))


def run_job(connection, port, path, body, warmup, count, time_cap, pace_s=None):
    """One persistent HTTP connection: the warm-up requests, "ready", then on "go" the timed
    requests until ``count`` or the time cap; returns (latencies, failed, CPU seconds, None).
    Closed loop (the next request when the answer is in) unless ``pace_s``: then request i is
    due at ``go + pace_s * (i + random offset)`` and its latency counts from when it was due,
    so a server that falls behind is charged for the wait too (no coordinated omission)."""
    http_connection = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        for _ in range(warmup):
            post(http_connection, path, body)
        connection.send("ready")
        connection.recv()  # go
        latencies, failed = [], 0
        cpu_start = time.process_time()
        start = time.perf_counter()
        deadline = start + time_cap
        offset = random.random()  # clients' requests interleave rather than arrive together
        for i in range(count):
            if time.perf_counter() > deadline:
                break
            began = time.perf_counter()
            if pace_s is not None:
                due = start + pace_s * (i + offset)
                if due > began:
                    time.sleep(due - began)
                began = due
            status = post(http_connection, path, body)
            latencies.append(time.perf_counter() - began)
            failed += status != 200
        return latencies, failed, time.process_time() - cpu_start, None
    finally:
        http_connection.close()


def post(http_connection, path: str, body: bytes) -> int:
    http_connection.request("POST", path, body=body, headers=HEADERS)
    response = http_connection.getresponse()
    response.read()
    return response.status


class ClientPool:
    """``size`` client processes (spawned: nothing of the bench's state is shared), reused by
    every configuration; each runs ``target`` (client_process, or another bench's) on its end
    of a pipe."""

    def __init__(self, size: int, target=client_process):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=target, args=(child,), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=10)


def load(
    pool: ClientPool,
    server: Server,
    path: str,
    body: bytes,
    clients: int,
    count: int,
    args,
    pace_s: float | None = None,
) -> Run:
    """``clients`` clients, each ``args.warmup`` untimed requests, then ``count`` timed ones
    within ``args.time_cap`` seconds; closed loop, or each client one request every ``pace_s``
    seconds (see run_job)."""
    pipes = pool.pipes[:clients]
    for pipe in pipes:
        pipe.send((server.port, path, body, args.warmup, count, args.time_cap, pace_s))
    problems = [answer[3] for answer in map(_recv, pipes) if answer != "ready"]
    if problems:
        raise SystemExit(f"A client of {server.name} {path} failed: {problems[0]}")
    run = Run()
    server_cpu = server.cpu_seconds()
    began = time.perf_counter()
    for pipe in pipes:
        pipe.send("go")
    for latencies, failed, cpu, problem in map(_recv, pipes):
        if problem is not None:
            raise SystemExit(f"A client of {server.name} {path} failed: {problem}")
        run.latencies_s.extend(latencies)
        run.failed += failed
        run.client_cpu_s += cpu
    run.wall_s = time.perf_counter() - began
    cpu_after = server.cpu_seconds()
    if server_cpu is not None and cpu_after is not None:
        run.server_cpu_s = cpu_after - server_cpu
    return run


def warm(pool: ClientPool, server: Server, path: str, body: bytes, seconds: float) -> None:
    """Untimed requests for ``seconds``: the server as it runs for hours, every code path of
    these requests compiled by the JIT (the JVM's, for pmmlkit) before the first timed one."""
    load(pool, server, path, body, 1, 10**9, argparse.Namespace(warmup=0, time_cap=seconds))


def _recv(pipe):
    if not pipe.poll(READY_TIMEOUT_S):
        raise SystemExit(f"A client process gave no answer within {READY_TIMEOUT_S} s.")
    return pipe.recv()


# -- report -------------------------------------------------------------------------------------


def percentiles_ms(run: Run) -> dict[str, float]:
    p50, p95, p99 = np.percentile(np.array(run.latencies_s) * 1000, [50, 95, 99])
    return {"p50": p50, "p95": p95, "p99": p99}


def print_results(results: dict) -> None:
    print("\nLatency per request (ms), throughput, and CPU over the timed phase (100% = 1 core).")
    header = (
        f"{'model':<16}{'kind':<11}{'clients':>7}  {'endpoint':<10}{'p50 ms':>8}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'req/s':>9}{'n':>6}{'failed':>7}{'srv cpu':>9}{'cli cpu':>9}"
    )
    print(header + "\n" + "-" * len(header))
    for (name, kind, clients, endpoint), run in results.items():
        p = percentiles_ms(run)
        server_cpu = (
            f"{run.server_cpu_s / run.wall_s * 100:8.0f}%" if run.server_cpu_s is not None else "-"
        )
        print(
            f"{name:<16}{kind:<11}{clients:>7}  {endpoint:<10}{p['p50']:8.2f}{p['p95']:9.2f}"
            f"{p['p99']:9.2f}{len(run.latencies_s) / run.wall_s:9.1f}{len(run.latencies_s):6d}"
            f"{run.failed:7d}{server_cpu:>9}{run.client_cpu_s / run.wall_s * 100:8.0f}%"
        )


def print_targets(results: dict, names: list[str], rows: int) -> None:
    batch = f"{rows} rows"

    def p(name, kind, clients, endpoint, which):
        return percentiles_ms(results[name, kind, clients, endpoint])[which]

    lines = []  # (target, model, value, limit text, passed)
    for name in names:
        value = p(name, batch, 4, "pmmlkit", "p95")
        limit = f"<= {BATCH_P95_LIMIT_MS:g} ms"
        lines.append((f"{batch} p95, 4 clients", name, value, limit, value <= BATCH_P95_LIMIT_MS))
        for clients in CLIENTS:
            value = p(name, "1 row", clients, "pmmlkit", "p99")
            limit = f"< {SINGLE_P99_LIMIT_MS:g} ms"
            target = f"1 row p99, {clients} client(s)"
            lines.append((target, name, value, limit, value < SINGLE_P99_LIMIT_MS))
        for clients in CLIENTS:
            ratio = p(name, batch, clients, "pmmlkit", "p95")
            ratio /= p(name, batch, clients, "baseline", "p95")
            target = f"{batch} p95 pmmlkit/baseline, {clients} cl."
            lines.append((target, name, ratio, f"<= {P95_RATIO_LIMIT:g}", ratio <= P95_RATIO_LIMIT))
    print("\nTargets (pmmlkit)")
    header = f"{'target':<40}{'model':<16}{'value':>9}  {'limit':<10}result"
    print(header + "\n" + "-" * len(header))
    for target, name, value, limit, passed in lines:
        print(f"{target:<40}{name:<16}{value:9.2f}  {limit:<10}{'PASS' if passed else 'FAIL'}")
    failed = sum(not line[-1] for line in lines)
    print(f"\n{len(lines) - failed} of {len(lines)} targets met.")


# -- main ---------------------------------------------------------------------------------------


def bench(args) -> None:
    import sklearn

    print(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.platform()}, "
        f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}"
    )
    print(
        f"Servers: pmmlkit {args.threads} waitress thread(s), baseline {BASELINE_THREADS}; clients: {' and '.join(map(str, CLIENTS))}"
        f" processes, one connection each; per connection {args.warmup} warm-up requests, then "
        f"{args.batch_requests} ({args.rows} rows) or {args.single_requests} (1 row) timed, "
        f"at most {args.time_cap:g} s per configuration."
    )
    with tempfile.TemporaryDirectory(prefix="pmmlkit-bench-http-") as directory:
        tmp = Path(directory)
        store_dir, pipelines_dir = tmp / "store", tmp / "pipelines"
        store_dir.mkdir()
        pipelines_dir.mkdir()
        frames = build_models(store_dir, pipelines_dir)
        names = args.models or list(frames)
        unknown = sorted(set(names) - set(frames))
        if unknown:
            raise SystemExit(f"Unknown models {unknown}; known: {sorted(frames)}")
        pmmlkit = [str(PMMLKIT), "serve", "--store", str(store_dir), "--host", HOST]
        pmmlkit += ["--threads", str(args.threads), "--reload-interval", "0"]
        baseline = [sys.executable, str(Path(__file__).resolve()), "--baseline-server"]
        baseline.append(str(pipelines_dir))
        with contextlib.ExitStack() as stack:  # stops both servers, whatever happens
            servers = {
                "pmmlkit": start_server(stack, "pmmlkit", pmmlkit, tmp / "pmmlkit.log"),
                "baseline": start_server(stack, "baseline", baseline, tmp / "baseline.log"),
            }
            started = time.perf_counter()
            wait_ready(servers["pmmlkit"], "/readyz")
            wait_ready(servers["baseline"], "/healthz")
            print(f"Both servers ready in {time.perf_counter() - started:.0f} s.")
            wait_compiled(servers["pmmlkit"], names)
            print(f"Background compiles ended after {time.perf_counter() - started:.0f} s.")
            pool = ClientPool(max(CLIENTS))
            stack.callback(pool.close)
            results = measure(pool, servers, frames, names, args)
        print_results(results)
        print_targets(results, names, args.rows)


def measure(pool: ClientPool, servers: dict[str, Server], frames: dict, names, args) -> dict:
    results, round_ = {}, 0
    started = time.perf_counter()
    for name in names:
        bodies = payloads(frames[name], args.rows)
        check_answers(servers, name, bodies, args.rows)
        for body in bodies.values():
            for endpoint in ENDPOINTS:
                warm(pool, servers[endpoint], paths(name)[endpoint], body, args.warm_seconds)
        for kind, body in bodies.items():
            count = args.single_requests if kind == "1 row" else args.batch_requests
            for clients in CLIENTS:
                order = ENDPOINTS if round_ % 2 == 0 else ENDPOINTS[::-1]
                round_ += 1
                for endpoint in order:
                    path = paths(name)[endpoint]
                    run = load(pool, servers[endpoint], path, body, clients, count, args)
                    results[name, kind, clients, endpoint] = run
                print(
                    f"  {name} {kind} x{len(body)} bytes, {clients} client(s): done "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    # Report in a fixed order: pmmlkit first in each pair.
    return {
        (name, kind, clients, endpoint): results[name, kind, clients, endpoint]
        for name in names
        for kind in (f"{args.rows} rows", "1 row")
        for clients in CLIENTS
        for endpoint in ENDPOINTS
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description="HTTP benchmark: pmmlkit serve against a scikit-learn service."
    )
    parser.add_argument("--batch-requests", type=int, default=40, help="Per client.")
    parser.add_argument("--single-requests", type=int, default=300, help="Per client.")
    parser.add_argument("--warmup", type=int, default=10, help="Untimed, per client.")
    parser.add_argument("--rows", type=int, default=1000, help="Records in a batch request.")
    parser.add_argument("--time-cap", type=float, default=60.0, help="Seconds per configuration.")
    parser.add_argument(
        "--warm-seconds",
        type=float,
        default=3.0,
        help="Untimed seconds of each kind of request per model and endpoint, before timing.",
    )
    parser.add_argument("--models", nargs="*", help="Models to run (default: all five).")
    from pmmlkit.scoring.settings import Settings

    parser.add_argument(
        "--threads",
        type=int,
        default=Settings().threads,
        help="pmmlkit's --threads (default: its own default); the baseline has waitress's 4.",
    )
    parser.add_argument("--baseline-server", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        run_baseline_server(args.baseline_server, args.port)
        return
    bench(args)


if __name__ == "__main__":
    main()
