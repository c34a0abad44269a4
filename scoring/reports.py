"""Monitoring reports computed in a worker process, never in the serving process.

A day's report reads up to 200,000 logged requests and answered rows: measured on a log of
150,000 single-record and 3,000 1000-row requests, 0.8 s of work in Python and SQLite, of which
stretches of about 0.1 s held the interpreter lock. Run by the alert watcher every
``monitor_interval`` and by ``GET /v1/models/{name}/monitoring`` (the /ui page), that stalled
every request thread of the service. So the service hands each report to one worker process
(spawned: a process running a JVM is never forked) which has its own database connection and
reads the cards from the store; the request or watcher thread waits for the answer without
holding the lock. ``pmmlkit monitor`` calls :func:`.monitoring.report` itself: it has no
requests to stall.

    reports = Reports(log.engine.url, "pmml_models", Thresholds())
    answer = reports.report("forest", window="hour")   # the dict monitoring.report() answers
    reports.close()
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

import sqlalchemy as sa

from .errors import PredictionLogError
from .monitoring import SAMPLE, Thresholds, card_or_empty, report
from .predlog import open_engine, run_in_background
from .store import ModelStore


class Reports:
    """The service's monitoring reports, one at a time, in a worker started on first use (about
    half a second: a fresh interpreter) and started again if it dies. Thread-safe."""

    def __init__(self, url: sa.URL | str, store: str, thresholds: Thresholds):
        self.url = url.render_as_string(hide_password=False) if isinstance(url, sa.URL) else url
        self.store = str(store)
        self.thresholds = thresholds
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False

    def report(
        self,
        name: str,
        *,
        window: str = "day",
        version: int | None = None,
        sample: int = SAMPLE,
        series: bool = True,
    ) -> dict:
        """Model ``name``'s report (see :func:`.monitoring.report`); PredictionLogError when the
        log cannot be read, or when the worker died twice in a row preparing it."""
        work = partial(_report, name, window, version, self.thresholds, sample, series)
        try:
            return self._run(work)
        except BrokenProcessPool:  # the worker died since the last report: again, in a new one
            self._discard()
        try:
            return self._run(work)
        except BrokenProcessPool:
            self._discard()
            raise PredictionLogError(
                "The monitoring worker process stopped while preparing the report."
            ) from None

    def _run(self, work) -> dict:
        try:
            return self._worker().submit(work).result()
        except _Unreadable as error:
            raise PredictionLogError(f"The prediction log cannot be read: {error}.") from None

    def start(self) -> Reports:
        """Starts the worker now rather than at the first report: starting it mid-traffic (the
        drift check's first report, a minute in) stalled scoring for some 60 ms (4 paced clients,
        2,800 single records a second: 45 requests in a row at 11 ms)."""
        self._worker().submit(_started)
        return self

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _worker(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise PredictionLogError("The service is stopping: no more reports.")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_open,
                    initargs=(self.url, self.store),
                )
            return self._pool

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class _Unreadable(Exception):
    """Raised in the worker for a database error (SQLAlchemy's own exceptions may not pickle)."""


_opened: dict = {}  # in the worker: its engine and store


def _open(url: str, store: str) -> None:
    run_in_background()  # the request threads go first when the cores are busy
    threading.Thread(target=_exit_with_service, name="pmmlkit-reports-parent", daemon=True).start()
    _opened.update(engine=open_engine(url), store=ModelStore(store))


def _exit_with_service() -> None:
    """Ends the worker when the serving process is gone, however it ended (a SIGKILL, a crash):
    the pool's call queue never reports it (this process holds both ends of its pipe), so the
    worker waited on it for ever."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os._exit(0)


def _started() -> bool:
    return True


def _report(
    name: str, window: str, version: int | None, thresholds: Thresholds, sample: int, series: bool
) -> dict:
    try:
        return report(
            _opened["engine"],
            name,
            partial(card_or_empty, _opened["store"], name),
            window=window,
            version=version,
            thresholds=thresholds,
            sample=sample,
            series=series,
        )
    except sa.exc.SQLAlchemyError as error:
        raise _Unreadable(str(getattr(error, "orig", None) or error).strip()) from None
