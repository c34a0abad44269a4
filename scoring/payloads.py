"""Request bodies in, response bodies out, for the HTTP service: JSON (one record, records or
columns) and CSV, with the limits and the one error body."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping

import numpy as np

from . import csv_format
from .engine import BatchResult, Model
from .errors import FieldError, InvalidInputError, PmmlkitError


class PayloadError(PmmlkitError, ValueError):
    """A request body that is not what the endpoint takes."""

    code = "invalid_body"
    status = 400


class PayloadTooLargeError(PmmlkitError):
    code = "payload_too_large"
    status = 413


def _refuse_constant(text: str):
    raise PayloadError(f"The body is not valid JSON: {text} is not a number JSON allows.")


def parse_json(body: bytes) -> dict:
    if not body:
        raise PayloadError("The body is empty; expected a JSON object.")
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        if isinstance(error, PayloadError):
            raise
        raise PayloadError(f"The body is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise PayloadError(f"The body must be a JSON object; got {type(value).__name__}.")
    return value


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
    count = (
        1
        if shape == "record"
        else len(data)
        if shape == "records"
        else max(map(len, data.values()), default=0)
    )
    if count > max_records:
        raise PayloadTooLargeError(
            f"The request has {count} records; at most {max_records} are allowed per request."
        )
    return shape, data


def _kind(value) -> str:
    return {list: "a list", dict: "an object", str: "a string", type(None): "null"}.get(
        type(value), "a number"
    )


def csv_columns(body: bytes, model: Model, max_records: int) -> dict:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("The CSV body must be UTF-8 text.") from None
    columns = csv_format.read_columns(io.StringIO(text), model.inputs)
    rows = max(map(len, columns.values()), default=0)
    if rows > max_records:
        raise PayloadTooLargeError(
            f"The request has {rows} records; at most {max_records} are allowed per request."
        )
    return columns


def csv_body(result: BatchResult) -> str:
    out = io.StringIO()
    csv_format.write_results(out, result)
    return out.getvalue()


def records_body(result: BatchResult) -> dict:
    errors = [{"index": row, **error.to_dict()} for row, error in result.errors]
    return {"results": result.records(), "errors": errors}


def columns_body(result: BatchResult) -> dict:
    return {
        "columns": {name: [_json(v) for v in values] for name, values in result.columns.items()},
        "errors": [{"index": row, **error.to_dict()} for row, error in result.errors],
    }


def _json(value):
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value
