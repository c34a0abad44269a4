"""The prediction log: what each model version predicted, for monitoring, feedback and cases.

Scoring threads hand a request's results to :meth:`PredictionLog.record`, which encodes them into
one database row (its rows' results as columns: predictions as a JSON array, confidence as
float64 bytes, the failed rows' error codes, the sampled rows' inputs; :func:`decode` reads them
back) and puts that on a bounded queue (never blocks; a full queue counts the rows as dropped).
A single record that was answered goes as its answer's JSON bytes instead
(:meth:`PredictionLog.record_answer`), and the writer logs the answered single records of a
model version and second that arrive together as one *block*: one row whose rows are those
requests (their answers as they were sent, their ids, times and latencies in ``members``); the
request ids clients gave are indexed in ``ids``, the service's own hold their time. A row per
single record cost the writer 6 to 12 us of CPU a request (parsing the answer, a row and three
index entries); a block, 1.5 us with the service's ids (bench/bench_predlog.py). That cut the
p99 of paced single records on two cores, not their p95 (see the README).
A writer *process* takes the rows off the queue and writes them in batches, in SQLite by default
and in PostgreSQL when the setting is a ``postgresql://`` URL (several instances behind a load
balancer then share one log): its database work never holds this process's interpreter lock,
which a writer thread did (10 to 25% at p95 under 1000-row traffic on 2 cores). SQLAlchemy Core
gives the one SQL layer both databases need. A write that fails (database down or full) is
retried with a growing pause; what is already committed is never touched, and rows older than
the retention are purged. A writer process that dies (killed, out of memory) is replaced; what it
had taken and not written counts as dropped, and an error line says how much.

    log = PredictionLog.open("predictions.sqlite3", inputs_rate=0.1).start()
    log.record(Scored(...))      # from a request thread
    log.flush(timeout=1)         # tests and feedback wait for the queue to drain
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import multiprocessing
import os
import random
import struct
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
import sqlalchemy as sa

_log = logging.getLogger(__name__)
_BATCH = 500  # requests per batch (and transaction) at most
# Seconds between two batches handed to the writer process (one transaction each), unless
# _BATCH requests are waiting before that, or a flush or close asks. 0.25 s against 0.1 s by
# turns in one service (bench_log_overhead.py's slots): the writer's CPU per 1000-row request
# 79 to 86 us against 91 to 97 us, the service's p95 no better (+9.9% and +5.6% against +8.4%
# and -2.1%); 0.02 s: 10 to 18 us per single record against 4 to 7 us.
_LINGER = 0.1
_COLUMNS = (
    "time", "request_id", "model", "version", "rows", "failed_rows", "status", "latency_ms",
    "predictions", "confidence", "errors", "inputs",
)  # fmt: skip
_BLOCK_COLUMNS = (*_COLUMNS, "members")
_FLOATS = b"\x00"  # the first byte of a predictions column of float64 values (see requests)
_PURGE_EVERY = 3600.0
# The writer (and the monitoring reports' worker) run at a lower CPU priority than the serving
# process: when the cores are busy, scoring goes first; the writer's queue absorbs the
# difference, and at niceness 10 the writer still gets about a tenth of a contended core, some
# four times what it needs at 1,500 single-record requests a second (10 to 15 us of CPU each).
WORKER_NICENESS = 10
_NUMPY = orjson.OPT_SERIALIZE_NUMPY

# One row per scoring request, its rows' results as columns in that row: the writer's work and the
# database's are then per request, not per scored row (a row per scored row made the writer insert
# some 150,000 rows a second under 1000-row traffic, and its Python work took the GIL from the
# request threads: +30 to +150% at p95). Readers decode the columns with decode().
# A block row holds answered single records of one model version and one second, one row of the
# block per request: ``rows`` is its number of requests, ``time`` the oldest one's, ``request_id``
# the first one's, ``latency_ms`` the slowest one's; ``predictions`` is JSON {"target": name,
# "probabilities": [names], "answers": [each request's answer as sent]}, ``confidence`` null
# (decode() takes both from the answers), ``members`` JSON {"request_ids", "times",
# "latencies"}: a list each, in the block's row order. Request rows have no ``members``.
metadata = sa.MetaData()
requests = sa.Table(
    "pmmlkit_log_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("failed_rows", sa.Integer, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    # JSON array: the target's value of each row (a label or a number; null where none); or,
    # for a float result, a zero byte and then float64 little-endian per row (NaN where none):
    # orjson's text of 1000 numbers was 15 of the request thread's 60 us, and 19 KB to write
    sa.Column("predictions", sa.LargeBinary),
    # float64 little-endian, one per row: the largest class probability (NaN where none)
    sa.Column("confidence", sa.LargeBinary),
    # JSON [[row, code], ...]: the first error code of each row that failed
    sa.Column("errors", sa.Text),
    # JSON {"rows": [...], "columns": {field: [...]}}: the inputs of the sampled rows
    sa.Column("inputs", sa.LargeBinary),
    sa.Column("members", sa.LargeBinary),  # a block's requests (see above); null for a request
    sa.Index("pmmlkit_log_requests_model_time", "model", "time"),
    sa.Index("pmmlkit_log_requests_request_id", "request_id"),
)
# The requests whose inputs were sampled: a report finds its newest input samples here, not by
# stepping over every request in between (1 / --log-inputs-rate of them: at 0.1, 0.05 s of the
# drift check's 0.4 s at a million logged single records; at 0.01, ten times that).
sa.Index(
    "pmmlkit_log_requests_sampled",
    requests.c.model,
    requests.c.time,
    sqlite_where=requests.c.inputs.is_not(None),
    postgresql_where=requests.c.inputs.is_not(None),
)
# The request ids the clients gave the single records in blocks, for feedback naming one (row 0
# of a request is row ``row`` of block ``request``). The service's own ids are not here: each
# holds its time, and the blocks of that second have it in their members.
ids = sa.Table(
    "pmmlkit_log_ids",
    metadata,
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("request", sa.Integer, nullable=False),  # pmmlkit_log_requests.id of the block
    sa.Column("row", sa.Integer, nullable=False),
    sa.Index("pmmlkit_log_ids_request_id", "request_id"),
    sa.Index("pmmlkit_log_ids_request", "request"),
)
keys = sa.Table(  # written only for requests that sent client keys
    "pmmlkit_log_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("request", sa.Integer, nullable=False),  # pmmlkit_log_requests.id
    sa.Column("row", sa.Integer, nullable=False),
    sa.Index("pmmlkit_log_keys_model_key", "model", "key"),
    sa.Index("pmmlkit_log_keys_request", "request"),
)
# Per model, version and minute: the requests, rows, failed rows and failed requests logged, kept
# by the writer in the transaction that writes them. A report's window ends on a whole minute, so
# its volume is a sum of at most 10,080 rows here for a week: summing the requests of the window
# took a drift check 0.4 s of database work per model at a million logged requests, and grew
# with the log.
minutes = sa.Table(
    "pmmlkit_log_minutes",
    metadata,
    sa.Column("model", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("minute", sa.Integer, primary_key=True),  # epoch seconds // 60
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("failed_rows", sa.BigInteger, nullable=False),
    sa.Column("failed_requests", sa.Integer, nullable=False),
)
MINUTE_COUNTS = ("requests", "rows", "failed_rows", "failed_requests")
feedback = sa.Table(
    "pmmlkit_log_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("request", sa.Integer, nullable=False),  # pmmlkit_log_requests.id
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text),  # the true label or value, as text
    sa.Column("correct", sa.Boolean),  # a reviewer's verdict on the prediction
    sa.Column("flag", sa.String(64)),  # e.g. not_interested
    sa.Column("reason", sa.Text),
    sa.Index("pmmlkit_log_feedback_request", "request", "row"),
    sa.Index("pmmlkit_log_feedback_model_time", "model", "time"),
)


# What the log needs to know of a model: the prediction's result column, the class probability
# result columns, the input fields.
LoggedNames = tuple[str, tuple[str, ...], tuple[str, ...]]


@dataclass
class Scored:
    """One request's results, handed over by the request thread as it is (no per-row work)."""

    time: float  # epoch seconds
    request_id: str
    model: str
    version: int
    status: int
    latency_ms: float
    n_rows: int = 0
    target: str | None = None  # the result column of the prediction
    probabilities: Sequence[str] = ()  # the probability result columns
    columns: Mapping[str, Sequence] = field(default_factory=dict)  # result columns
    errors: Sequence[tuple] = ()  # (row, FieldError) of the rows that failed
    data: object = None  # the request's records (list of dicts) or columns (dict of lists)
    input_names: Sequence[str] = ()
    inputs: Mapping[str, Sequence] | None = None  # a batch's input columns (BatchResult.inputs)
    keys: Sequence | None = None  # one client key per row


def database_url(setting: str) -> str:
    """A SQLAlchemy URL from the ``prediction_log`` setting: a URL as it is, else a SQLite file."""
    if setting.startswith("postgresql://"):  # psycopg 3 (the [postgres] extra), not psycopg2
        return "postgresql+psycopg://" + setting.removeprefix("postgresql://")
    return setting if "://" in setting else f"sqlite:///{setting}"


class PredictionLog:
    """The serving side of the log: encodes each request on its own thread, queues it for the
    writer process, and counts. Thread-safe. ``engine`` is for readers (monitoring, cases) and
    feedback; the writer process has its own connection."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        inputs_rate: float = 0.0,
        queue_size: int = 1000,
        retention_days: float = 30.0,
        seed: int | None = None,
    ):
        self.engine = engine
        self.inputs_rate = inputs_rate
        self.retention_days = retention_days
        context = multiprocessing.get_context("spawn")  # never fork a process running a JVM
        self._context = context
        self._reader, self._sender = context.Pipe(duplex=False)
        self._shared = _Shared(context)
        # The draws (one per single record, two per batch: see _start_and_step): one Python
        # generator (its random() is one C call, safe from any thread), a tenth of a numpy
        # generator's call cost with its per-thread lookup.
        self._draw = random.Random(seed).random
        self._lock = threading.Lock()
        self._waiting: collections.deque = collections.deque()  # encoded, not yet sent
        self._queue_size = queue_size
        self._sent = 0  # requests handed to the writer process
        self._sent_rows = 0  # their rows (as the writer counts them: see _rows_of)
        self._lost = 0  # requests (and rows) a writer process took with it when it died
        self._lost_rows = 0
        self._deaths = 0  # writer processes that died in a row, nothing written in between
        self._written_at_spawn = 0
        self.writer_restarts = 0
        self._stop = threading.Event()
        self._wake = threading.Event()  # the relay sends now: a batch is full, flush or close
        self._relay: threading.Thread | None = None
        self._process = None
        self._closed = False
        self._submitted = 0  # requests queued so far
        self.dropped_rows = 0

    @property
    def queued(self) -> int:
        """Requests waiting for the writer (encoded, sent or not)."""
        return max(self._submitted - self._lost - self._shared.written_requests.value, 0)

    @property
    def written_rows(self) -> int:
        return self._shared.written_rows.value

    @property
    def write_errors(self) -> int:
        return self._shared.write_errors.value

    @property
    def last_error(self) -> str | None:
        text = self._shared.last_error.value.decode("utf-8", "replace")
        return text or None

    @classmethod
    def open(cls, setting: str, **options) -> PredictionLog:
        """Connects to the database named by the ``prediction_log`` setting and creates the
        tables, columns and indexes it lacks (SQLite: write-ahead log, so monitoring reads while
        the writer writes); a log from before the minute counts gets them counted."""
        engine = open_engine(database_url(setting))
        metadata.create_all(engine)
        with engine.begin() as connection:
            _add_members(connection)
            for index in requests.indexes:  # a log from an older pmmlkit may lack one
                index.create(connection, checkfirst=True)
            connection.execute(_count_minutes(connection.dialect.name))
        return cls(engine, **options)

    def start(self) -> PredictionLog:
        """Starts the writer process (about half a second: a fresh interpreter) and the thread
        that hands it what the request threads queued (see _send)."""
        self._spawn()
        self._relay = threading.Thread(target=self._send, name="pmmlkit-predlog", daemon=True)
        self._relay.start()
        return self

    def _spawn(self) -> None:
        self._written_at_spawn = self._shared.written_requests.value
        self._process = self._context.Process(
            target=_writer_main,
            args=(
                self.engine.url.render_as_string(hide_password=False),
                self.retention_days,
                self._reader,
                self._shared,
            ),
            name="pmmlkit-predlog",
            daemon=True,
        )
        self._process.start()
        self._reader.close()  # the writer's end now lives in the writer

    def close(self, timeout: float = 10.0) -> None:
        """Writes what is queued (for at most ``timeout`` seconds), then stops the writer."""
        if self._closed:
            return
        self._closed = True
        if self._process is not None:
            self.flush(timeout)
            self._stop.set()
            self._wake.set()
            self._relay.join(timeout)
            self._process.join(timeout)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(1.0)
        self._sender.close()
        self.engine.dispose()

    def record(self, scored: Scored) -> bool:
        """Queues a request's results; False (rows counted as dropped) when the queue is full.
        Runs on the request thread and does the encoding (about 0.01 ms for one record, 0.015
        to 0.02 ms for 1000 rows in a loop, several times that in a busy service): the writer
        process then has only database work (moving encoding there cost more than it saved:
        its pickling in this process, and the writer's CPU on the same cores), and no thread
        of this process wakes per request to compete with the request threads for the
        interpreter lock. The queue holds bytes, never the request's records."""
        return self._queue((self._row(scored), self._keys(scored), scored.n_rows), scored.n_rows)

    def record_answer(
        self,
        when: float,
        request_id: str,
        model: str,
        version: int,
        latency_ms: float,
        answer: bytes,
        names: LoggedNames,
        record: Mapping,
        generated_id: bool = False,
    ) -> bool:
        """Queues a single record's request that was answered (200) at ``when`` (epoch seconds)
        as the answer's JSON bytes, which the writer process logs as they are, in a block (see
        ``requests``), so the request thread only builds a tuple (encoding the row here cost 2 us
        hot and 8 to 10 us under load, as much as the rest of the log together). ``record`` is
        the request's record, queued for the writer to take the inputs from when the
        ``inputs_rate`` draw picks it. ``generated_id``: the request id is the service's own
        (new_request_id(), not the client's), found by the time in it, not indexed."""
        sample = record if self.inputs_rate and self._draw() < self.inputs_rate else None
        return self._queue(
            (
                None,
                when,
                request_id,
                model,
                version,
                latency_ms,
                answer,
                names,
                sample,
                generated_id,
            ),
            1,
        )

    def _queue(self, message: tuple, n_rows: int) -> bool:
        with self._lock:
            if self._submitted - self._sent >= self._queue_size:  # the writer is behind
                self.dropped_rows += n_rows
                return False
            self._waiting.append(message)
            self._submitted += 1
            if len(self._waiting) == _BATCH:
                self._wake.set()
        return True

    def _send(self) -> None:
        """The relay thread: every _LINGER seconds (sooner when woken), everything waiting goes
        to the writer in pickled batches (the pipe write blocks this thread, never a request
        thread, while the writer is behind; meanwhile the bound above counts drops). A writer
        process that died (killed, out of memory) is replaced (see _replace_writer)."""
        while True:
            self._wake.wait(_LINGER)
            self._wake.clear()
            stopping = self._stop.is_set()
            if not self._process.is_alive() and not self._replace_writer(stopping):
                return
            while self._waiting:
                batch = [self._waiting.popleft() for _ in range(min(len(self._waiting), _BATCH))]
                while True:
                    try:
                        self._sender.send(batch)
                        break
                    except OSError:  # the writer died since: this batch goes to the next one
                        if not self._replace_writer(stopping):
                            return
                rows = sum(_rows_of(message) for message in batch)
                with self._lock:
                    self._sent += len(batch)
                    self._sent_rows += rows
            if stopping:
                with contextlib.suppress(OSError):
                    self._sender.send(None)  # the writer's stop signal
                return

    def _replace_writer(self, stopping: bool) -> bool:
        """After the writer process died: counts what it had taken off the pipe and not written
        as dropped (a committed batch is never lost: the database has it), logs it, and starts
        a new writer, after a pause that doubles with each death in a row with nothing written
        in between (0.5 s up to a minute: a writer that cannot start does not spin). False when
        the log is closing (nothing more is written) or no process can be started."""
        process = self._process
        process.join(1.0)
        written = self._shared.written_requests.value
        lost = self._sent - self._lost - written
        lost_rows = max(self._sent_rows - self._lost_rows - self._shared.written_rows.value, 0)
        with self._lock:
            self._lost += lost
            self._lost_rows += lost_rows
            self.dropped_rows += lost_rows
        self._deaths = 1 if written > self._written_at_spawn else self._deaths + 1
        _log.error(
            "prediction log: the writer process stopped (exit code %s); %d requests (%d rows) it "
            "had not written are counted as dropped%s",
            process.exitcode,
            lost,
            lost_rows,
            "" if stopping else "; starting a new one",
        )
        if stopping:
            return False
        self._sender.close()
        time.sleep(min(0.5 * 2 ** (self._deaths - 1), 60.0))
        self._reader, self._sender = self._context.Pipe(duplex=False)
        try:
            self._spawn()
        except OSError as error:
            _log.error("prediction log: no new writer process (%s); logging stops", error)
            return False
        self.writer_restarts += 1
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until everything queued so far is written; False on timeout."""
        target = self._submitted
        self._wake.set()
        deadline = time.monotonic() + timeout
        while self._shared.written_requests.value + self._lost < target:
            if time.monotonic() > deadline or self._process is None:
                return False
            time.sleep(0.005)
        return True

    def purge(self) -> None:
        """Deletes what is older than the retention now (the writer does it hourly)."""
        purge(self.engine, self.retention_days)

    def _sample(self, s: Scored) -> bytes | None:
        """The inputs of the rows drawn at ``inputs_rate``, as JSON columns, or None (for
        requests that were answered: see _row). A batch's rows are drawn systematically (see
        :meth:`_start_and_step`): its columns are sliced, in C, where a draw per row and a pick
        per sampled row and field (random rows) took 85% of the log's request-path CPU."""
        if s.data is None or not self.inputs_rate:
            return None
        columns = None
        if s.n_rows == 1:  # a single record: one draw
            if self._draw() >= self.inputs_rate:
                return None
            sampled = [0]
        else:
            start, step = self._start_and_step()
            if start >= s.n_rows:
                return None
            sampled = list(range(start, s.n_rows, step))
            if s.inputs is not None:  # slices of the columns scoring made
                columns = {name: _every(v, start, step) for name, v in s.inputs.items()}
        if columns is None:
            columns = _inputs(s.data, s.input_names, sampled)
        return orjson.dumps({"rows": sampled, "columns": columns}, option=_NUMPY)

    def _start_and_step(self) -> tuple[int, int]:
        """A batch's sample, systematic: rows start, start + step, ... with a random start
        below the step. The step is 1 / inputs_rate where that is a whole number, else one of
        the two whole numbers around it, drawn so that each row is kept with probability
        inputs_rate, as with a draw per row; the rows kept are spread over the batch. (A batch
        whose rows repeat a pattern with that period would show one phase of it per request.)"""
        rate = self.inputs_rate
        step = max(1, math.floor(1 / rate + 1e-9))
        longer = (1 / step - rate) / (1 / step - 1 / (step + 1))  # P(step + 1): E[1 / step] = rate
        if longer > 1e-9 and self._draw() < longer:
            step += 1
        return int(self._draw() * step), step

    def _row(self, s: Scored) -> tuple:
        """The request's row in the order of _COLUMNS: its results as whole columns (numpy and
        orjson, no Python work per scored row but for the sampled inputs and the failed rows)."""
        failed: dict[int, str] = {}
        for row, problem in s.errors:
            failed.setdefault(row, problem.code)
        n = s.n_rows
        predictions = confidence = inputs = None
        if n and s.target is not None and s.status < 400:  # else nothing was answered
            values = s.columns[s.target]
            if isinstance(values, np.ndarray) and values.dtype.kind == "f":
                predictions = _FLOATS + values.astype("<f8", copy=False).tobytes()
            else:  # labels: orjson takes numeric arrays, not object ones
                if isinstance(values, np.ndarray) and values.dtype == object:
                    values = values.tolist()
                predictions = orjson.dumps(values, option=_NUMPY)
            confidence = _confidence(s.columns, s.probabilities, n)
            inputs = self._sample(s)
        errors = orjson.dumps(sorted(failed.items())).decode() if failed else None
        return (
            s.time, s.request_id, s.model, s.version, n, len(failed), s.status, s.latency_ms,
            predictions, confidence, errors, inputs,
        )  # fmt: skip

    @staticmethod
    def _keys(s: Scored) -> list[tuple[str, int]] | None:
        if not s.keys:
            return None
        given = _as_list(s.keys, s.n_rows)
        return [(str(k)[:256], i) for i, k in enumerate(given) if k is not None]


def _rows_of(message: tuple) -> int:
    """A queued message's rows as the writer counts them: a request's, or 1 (an answer)."""
    return 1 if message[0] is None else message[2]


class _Shared:
    """What the writer process tells the serving process, in shared memory."""

    def __init__(self, context):
        self.written_requests = context.Value("q", 0, lock=False)
        self.written_rows = context.Value("q", 0, lock=False)
        self.write_errors = context.Value("q", 0, lock=False)
        self.last_error = context.Array("c", 512, lock=False)


def open_engine(url: str) -> sa.Engine:
    """An engine on the log's database (SQLite: with the pragmas of _sqlite_pragmas)."""
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def purge(engine: sa.Engine, retention_days: float) -> None:
    """Deletes the requests older than the retention, with their keys, ids, feedback and minute
    counts (from the start of a minute: a minute's count goes with all its requests). The
    requests are found model by model through the (model, time) index: a condition on the time
    alone read the whole log, every hour."""
    minute = int((time.time() - retention_days * 86400) // 60)
    cutoff = minute * 60.0
    try:
        with engine.begin() as connection:
            models = connection.execute(sa.select(minutes.c.model).distinct()).scalars().all()
            expired = sa.and_(requests.c.model.in_(models), requests.c.time < cutoff)
            old = sa.select(requests.c.id).where(expired)
            connection.execute(feedback.delete().where(feedback.c.request.in_(old)))
            connection.execute(keys.delete().where(keys.c.request.in_(old)))
            connection.execute(ids.delete().where(ids.c.request.in_(old)))
            connection.execute(requests.delete().where(expired))
            connection.execute(minutes.delete().where(minutes.c.minute < minute))
    except sa.exc.SQLAlchemyError as error:
        _log.error(
            "prediction log: purge of rows older than %g days failed: %s", retention_days, error
        )


def _writer_main(url: str, retention_days: float, messages, shared: _Shared) -> None:
    """The writer process: takes encoded requests off the queue and writes them in batches,
    retrying (with a growing pause) while the database is down; meanwhile it reads no more,
    so the serving process's queue fills and counts drops. Ends on the stop signal or when the
    serving process is gone (the pipe's end of file)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_in_background()
    _Writer(open_engine(url), retention_days, messages, shared).run()


def run_in_background() -> None:
    """This process (the writer, the reports' worker) yields to the serving process: niceness
    10, and on Linux the batch policy, under which its wake-ups (a batch off the pipe) do not
    preempt a request thread mid-request; it still gets its share of a busy core. Measured in
    one service, log on with the writer under each policy by turns (bench_log_overhead.py's
    slots, 1000-row requests, 4 clients, 120 s): p95 +10.4% against +14.2% (regressor), +7.4%
    against +12.3% (forest)."""
    os.nice(WORKER_NICENESS)
    if hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


class _Writer:
    def __init__(self, engine: sa.Engine, retention_days: float, messages, shared):
        self.engine = engine
        self.retention_days = retention_days
        self.messages = messages  # the reading end of the pipe from the serving process
        self.shared = shared
        self.stopping = False
        marker = "?" if engine.dialect.paramstyle in ("qmark", "numeric") else "%s"
        self.insert_requests = _insert_sql(requests, _COLUMNS, marker)
        self.insert_keys = _insert_sql(keys, ("model", "key", "request", "row"), marker)
        self.insert_ids = _insert_sql(ids, ("request_id", "request", "row"), marker)
        self.add_minutes = _add_minutes_sql(marker)

    def run(self) -> None:
        last_purge = 0.0
        while not self.stopping:
            try:
                batch = self.messages.recv() if self.messages.poll(1.0) else []
            except EOFError:  # the serving process is gone
                break
            if batch is None:
                break
            if batch:
                self.write_until_done(batch)
            if time.time() - last_purge > _PURGE_EVERY:
                last_purge = time.time()
                purge(self.engine, self.retention_days)
        self.engine.dispose()

    def write_until_done(self, messages: list) -> None:
        pause = 0.5
        while not self.write(messages):
            time.sleep(pause)
            pause = min(pause * 2, 30.0)

    def write(self, messages: list) -> bool:
        """Writes a batch of messages (see :meth:`PredictionLog.record` and
        :meth:`PredictionLog.record_answer`) in one transaction; False if it failed."""
        batch = [m for m in messages if m[0] is not None]  # (row, keys, rows) of a request
        blocks = _blocks([m for m in messages if m[0] is None])
        plain = [row for row, named, _ in batch if not named]
        try:
            with self.engine.begin() as connection:
                if plain:  # tuples straight to the driver's executemany
                    connection.exec_driver_sql(self.insert_requests, plain)
                for row, named, _ in batch:
                    if named:  # the keys need the request's id
                        self.write_keyed(connection, row, named)
                for block in blocks:
                    self.write_block(connection, block)
                counts = [(row, 1) for row, _, _ in batch] + [(b.row, b.requests) for b in blocks]
                connection.exec_driver_sql(self.add_minutes, _per_minute(counts))
        except sa.exc.SQLAlchemyError as error:
            self.shared.write_errors.value += 1
            message = str(error.orig if hasattr(error, "orig") else error).strip()
            self.shared.last_error.value = message.encode()[:511]
            _log.error("prediction log: %d requests not written yet: %s", len(batch), message)
            return False
        self.shared.last_error.value = b""
        self.shared.written_rows.value += sum(map(_rows_of, messages))
        self.shared.written_requests.value += len(messages)
        return True

    def write_keyed(self, connection, row: tuple, named: list[tuple[str, int]]) -> None:
        inserted = connection.execute(
            requests.insert().returning(requests.c.id), dict(zip(_COLUMNS, row, strict=True))
        )
        request = inserted.scalar_one()
        model = row[_COLUMNS.index("model")]
        connection.exec_driver_sql(self.insert_keys, [(model, key, request, i) for key, i in named])

    def write_block(self, connection, block: _Block) -> None:
        inserted = connection.execute(
            requests.insert().returning(requests.c.id),
            dict(zip(_BLOCK_COLUMNS, block.row, strict=True)),
        )
        request = inserted.scalar_one()
        if block.indexed:
            connection.exec_driver_sql(
                self.insert_ids, [(rid, request, i) for rid, i in block.indexed]
            )


@dataclass
class _Block:
    """The answered single records of one model version and second in a batch (see requests)."""

    row: tuple  # in the order of _BLOCK_COLUMNS
    indexed: list[tuple[str, int]]  # the request ids to index (not the service's own) and rows

    @property
    def requests(self) -> int:
        return self.row[4]  # its rows: one per request


def _blocks(answered: list) -> list[_Block]:
    """Messages of :meth:`PredictionLog.record_answer` as blocks, one per model, version and
    second (so a block is within a minute, and the service's own request ids, which hold their
    time, are found among the blocks of a second or two), in the order they came. The answers
    go in as they are (readers parse them): no parsing here, where every request passes, but
    where a report reads a sample. Only the clients' request ids are indexed."""
    groups: dict[tuple, list] = {}
    for message in answered:  # (None, when, id, model, version, ms, answer, names, record, own)
        key = (message[3], message[4], int(message[1]))
        group = groups.get(key) or groups.setdefault(key, [])
        group.append(message)
    blocks = []
    for (model, version, _), group in groups.items():
        target, probabilities, input_names = group[0][7]
        times = [m[1] for m in group]
        request_ids = [m[2] for m in group]
        latencies = [m[5] for m in group]
        head = orjson.dumps({"target": target, "probabilities": probabilities})[:-1]
        predictions = b"".join((head, b',"answers":[', b",".join(m[6] for m in group), b"]}"))
        sampled = [i for i, m in enumerate(group) if m[8] is not None]
        inputs = None
        if sampled:
            columns = _inputs([group[i][8] for i in sampled], input_names, range(len(sampled)))
            inputs = orjson.dumps({"rows": sampled, "columns": columns}, option=_NUMPY)
        members = {"request_ids": request_ids, "times": times, "latencies": latencies}
        row = (
            min(times), request_ids[0], model, version, len(group), 0, 200, max(latencies),
            predictions, None, None, inputs, orjson.dumps(members, option=_NUMPY),
        )  # fmt: skip
        indexed = [(m[2], i) for i, m in enumerate(group) if not m[9]]
        blocks.append(_Block(row, indexed))
    return blocks


def _per_minute(counted: list[tuple[tuple, int]]) -> list[tuple]:
    """Counts per model, version and minute (requests, rows, failed rows, failed requests) of
    a batch's rows, each with its number of requests (a block's, or 1), in the order of the
    minutes table's key: writers sharing a PostgreSQL log then lock its rows in the same order."""
    counts: dict[tuple, list[int]] = {}
    for row, n_requests in counted:
        key = (row[2], row[3], int(row[0] // 60))  # model, version, minute
        count = counts.get(key) or counts.setdefault(key, [0, 0, 0, 0])
        count[0] += n_requests
        count[1] += row[4]
        count[2] += row[5]
        count[3] += row[6] >= 400
    return [(*key, *count) for key, count in sorted(counts.items())]


def _add_minutes_sql(marker: str) -> str:
    """Adds a batch's counts to the minutes table (SQLite and PostgreSQL both upsert so)."""
    insert = _insert_sql(minutes, ("model", "version", "minute", *MINUTE_COUNTS), marker)
    add = ", ".join(f'"{c}" = {minutes.name}."{c}" + excluded."{c}"' for c in MINUTE_COUNTS)
    return f'{insert} ON CONFLICT ("model", "version", "minute") DO UPDATE SET {add}'


def _add_members(connection) -> None:
    """Adds the ``members`` column to a log written before blocks (same type as a new log's)."""
    if "members" not in {c["name"] for c in sa.inspect(connection).get_columns(requests.name)}:
        kind = requests.c.members.type.compile(dialect=connection.dialect)
        connection.exec_driver_sql(f"ALTER TABLE {requests.name} ADD COLUMN members {kind}")


def _count_minutes(dialect: str) -> sa.Insert:
    """Counts the logged requests per minute into an empty minutes table: a log written before
    pmmlkit kept the counts gets them when a service (or ``pmmlkit monitor``) first opens it.
    One statement, so a writer that counts meanwhile is never counted twice."""
    r = requests.c
    minute = r.time / 60
    minute = sa.cast(sa.func.floor(minute) if dialect == "postgresql" else minute, sa.Integer)
    counted = sa.select(
        r.model,
        r.version,
        minute,
        sa.func.sum(sa.case((r.members.is_not(None), r.rows), else_=1)),  # a block: its rows
        sa.func.sum(r.rows),
        sa.func.sum(r.failed_rows),
        sa.func.sum(sa.case((r.status >= 400, 1), else_=0)),
    )
    counted = counted.where(~sa.exists(sa.select(minutes.c.minute))).group_by(
        r.model, r.version, minute
    )
    return minutes.insert().from_select(["model", "version", "minute", *MINUTE_COUNTS], counted)


def _insert_sql(table: sa.Table, columns: tuple[str, ...], marker: str) -> str:
    """INSERT of one row, in the driver's own placeholders (sqlite3: ?, psycopg: %s), for
    tuples handed straight to the driver's executemany."""
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"


@dataclass
class Logged:
    """One logged request's columns, decoded (see :func:`decode`)."""

    id: int
    time: float
    version: int
    rows: int
    predictions: list  # the target's value per row ([] when nothing was answered)
    confidence: np.ndarray  # float per row, NaN where none
    errors: dict[int, str]  # row -> first error code
    inputs: dict[int, dict]  # row -> input record, for the sampled rows
    # a block's: each row's request id, time and latency (None for a request's row)
    members: dict[str, list] | None = None

    def answered(self) -> list[int]:
        """The rows with a prediction (not failed, not null)."""
        return [i for i, v in enumerate(self.predictions) if v is not None and i not in self.errors]

    def request_of(self, i: int, request_id: str) -> tuple[str, int, float]:
        """The request id, the row within its request, and the time of row ``i`` (a block's
        rows are single records: row 0 of their own request; ``request_id`` is the column's)."""
        if self.members is None:
            return request_id, i, self.time
        return self.members["request_ids"][i], 0, self.members["times"][i]


def results(blob: bytes) -> tuple[list, np.ndarray | None]:
    """A ``predictions`` column decoded: the target's value per row, and a block's confidence
    (the largest class probability per row, NaN where none; None for a request's row, whose
    confidence has its own column, and for a regressor's block)."""
    if blob[:1] == _FLOATS:
        numbers = np.frombuffer(blob[1:], dtype="<f8")
        values = numbers.tolist()
        missing = np.isnan(numbers)
        if missing.any():
            values = [None if m else v for v, m in zip(values, missing.tolist(), strict=True)]
        return values, None
    decoded = orjson.loads(blob)
    if type(decoded) is list:
        return decoded, None
    target, probabilities = decoded["target"], decoded["probabilities"]
    answered = [answer["result"] for answer in decoded["answers"]]
    predictions = [result.get(target) for result in answered]
    if not probabilities:
        return predictions, None
    columns = {p: [result.get(p) for result in answered] for p in probabilities}
    return predictions, np.frombuffer(_confidence(columns, probabilities, len(answered)), "<f8")


def decode(row) -> Logged:
    """A row of ``requests`` (a mapping with id, time, version and rows, and any of the result
    columns predictions, confidence, errors, inputs and members) as a :class:`Logged`."""
    n = row["rows"]
    blob = row.get("predictions")
    predictions, confidence = results(blob) if blob is not None else ([], None)
    if predictions and len(predictions) != n:
        predictions = (predictions + [None] * n)[:n]
    blob = row.get("confidence")
    if confidence is None:
        confidence = np.frombuffer(blob, dtype="<f8") if blob is not None else np.full(n, np.nan)
    inputs = {}
    if row.get("inputs") is not None:
        sample = orjson.loads(row["inputs"])
        columns = sample["columns"]
        inputs = {
            r: {name: values[i] for name, values in columns.items()}
            for i, r in enumerate(sample["rows"])
        }
    errors = row.get("errors")
    return Logged(
        id=row["id"],
        time=row["time"],
        version=row["version"],
        rows=n,
        predictions=predictions,
        confidence=confidence,
        errors={r: code for r, code in orjson.loads(errors)} if errors else {},
        inputs=inputs,
        members=orjson.loads(row["members"]) if row.get("members") is not None else None,
    )


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: a process crash loses no commit
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _as_list(values, n: int) -> list:
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return values if len(values) == n else (values + [None] * n)[:n]


def as_label(value) -> str:
    """A label or value as the log compares it (1.0 and 1 both as '1'), so that feedback and
    reports agree with what the model answered."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _confidence(columns: Mapping, probabilities: Sequence[str], n: int) -> bytes | None:
    """The largest class probability of each row, as float64 bytes (NaN where none)."""
    if not probabilities:
        return None
    if n == 1:  # a single record: plain floats (numpy's cost per call was most of the work)
        found = [
            p for p in [columns[name][0] for name in probabilities] if p is not None and p == p
        ]
        return struct.pack("<d", max(found) if found else math.nan)
    best = np.asarray(columns[probabilities[0]], dtype=float)
    for name in probabilities[1:]:  # fmax: NaN only where both are (np.max(where=) is 10x slower)
        best = np.fmax(best, np.asarray(columns[name], dtype=float))
    return best.astype("<f8").tobytes()


def _every(column, start: int, step: int) -> Sequence:
    """An input column's values at rows start, start + step, ... (a list, an array or a pandas
    Series, as BatchResult.inputs holds them; orjson takes contiguous numeric arrays)."""
    if hasattr(column, "to_numpy"):
        column = column.to_numpy()
    picked = column[start::step]
    if isinstance(picked, np.ndarray):
        return picked.copy() if picked.dtype.kind in "biuf" else picked.tolist()
    return picked


def _inputs(data, names: Sequence[str], rows: list[int]) -> dict[str, list]:
    """The sampled rows' input values, column by column (records or columns; fields the model
    does not take left out, a field a record lacks as null). Values as they came: orjson writes
    NaN as null and numpy values as numbers."""
    if isinstance(data, Mapping):  # columns
        return {
            n: [data[n][row] if row < len(data[n]) else None for row in rows]
            for n in names
            if n in data
        }
    records = [data[row] for row in rows]
    if not all(type(r) is dict for r in records):  # a record that was not an object failed
        records = [r if isinstance(r, Mapping) else {} for r in records]
    return {n: [r.get(n) for r in records] for n in names}
