"""Golden cases: the bridge reproduces scikit-learn within 1e-9 on every shape of input."""

from __future__ import annotations

import pytest

from .golden_cases import GOLDEN_CASES, conflicts, read_expected, read_input


def _shapes(frame):
    return {
        "frame": frame,
        "records": frame.to_dict("records"),
        "columns": {name: frame[name].tolist() for name in frame.columns},
    }


def test_there_are_golden_cases_of_every_kind():
    assert {"logistic_mixed", "forest", "regressor", "multiclass"} <= set(GOLDEN_CASES)


@pytest.mark.parametrize("shape", ["frame", "records", "columns"])
@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_case_matches_scikit_learn(case, shape, golden_model):
    model = golden_model(case)
    result = model.score_batch(_shapes(read_input(case, model))[shape])
    assert result.errors == []
    found = conflicts(case, read_expected(case), result.columns)
    for line in found:
        print(line)
    assert found == [], f"{len(found)} conflicting cells (printed above)"


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_single_records_match_the_batch(case, golden_model):
    model = golden_model(case)
    records = read_input(case, model).head(25).to_dict("records")
    batch = model.score_batch(records).records()
    assert [model.score(r) for r in records] == batch


def test_conflicts_are_reported_row_by_row():
    expected = read_expected("regressor").head(3)
    name = expected.columns[0]
    wrong = [float(v) for v in expected[name]]
    wrong[1] += 1e-6
    found = conflicts("regressor", expected, {name: wrong})
    assert found == [f"regressor row 2 {name}: expected {expected[name][1]}, got {wrong[1]}"]
