"""The HTTP service: ``create_app(settings)`` builds a Bottle app over the model store.

Handlers parse, call, serialise. Every non-2xx answer, Bottle's own 404/405/500 included, is
``{"error": {"code": ..., "message": ..., "field": ...}}``; no tracebacks, no Java class names.
"""

from __future__ import annotations

import json
import logging
import uuid

import bottle

from . import payloads
from .engine import Model
from .errors import InvalidInputError, PmmlkitError
from .registry import Registry
from .settings import Settings
from .store import ModelStore

_log = logging.getLogger(__name__)
_BOTTLE_ERRORS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def create_app(settings: Settings, registry: Registry | None = None) -> bottle.Bottle:
    registry = registry or Registry(ModelStore(settings.store), settings)
    app = bottle.Bottle()
    app.config["json.enable"] = False
    app.install(_errors_as_json)
    app.default_error_handler = _bottle_error
    _routes(app, registry, settings)
    return app


def _routes(app: bottle.Bottle, registry: Registry, settings: Settings) -> None:
    store = registry.store

    @app.get("/healthz")
    def healthz():
        return _json({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        failures = registry.load_defaults()
        bottle.response.status = 503 if failures else 200
        return _json({"status": "not_ready" if failures else "ready", "failures": failures})

    @app.get("/v1/models")
    def list_models():
        return _json({"models": [_summary(store, name) for name in store.names()]})

    @app.get("/v1/models/<name>")
    def describe(name):
        return _json(_description(registry, name, None))

    @app.get("/v1/models/<name>/versions/<version:int>")
    def describe_version(name, version):
        return _json(_description(registry, name, version))

    @app.post("/v1/models/<name>/predict")
    def predict(name):
        return _predict(registry, settings, name, None)

    @app.post("/v1/models/<name>/versions/<version:int>/predict")
    def predict_version(name, version):
        return _predict(registry, settings, name, version)

    @app.post("/v1/models/<name>/aliases/<alias>/predict")
    def predict_alias(name, alias):
        return _predict(registry, settings, name, alias)


def _summary(store: ModelStore, name: str) -> dict:
    version = store.resolve(name)
    card = store.card(name, version)
    return {
        "name": name,
        "versions": store.versions(name),
        "aliases": store.aliases(name),
        "default_version": version,
        "description": card.get("description", ""),
        "algorithm": card.get("algorithm", {}).get("estimator"),
    }


def _description(registry: Registry, name: str, ref) -> dict:
    version, model = registry.get(name, ref)
    return {
        "name": name,
        "version": version,
        "aliases": registry.store.aliases(name),
        "card": registry.store.card(name, version),
        "schema": {
            "inputs": [f.to_dict() for f in model.inputs],
            "outputs": [f.to_dict() for f in model.outputs],
        },
    }


def _predict(registry: Registry, settings: Settings, name: str, ref):
    body = _read_body(settings)
    version, model = registry.get(name, ref)
    bottle.response.set_header("X-Model-Version", str(version))
    if bottle.request.content_type.split(";")[0].strip().lower() == "text/csv":
        result = model.score_batch(payloads.csv_columns(body, model, settings.max_records))
        bottle.response.content_type = "text/csv; charset=utf-8"
        return payloads.csv_body(result)
    shape, data = payloads.batch_of(payloads.parse_json(body), settings.max_records)
    request_id = bottle.response.get_header("X-Request-Id")
    return _json(
        {"model": name, "version": version, "request_id": request_id, **_scored(model, shape, data)}
    )


def _scored(model: Model, shape: str, data) -> dict:
    if shape == "record":
        return {"result": model.score(data)}
    result = model.score_batch(data)
    return payloads.records_body(result) if shape == "records" else payloads.columns_body(result)


def _read_body(settings: Settings) -> bytes:
    length = bottle.request.content_length
    if length > settings.max_body_bytes:
        raise payloads.PayloadTooLargeError(
            f"The body has {length} bytes; at most {settings.max_body_bytes} are allowed."
        )
    return bottle.request.body.read(settings.max_body_bytes + 1)


def _json(value: dict) -> str:
    bottle.response.content_type = "application/json"
    return json.dumps(value, allow_nan=False)


def _request_id() -> str:
    given = bottle.request.get_header("X-Request-Id", "")
    return given if 0 < len(given) <= 128 and given.isprintable() else uuid.uuid4().hex


def _errors_as_json(callback):
    """Bottle plugin: a request id on every answer, PmmlkitError as its status and JSON body."""

    def wrapper(*args, **kwargs):
        request_id = _request_id()
        bottle.response.set_header("X-Request-Id", request_id)
        try:
            return callback(*args, **kwargs)
        except PmmlkitError as error:
            return _error_response(error, request_id)

    return wrapper


def _error_response(error: PmmlkitError, request_id: str) -> str:
    bottle.response.status = error.status
    body = error.to_dict()
    body["error"]["request_id"] = request_id
    if error.status >= 500 and not isinstance(error, InvalidInputError):
        _log.error("request %s failed: %s: %s", request_id, error.code, error.message)
    return _json(body)


def _bottle_error(error: bottle.HTTPError) -> str:
    """Bottle's own errors (unknown route, wrong method, crash) in the one JSON error body."""
    if error.status_code >= 500:
        _log.error("unhandled error: %s", error.traceback or error.body)
    code = _BOTTLE_ERRORS.get(error.status_code, "internal_error")
    message = {
        "not_found": f"No endpoint {bottle.request.method} {bottle.request.path}.",
        "method_not_allowed": f"{bottle.request.method} is not allowed on {bottle.request.path}.",
    }.get(code, "The server failed to answer; the server log has the details.")
    bottle.response.content_type = "application/json"
    return json.dumps({"error": {"code": code, "message": message}})
