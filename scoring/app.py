"""The HTTP service: ``create_app(settings)`` builds the WSGI app over the model store.

Handlers parse, call, serialise. Every non-2xx answer, Bottle's own 404/405/500 included, is
``{"error": {"code": ..., "message": ..., "field": ..., "request_id": ...}}``; no tracebacks, no
Java class names. The native API lives here, the admin calls in ``admin.py``, the
Openscoring-compatible API in ``openscoring_api.py``, the OpenAPI document in ``openapi.py``.
"""

from __future__ import annotations

import logging
import re

import bottle
import orjson

from . import admin, monitor_api, openapi, openscoring_api, payloads, ui
from .engine import unknown_field_errors
from .errors import InvalidInputError, PmmlkitError, RequestTimeoutError
from .monitoring import Thresholds
from .observe import AccessLog, Metrics, Observed, note, request_id
from .payloads import json_response, read_body
from .predlog import PredictionLog
from .registry import Registry
from .reports import Reports
from .settings import Settings
from .store import ModelStore

_log = logging.getLogger(__name__)
_FAILED = "The server failed to answer; the server log has the details."
_BOTTLE_ERRORS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def create_app(
    settings: Settings,
    registry: Registry | None = None,
    log: PredictionLog | None = None,
    access: AccessLog | None = None,
) -> Observed:
    """The WSGI app. Without a ``registry``, one is made over ``settings.store`` and loaded;
    without a prediction ``log`` (the caller starts and closes it), nothing is logged and the
    monitoring endpoints answer 503. With one, the app's ``reports`` compute the monitoring
    reports in a worker process (the caller closes them too). With an ``access`` log, each request
    writes its line there (the caller closes it)."""
    if registry is None:
        registry = Registry(ModelStore(settings.store), settings)
        registry.reload()
    metrics = Metrics(log)
    reports = None
    if log is not None:
        reports = Reports(log.engine.url, settings.store, Thresholds.of(settings))
    app = bottle.Bottle()
    app.config["json.enable"] = False
    app.install(_errors_as_json)
    app.default_error_handler = _bottle_error
    _routes(app, registry, settings, metrics, log)
    admin.install(app, registry, settings)
    openscoring_api.install(app, registry, settings)
    monitor_api.install(app, registry, settings, log, reports)
    ui.install(app)
    document = {}

    @app.get("/openapi.json")
    def openapi_json():
        return json_response(document)

    document.update(openapi.document(app))  # checks that it covers every route above
    scoring = _Scoring(app, registry, settings)
    return Observed(scoring, metrics, openscoring_api.headers_for, log, access, reports)


def _routes(
    app: bottle.Bottle,
    registry: Registry,
    settings: Settings,
    metrics: Metrics,
    log: PredictionLog | None,
) -> None:
    @app.get("/healthz")
    def healthz():
        return json_response({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        failures = registry.failures()
        ready = not failures and bool(registry.names())
        bottle.response.status = 200 if ready else 503
        return json_response(
            {
                "status": "ready" if ready else "not_ready",
                "failures": failures,
                "models": registry.status(),
                "prediction_log": _log_state(log),
            }
        )

    @app.get("/metrics")
    def prometheus():
        bottle.response.content_type = "text/plain; version=0.0.4; charset=utf-8"
        return metrics.exposition()

    @app.get("/v1/models")
    def list_models():
        return json_response({"models": [_summary(registry, name) for name in registry.names()]})

    @app.get("/v1/models/<name>")
    def describe(name):
        return json_response(_description(registry, name, None))

    @app.get("/v1/models/<name>/versions/<version:int>")
    def describe_version(name, version):
        return json_response(_description(registry, name, version))

    @app.post("/v1/models/<name>/predict")
    def predict(name):
        return _bottle_answer(_predict(registry, settings, name, None))

    @app.post("/v1/models/<name>/versions/<version:int>/predict")
    def predict_version(name, version):
        return _bottle_answer(_predict(registry, settings, name, version))

    @app.post("/v1/models/<name>/aliases/<alias>/predict")
    def predict_alias(name, alias):
        return _bottle_answer(_predict(registry, settings, name, alias))


def _summary(registry: Registry, name: str) -> dict:
    entry = registry.entry(name)
    version = registry.resolve(name) if "" in entry.serving else None
    card = registry.card(name, version) if version is not None else {}
    return {
        "name": name,
        "versions": list(entry.versions),
        "aliases": dict(entry.aliases),
        "default_version": version,
        "description": card.get("description", ""),
        "algorithm": card.get("algorithm", {}).get("estimator"),
    }


def _description(registry: Registry, name: str, ref) -> dict:
    version, model = registry.get(name, ref)
    return {
        "name": name,
        "version": version,
        "aliases": dict(registry.entry(name).aliases),
        "card": registry.card(name, version),
        "engine": model.engine,
        "schema": {
            "inputs": [f.to_dict() for f in model.inputs],
            "outputs": [f.to_dict() for f in model.outputs],
        },
    }


def _predict(registry: Registry, settings: Settings, name: str, ref) -> tuple[list, bytes]:
    """A scoring request's answer: its headers (Content-Type first) and body. Called by the
    Bottle routes and by :class:`_Scoring` alike, with ``bottle.request`` bound to the request;
    it does not touch ``bottle.response``. Errors are raised as PmmlkitError."""
    request = bottle.request
    body = read_body(settings)
    version, model = registry.get(name, ref)
    note(model=name, version=version, scoring=True)  # scoring=True: for the prediction log
    headers = [("Content-Type", "application/json"), ("X-Model-Version", str(version))]
    query = request.query if request.environ.get("QUERY_STRING") else {}
    all_or_nothing = _flag(query, "all_or_nothing")
    reject_unknown = settings.unknown_fields == "reject"
    media_type = request.environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type not in ("", "application/json", "text/csv"):
        raise payloads.UnsupportedMediaTypeError(
            f"Content-Type {media_type} is not taken here; send application/json or text/csv."
        )
    if media_type == "text/csv":
        columns, unknown = payloads.csv_columns(
            body, model, settings.max_records, reject_unknown=reject_unknown
        )
        result = payloads.score(model, columns, settings, all_or_nothing=all_or_nothing)
        headers[0] = ("Content-Type", "text/csv; charset=utf-8")
        headers.append(("X-Failed-Rows", str(len(result.errors_by_row()))))
        if unknown and settings.unknown_fields == "warn":
            headers.append(("X-Unknown-Fields", ",".join(unknown)))
        return headers, payloads.csv_body(result).encode()
    body = payloads.parse_json(body)
    shape, data = payloads.batch_of(body, settings.max_records)
    if "key" in body or "keys" in body:
        note(keys=payloads.keys_of(body, shape, data))
    records = [data] if shape == "record" else data
    unknown = payloads.unknown_counts(data if shape == "columns" else records, model.known_fields)
    if unknown and reject_unknown and shape == "columns":
        raise InvalidInputError(unknown_field_errors(unknown, model.known_fields))
    result = payloads.score(
        model,
        records,
        settings,
        all_or_nothing=all_or_nothing,
        reject_unknown=reject_unknown and shape != "columns",
    )
    answer = {"model": name, "version": version, "request_id": request_id()}
    if shape == "record":
        if result.errors:
            raise InvalidInputError([e for _, e in result.errors])
        answer["result"] = result.records()[0]
    else:
        answer.update(
            payloads.records_body(result) if shape == "records" else payloads.columns_body(result)
        )
    if unknown and settings.unknown_fields == "warn":
        answer["warnings"] = payloads.unknown_warnings(
            unknown, 1 if shape == "columns" else len(records)
        )
    body = orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
    if shape == "record":
        note(answer=body)  # the prediction log reads a single record's results from it
    return headers, body


def _bottle_answer(answer: tuple[list, bytes]) -> bytes:
    """A :func:`_predict` answer through Bottle's response."""
    headers, body = answer
    for header, value in headers:
        bottle.response.set_header(header, value)
    return body


class _Scoring:
    """WSGI, in front of Bottle: scoring requests (POST to a predict path) go straight to
    :func:`_predict`, everything else to Bottle. A single-record request took 41 us in-process
    (hot) through Bottle's routing, plugin and response object, 25 us this way; the answers are
    the same (the predict routes stay in Bottle for what this does not take: a path that is
    not ASCII)."""

    def __init__(self, app: bottle.Bottle, registry: Registry, settings: Settings):
        self.app = app
        self.registry = registry
        self.settings = settings
        rules = ("/predict", "/versions/<version:int>/predict", "/aliases/<alias>/predict")
        routes = {r.rule: r for r in app.routes if r.method == "POST"}
        self.routes = [routes["/v1/models/<name>" + rule] for rule in rules]

    def __call__(self, environ, start_response):
        target = (
            scoring_target(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "POST"
            else None
        )
        if target is None:
            return self.app(environ, start_response)
        route, name, ref = target
        environ["bottle.route"] = self.routes[route]  # its rule labels the request's metrics
        bottle.request.bind(environ)
        status = "200 OK"
        try:
            headers, body = _predict(self.registry, self.settings, name, ref)
        except PmmlkitError as error:
            code, body = error_body(error)
            status = f"{code} {bottle.HTTP_CODES[code]}"
            headers = [("Content-Type", "application/json")]
        except Exception:
            _log.exception("unhandled error")
            status, headers, body = (
                "500 Internal Server Error",
                [("Content-Type", "application/json")],
                _internal_error(),
            )
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]


_SCORING_PATH = re.compile(
    r"/v1/models/([^/]+)/(?:versions/(-?[0-9]+)/|aliases/([^/]+)/)?predict", re.ASCII
)


def scoring_target(path: str) -> tuple[int, str, int | str | None] | None:
    """What a scoring path names: its route (0 the default version, 1 a version, 2 an alias),
    the model and the reference; None for any other path (and for one that is not ASCII:
    Bottle's routes take those, decoding them as Bottle does)."""
    match = _SCORING_PATH.fullmatch(path) if path.isascii() else None
    if match is None:
        return None
    name, version, alias = match.groups()
    if alias is not None:
        return 2, name, alias
    if version is not None:
        return 1, name, int(version)
    return 0, name, None


def _log_state(log: PredictionLog | None) -> dict:
    """The prediction log in /readyz: "failing" while its last write failed (the database down,
    full, locked; the writer retries and scoring goes on, so readiness does not change), with
    the database's error; "off" without a log."""
    if log is None:
        return {"state": "off"}
    error = log.last_error
    return {
        "state": "failing" if error else "ok",
        "last_error": error,
        "queued": log.queued,
        "written_rows": log.written_rows,
        "dropped_rows": log.dropped_rows,
        "write_errors": log.write_errors,
        "writer_restarts": log.writer_restarts,
    }


def _flag(query, name: str) -> bool:
    value = query.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise payloads.PayloadError(
            f"Query parameter '{name}' must be true or false; got {value!r}.", field=name
        )
    return value in ("true", "1")


def _errors_as_json(callback):
    """Bottle plugin: a PmmlkitError becomes its status and the JSON error body."""

    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except PmmlkitError as error:
            return error_response(error)

    return wrapper


def error_response(error: PmmlkitError) -> bytes:
    status, body = error_body(error)
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    return body


def error_body(error: PmmlkitError) -> tuple[int, bytes]:
    """The status and JSON body of an error answer (noted for the metrics; a server-side
    failure logged)."""
    note(error=error.code)
    body = error.to_dict()
    body["error"]["request_id"] = request_id()
    if error.status >= 500 and not isinstance(error, (InvalidInputError, RequestTimeoutError)):
        _log.error("request %s failed: %s: %s", request_id(), error.code, error.message)
    return error.status, orjson.dumps(body)


def _bottle_error(error: bottle.HTTPError) -> str:
    """Bottle's own errors (unknown route, wrong method, crash) in the one JSON error body."""
    if error.status_code >= 500:
        _log.error("unhandled error: %s", error.traceback or error.body)
    code = _BOTTLE_ERRORS.get(error.status_code, "internal_error")
    message = {
        "not_found": f"No endpoint {bottle.request.method} {bottle.request.path}.",
        "method_not_allowed": f"{bottle.request.method} is not allowed on {bottle.request.path}.",
    }.get(code, _FAILED)
    note(error=code)
    if openscoring_api.is_compat_path(bottle.request.path):
        return openscoring_api.error_body(error.status_code, error.status_line.split(" ", 1)[1])
    bottle.response.content_type = "application/json"
    return _error_json(code, message)


def _internal_error() -> bytes:
    note(error="internal_error")
    return _error_json("internal_error", _FAILED)


def _error_json(code: str, message: str) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "request_id": request_id()}})
