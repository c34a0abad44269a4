"""Runs the HTTP service on waitress: ``pmmlkit serve``, or :class:`Service` in a program or test.

with Service(Settings(store="pmml_models", port=0)).start() as service:
    print(service.url)        # http://127.0.0.1:<port>
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import signal
import threading

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask, ThreadedTaskDispatcher

from . import openscoring_api
from .alerts import Watcher
from .app import create_app, scoring_target
from .errors import ListenError
from .observe import AccessLog
from .predlog import PredictionLog
from .registry import Poller, Registry
from .settings import Settings
from .store import ModelStore

_log = logging.getLogger(__name__)
_WAITRESS_CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large"}


class Service:
    """The store's models behind waitress, with the reload poller. Every model's default version
    and aliases are loaded before the socket accepts requests; failures are logged and shown by
    /readyz while the other models serve."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry = Registry(ModelStore(settings.store), settings)
        self.registry.reload()  # logs every version that fails to load
        target = settings.prediction_log_target
        self.log = None
        if target is not None:
            self.log = PredictionLog.open(
                target,
                inputs_rate=settings.log_inputs_rate,
                queue_size=settings.log_queue,
                retention_days=settings.log_retention_days,
            )
        # waitress refuses a body over the limit before reading it (its answer made JSON by
        # _JsonErrorChannel); channel_timeout closes connections idle or trickling that long.
        self.access = AccessLog.open(settings.access_log)
        self.app = create_app(settings, self.registry, self.log, self.access)
        self.watcher = None
        if self.log is not None:
            self.watcher = Watcher(self.registry, self.app.reports, settings, self.app.metrics)
        self.dispatcher = _Dispatcher(self.registry, settings.inline_max_bytes)
        self.dispatcher.set_thread_count(settings.threads)
        try:
            self.server = waitress.create_server(
                self.app,
                _dispatcher=self.dispatcher,
                host=settings.host,
                port=settings.port,
                threads=settings.threads,
                max_request_body_size=settings.max_body_bytes,
                channel_timeout=max(1, int(settings.request_timeout)),
                ident="pmmlkit",
            )
        except (OSError, ValueError) as error:  # nothing started yet: close what is open
            self.dispatcher.shutdown()
            self._close_logs()
            raise _listen_error(settings, error) from None
        self.server.channel_class = _Channel
        self.dispatcher.listener = self.server
        self.app.metrics.count_waits(self.dispatcher)
        self.port = self.server.effective_port
        self.url = f"http://{settings.host}:{self.port}"
        self._poller = Poller(self.registry, settings.reload_interval)
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def run(self) -> None:
        """Serves in this thread until interrupted."""
        self._start_workers()
        self._serve()

    def start(self) -> Service:
        """Serves on a background thread; :meth:`close` (or leaving ``with``) stops it. The
        reload poller and the log's writer are running when it returns."""
        self._start_workers()
        self._thread = threading.Thread(target=self._run_quietly, name="pmmlkit-http", daemon=True)
        self._thread.start()
        return self

    def _start_workers(self) -> None:
        """The reload poller and, with a prediction log, its writer and the drift watcher."""
        self._poller.start()
        if self.log is not None:
            self.log.start()
            self.watcher.start()

    def _serve(self) -> None:
        self.dispatcher.loop_thread = threading.get_ident()
        try:
            self.server.run()  # returns on SystemExit or KeyboardInterrupt (see _Stop)
        finally:
            self._poller.stop()
            self._close_logs()

    def _run_quietly(self) -> None:
        try:
            self._serve()
        except (OSError, ValueError):  # the loop's sockets closed under it by close()
            if not self._closing.is_set():
                raise

    def close(self) -> None:
        """Stops serving: idle keep-alive connections (a pooling client's) are closed too, so
        the loop ends now rather than after --request-timeout."""
        self._closing.set()
        self._poller.stop()
        try:
            if self._thread is not None and self._thread.is_alive():
                self.server.trigger.pull_trigger(self._close_sockets)  # runs on the loop's thread
            else:
                self._close_sockets()
        except (
            OSError
        ) as error:  # the trigger's descriptor is gone (seen once in CI, not reproduced)
            _log.warning("closing the listening sockets: %s", error)
        self.server.task_dispatcher.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._close_logs()

    def _close_logs(self) -> None:
        if self.log is not None:
            self.watcher.stop()
            self.app.reports.close()
            self.log.close()
        if self.access is not None:
            self.access.close()

    def _close_sockets(self) -> None:
        for dispatcher in list(self.server._map.values()):
            if dispatcher not in (self.server, self.server.trigger):
                dispatcher.close()
        self.server.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_LISTEN_HINTS = {
    errno.EADDRINUSE: "another process listens there: choose another --port (0: any free port)",
    errno.EACCES: "ports below 1024 need root or CAP_NET_BIND_SERVICE: choose another --port",
    errno.EADDRNOTAVAIL: "--host must be an address of this machine (127.0.0.1: loopback only)",
}


def _listen_error(settings: Settings, error: OSError | ValueError) -> ListenError:
    """The service's socket refused (see _LISTEN_HINTS), or a host name that does not resolve
    (waitress's ValueError: the settings checked the port), as one line naming the setting."""
    if isinstance(error, OSError):
        reason, code = error.strerror or str(error), error.errno
    else:
        reason, code = "the host name does not resolve", errno.EADDRNOTAVAIL
    hint = _LISTEN_HINTS.get(code)
    return ListenError(
        f"Cannot listen on {settings.host}:{settings.port}: {reason}"
        + (f"; {hint}." if hint else "."),
        field="host" if code == errno.EADDRNOTAVAIL else "port",
    )


class _JsonErrorTask(ErrorTask):
    """waitress's own error answers (a body over the limit, malformed HTTP) in the one JSON
    error body."""

    def execute(self):
        error = self.request.error
        code = _WAITRESS_CODES.get(error.code, "internal_error")
        message = {
            "payload_too_large": "The body is larger than the "
            f"{self.channel.server.adj.max_request_body_size} bytes allowed.",
        }.get(code, f"{error.reason}: {error.body}.")
        path = getattr(self.request, "path", "") or ""
        if openscoring_api.is_compat_path(path):  # that API's own error body and header
            body = json.dumps({"message": message}).encode()
            self.response_headers.extend(openscoring_api.headers_for(path))
        else:
            body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Dispatcher(ThreadedTaskDispatcher):
    """waitress's request threads, except for small scoring requests: those are served on the
    I/O thread, where they were read (by :class:`_Channel`). Handing a request to a thread wakes
    that thread and passes it the interpreter lock, a cost several times that of scoring one
    record: single records ran at twice the rate inline (see Settings.inline_max_bytes). A
    request served inline holds up the reading and writing of the others for its duration,
    so only scoring requests with a body up to ``max_bytes``, for a model already loaded
    (a first use loads it: seconds), are; everything else goes to the threads."""

    def __init__(self, registry: Registry, max_bytes: int):
        super().__init__()
        self.registry = registry
        self.max_bytes = max_bytes
        self.loop_thread: int | None = None  # the I/O thread's id, set by Service._serve
        self.listener = None  # the server, whose listening socket shutdown closes

    def shutdown(self, cancel_pending=True, timeout=5):
        """Stops the request threads (waitress waits up to ``timeout`` for their answers). On
        the I/O thread, once its loop has ended (SIGTERM, Ctrl-C), the listening socket closes
        first: no new connections while the last answers go out and the logs are written (up
        to 10 s); a client is refused at once and tries another instance, instead of waiting
        in the listen backlog for a service that will not read it. Only that socket: a request
        thread still answering may pull the loop's trigger."""
        if self.listener is not None and threading.get_ident() == self.loop_thread:
            wasyncore.dispatcher.close(self.listener)
        return super().shutdown(cancel_pending, timeout)

    def add_task(self, channel) -> None:
        if threading.get_ident() == self.loop_thread and self._inline(channel.requests[0]):
            channel.inline = True
        else:
            super().add_task(channel)

    def _inline(self, request) -> bool:
        if (
            request.error
            or request.command != "POST"
            or request.chunked  # its content_length stays 0, whatever the body's size
            or request.content_length > self.max_bytes
        ):
            return False
        target = scoring_target(request.path)
        return target is not None and self.registry.loaded(target[1], target[2])


class _Channel(HTTPChannel):
    """A connection: waitress's own error answers in JSON (:class:`_JsonErrorTask`), and the
    requests :class:`_Dispatcher` keeps on the I/O thread served there, once read (waitress
    calls the dispatcher while it holds the connection's lock, so not at that point)."""

    error_task_class = _JsonErrorTask
    inline = False  # set by _Dispatcher.add_task: serve the request read on this thread

    def received(self, data) -> bool:
        more = super().received(data)
        while self.inline:  # service() may queue the next of pipelined requests the same way
            self.inline = False
            _stop.busy = True  # plain attributes: this runs for every single record
            try:
                self.service()
            finally:
                _stop.answered()
        return more


class _Stop:
    """SIGTERM (systemd, Kubernetes, ``kill``) ends ``pmmlkit serve`` the way Ctrl-C does:
    waitress's loop ends, its request threads finish what they run (it waits up to 5 s; each
    thread sends its own answer, as waitress's send_bytes of 1 has it), and :meth:`Service.run`
    writes the prediction log's queue and the access log's lines and stops the writer and
    report processes. Without it the process died at once: up to a tenth of a second of queued
    log records and access lines lost, and the report worker left behind. The signal lands on
    the I/O thread; one that comes while that thread answers a request inline takes effect
    once it is answered."""

    def __init__(self):
        self.busy = False
        self.requested = False

    def __call__(self, signum, frame) -> None:
        if self.requested:  # stopping already: a second signal must not cut the logs' writing
            return
        self.requested = True
        if not self.busy:
            raise SystemExit(0)

    def answered(self) -> None:
        """The I/O thread's inline answer is done (``busy`` was set for it): a signal that came
        meanwhile takes effect now."""
        self.busy = False
        if self.requested:
            raise SystemExit(0)


_stop = _Stop()


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    service = Service(settings)
    # Everything made so far (the JVM bridge's classes, the models, the libraries) lives as long
    # as the process: out of the garbage collector's sight, a full collection is 0.1 to 0.5 ms
    # instead of some 35 ms, and those pauses were most of the service's p95 and p99.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGTERM, _stop)
    _log.info("serving %s on %s", settings.store, service.url)
    service.run()
    _log.info("stopped")
