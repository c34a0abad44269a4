"""The fidelity check: the converted PMML, scored by the serving engine, must give scikit-learn's
own answers on a sample of training and holdout rows (rows with missing values and with
categories unseen in training first), within ``atol + rtol * |expected|``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from pmmlkit.scoring.engine import Model

DEFAULT_TOLERANCE = 1e-9
DEFAULT_SAMPLE_SIZE = 1000
SHOWN_DIFFERENCES = 10


@dataclass(frozen=True)
class Difference:
    """One output of one row where PMML and scikit-learn disagree."""

    row: str
    output: str
    sklearn: object
    pmml: object
    abs_diff: float | None = None

    def describe(self) -> str:
        gap = (
            f" (diff {self.abs_diff:.3g})"
            if self.abs_diff is not None and math.isfinite(self.abs_diff)
            else ""
        )
        return f"{self.row}, {self.output}: scikit-learn {_show(self.sklearn)}, PMML {_show(self.pmml)}{gap}"


def _show(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    return repr(value)


@dataclass
class FidelityReport:
    rows_checked: int
    tolerance: float
    outputs_compared: list[str]
    outputs_not_compared: list[str]
    max_abs_diff: float = 0.0
    differences: list[Difference] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.differences

    def differing_rows(self) -> list[str]:
        return sorted({d.row for d in self.differences})

    def summary(self) -> str:
        shown = "; ".join(d.describe() for d in self.differences[:SHOWN_DIFFERENCES])
        more = len(self.differences) - SHOWN_DIFFERENCES
        return (
            f"{len(self.differing_rows())} of {self.rows_checked} rows differ from scikit-learn beyond "
            f"{self.tolerance:g} (absolute plus relative): {shown}"
            + (f"; and {more} more." if more > 0 else ".")
        )

    def to_card(self) -> dict:
        return {
            "rows_checked": self.rows_checked,
            "max_abs_diff": self.max_abs_diff,
            "passed": self.passed,
            "tolerance": self.tolerance,
            "outputs_compared": self.outputs_compared,
            "outputs_not_compared": self.outputs_not_compared,
            "differences": [asdict(d) for d in self.differences[:100]],
            "differences_total": len(self.differences),
        }


def fidelity_sample(train: pd.DataFrame, holdout: pd.DataFrame | None, size: int, seed: int = 0):
    """Up to ``size`` rows: rows with missing values and holdout rows with unseen categories
    first, the rest drawn at random. Returns the rows and a label per row ("holdout row 17")."""
    parts = [("train", train)] + ([("holdout", holdout)] if holdout is not None else [])
    rows = pd.concat([f for _, f in parts], ignore_index=True)
    labels = [f"{name} row {index}" for name, f in parts for index in f.index]
    urgent = rows.isna().any(axis=1).to_numpy().copy()
    if holdout is not None:
        urgent[len(train) :] |= _unseen_categories(train, holdout)
    order = np.random.default_rng(seed).permutation(len(rows))
    order = np.concatenate([order[urgent[order]], order[~urgent[order]]])[:size]
    return rows.iloc[order].reset_index(drop=True), [labels[i] for i in order]


def _unseen_categories(train: pd.DataFrame, holdout: pd.DataFrame) -> np.ndarray:
    unseen = np.zeros(len(holdout), dtype=bool)
    for column in holdout.columns:
        if column in train.columns and not pd.api.types.is_numeric_dtype(holdout[column]):
            seen = set(train[column].dropna())
            unseen |= (
                holdout[column]
                .map(lambda v, seen=seen: not pd.isna(v) and v not in seen)
                .to_numpy(dtype=bool)
            )
    return unseen


def check_fidelity(
    pipeline, model: Model, rows: pd.DataFrame, labels: list[str], tolerance: float
) -> FidelityReport:
    """Scores ``rows`` with the engine and with scikit-learn and lists every disagreement."""
    expected, refused = sklearn_outputs(pipeline, model, rows)
    result = model.score_batch(rows)
    report = FidelityReport(
        len(rows),
        tolerance,
        list(expected),
        [f.name for f in model.outputs if f.name not in expected],
    )
    if not expected:
        report.differences.append(
            Difference("(model)", "(all)", "no output with a scikit-learn equivalent", None)
        )
    pmml_failed = result.errors_by_row()
    for i, label in enumerate(labels):
        if i in refused or i in pmml_failed:
            if (i in refused) != (i in pmml_failed):
                report.differences.append(_refusal(label, refused.get(i), pmml_failed.get(i)))
            continue
        for name, values in expected.items():
            report.differences += _differences(
                label, name, values[i], result.columns[name][i], tolerance
            )
    report.max_abs_diff = _largest_gap(expected, result, refused, pmml_failed)
    return report


def sklearn_outputs(pipeline, model: Model, rows: pd.DataFrame) -> tuple[dict, dict]:
    """scikit-learn's value for each PMML result field it has an equivalent of, and the rows it
    refuses to score (index to reason)."""
    predicted, refused = predictions(pipeline, rows)
    kept = _kept(len(rows), refused)
    usable = rows.iloc[kept]

    def spread(values) -> list:
        return _spread(values, kept, len(rows))

    outputs = {}
    names = {f.name for f in model.outputs}
    if not model.outputs[0].synthetic:
        outputs[model.outputs[0].name] = spread(predicted)
    if "decisionFunction" in names and hasattr(pipeline, "decision_function"):
        outputs["decisionFunction"] = spread(pipeline.decision_function(usable))
    if "cluster" in names and model.mining_function == "clustering":
        outputs["cluster"] = spread(predicted)
    if "outlier" in names and model.mining_function != "classification":
        outputs["outlier"] = spread(
            predicted == -1
        )  # scikit-learn's outlier detectors answer -1 / 1
    probabilities = _probability_columns(pipeline, model)
    if probabilities:
        proba = pipeline.predict_proba(usable)
        for name, column in probabilities.items():
            outputs[name] = spread(proba[:, column])
    return outputs, refused


def _probability_columns(pipeline, model: Model) -> dict[str, int]:
    if not hasattr(pipeline, "predict_proba"):
        return {}
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    columns = {}
    for output in model.outputs:
        if output.name.startswith("probability(") and output.name.endswith(")"):
            label = output.name[len("probability(") : -1]
            if label in classes:
                columns[output.name] = classes.index(label)
    return columns


def predictions(pipeline, rows: pd.DataFrame) -> tuple[np.ndarray, dict[int, str]]:
    """predict() on the rows scikit-learn accepts, and the rows it refuses (index to reason),
    found one by one only when the whole sample fails."""
    try:
        return pipeline.predict(rows), {}
    except Exception:
        refused = {}
        for i in range(len(rows)):
            try:
                pipeline.predict(rows.iloc[[i]])
            except Exception as error:
                refused[i] = str(error)
        return pipeline.predict(rows.iloc[_kept(len(rows), refused)]), refused


def _kept(length: int, refused: dict[int, str]) -> list[int]:
    return [i for i in range(length) if i not in refused]


def _spread(values, positions: list[int], length: int) -> list:
    """Values of the kept rows placed at their positions; None for refused rows."""
    out = [None] * length
    for position, value in zip(positions, values, strict=True):
        out[position] = value
    return out


def _differences(label: str, name: str, expected, actual, tolerance: float) -> list[Difference]:
    gap = _compare(expected, actual)
    if gap is not None and gap <= _bound(expected, tolerance):
        return []
    return [Difference(label, name, _plain(expected), _plain(actual), _plain(gap))]


def _largest_gap(expected: dict, result, refused: dict, pmml_failed: dict) -> float:
    """The largest absolute difference over every compared numeric cell (0 when there is none)."""
    largest = 0.0
    for name, values in expected.items():
        for i, value in enumerate(values):
            gap = (
                None
                if i in refused or i in pmml_failed
                else _compare(value, result.columns[name][i])
            )
            if gap is not None and not math.isnan(gap):
                largest = max(largest, gap)
    return largest


def _compare(expected, actual) -> float | None:
    """The absolute difference of two numbers; 0 or None (a difference) for labels."""
    if _is_number(expected) and _is_number(actual):
        if math.isnan(float(expected)) and math.isnan(float(actual)):
            return 0.0
        return abs(float(expected) - float(actual))
    return 0.0 if _label(expected) == _label(actual) else None


def _label(value) -> str:
    """Labels compared as text; booleans as PMML writes them (true/false)."""
    return str(value).lower() if isinstance(value, (bool, np.bool_)) else str(value)


def _bound(expected, tolerance: float) -> float:
    return tolerance + tolerance * abs(float(expected)) if _is_number(expected) else 0.0


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _refusal(label: str, sklearn_reason, pmml_errors) -> Difference:
    sklearn = f"refused: {sklearn_reason}" if sklearn_reason else "scored"
    pmml = f"refused: {pmml_errors[0].message}" if pmml_errors else "scored"
    return Difference(label, "(row)", sklearn, pmml)


def _plain(value):
    """A value as the card's JSON holds it: Python scalars, None for no value."""
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and math.isnan(value) else value
