"""What the service tells about itself: request ids, one JSON access-log line per request, and
Prometheus metrics.

:class:`Observed` wraps the WSGI app, so it sees every request, Bottle's own 404/405 included.
Handlers say which model, version and how many rows through :func:`note`; the error handlers say
the error code the same way.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import threading
import time
import weakref

import bottle
import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .predlog import LoggedNames, Scored

_log = logging.getLogger(__name__)
_NOTE = "pmmlkit.note"
# Request ids: UUIDv7 (RFC 9562: 48 bits of Unix time in ms, then 74 random bits), as 32 hex
# digits. Time first keeps the prediction log's request-id index appending at its end: with
# random ids every insert lands on a random page of an index that outgrows SQLite's cache; from
# 400,000 to 500,000 requests logged, the writer took 17.7 us of CPU a request with random ids
# against 4.5 us with these (bench/bench_predlog.py). The random bits come from a
# generator seeded by os.urandom, not os.urandom per request: that system call lets go of the
# interpreter lock, and with several waitress threads each let-go became a thread switch
# (in-process, 4 threads: 180 us per single-record request with uuid4, 86 us with this).
_IDS = random.Random()
_RAND_B = (1 << 62) - 1


def new_request_id() -> str:
    """A UUIDv7 as 32 lowercase hex digits (about 0.6 us)."""
    random_bits = _IDS.getrandbits(74)
    uuid = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (random_bits >> 62) << 64
    return f"{uuid | 0b10 << 62 | random_bits & _RAND_B:032x}"


def request_id_time(request_id: str) -> float | None:
    """The time (epoch seconds, to the millisecond) in a UUIDv7 like new_request_id()'s, or
    None for an id of another form."""
    if len(request_id) != 32 or request_id[12] != "7":
        return None
    try:
        return int(request_id[:12], 16) / 1000
    except ValueError:
        return None


_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def note(**facts) -> None:
    """Records facts about the current request (model, version, rows, error) for the log and
    the metrics."""
    bottle.request.environ.setdefault(_NOTE, {}).update(facts)


def request_id() -> str:
    return bottle.request.environ.get("pmmlkit.request_id", "")


def started() -> float:
    """When the app received the current request (time.monotonic())."""
    return bottle.request.environ.get("pmmlkit.start", time.monotonic())


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self, log=None):
        disable_created_metrics()  # no *_created series: they double the output for nothing
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pmmlkit_requests",
            "HTTP requests answered, by route and status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "pmmlkit_errors",
            "Error answers by error code.",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pmmlkit_predict_duration_seconds",
            "Time to answer a scoring request, by model and version.",
            ["model", "version"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "pmmlkit_rows_scored",
            "Rows scored (failed rows included), by model and version.",
            ["model", "version"],
            registry=self.registry,
        )
        self.row_errors = Counter(
            "pmmlkit_row_errors",
            "Rows that could not be scored, by model, version and the first error code.",
            ["model", "version", "code"],
            registry=self.registry,
        )

        self.waits = Counter(
            "pmmlkit_requests_waited",
            "Requests that found every request thread (--threads) busy and waited for one.",
            registry=self.registry,
        )
        if log is not None:
            self.registry.register(_LogCollector(log))
        self._children: dict[tuple, object] = {}

    def child(self, metric, *labels: str):
        """``metric.labels(*labels)``, looked up once per label set (labels() validates and
        locks on every call: microseconds per request)."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def count_waits(self, dispatcher) -> None:
        """Counts the requests that wait for one of waitress's threads (``dispatcher``: the
        server's task dispatcher) instead of logging each, as waitress does."""
        dispatcher.queue_logger = _WaitCounter(self.waits)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _WaitCounter:
    """In place of waitress's "waitress.queue" logger, which warns "Task queue depth is N" for
    every request that finds all threads busy: under load a log line per request, and making
    those lines took a quarter of the server's CPU (single records, 4 clients, 1 thread)."""

    def __init__(self, counter):
        self.counter = counter

    def warning(self, *args) -> None:
        self.counter.inc()


class _LogCollector:
    """The prediction log's own counters, read when /metrics is scraped."""

    def __init__(self, log):
        self.log = log

    def collect(self):
        for name, help, value in (
            (
                "pmmlkit_prediction_log_rows_written",
                "Rows written to the prediction log.",
                self.log.written_rows,
            ),
            (
                "pmmlkit_prediction_log_rows_dropped",
                "Rows not logged because the log's queue was full (scoring went on).",
                self.log.dropped_rows,
            ),
            (
                "pmmlkit_prediction_log_write_errors",
                "Failed writes to the prediction log (each retried).",
                self.log.write_errors,
            ),
            (
                "pmmlkit_prediction_log_writer_restarts",
                "Writer processes started in place of one that died (its unwritten rows dropped).",
                self.log.writer_restarts,
            ),
        ):
            yield CounterMetricFamily(name, help, value=value)
        yield GaugeMetricFamily(
            "pmmlkit_prediction_log_queued",
            "Requests waiting for the prediction log's writer.",
            value=self.log.queued,
        )


def _log_answer(log, rid: str, given_id: str, facts: dict, status: int, duration: float) -> bool:
    """A single record answered without a client key goes to the log as its answer's bytes
    (:meth:`PredictionLog.record_answer`); False for any other request."""
    answer = facts.get("answer")
    if answer is None or status != 200 or "keys" in facts:
        return False
    model, data, _ = facts["scored"]
    log.record_answer(
        time.time() - duration,
        rid,
        facts["model"],
        int(facts["version"]),
        duration * 1000,
        answer,
        _logged_names(model),
        data[0],
        generated_id=rid != given_id,
    )
    return True


def _scored(rid: str, facts: dict, status: int, duration: float) -> Scored:
    """What the prediction log keeps of a request: references to its data and results (the log
    encodes them, whole columns at a time)."""
    scored = Scored(
        time=time.time() - duration,
        request_id=rid,
        model=facts["model"],
        version=int(facts["version"]),
        status=status,
        latency_ms=duration * 1000,
    )
    if "scored" in facts:
        model, data, result = facts["scored"]
        scored.target, scored.probabilities, scored.input_names = _logged_names(model)
        scored.n_rows = result.n_rows
        scored.columns = result.columns
        scored.errors = result.errors
        scored.data = data
        scored.inputs = result.inputs
        scored.keys = facts.get("keys")
    return scored


_LOGGED_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _logged_names(model) -> LoggedNames:
    """A model's names the log needs: the prediction's result column, the class probability
    columns, the input fields (made once per model, not per request)."""
    names = _LOGGED_NAMES.get(model)
    if names is None:
        target = model.targets[0] if model.targets else model.outputs[0]
        results = {f.name for f in model.outputs}
        probabilities = tuple(
            f"probability({c})" for c in target.categories if f"probability({c})" in results
        )
        names = _LOGGED_NAMES[model] = (
            target.name,
            probabilities,
            tuple(f.name for f in model.inputs),
        )
    return names


class AccessLog:
    """One JSON line per request, appended to a file descriptor (stdout's, or a file's) by a
    background thread every FLUSH_SECONDS. A request only queues its line: through the logging
    module, with a write and a flush per line, the line cost 19 us of a 75 us single-record
    request (in-process, hot), and the write let go of the interpreter lock. A crash loses at
    most the last FLUSH_SECONDS of lines; :meth:`close` writes what is queued."""

    FLUSH_SECONDS = 0.1
    MAX_QUEUED = 100_000  # lines; beyond, while the output is stuck, lines are counted as dropped

    def __init__(self, fd: int, *, owns_fd: bool = False):
        self._fd = fd
        self._owns_fd = owns_fd
        self._lines: collections.deque[bytes] = collections.deque()
        self.dropped = 0
        self._failing = False  # the last write failed: warned once, not every FLUSH_SECONDS
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one writer at a time: the thread, flush(), close()
        self._thread = threading.Thread(target=self._run, name="pmmlkit-access-log", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, target: str | None) -> AccessLog | None:
        """``stdout`` (file descriptor 1, whatever sys.stdout is), a file (appended), or None
        for none."""
        if target is None:
            return None
        if target == "stdout":
            return cls(1)
        return cls(os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), owns_fd=True)

    def write(self, line: dict) -> None:
        if len(self._lines) >= self.MAX_QUEUED:
            self.dropped += 1
            return
        self._lines.append(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))

    def flush(self) -> None:
        with self._lock:
            lines = self._lines
            chunk = b"".join([lines.popleft() for _ in range(len(lines))])
            view = memoryview(chunk)
            try:
                while view:
                    view = view[os.write(self._fd, view) :]
                self._failing = False
            except OSError as error:
                if not self._failing:
                    _log.warning("access log: %d bytes not written: %s", len(view), error)
                self._failing = True

    def close(self) -> None:
        """Writes what is queued and stops (once; later calls do nothing)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
        if self._owns_fd:
            os.close(self._fd)
        if self.dropped:
            _log.warning("access log: %d lines dropped while the output was stuck", self.dropped)

    def _run(self) -> None:
        while not self._stop.wait(self.FLUSH_SECONDS):
            if self._lines:
                self.flush()


class Observed:
    """WSGI middleware: request id in and out, timing, access log, metrics."""

    def __init__(
        self,
        app,
        metrics: Metrics,
        headers_for=lambda path: [],
        log=None,
        access=None,
        reports=None,
    ):
        self.app = app
        self.metrics = metrics
        self.headers_for = headers_for  # path -> extra response headers
        self.log = log  # the PredictionLog, or None when logging is off
        self.access = access  # the AccessLog, or None
        self.reports = reports  # with a log: the app's monitoring Reports (see create_app)

    def __call__(self, environ, start_response):
        start = time.monotonic()
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if 0 < len(given) <= 128 and given.isprintable() else new_request_id()
        environ["pmmlkit.request_id"] = rid
        environ["pmmlkit.start"] = start

        def respond(status, headers, exc_info=None):
            # Bottle answers with a body already built: record here, before it is sent, so a
            # client's next request (say GET /metrics) sees this one counted.
            self._record(environ, int(status.split(" ", 1)[0]), start)
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            extra = [("X-Request-Id", rid), *self.headers_for(environ.get("PATH_INFO", ""))]
            return start_response(status, [*headers, *extra], exc_info)

        return self.app(environ, respond)

    def _record(self, environ, status: int, start: float) -> None:
        duration = time.monotonic() - start
        facts = environ.get(_NOTE, {})
        route = environ.get("bottle.route")
        rule = route.rule if route is not None else "unmatched"
        metrics = self.metrics
        metrics.child(metrics.requests, rule, str(status)).inc()
        if "error" in facts:
            metrics.child(metrics.errors, facts["error"]).inc()
        if "model" in facts and "version" in facts:
            labels = (facts["model"], str(facts["version"]))
            metrics.child(metrics.latency, *labels).observe(duration)
            metrics.child(metrics.rows, *labels).inc(facts.get("rows", 0))
            for code, count in facts.get("row_errors", {}).items():
                metrics.child(metrics.row_errors, *labels, code).inc(count)
            if self.log is not None and facts.get("scoring"):  # not uploads and such
                rid = environ["pmmlkit.request_id"]
                given = environ.get("HTTP_X_REQUEST_ID", "")
                if not _log_answer(self.log, rid, given, facts, status, duration):
                    self.log.record(_scored(rid, facts, status, duration))
        if self.access is not None:
            self.access.write(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "request_id": environ["pmmlkit.request_id"],
                    "method": environ.get("REQUEST_METHOD"),
                    "path": environ.get("PATH_INFO"),
                    "status": status,
                    "duration_ms": round(duration * 1000, 3),
                    "model": facts.get("model"),
                    "version": facts.get("version"),
                    "rows": facts.get("rows"),
                    "error": facts.get("error"),
                    "client": environ.get("REMOTE_ADDR"),
                }
            )
