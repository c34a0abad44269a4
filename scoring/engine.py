"""The bridge to the engine: the one Python module that talks to the JVM.

It starts an in-process JVM with JPype (jars from the package, or ``Settings.jars``), loads models
through the Java ``io.pmmlkit.Scorer`` and scores data frames, lists of records and column dicts
through ``Scorer.scoreColumns``: one JNI call per batch with one primitive array per column, not
one call per value. Java exceptions become :mod:`pmmlkit.scoring.errors` exceptions here and
nowhere else. Models are thread-safe; JPype attaches calling threads to the JVM on their own.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import repeat
from pathlib import Path

import jpype
import numpy as np
import orjson

from . import errors
from .errors import EngineError, FieldError, InvalidInputError
from .settings import Settings
from .store import ModelStore

PACKAGED_JARS = Path(__file__).with_name("jars")
# Model.load_bytes's ``compile`` values and the Java CompileMode each stands for.
_COMPILE_MODES = {"background": "BACKGROUND", True: "BACKGROUND", "now": "NOW", False: "OFF"}
_start_lock = threading.Lock()
_log = logging.getLogger(__name__)


def jar_paths(settings: Settings) -> list[str]:
    directory = settings.jars or PACKAGED_JARS
    jars = sorted(str(p) for p in Path(directory).glob("*.jar"))
    if not any("pmmlkit-java-client" in Path(j).name for j in jars):
        raise EngineError(
            f"No pmmlkit-java-client jar in '{directory}'. Build it with `make jars` "
            "(gradle pythonJars), or point PMMLKIT_JARS at a directory that has it."
        )
    return jars


def start_jvm(settings: Settings) -> None:
    """Starts the in-process JVM once per process; later calls return at once."""
    with _start_lock:
        if jpype.isJVMStarted():
            return
        classpath = jar_paths(settings)
        try:
            jpype.startJVM(
                f"-Xmx{settings.jvm_heap}",
                "-Djava.awt.headless=true",
                classpath=classpath,
                convertStrings=False,
            )
        except (OSError, RuntimeError) as error:
            raise EngineError(
                f"Cannot start the JVM (is a Java 11+ runtime installed?): {error}"
            ) from None


@cache
def _java():
    """Java classes and array types, looked up once (a lookup costs microseconds per call)."""
    return {
        "Scorer": jpype.JClass("io.pmmlkit.Scorer"),
        "CompileMode": jpype.JClass("io.pmmlkit.CompileMode"),
        "Duration": jpype.JClass("java.time.Duration"),
        "CodedStrings": jpype.JClass("io.pmmlkit.CodedStrings"),
        "ScoringException": jpype.JClass("io.pmmlkit.ScoringException"),
        "InvalidInputException": jpype.JClass("io.pmmlkit.InvalidInputException"),
        "HashMap": jpype.JClass("java.util.HashMap"),
        "ArrayList": jpype.JClass("java.util.ArrayList"),
        "byte[]": jpype.JArray(jpype.JByte),
        "int[]": jpype.JArray(jpype.JInt),
        "double[]": jpype.JArray(jpype.JDouble),
        "String[]": jpype.JArray(jpype.JString),
        "Object[]": jpype.JArray(jpype.JObject),
    }


def _translate(error: Exception) -> errors.PmmlkitError:
    """A Java exception as the project's Python exception, without Java class names."""
    java = _java()
    if isinstance(error, java["InvalidInputException"]):
        return InvalidInputError(
            [_field_error(e.field(), e.code(), e.message()) for e in error.errors()]
        )
    if isinstance(error, java["ScoringException"]):
        field = None if error.field() is None else str(error.field())
        return errors.from_code(str(error.code()), str(error.getMessage()), field)
    _log.error("unexpected engine failure: %s", error.stacktrace())
    return EngineError("The engine failed unexpectedly; the server log has the details.")


def _field_error(field, code, message) -> FieldError:
    return FieldError(None if field is None else str(field), str(code), str(message))


@dataclass(frozen=True)
class Field:
    """One input or result field of a model, as the Java ``FieldSpec`` describes it."""

    name: str
    data_type: str
    op_type: str
    categories: tuple = ()
    intervals: tuple = ()
    missing_allowed: bool = True
    synthetic: bool = False  # the stand-in target ("_target") of a model that declares none

    @property
    def is_numeric(self) -> bool:
        return self.data_type in ("double", "float", "integer")

    def to_dict(self) -> dict:
        """The field as the HTTP schema and the model card show it."""
        entry = {
            "name": self.name,
            "type": self.data_type,
            "op_type": self.op_type,
            "missing_allowed": self.missing_allowed,
        }
        if self.categories:
            entry["categories"] = list(self.categories)
        if self.intervals:
            entry["intervals"] = [list(i) for i in self.intervals]
        return entry

    @classmethod
    def from_java(cls, spec) -> Field:
        intervals = tuple(
            (_number(i.left()), _number(i.right()), bool(i.leftClosed()), bool(i.rightClosed()))
            for i in spec.intervals()
        )
        return cls(
            name=str(spec.name()),
            data_type=str(spec.dataType()),
            op_type=str(spec.opType()),
            categories=tuple(_python(c) for c in spec.categories()),
            intervals=intervals,
            missing_allowed=bool(spec.missingAllowed()),
            synthetic=bool(spec.synthetic()),
        )


def _number(value) -> float | None:
    return None if value is None else float(value)


def _python(value):
    """A Java boxed value as the Python value (String to str, Long to int, Double to float)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for java_type, convert in (
        ("java.lang.String", str),
        ("java.lang.Boolean", bool),
        ("java.lang.Double", float),
        ("java.lang.Float", float),
    ):
        if value.getClass().getName() == java_type:
            return convert(value)
    return int(value)


@dataclass
class BatchResult:
    """Scores of a batch: one sequence per result field, and the problems of the rows that failed
    (their result cells are NaN or None)."""

    n_rows: int
    columns: dict[str, Sequence]
    errors: list[tuple[int, FieldError]] = field(default_factory=list)
    # The batch's input columns as they came (a list, array or Series per input field it had),
    # which the prediction log samples from (a slice of each column instead of a dict lookup
    # per sampled record and field); None for a single record scored in one call.
    inputs: Mapping[str, Sequence] | None = None

    def errors_by_row(self) -> dict[int, list[FieldError]]:
        by_row: dict[int, list[FieldError]] = {}
        for row, error in self.errors:
            by_row.setdefault(row, []).append(error)
        return by_row

    def records(self) -> list[dict | None]:
        """One dict of result values per row; None for a row that failed."""
        failed = self.errors_by_row()
        names = list(self.columns)
        rows = zip(*(_plain_list(self.columns[n]) for n in names), strict=True)
        records = [dict(zip(names, values, strict=True)) for values in rows]
        if not names:
            records = [{} for _ in range(self.n_rows)]
        for row in failed:
            records[row] = None
        return records


def _plain_list(column) -> list:
    """A result column as Python values, a missing number as None (one pass, not per cell)."""
    if isinstance(column, np.ndarray) and column.dtype.kind == "f":
        values = column.astype(object)
        values[np.isnan(column)] = None
        return values.tolist()
    return list(column)


class Model:
    """A verified PMML model in the in-process JVM. Thread-safe.

    >>> model = Model.load_file("tests/golden/forest/model.pmml", Settings())  # doctest: +SKIP
    >>> model.score({"x1": 0.5, "x2": 1.0})                                      # doctest: +SKIP
    {'y': 1, 'probability(0)': 0.2, 'probability(1)': 0.8}
    """

    def __init__(self, scorer, source: str):
        self._scorer = scorer
        self.source = source
        self.inputs = tuple(Field.from_java(s) for s in scorer.inputFields())
        self.outputs = tuple(Field.from_java(s) for s in scorer.resultFields())
        self.targets = self.outputs[: len(scorer.targetFields())]  # the outputs start with them
        self.mining_function = str(scorer.miningFunction())
        self.engine_version = str(_java()["Scorer"].engineVersion())
        self.java_version = str(jpype.JClass("java.lang.System").getProperty("java.version"))
        # A record may carry the inputs, and the target and outputs (labelled data scores as it
        # is; those values are not used); anything else is unknown to the model.
        self.known_fields = frozenset(f.name for f in self.inputs + self.outputs)
        algorithm = scorer.algorithmName()
        self.algorithm = None if algorithm is None else str(algorithm)
        self._input_names = [f.name for f in self.inputs]
        self._names_arrays: dict[tuple[Field, ...], object] = {}  # String[] per set of columns
        self._all_names = None  # the String[] of every input field, made on first use

    def _names_array(self, fields: tuple[Field, ...]):
        """The Java String[] of these fields' names, made once per set (Java only reads it)."""
        names = self._names_arrays.get(fields)
        if names is None:
            names = self._names_arrays[fields] = _java()["String[]"]([f.name for f in fields])
        return names

    @property
    def engine(self) -> str:
        """Which engine scores now and why, read live: "compiled: ..." (the compiled tree
        evaluator, with its load-time check), "jpmml: <why not compiled>", or, while a background
        compile runs, "jpmml: compiling and checking in the background"."""
        return str(self._scorer.engine())

    def await_engine(self, timeout: float) -> str:
        """Waits at most ``timeout`` seconds for a background compile to end; returns
        :attr:`engine` (still the "in the background" one if the time ran out)."""
        return str(self._scorer.awaitEngine(_java()["Duration"].ofMillis(int(timeout * 1000))))

    @classmethod
    def load_bytes(
        cls,
        pmml: bytes,
        source: str,
        settings: Settings,
        *,
        verify: bool = True,
        compile: str | bool = "background",
    ) -> Model:
        """Loads PMML bytes (plain or gzip) and runs their embedded verification rows (``verify``
        False skips them: only for the converter's own row-by-row fidelity check). A tree model
        is compiled for the compiled evaluator as ``compile`` says: "background" (or True, the
        default) returns once JPMML-Evaluator has verified the model, which serves until the
        compiled evaluator has passed its check in the background; "now" compiles and checks
        before returning; False never compiles (see :attr:`engine`)."""
        if compile not in _COMPILE_MODES:
            raise ValueError(f"compile must be 'background', 'now' or False; got {compile!r}.")
        start_jvm(settings)
        mode = _java()["CompileMode"].valueOf(_COMPILE_MODES[compile])
        try:
            scorer = _java()["Scorer"].load(_java()["byte[]"](pmml), source, verify, mode)
        except jpype.JException as error:
            raise _translate(error) from None
        return cls(scorer, source)

    @classmethod
    def load_file(
        cls, path: str | Path, settings: Settings, *, compile: str | bool = "background"
    ) -> Model:
        """Loads a PMML file; ``compile`` as in :meth:`load_bytes`."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise errors.ModelNotFoundError(
                f"Model file '{path}' cannot be read: {error.strerror}."
            ) from None
        return cls.load_bytes(data, str(path), settings, compile=compile)

    @classmethod
    def load_from_store(
        cls,
        store: ModelStore,
        name: str,
        ref: str | int | None,
        settings: Settings,
        *,
        compile: str = "background",
    ) -> Model:
        """Loads a stored version (checksum checked by the store), by number, alias, or default;
        it serves at once, a tree model compiled in the background (``compile="now"``: before
        returning) unless named in ``settings.interpreted_models``."""
        version = store.resolve(name, ref)
        return cls.load_bytes(
            store.read_pmml(name, version),
            f"{name} v{version}",
            settings,
            compile=compile if name not in settings.interpreted_models else False,
        )

    def score(self, record: Mapping) -> dict:
        """Scores one record; raises InvalidInputError naming every problem of it."""
        if not isinstance(record, Mapping):
            raise InvalidInputError([_not_a_record(record)])
        result = self.score_batch([record])
        if result.errors:
            raise InvalidInputError([e for _, e in result.errors])
        return result.records()[0]

    def score_batch(self, data, *, timeout: float | None = None) -> BatchResult:
        """Scores a pandas DataFrame, a list of records (dicts) or a dict of columns; with a
        ``timeout`` (seconds), a batch that takes longer raises RequestTimeoutError (a list of
        one record takes one call into Java and is not timed: it scores in microseconds)."""
        if type(data) is list and len(data) == 1 and type(data[0]) is dict:
            values = self._record_values(data[0])
            if values is not None:  # one record of JSON values: one call into Java
                return self._score_values(values)
        columns, n_rows, bad_rows = _columns_of(data, self._input_names)
        present = tuple(f for f in self.inputs if f.name in columns)
        java_columns = [_java_column(f, columns[f.name]) for f in present]
        try:
            batch = self._scorer.scoreColumns(
                self._names_array(present),
                _java()["Object[]"](java_columns),
                0 if timeout is None else max(1, int(timeout * 1000)),
            )
        except jpype.JException as error:
            raise _translate(error) from None
        result = _batch_result(batch, self.outputs, n_rows, bad_rows)
        result.inputs = columns
        return result

    def _record_values(self, record: dict) -> list | None:
        """The record's values in input field order as :meth:`_score_values` takes them (a whole
        number of a numeric field as a float, as a numeric column holds it), or None when one is
        not a JSON scalar JPype converts as it is (the column path then takes the record)."""
        values = []
        for spec in self.inputs:
            value = record.get(spec.name)
            kind = type(value)
            if kind is int:
                if not _LONG_MIN <= value <= _LONG_MAX:
                    return None
                if spec.is_numeric:
                    value = float(value)
            elif kind not in _SCALAR_TYPES:
                return None
            values.append(value)
        return values

    def _score_values(self, values: list) -> BatchResult:
        """One record scored by a single call (``Scorer.scoreValues``), its answer read from one
        JSON byte array; the result as :func:`_batch_result` would make it of a one-row batch."""
        java = _java()
        if self._all_names is None:
            self._all_names = self._names_array(self.inputs)
        try:
            answer = orjson.loads(
                bytes(self._scorer.scoreValues(self._all_names, java["Object[]"](values)))
            )
        except jpype.JException as error:
            raise _translate(error) from None
        if "errors" in answer:
            columns = {
                f.name: np.array([np.nan]) if _is_float_result(f) else [None] for f in self.outputs
            }
            return BatchResult(1, columns, [(0, _field_error(*e)) for e in answer["errors"]])
        columns = {}
        for spec, value in zip(self.outputs, answer["values"], strict=True):
            if spec.data_type == "integer":
                columns[spec.name] = [None if value is None else int(value)]
            elif spec.is_numeric:
                columns[spec.name] = np.array(
                    [np.nan if value is None else value], dtype=np.float64
                )
            else:
                columns[spec.name] = [value]
        return BatchResult(1, columns)


def _is_float_result(spec: Field) -> bool:
    return spec.is_numeric and spec.data_type != "integer"


def unknown_field_errors(names: Iterable, known: frozenset[str]) -> list[FieldError]:
    """An ``unknown_field`` error for each name not in ``known`` (a model's ``known_fields``)."""
    return [
        FieldError(str(n), "unknown_field", f"Field '{n}' is not a field of this model.")
        for n in names
        if n not in known
    ]


def _not_a_record(value) -> FieldError:
    return FieldError(
        None,
        "invalid_record",
        f"A record must be an object of field values; got {type(value).__name__}.",
    )


def _columns_of(data, names: list[str]) -> tuple[dict, int, dict[int, FieldError]]:
    """Columns of the model's input fields, the row count, and the rows that are not records."""
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a pandas DataFrame: keep Series
        return {n: data[n] for n in names if n in data.columns}, len(data), {}
    if isinstance(data, Mapping):
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise InvalidInputError(
                [
                    FieldError(
                        None,
                        "invalid_batch",
                        f"Columns must have one length; got {sorted(lengths)}.",
                    )
                ]
            )
        return {n: data[n] for n in names if n in data}, lengths.pop() if lengths else 0, {}
    if isinstance(data, list) and set(map(type, data)) <= {dict}:  # JSON objects: no loop
        return {n: list(map(dict.get, data, repeat(n))) for n in names}, len(data), {}
    bad = {i: _not_a_record(r) for i, r in enumerate(data) if not isinstance(r, Mapping)}
    records = [{} if i in bad else r for i, r in enumerate(data)]
    return {n: [r.get(n) for r in records] for n in names}, len(records), bad


def _java_column(spec: Field, values):
    """One input column as Java takes it: double[] for numbers, coded strings for text, else
    Object[] (mixed or wrong types, which the engine reports row by row)."""
    java = _java()
    if spec.is_numeric:
        floats = _as_floats(values)
        if floats is not None:
            return java["double[]"](floats)
    elif spec.data_type == "string":
        if (
            isinstance(values, list)
            and len(values) <= _FEW
            and set(map(type, values)) <= _TEXT_TYPES
        ):
            return java["String[]"](values)  # a few values: cheaper than coding them
        coded = _factorized(values) if hasattr(values, "factorize") else _coded(values)
        if coded is not None:
            codes = java["int[]"](np.asarray(coded[0], dtype=np.int32))
            return java["CodedStrings"](codes, java["String[]"](coded[1]))
    return java["Object[]"]([_plain(v) for v in values])


def _coded(values) -> tuple[np.ndarray | list[int], list[str]] | None:
    """Dictionary-encodes text (code -1: missing), so that two arrays cross JNI instead of one
    object per row; None when a value is neither text nor missing. Text and None only (what a
    JSON parser makes) is encoded by C-level passes, anything else by :func:`_coded_one_by_one`."""
    try:
        distinct = dict.fromkeys(values)
    except TypeError:  # an unhashable value (a list, an object): not text
        return None
    if not set(map(type, distinct)) <= _TEXT_TYPES:
        return _coded_one_by_one(values)
    dictionary = [v for v in distinct if v is not None]
    index = dict(zip(dictionary, range(len(dictionary)), strict=True))
    index[None] = -1
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, dictionary


def _coded_one_by_one(values) -> tuple[list[int], list[str]] | None:
    """:func:`_coded` for columns with other missing values (NaN, pandas' NA)."""
    index: dict[str, int] = {}
    codes = []
    for value in values:
        if value.__class__ is str:
            codes.append(index.setdefault(value, len(index)))
        elif _is_missing(value):
            codes.append(-1)
        else:
            return None
    return codes, list(index)


def _factorized(series) -> tuple[np.ndarray, list[str]] | None:
    """A pandas Series dictionary-encoded by pandas itself (missing values get code -1)."""
    codes, uniques = series.factorize()
    dictionary = list(uniques)
    return (codes, dictionary) if all(isinstance(v, str) for v in dictionary) else None


def _as_floats(values) -> np.ndarray | None:
    """A float64 array (NaN for missing) when every value is a number or missing, else None."""
    if hasattr(values, "to_numpy"):  # a pandas Series
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64, copy=False)
    if set(map(type, values)) <= _NUMBER_TYPES:  # the JSON case: numpy converts, None is NaN
        return np.array(values, dtype=np.float64)
    if all(v is None or _is_number(v) for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return None


# What a single record's values may be to take the one-call path; ints within Java's long.
_SCALAR_TYPES = frozenset((float, str, bool, type(None)))
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
# The Python types a JSON parser makes of numbers, and of text, with null (None) for missing.
_NUMBER_TYPES = frozenset((int, float, type(None)))
_TEXT_TYPES = frozenset((str, type(None)))
_FEW = 16  # up to this many rows, a text column crosses as String[] rather than coded


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_missing(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or type(value).__name__ in ("NAType", "NaTType")
    )


def _plain(value):
    """A scalar as JPype converts it; a container as an empty Java one, which the engine refuses
    with "got a list" or "got an object" (its content does not matter once it is refused)."""
    if _is_missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return _java()["HashMap"]()
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return _java()["ArrayList"]()
    if type(value) is int and not _LONG_MIN <= value <= _LONG_MAX:  # beyond a Java long
        return float(value) if abs(value) < 2**1024 else math.copysign(math.inf, value)
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _batch_result(
    batch, outputs: tuple[Field, ...], n_rows: int, bad_rows: dict[int, FieldError]
) -> BatchResult:
    columns = {f.name: _python_column(f, batch.column(i), n_rows) for i, f in enumerate(outputs)}
    rows = batch.errorRows()
    if len(rows) == 0 and not bad_rows:  # the common case: three JNI calls fewer
        return BatchResult(n_rows, columns)
    found = [
        _field_error(*e)
        for e in zip(batch.errorFields(), batch.errorCodes(), batch.errorMessages(), strict=True)
    ]
    rows = np.asarray(rows).tolist()
    failures = [(r, e) for r, e in zip(rows, found, strict=True) if r not in bad_rows]
    failures += list(bad_rows.items())
    return BatchResult(n_rows, columns, sorted(failures, key=lambda item: item[0]))


def _python_column(spec: Field, column, n_rows: int) -> Sequence:
    """A result column as Python takes it: float64 array for numbers, a list otherwise (whole
    numbers as int, text as str, None for missing)."""
    if spec.data_type == "integer":
        values = np.asarray(column)
        missing = np.isnan(values)
        if not missing.any():
            return values.astype(np.int64).tolist()
        return [None if m else int(v) for v, m in zip(values, missing, strict=True)]
    if spec.is_numeric:
        return np.array(column, dtype=np.float64)
    if n_rows <= _FEW:
        return [None if v is None else str(v) for v in column.toArray()]
    lookup = np.array([str(v) for v in column.dictionary()] + [None], dtype=object)
    return lookup[np.asarray(column.codes())].tolist()  # code -1 picks the trailing None
