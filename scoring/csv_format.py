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
from operator import itemgetter
from typing import TextIO

import numpy as np

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
    full = all(len(row) >= len(header) for row in rows)  # else short rows get "" cells
    return {
        name: _typed(
            wanted[name],
            list(map(itemgetter(index), rows))
            if full
            else [row[index] if index < len(row) else "" for row in rows],
        )
        for index, name in enumerate(header)
        if name in wanted
    }


def _typed(spec: Field, cells: list[str]) -> list:
    """A column's cells typed by :func:`_cell`; a numeric column whose cells all parse is
    converted by C-level passes (``map(float, ...)``), the empty cells then set back to None."""
    if spec.is_numeric:
        try:
            values = list(map(float, map(_EMPTY_AS_NAN.get, cells, cells)))
        except ValueError:  # a cell that is not a number: typed one by one below
            pass
        else:
            if "" in cells:
                for row in np.flatnonzero(np.array(cells, dtype=object) == ""):
                    values[row] = None
            return values
    return [_cell(spec, text) for text in cells]


_EMPTY_AS_NAN = {"": "nan"}  # float() of an empty cell: NaN, set back to None afterwards


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
    leading (name, values) column echoed from the input. The rows go to the writer as tuples
    zipped from whole columns (a missing number made an empty cell once per column)."""
    writer = csv.writer(stream, lineterminator="\n", **dialect)
    writer.writerow(([ids[0]] if ids else []) + list(result.columns))
    leading = [ids[1]] if ids else []
    columns = [_cells(values) for values in result.columns.values()]
    rows = list(zip(*leading, *columns, strict=True)) if leading or columns else []
    rows = rows or [()] * result.n_rows
    blank = ("",) * len(columns)
    for row in result.errors_by_row():
        rows[row] = rows[row][: len(leading)] + blank
    writer.writerows(rows)


def _cells(values) -> list:
    """A result column as cell values: text as it is, a float as its repr (as csv writes it),
    a missing value as ""."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        cells = values.astype(object)
        cells[np.isnan(values)] = ""
        return cells.tolist()
    if set(map(type, values)) <= _WRITTEN_AS_IS:  # csv writes None as "" and the rest by str()
        return values
    return [_text(v) for v in values]


_WRITTEN_AS_IS = frozenset((str, int, bool, type(None)))


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)
