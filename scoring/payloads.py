"""Request bodies in, response bodies out, for the HTTP service: JSON (one record, records or
columns) and CSV, with the limits and the one error body."""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import chain, repeat

import bottle
import numpy as np
import orjson

from . import csv_format
from .engine import BatchResult, Model, unknown_field_errors
from .errors import FieldError, InvalidInputError, PmmlkitError, RequestTimeoutError
from .observe import note, started
from .settings import Settings

_BODY = "bottle.request.body"  # where Bottle keeps the body it has read


class PayloadError(PmmlkitError, ValueError):
    """A request body that is not what the endpoint takes."""

    code = "invalid_body"
    status = 400


class UnsupportedMediaTypeError(PmmlkitError):
    code = "unsupported_media_type"
    status = 415


class PayloadTooLargeError(PmmlkitError):
    code = "payload_too_large"
    status = 413


class BatchRejectedError(PmmlkitError, ValueError):
    """An ``all_or_nothing`` batch with at least one record that cannot be scored."""

    code = "invalid_input"
    status = 422

    def __init__(self, result: BatchResult):
        failed = len(result.errors_by_row())
        super().__init__(
            f"{failed} of {result.n_rows} records cannot be scored; with all_or_nothing, none "
            "was scored."
        )
        self.errors = result.errors

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"]["errors"] = [{"index": row, **e.to_dict()} for row, e in self.errors]
        return body


def read_body(settings: Settings) -> bytes:
    """The request body, refused with 413 above ``max_body_bytes``. A body with a
    Content-Length is read from the server's input in one call: Bottle's ``request.body`` would
    copy it, into a temporary file above 100 kB (a 1000-record batch)."""
    request = bottle.request
    length = request.content_length
    if length > settings.max_body_bytes:
        raise PayloadTooLargeError(
            f"The body has {length} bytes; at most {settings.max_body_bytes} are allowed."
        )
    if length >= 0 and not request.chunked and _BODY not in request.environ:
        body = request.environ["wsgi.input"].read(length)
        request.environ[_BODY] = request.environ["wsgi.input"] = io.BytesIO(body)  # read again
        return body
    body = request.body.read(settings.max_body_bytes + 1)
    if len(body) > settings.max_body_bytes:  # chunked bodies carry no Content-Length
        raise PayloadTooLargeError(f"The body has more than {settings.max_body_bytes} bytes.")
    return body


def json_response(value: dict) -> bytes:
    """``value`` as the JSON answer (NaN and infinities as null; numpy values as numbers)."""
    bottle.response.content_type = "application/json"
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def parse_json(body: bytes) -> dict:
    """A JSON object from a body, strictly: NaN, Infinity and numbers beyond a double are
    refused (orjson: RFC 8259, and about 5x faster than the json module on 1000 records)."""
    if not body:
        raise PayloadError("The body is empty; expected a JSON object.")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise PayloadError(f"The body is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise PayloadError(f"The body must be a JSON object; got {type(value).__name__}.")
    return value


def check_record_count(count: int, max_records: int) -> None:
    """413 for a request with more than ``max_records`` records."""
    if count > max_records:
        raise PayloadTooLargeError(
            f"The request has {count} records; at most {max_records} are allowed per request."
        )


def batch_of(body: dict, max_records: int) -> tuple[str, object]:
    """The shape of a predict body ("record", "records" or "columns") and its data."""
    shapes = [key for key in ("record", "records", "columns") if key in body]
    if len(shapes) != 1:
        raise PayloadError('The body must have exactly one of "record", "records" or "columns".')
    shape, data = shapes[0], body[shapes[0]]
    if shape == "record" and not isinstance(data, Mapping):
        raise InvalidInputError(
            [FieldError(None, "invalid_record", f'"record" must be an object; got {_kind(data)}.')]
        )
    if shape == "records" and not isinstance(data, list):
        raise PayloadError(f'"records" must be a list of objects; got {_kind(data)}.')
    if shape == "columns" and not (
        isinstance(data, Mapping) and all(isinstance(v, list) for v in data.values())
    ):
        raise PayloadError('"columns" must be an object of lists, one per field.')
    count = 1 if shape == "record" else len(data) if shape == "records" else _rows(data)
    check_record_count(count, max_records)
    return shape, data


def keys_of(body: dict, shape: str, data) -> list | None:
    """The client's keys of a predict body: ``"key"`` with one record, ``"keys"`` (one per
    record or row) with many; feedback can then name a prediction by its key."""
    name = "key" if shape == "record" else "keys"
    other = "keys" if shape == "record" else "key"
    if other in body:
        raise PayloadError(f'"{other}" does not go with "{shape}"; use "{name}".', field=other)
    if name not in body:
        return None
    keys = [body[name]] if shape == "record" else body[name]
    count = 1 if shape == "record" else len(data) if shape == "records" else _rows(data)
    if not isinstance(keys, list) or len(keys) != count:
        raise PayloadError(f'"keys" must be a list of {count} keys, one per record.', field=name)
    if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in keys):
        raise PayloadError(f'Every "{name}" must be a string or a whole number.', field=name)
    return keys


def _rows(columns) -> int:
    return max(map(len, columns.values()), default=0)


def _kind(value) -> str:
    return {list: "a list", dict: "an object", str: "a string", type(None): "null"}.get(
        type(value), "a number"
    )


def with_unknown_fields(result: BatchResult, records: list, known: frozenset[str]) -> BatchResult:
    """The batch result with an ``unknown_field`` error for each record field the model does not
    know; such a record counts as failed."""
    if _all_known(records, known):
        return result
    extra = [
        (row, error)
        for row, record in enumerate(records)
        if isinstance(record, Mapping)
        for error in unknown_field_errors(record, known)
    ]
    if not extra:
        return result
    errors = sorted(result.errors + extra, key=lambda item: item[0])
    return dataclasses.replace(result, errors=errors)


def error_counts(result: BatchResult) -> dict[str, int]:
    """Failed rows by the code of their first error (for the metrics)."""
    if not result.errors:
        return {}
    return dict(Counter(errors[0].code for errors in result.errors_by_row().values()))


def csv_columns(
    body: bytes, model: Model, max_records: int, *, reject_unknown: bool
) -> tuple[dict, list[str]]:
    """The model's input columns of a CSV body, and the header's columns the model does not know
    (with ``reject_unknown``, those are an error instead)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("The CSV body must be UTF-8 text.") from None
    columns = csv_format.read_columns(
        io.StringIO(text), model.inputs, model.known_fields if reject_unknown else None
    )
    check_record_count(max(map(len, columns.values()), default=0), max_records)
    header = next(csv.reader(io.StringIO(text)), [])
    return columns, [name for name in header if name not in model.known_fields]


def unknown_counts(data, known: frozenset[str]) -> dict[str, int]:
    """Field names the model does not know, with the number of records carrying each: ``data``
    is a list of records or a dict of columns (a column counts once)."""
    if isinstance(data, Mapping):
        return {name: 1 for name in data if name not in known}
    if _all_known(data, known):
        return {}
    counts = Counter(
        name
        for record in data
        if isinstance(record, Mapping)
        for name in record
        if name not in known
    )
    return dict(counts)


def _all_known(records: list, known: frozenset[str]) -> bool:
    """True when every record is a dict whose fields are all ``known`` (checked in C)."""
    return set(map(type, records)) <= {dict} and known.issuperset(chain.from_iterable(records))


def unknown_warnings(unknown: dict[str, int], records: int) -> list[dict]:
    """The ``warnings`` of an answer that ignored unknown fields (policy ``warn``)."""
    return [
        {
            "field": name,
            "code": "unknown_field",
            "message": f"Field '{name}' is not a field of this model; ignored (in {count} of "
            f"{records} records).",
        }
        for name, count in unknown.items()
    ]


def csv_body(result: BatchResult) -> str:
    out = io.StringIO()
    csv_format.write_results(out, result)
    return out.getvalue()


def records_body(result: BatchResult) -> dict:
    """The "results" (one object per row, null for a failed row) and "errors" of an answer."""
    return {"results": orjson.Fragment(records_json(result)), "errors": _errors(result)}


def columns_body(result: BatchResult) -> dict:
    """The "columns" (numpy arrays as they are: orjson writes NaN as null) and "errors"."""
    columns = {
        name: values.tolist()
        if isinstance(values, np.ndarray) and values.dtype == object
        else values
        for name, values in result.columns.items()
    }
    return {"columns": columns, "errors": _errors(result)}


def records_json(result: BatchResult) -> bytes:
    """The rows of a result as a JSON array of objects, built column by column: every column is
    serialised once by orjson and cut into one token per row, and each row's object is joined
    from its tokens in C (``map(b"".join, zip(...))``), so no Python code runs per row or value."""
    if result.n_rows == 0:
        return b"[]"
    parts = []
    for i, (name, values) in enumerate(result.columns.items()):
        parts.append(repeat(b"{" * (i == 0) + b"," * (i > 0) + orjson.dumps(name) + b":"))
        parts.append(_json_tokens(values))
    rows = list(map(b"".join, zip(*parts, repeat(b"}")))) if parts else [b"{}"] * result.n_rows
    for row in result.errors_by_row():
        rows[row] = b"null"
    return b"[" + b",".join(rows) + b"]"


def _json_tokens(values) -> Iterable[bytes]:
    """One JSON value per row: a numeric array through one orjson call, anything else (text,
    whole numbers, None) through a table of its distinct values."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    values = values.tolist() if isinstance(values, np.ndarray) else values
    tokens = {v: orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY) for v in set(values)}
    return map(tokens.__getitem__, values)


def _errors(result: BatchResult) -> list[dict]:
    return [{"index": row, **error.to_dict()} for row, error in result.errors]


def score(
    model: Model, data, settings: Settings, *, all_or_nothing: bool, reject_unknown: bool = False
) -> BatchResult:
    """Scores a batch within what is left of the request's time budget, applying the
    unknown-field policy and ``all_or_nothing``; notes rows and row errors for the metrics."""
    remaining = settings.request_timeout - (time.monotonic() - started())
    if remaining <= 0:
        raise RequestTimeoutError(
            f"The request spent more than the {settings.request_timeout:g} s allowed before "
            "scoring began."
        )
    result = model.score_batch(data, timeout=remaining)
    if reject_unknown:
        result = with_unknown_fields(result, data, model.known_fields)
    note(rows=result.n_rows, row_errors=error_counts(result), scored=(model, data, result))
    if all_or_nothing and result.errors:
        raise BatchRejectedError(result)
    return result
