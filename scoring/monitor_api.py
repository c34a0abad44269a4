"""The monitoring endpoints: ``GET /v1/models/{name}/monitoring``, ``GET .../cases`` and
``POST .../feedback``. Handlers parse, call, serialise; the work is in :mod:`.monitoring`,
:mod:`.cases` and :mod:`.feedback`."""

from __future__ import annotations

import time

import bottle

from . import cases, feedback, monitoring
from .errors import PredictionLogError
from .logwindow import WINDOWS
from .payloads import PayloadError, json_response, parse_json, read_body
from .predlog import PredictionLog, as_label
from .registry import Registry
from .reports import Reports
from .settings import Settings


def install(
    app: bottle.Bottle,
    registry: Registry,
    settings: Settings,
    log: PredictionLog | None,
    reports: Reports | None,
) -> None:
    def need_log() -> PredictionLog:
        if log is None:
            raise PredictionLogError(
                "The prediction log is off (setting prediction_log=off): nothing to monitor."
            )
        return log

    @app.get("/v1/models/<name>/monitoring")
    def monitor(name):
        registry.entry(name)  # 404 for a model the store does not have
        window = _choice(bottle.request.query, "window", WINDOWS, "day")
        version = _version(bottle.request.query)
        need_log()
        return json_response(reports.report(name, window=window, version=version))

    @app.get("/v1/models/<name>/cases")
    def list_cases(name):
        registry.entry(name)
        query = bottle.request.query
        span, _ = WINDOWS[_choice(query, "window", WINDOWS, "day")]
        limit = _whole(query, "limit", 50, 1, 1000)
        until = time.time()
        found = cases.cases(
            need_log().engine,
            name,
            until - span,
            until,
            version=_version(query),
            kind=_choice(query, "filter", cases.FILTERS, "all"),
            limit=limit,
            with_inputs=_choice(query, "inputs", ("any", "only"), "any") == "only",
        )
        return json_response({"model": name, "cases": found})

    @app.post("/v1/models/<name>/feedback")
    def post_feedback(name):
        registry.entry(name)
        body = parse_json(read_body(settings))  # an empty body is invalid_body there
        taken = feedback.accept(need_log(), name, body, lambda v: classes(registry, name, v))
        bottle.response.status = 201
        return json_response({"accepted": taken})


def classes(registry: Registry, name: str, version: int) -> list[str] | None:
    """A version's classes as the log writes labels; None for a regression."""
    target = monitoring.card_or_empty(registry, name, version).get("target") or {}
    if target.get("kind") != "classification":
        return None
    return [as_label(c) for c in target.get("classes", [])]


def _choice(query, name: str, choices, default: str) -> str:
    value = query.get(name, default)
    if value not in choices:
        raise PayloadError(
            f"Query parameter '{name}' must be one of {', '.join(choices)}; got {value!r}.",
            field=name,
        )
    return value


def _whole(query, name: str, default: int, low: int, high: int) -> int:
    value = query.get(name, str(default))
    if not value.isdigit() or not low <= int(value) <= high:
        raise PayloadError(
            f"Query parameter '{name}' must be a whole number from {low} to {high}; got {value!r}.",
            field=name,
        )
    return int(value)


def _version(query) -> int | None:
    if "version" not in query:
        return None
    return _whole(query, "version", 1, 1, 1 << 31)
