"""CSV in and out of a model: header row in, one column per result field out.

Input cells are typed by the model's input schema: an empty cell is a missing value, a numeric
field's cell is parsed as a number (a cell that is not one is passed on as text, so the engine
reports it as ``invalid_type`` for that row). Output has one column per result field (target and
output fields, named as in the PMML), rows in input order, an empty cell for a missing value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Iterable
from typing import TextIO

from .engine import BatchResult, Field, unknown_field_errors
from .errors import FieldError, InvalidInputError


def read_columns(
    stream: TextIO,
    fields: Iterable[Field],
    known: Collection[str] | None = None,
    **dialect,
) -> dict[str, list]:
    """The CSV's columns that the model uses, typed by its schema. With ``known``, a header
    column not in it is an ``unknown_field`` error. ``dialect``: csv.reader's format keywords
    (delimiter, quotechar)."""
    rows = list(csv.reader(stream, **dialect))
    if not rows or not rows[0]:
        raise InvalidInputError(
            [FieldError(None, "invalid_csv", "The CSV input is empty; expected a header row.")]
        )
    unknown = [] if known is None else unknown_field_errors(rows[0], known)
    if unknown:
        raise InvalidInputError(unknown)
    return typed_columns(rows[0], rows[1:], fields)


def typed_columns(header: list[str], rows: list[list[str]], fields: Iterable[Field]) -> dict:
    """The columns of parsed CSV rows that the model uses, each cell typed by the schema."""
    wanted = {f.name: f for f in fields}
    return {
        name: [_cell(wanted[name], row[index] if index < len(row) else "") for row in rows]
        for index, name in enumerate(header)
        if name in wanted
    }


def _cell(spec: Field, text: str):
    if text == "":
        return None
    if not spec.is_numeric:
        return text
    try:
        return float(text)
    except ValueError:
        return text


def write_results(
    stream: TextIO, result: BatchResult, ids: tuple[str, list] | None = None, **dialect
) -> None:
    """One row per input row: the result fields, empty cells for a failed row. ``ids``: a
    leading (name, values) column echoed from the input."""
    writer = csv.writer(stream, lineterminator="\n", **dialect)
    writer.writerow(([ids[0]] if ids else []) + list(result.columns))
    for row, record in enumerate(result.records()):
        cells = (
            [""] * len(result.columns) if record is None else [_text(v) for v in record.values()]
        )
        writer.writerow(([ids[1][row]] if ids else []) + cells)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)
