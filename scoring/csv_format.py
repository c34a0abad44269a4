"""CSV in and out of a model: header row in, one column per result field out.

Input cells are typed by the model's input schema: an empty cell is a missing value, a numeric
field's cell is parsed as a number (a cell that is not one is passed on as text, so the engine
reports it as ``invalid_type`` for that row). Output has one column per result field (target and
output fields, named as in the PMML), rows in input order, an empty cell for a missing value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from typing import TextIO

from .engine import BatchResult, Field
from .errors import FieldError, InvalidInputError


def read_columns(stream: TextIO, fields: Iterable[Field]) -> dict[str, list]:
    """The CSV's columns that the model uses, typed by its schema."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if not header:
        raise InvalidInputError(
            [FieldError(None, "invalid_csv", "The CSV input is empty; expected a header row.")]
        )
    rows = list(reader)
    wanted = {f.name: f for f in fields}
    columns = {}
    for index, name in enumerate(header):
        if name in wanted:
            columns[name] = [
                _cell(wanted[name], row[index] if index < len(row) else "") for row in rows
            ]
    return columns


def _cell(spec: Field, text: str):
    if text == "":
        return None
    if not spec.is_numeric:
        return text
    try:
        return float(text)
    except ValueError:
        return text


def write_results(stream: TextIO, result: BatchResult) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(list(result.columns))
    for record in result.records():
        cells = [] if record is None else [_text(v) for v in record.values()]
        writer.writerow(cells or [""] * len(result.columns))


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)
