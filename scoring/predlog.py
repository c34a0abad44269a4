"""The prediction log: what each model version predicted, for monitoring, feedback and cases.

Scoring threads hand a request's results to :meth:`PredictionLog.record`, which only puts them on a
bounded queue (never blocks; a full queue counts the rows as dropped). One background thread turns
them into rows and writes them in batches, in SQLite by default and in PostgreSQL when the setting
is a ``postgresql://`` URL (several instances behind a load balancer then share one log).
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
_REQUEST_COLUMNS = (
    "time", "request_id", "model", "version", "rows", "failed_rows", "status", "latency_ms",
)  # fmt: skip
_PREDICTION_COLUMNS = (
    "time", "request_id", "row", "model", "version", "prediction", "value", "confidence",
    "error", "key", "inputs",
)  # fmt: skip
_PURGE_EVERY = 3600.0

metadata = sa.MetaData()
requests = sa.Table(
    "pmmlkit_requests",
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
    sa.Index("pmmlkit_requests_model_time", "model", "time"),
)
predictions = sa.Table(
    "pmmlkit_predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("request_id", sa.String(128), nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("prediction", sa.Text),  # the target's value as text (a label, or a number)
    sa.Column("value", sa.Float),  # the target's value as a number (regression)
    sa.Column("confidence", sa.Float),  # the largest class probability (classification)
    sa.Column("error", sa.String(64)),  # the first error code of a row that failed
    sa.Column("key", sa.String(256)),  # the client's key for the record, if it sent one
    sa.Column("inputs", sa.Text),  # the record as JSON, for the sampled rows only
    sa.Index("pmmlkit_predictions_model_time", "model", "time"),
    sa.Index("pmmlkit_predictions_request", "request_id", "row"),
    sa.Index("pmmlkit_predictions_key", "model", "key"),
)
feedback = sa.Table(
    "pmmlkit_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("prediction_id", sa.Integer, nullable=False),  # pmmlkit_predictions.id
    sa.Column("outcome", sa.Text),  # the true label or value, as text
    sa.Column("correct", sa.Boolean),  # a reviewer's verdict on the prediction
    sa.Column("flag", sa.String(64)),  # e.g. not_interested
    sa.Column("reason", sa.Text),
    sa.Index("pmmlkit_feedback_prediction", "prediction_id"),
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
        self._random = np.random.default_rng(seed)
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
        """Queues a request's results; False (rows counted as dropped) when the queue is full."""
        with self._idle:
            try:
                self._queue.put_nowait(scored)
            except queue.Full:
                self.dropped_rows += scored.n_rows
                return False
            self._pending += 1
        return True

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
        request_rows = [_request_row(s) for s in batch]
        prediction_rows = [row for s in batch for row in self._prediction_rows(s)]
        try:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(self._insert(requests, _REQUEST_COLUMNS), request_rows)
                if prediction_rows:  # tuples straight to the driver's executemany: no per-row
                    connection.exec_driver_sql(
                        self._insert(predictions, _PREDICTION_COLUMNS), prediction_rows
                    )
        except sa.exc.SQLAlchemyError as error:
            self.write_errors += 1
            self.last_error = str(error.orig if hasattr(error, "orig") else error).strip()
            _log.error(
                "prediction log: %d requests not written yet: %s", len(batch), self.last_error
            )
            return False
        self.last_error = None
        self.written_rows += len(prediction_rows)
        with self._idle:
            self._pending -= len(batch)
            self._idle.notify_all()
        return True

    def _insert(self, table: sa.Table, columns: tuple[str, ...]) -> str:
        """INSERT of one row, in the driver's own placeholders (sqlite3: ?, psycopg: %s): the
        writer hands tuples straight to the driver's executemany, since its Python work per row
        is what logging costs the request threads."""
        marker = "?" if self.engine.dialect.paramstyle in ("qmark", "numeric") else "%s"
        names = ", ".join(f'"{c}"' for c in columns)
        return f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"

    def _prediction_rows(self, s: Scored) -> list[tuple]:
        """One tuple per row in the order of _PREDICTION_COLUMNS, built column by column."""
        n = s.n_rows
        if n == 0 or s.target is None or s.status >= 400:  # nothing was answered
            return []
        values = _as_list(s.columns[s.target], n)
        text = [None if v is None else as_label(v) for v in values]
        numeric = [_number(v) for v in values] if _numbers(values) else [None] * n
        confidence = _confidence(s.columns, s.probabilities, n)
        error: list = [None] * n
        for row, problem in s.errors:
            if error[row] is None:
                error[row] = problem.code
                text[row] = numeric[row] = confidence[row] = None
        inputs: list = [None] * n
        sampled = np.flatnonzero(self._random.random(n) < self.inputs_rate).tolist()
        for row, cell in zip(sampled, _inputs(s.data, s.input_names, sampled), strict=True):
            inputs[row] = cell
        keys = (
            [None if k is None else str(k)[:256] for k in _as_list(s.keys, n)]
            if s.keys
            else [None] * n
        )
        return list(
            zip(
                [s.time] * n, [s.request_id] * n, range(n), [s.model] * n, [s.version] * n,
                text, numeric, confidence, error, keys, inputs, strict=True,
            )
        )  # fmt: skip

    def purge(self) -> None:
        """Deletes what is older than the retention (the writer does it hourly)."""
        cutoff = time.time() - self.retention_days * 86400
        try:
            with self.engine.begin() as connection:
                old = sa.select(predictions.c.id).where(predictions.c.time < cutoff)
                connection.execute(feedback.delete().where(feedback.c.prediction_id.in_(old)))
                connection.execute(predictions.delete().where(predictions.c.time < cutoff))
                connection.execute(requests.delete().where(requests.c.time < cutoff))
        except sa.exc.SQLAlchemyError as error:
            _log.error(
                "prediction log: purge of rows older than %g days failed: %s",
                self.retention_days,
                error,
            )


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: a process crash loses no commit
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _request_row(s: Scored) -> tuple:
    failed = len({row for row, _ in s.errors})
    return (s.time, s.request_id, s.model, s.version, s.n_rows, failed, s.status, s.latency_ms)


def _as_list(values, n: int) -> list:
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return values if len(values) == n else (values + [None] * n)[:n]


def _numbers(values: list) -> bool:
    """Whether the target's values are numbers (a regression, or numeric class labels)."""
    first = next((v for v in values if v is not None), None)
    return isinstance(first, (int, float)) and not isinstance(first, bool)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if value != value else float(value)  # NaN: a missing number


def as_label(value) -> str:
    """A label or value as the log writes it (1.0 and 1 both as '1'), so that feedback
    compares with it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _confidence(columns: Mapping, probabilities: Sequence[str], n: int) -> list:
    if not probabilities:
        return [None] * n
    stacked = np.column_stack([np.asarray(columns[p], dtype=float) for p in probabilities])
    best = np.max(stacked, axis=1, initial=-np.inf, where=~np.isnan(stacked))
    return [None if not np.isfinite(v) else float(v) for v in best]


def _inputs(data, names: Sequence[str], rows: list[int]) -> list[str]:
    """The sampled rows' input values as JSON (records or columns; other fields left out)."""
    if not rows:
        return []
    if isinstance(data, Mapping):  # columns
        cells = [{n: _cell(data[n], row) for n in names if n in data} for row in rows]
    else:
        cells = [
            {n: data[row].get(n) for n in names if n in data[row]}
            if isinstance(data[row], Mapping)
            else {}
            for row in rows
        ]
    return [orjson.dumps(c, option=orjson.OPT_SERIALIZE_NUMPY).decode() for c in cells]


def _cell(column, row: int):
    value = column[row] if row < len(column) else None
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value
