"""The golden cases under tests/golden/: model.pmml, input.csv, scikit-learn's expected.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pmmlkit.scoring.engine import Model

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "model.pmml").exists())
TOLERANCE = 1e-9


def read_input(case: str, model: Model) -> pd.DataFrame:
    """input.csv with string fields kept as strings (empty cell: missing)."""
    text_fields = {f.name: str for f in model.inputs if not f.is_numeric}
    return pd.read_csv(
        GOLDEN / case / "input.csv", dtype=text_fields, keep_default_na=False, na_values=[""]
    )


def read_expected(case: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / case / "expected.csv", dtype=str, keep_default_na=False)


def conflicts(case: str, expected: pd.DataFrame, columns: dict) -> list[str]:
    """One line per cell that differs from scikit-learn beyond 1e-9 (absolute plus relative)."""
    found = []
    for name in expected.columns:
        for row, (want, got) in enumerate(zip(expected[name], columns[name], strict=True)):
            if not _matches(want, got):
                found.append(f"{case} row {row + 1} {name}: expected {want}, got {got}")
    return found


def _matches(want: str, got) -> bool:
    if isinstance(got, str) or got is None:
        return want == (got or "")
    expected = float(want)
    return abs(expected - float(got)) <= TOLERANCE + TOLERANCE * abs(expected)
