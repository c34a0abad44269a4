"""The prediction log: what each model version predicted, for monitoring, feedback and cases.

Scoring threads hand a request's results to :meth:`PredictionLog.record`, which only puts them on a
bounded queue (never blocks; a full queue counts the rows as dropped). One background thread turns
each request into one database row, its results as columns (:func:`decode` reads them back), and
writes them in batches, in SQLite by default and in PostgreSQL when the setting is a
``postgresql://`` URL (several instances behind a load balancer then share one log).
SQLAlchemy Core gives the one SQL layer both need. A write that fails (database down or full) is
retried with a growing pause; what is already committed is never touched, and rows older than the
retention are purged.

    log = PredictionLog.open("predictions.sqlite3", inputs_rate=0.1).start()
    log.record(Scored(...))      # from a request thread
    log.flush(timeout=1)         # tests and feedback wait for the queue to drain
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
import sqlalchemy as sa

_log = logging.getLogger(__name__)
_BATCH = 500  # requests per transaction at most
_LINGER = 0.1  # seconds the writer waits for more requests before a transaction
_COLUMNS = (
    "time", "request_id", "model", "version", "rows", "failed_rows", "status", "latency_ms",
    "predictions", "confidence", "errors", "inputs",
)  # fmt: skip
_PURGE_EVERY = 3600.0
_NUMPY = orjson.OPT_SERIALIZE_NUMPY

# One row per scoring request, its rows' results as columns in that row: the writer's work and the
# database's are then per request, not per scored row (a row per scored row made the writer insert
# some 150,000 rows a second under 1000-row traffic, and its Python work took the GIL from the
# request threads: +30 to +150% at p95). Readers decode the columns with decode().
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
    # JSON array: the target's value of each row (a label or a number; null where none)
    sa.Column("predictions", sa.LargeBinary),
    # float64 little-endian, one per row: the largest class probability (NaN where none)
    sa.Column("confidence", sa.LargeBinary),
    # JSON [[row, code], ...]: the first error code of each row that failed
    sa.Column("errors", sa.Text),
    # JSON {"rows": [...], "columns": {field: [...]}}: the inputs of the sampled rows
    sa.Column("inputs", sa.LargeBinary),
    sa.Index("pmmlkit_log_requests_model_time", "model", "time"),
    sa.Index("pmmlkit_log_requests_request_id", "request_id"),
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
    keys: Sequence | None = None  # one client key per row
    inputs: bytes | None = None  # the sampled rows' inputs, made by record() from data


def database_url(setting: str) -> str:
    """A SQLAlchemy URL from the ``prediction_log`` setting: a URL as it is, else a SQLite file."""
    if setting.startswith("postgresql://"):  # psycopg 3 (the [postgres] extra), not psycopg2
        return "postgresql+psycopg://" + setting.removeprefix("postgresql://")
    return setting if "://" in setting else f"sqlite:///{setting}"


class PredictionLog:
    """The log's queue, writer thread and tables. Thread-safe."""

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
        self._queue: queue.Queue[Scored] = queue.Queue(maxsize=queue_size)
        self._seeds = np.random.SeedSequence(seed)
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0  # queued or being written
        self.dropped_rows = 0
        self.written_rows = 0
        self.write_errors = 0
        self.last_error: str | None = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    @classmethod
    def open(cls, setting: str, **options) -> PredictionLog:
        """Connects to the database named by the ``prediction_log`` setting and creates the
        tables it lacks (SQLite: write-ahead log, so monitoring reads while the writer writes)."""
        engine = sa.create_engine(database_url(setting), pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        metadata.create_all(engine)
        return cls(engine, **options)

    def start(self) -> PredictionLog:
        self._thread = threading.Thread(target=self._run, name="pmmlkit-predlog", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Writes what is queued (for at most ``timeout`` seconds), then stops the writer."""
        if self._stop.is_set():
            return
        if self._thread is not None:
            self.flush(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.engine.dispose()

    def record(self, scored: Scored) -> bool:
        """Queues a request's results; False (rows counted as dropped) when the queue is full.
        Runs on the request thread: it keeps only the sampled rows' inputs, encoded, so the queue
        holds no reference to the request's records (a thousand dicts per request kept alive
        for the writer made the garbage collector's full passes frequent and slow: 20 to 40 ms
        pauses of every thread)."""
        if scored.data is not None:
            scored.inputs = self._sample(scored)
            scored.data = None
        with self._idle:
            try:
                self._queue.put_nowait(scored)
            except queue.Full:
                self.dropped_rows += scored.n_rows
                return False
            self._pending += 1
        return True

    def _sample(self, s: Scored) -> bytes | None:
        """The inputs of the rows drawn at ``inputs_rate``, as JSON columns, or None."""
        if not s.n_rows or s.target is None or s.status >= 400 or not self.inputs_rate:
            return None
        rng = getattr(self._local, "random", None)
        if rng is None:  # numpy generators are not thread-safe: one per request thread
            rng = self._local.random = np.random.default_rng(self._seeds.spawn(1)[0])
        sampled = np.flatnonzero(rng.random(s.n_rows) < self.inputs_rate).tolist()
        if not sampled:
            return None
        columns = _inputs(s.data, s.input_names, sampled)
        return orjson.dumps({"rows": sampled, "columns": columns}, option=_NUMPY)

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until everything queued so far is written; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        pause, last_purge = 0.5, 0.0
        while not self._stop.is_set():
            batch = self._take()
            if not batch:
                if time.time() - last_purge > _PURGE_EVERY:
                    last_purge = time.time()
                    self.purge()
                continue
            while not self._write(batch):
                if self._stop.wait(pause):
                    return
                pause = min(pause * 2, 30.0)
            pause = 0.5

    def _take(self) -> list[Scored]:
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        # Let requests gather: one transaction per many requests, not one per request (the
        # writer's Python work per transaction takes the GIL from the request threads).
        self._stop.wait(_LINGER)
        while len(batch) < _BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Scored]) -> bool:
        rows = [self._row(s) for s in batch]
        plain = [row for row, s in zip(rows, batch, strict=True) if not s.keys]
        try:
            with self.engine.begin() as connection:
                if plain:  # tuples straight to the driver's executemany
                    connection.exec_driver_sql(self._insert(requests, _COLUMNS), plain)
                for row, s in zip(rows, batch, strict=True):
                    if s.keys:  # the keys need the request's id
                        self._write_keyed(connection, row, s)
        except sa.exc.SQLAlchemyError as error:
            self.write_errors += 1
            self.last_error = str(error.orig if hasattr(error, "orig") else error).strip()
            _log.error(
                "prediction log: %d requests not written yet: %s", len(batch), self.last_error
            )
            return False
        self.last_error = None
        self.written_rows += sum(s.n_rows for s in batch)
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()
        return True

    def _write_keyed(self, connection, row: tuple, s: Scored) -> None:
        inserted = connection.execute(
            requests.insert().returning(requests.c.id), dict(zip(_COLUMNS, row, strict=True))
        )
        request = inserted.scalar_one()
        given = _as_list(s.keys, s.n_rows)
        pairs = [(s.model, str(k)[:256], request, i) for i, k in enumerate(given) if k is not None]
        if pairs:
            connection.exec_driver_sql(
                self._insert(keys, ("model", "key", "request", "row")), pairs
            )

    def _insert(self, table: sa.Table, columns: tuple[str, ...]) -> str:
        """INSERT of one row, in the driver's own placeholders (sqlite3: ?, psycopg: %s): the
        writer hands tuples straight to the driver's executemany."""
        marker = "?" if self.engine.dialect.paramstyle in ("qmark", "numeric") else "%s"
        names = ", ".join(f'"{c}"' for c in columns)
        return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"

    def _row(self, s: Scored) -> tuple:
        """The request's row in the order of _COLUMNS: its results as whole columns (numpy and
        orjson, no Python work per scored row but for the sampled inputs and the failed rows)."""
        failed: dict[int, str] = {}
        for row, problem in s.errors:
            failed.setdefault(row, problem.code)
        n = s.n_rows
        predictions = confidence = None
        if n and s.target is not None and s.status < 400:  # else nothing was answered
            values = s.columns[s.target]
            if isinstance(values, np.ndarray) and values.dtype == object:
                values = values.tolist()
            predictions = orjson.dumps(values, option=_NUMPY)
            confidence = _confidence(s.columns, s.probabilities)
        errors = orjson.dumps(sorted(failed.items())).decode() if failed else None
        return (
            s.time, s.request_id, s.model, s.version, n, len(failed), s.status, s.latency_ms,
            predictions, confidence, errors, s.inputs,
        )  # fmt: skip

    def purge(self) -> None:
        """Deletes what is older than the retention (the writer does it hourly)."""
        cutoff = time.time() - self.retention_days * 86400
        old = sa.select(requests.c.id).where(requests.c.time < cutoff)
        try:
            with self.engine.begin() as connection:
                connection.execute(feedback.delete().where(feedback.c.request.in_(old)))
                connection.execute(keys.delete().where(keys.c.request.in_(old)))
                connection.execute(requests.delete().where(requests.c.time < cutoff))
        except sa.exc.SQLAlchemyError as error:
            _log.error(
                "prediction log: purge of rows older than %g days failed: %s",
                self.retention_days,
                error,
            )


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

    def answered(self) -> list[int]:
        """The rows with a prediction (not failed, not null)."""
        return [i for i, v in enumerate(self.predictions) if v is not None and i not in self.errors]

    def answered_values(self) -> list:
        """The predictions of the rows in :meth:`answered`, in order."""
        if not self.errors:
            return [v for v in self.predictions if v is not None]
        return [self.predictions[i] for i in self.answered()]


def decode(row) -> Logged:
    """A row of ``requests`` (a mapping with id, time, version and rows, and any of the result
    columns predictions, confidence, errors and inputs) as a :class:`Logged`."""
    n = row["rows"]
    blob = row.get("predictions")
    predictions = orjson.loads(blob) if blob is not None else []
    if predictions and len(predictions) != n:
        predictions = (predictions + [None] * n)[:n]
    blob = row.get("confidence")
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


def _confidence(columns: Mapping, probabilities: Sequence[str]) -> bytes | None:
    """The largest class probability of each row, as float64 bytes (NaN where none)."""
    if not probabilities:
        return None
    best = np.asarray(columns[probabilities[0]], dtype=float)
    for name in probabilities[1:]:  # fmax: NaN only where both are (np.max(where=) is 10x slower)
        best = np.fmax(best, np.asarray(columns[name], dtype=float))
    return best.astype("<f8").tobytes()


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
