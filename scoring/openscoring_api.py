"""The Openscoring-compatible API (Openscoring 2.2 REST API), so an existing Openscoring client
works unchanged against pmmlkit.

What a client sees is Openscoring's: its request and response JSON, ``{"message": ...}`` errors
with ``Content-Type: application/json``, status codes (400 for any bad input, 404 "Not Found",
403 for admin calls), and the ``X-Application`` header the Python client checks. Underneath it
is the store: ``/model/{id}`` is model ``id``'s default version (the ``production`` alias, else
the newest); a PUT publishes a new version and makes it the default (moving ``production`` if
set), a DELETE archives every version (never destroys); unknown record fields are ignored, as
Openscoring does.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json

import bottle

from . import csv_format, payloads
from .admin import ForbiddenError, UnauthorizedError, authorize, publish_upload
from .engine import Field, Model
from .errors import (
    FieldError,
    InvalidInputError,
    ModelNotFoundError,
    ModelNotReadyError,
    PmmlkitError,
    RequestTimeoutError,
)
from .observe import note
from .payloads import PayloadError, PayloadTooLargeError, json_response, read_body
from .registry import Registry
from .settings import Settings
from .store import check_name

APPLICATION = "Openscoring/2.2.1"  # the Python client accepts 2.0, 2.1 and 2.2
_DELIMITERS = (",", ";", "\t")
_ROWS_TO_SNIFF = 10


def is_compat_path(path: str) -> bool:
    return path == "/model" or path.startswith("/model/")


def headers_for(path: str) -> list[tuple[str, str]]:
    """Headers every answer of this API carries, errors included."""
    return [("X-Application", APPLICATION)] if is_compat_path(path) else []


def error_body(status: int, message: str) -> str:
    """Openscoring's error answer: ``{"message": ...}`` as ``application/json`` exactly (the
    Python client compares the content type with ``==``)."""
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    return json.dumps({"message": message})


def _status(error: PmmlkitError) -> int:
    if isinstance(error, ModelNotFoundError):
        return 404
    if isinstance(error, (UnauthorizedError, ForbiddenError)):
        return 403
    if isinstance(error, (PayloadTooLargeError, RequestTimeoutError, ModelNotReadyError)):
        return error.status
    return 400 if error.status < 500 else error.status


def _compat(handler):
    """Answers PmmlkitError the Openscoring way."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except PmmlkitError as error:
            note(error=error.code)
            status = _status(error)
            return error_body(status, "Not Found" if status == 404 else error.message)

    return wrapper


def install(app: bottle.Bottle, registry: Registry, settings: Settings) -> None:
    store = registry.store

    @app.get("/model")
    @_compat
    def list_models():
        responses = [_model_response(registry, n, schema=False) for n in _served(registry)]
        return json_response({"responses": responses} if responses else {})

    @app.get("/model/<id>")
    @_compat
    def describe(id):
        return json_response(_model_response(registry, id, schema=True))

    @app.put("/model/<id>")
    @_compat
    def deploy(id):
        authorize(settings)
        existed = bool(store.versions(check_name(id)))
        publish_upload(registry, id, _pmml_body(settings), make_default=True)
        if not existed:
            bottle.response.status = 201
            bottle.response.set_header("Location", f"{bottle.request.url.rstrip('/')}")
        return json_response(_model_response(registry, id, schema=True))

    @app.delete("/model/<id>")
    @_compat
    def undeploy(id):
        authorize(settings)
        store.retire(check_name(id))
        registry.reload()
        return json_response({})

    @app.get("/model/<id>/pmml")
    @_compat
    def download(id):
        authorize(settings)
        version = registry.resolve(id)
        data = store.read_pmml(id, version)
        bottle.response.content_type = "application/xml;charset=UTF-8"
        bottle.response.set_header("Content-Disposition", "attachment; filename=model.pmml.xml")
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data

    @app.post("/model/<id>")
    @_compat
    def evaluate(id):
        model = _serving(registry, id)
        request = _object(payloads.parse_json(read_body(settings)), {"id", "arguments"})
        arguments = _arguments(request)
        result = payloads.score(model, [arguments], settings, all_or_nothing=False)
        if result.errors:
            raise InvalidInputError([e for _, e in result.errors])
        return json_response(
            _without_nulls({"id": request.get("id"), "results": result.records()[0]})
        )

    @app.post("/model/<id>/batch")
    @_compat
    def evaluate_batch(id):
        model = _serving(registry, id)
        body = _object(payloads.parse_json(read_body(settings)), {"id", "requests"})
        requests = body.get("requests") or []
        if not isinstance(requests, list):
            raise PayloadError('"requests" must be a list of {"id", "arguments"} objects.')
        payloads.check_record_count(len(requests), settings.max_records)
        requests = [_object(r, {"id", "arguments"}) for r in requests]
        result = payloads.score(
            model, [_arguments(r) for r in requests], settings, all_or_nothing=False
        )
        failed = result.errors_by_row()
        responses = [
            _without_nulls(
                {"id": r.get("id"), "message": " ".join(e.message for e in failed[i])}
                if i in failed
                else {"id": r.get("id"), "results": values}
            )
            for i, (r, values) in enumerate(zip(requests, result.records(), strict=True))
        ]
        return json_response(_without_nulls({"id": body.get("id"), "responses": responses}))

    @app.post("/model/<id>/csv")
    @_compat
    def evaluate_csv(id):
        model = _serving(registry, id)
        text, charset = _csv_text(settings)
        dialect = _dialect(bottle.request.query, text)
        rows = list(csv.reader(io.StringIO(text), **dialect))
        if not rows or not rows[0]:
            raise PayloadError("The CSV body is empty; expected a header row.")
        header, data = rows[0], rows[1:]
        payloads.check_record_count(len(data), settings.max_records)
        ids = None
        if header[0].lower() == "id":
            ids = (header[0], [row[0] if row else "" for row in data])
            header, data = header[1:], [row[1:] for row in data]
        columns = csv_format.typed_columns(header, data, model.inputs)
        for name in header:
            columns.setdefault(name, [None] * len(data))
        result = payloads.score(model, columns, settings, all_or_nothing=False)
        failed = result.errors_by_row()
        if failed:
            lines = [
                f"Row {row + 1}: " + " ".join(e.message for e in errors)
                for row, errors in list(failed.items())[:10]
            ]
            more = f" ({len(failed) - 10} more rows failed.)" if len(failed) > 10 else ""
            raise InvalidInputError([FieldError(None, "invalid_input", " ".join(lines) + more)])
        out = io.StringIO()
        csv_format.write_results(out, result, ids, **dialect)
        bottle.response.content_type = f"text/plain;charset={charset}"
        bottle.response.set_header("Content-Disposition", "attachment; filename=results.csv")
        return out.getvalue().encode(charset)


def _serving(registry: Registry, name: str) -> Model:
    """The model answering /model/{name} (its default version), noted for the log and metrics
    (and, as a scoring request, for the prediction log)."""
    version, model = registry.get(name)
    note(model=name, version=version, scoring=True)
    return model


def _served(registry: Registry) -> list[str]:
    return sorted((n for n in registry.names() if "" in registry.entry(n).serving), key=str.lower)


def _model_response(registry: Registry, name: str, *, schema: bool) -> dict:
    version, model = registry.get(name)
    card = registry.card(name, version)
    response = {
        "id": name,
        "miningFunction": model.mining_function,
        "summary": card.get("description") or card["algorithm"]["estimator"],
        "properties": {
            "created.timestamp": card["created_at"],
            "file.size": card["pmml"]["uncompressed_size_bytes"],
            "file.checksum": card["pmml"]["sha256"],
            "model.version": str(version),
        },
    }
    if schema:
        outputs = model.outputs[len(model.targets) :]
        response["schema"] = _without_nulls(
            {
                "inputFields": [_field(f) for f in model.inputs],
                "targetFields": [_field(f) for f in model.targets],
                "outputFields": [_field(f) for f in outputs],
            }
        )
    return response


def _field(field: Field) -> dict:
    values = [str(c) for c in field.categories] or [_interval(*i) for i in field.intervals]
    return _without_nulls(
        {"id": field.name, "dataType": field.data_type, "opType": field.op_type, "values": values}
    )


def _interval(left, right, left_closed, right_closed) -> str:
    low = "-Infinity" if left is None else repr(left)
    high = "Infinity" if right is None else repr(right)
    return f"{'[' if left_closed else '('}{low}, {high}{']' if right_closed else ')'}"


def _without_nulls(value: dict) -> dict:
    """Openscoring leaves out null and empty members."""
    return {k: v for k, v in value.items() if v not in (None, [], {}, "")}


def _object(value, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"Expected a JSON object with {sorted(allowed)}; got {value!r:.60}.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise PayloadError(
            f"Unrecognized field(s) {unknown}; this object takes {sorted(allowed)}.",
            field=unknown[0],
        )
    return value


def _arguments(request: dict) -> dict:
    arguments = request.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise PayloadError('"arguments" must be an object of field values.', field="arguments")
    return arguments


def _pmml_body(settings: Settings) -> bytes:
    if bottle.request.content_type.lower().startswith("multipart/form-data"):
        part = bottle.request.files.get("pmml")
        if part is None:
            raise PayloadError('The multipart body has no part named "pmml".', field="pmml")
        return part.file.read(settings.max_body_bytes + 1)
    encoding = bottle.request.get_header("Content-Encoding", "identity").lower()
    if encoding not in ("identity", "gzip"):  # gzip bodies are recognised by their magic
        raise PayloadError(f"Content-Encoding {encoding} is not supported; send gzip or plain.")
    return read_body(settings)


def _csv_text(settings: Settings) -> tuple[str, str]:
    body = read_body(settings)
    charset = "UTF-8"
    for part in bottle.request.content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return body.decode(charset), charset
    except LookupError:
        raise PayloadError(f"Unknown charset {charset!r}.") from None
    except UnicodeDecodeError:
        if "charset=" in bottle.request.content_type.lower():
            raise PayloadError(f"The CSV body is not valid {charset}.") from None
        return body.decode("latin-1"), charset  # what http.client sends for a str body


def _dialect(query, text: str) -> dict:
    """The CSV format: ``delimiterChar`` and ``quoteChar`` when given, else the first of , ; TAB
    that gives the header and the first rows one column count above 1."""
    if "delimiterChar" in query:
        return {
            "delimiter": _one_char(query.get("delimiterChar"), "delimiterChar"),
            "quotechar": _one_char(query.get("quoteChar", '"'), "quoteChar"),
        }
    head = text.splitlines()[: _ROWS_TO_SNIFF + 1]
    for delimiter in _DELIMITERS:
        counts = {len(row) for row in csv.reader(head, delimiter=delimiter)}
        if len(counts) == 1 and counts.pop() > 1:
            return {"delimiter": delimiter, "quotechar": '"'}
    raise PayloadError("Unrecognized CSV format")


def _one_char(value: str, name: str) -> str:
    value = {"\\t": "\t", '\\"': '"', "\\'": "'"}.get(value, value)
    if len(value) != 1:
        raise PayloadError(f"{name} must be one character; got {value!r}.", field=name)
    return value
