"""The JPype bridge: bad models and bad records get clear errors; nothing crashes; threads are safe."""

from __future__ import annotations

import gzip
import math
import random
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pmmlkit.scoring import errors
from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, GOLDEN_CASES, read_input

LOGISTIC = GOLDEN / "logistic_mixed" / "model.pmml"
GOOD = {"color": "red", "region": "west", "age": 40.0, "income": 50.0, "score": 0.5}


def load_bytes(data: bytes, settings) -> Model:
    return Model.load_bytes(data, "candidate", settings)


def test_a_missing_file_is_model_not_found(settings, tmp_path):
    with pytest.raises(errors.ModelNotFoundError, match="cannot be read"):
        Model.load_file(tmp_path / "absent.pmml", settings)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"this is not xml", "Content is not allowed in prolog"),
        (LOGISTIC.read_bytes()[:3000], "must start and end within the same entity"),
        (b"<html><body>hello</body></html>", "not valid PMML|not a readable PMML"),
    ],
    ids=["empty", "not-xml", "truncated", "not-pmml"],
)
def test_unreadable_documents_are_refused_as_invalid_pmml(settings, data, message):
    with pytest.raises(errors.InvalidModelError, match=message) as caught:
        load_bytes(data, settings)
    assert caught.value.code == "invalid_pmml"
    assert "candidate" in caught.value.message


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE PMML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE PMML [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    ],
    ids=["external-entity", "nested-entities"],
)
def test_documents_with_a_doctype_are_refused(settings, doctype):
    text = LOGISTIC.read_text().replace("?>", "?>" + doctype, 1)
    with pytest.raises(errors.InvalidModelError, match="DOCTYPE is disallowed"):
        load_bytes(text.encode(), settings)


def test_a_model_failing_its_verification_rows_is_refused(settings):
    text = LOGISTIC.read_text()
    first_expected = re.search(r"<data:probability_yes>([^<]+)</data:probability_yes>", text)
    tampered = text.replace(
        first_expected.group(0), "<data:probability_yes>0.123</data:probability_yes>", 1
    )
    with pytest.raises(
        errors.InvalidModelError, match="fails its embedded verification rows"
    ) as caught:
        load_bytes(tampered.encode(), settings)
    assert caught.value.code == "verification_failed"


def test_gzip_pmml_scores_like_the_plain_file(settings, golden_model):
    compressed = load_bytes(gzip.compress(LOGISTIC.read_bytes()), settings)
    assert compressed.score(GOOD) == golden_model("logistic_mixed").score(GOOD)


def test_the_schema_describes_inputs_and_outputs(golden_model):
    model = golden_model("logistic_mixed")
    color = next(f for f in model.inputs if f.name == "color")
    assert (color.data_type, color.op_type, color.missing_allowed) == (
        "string",
        "categorical",
        True,
    )
    assert set(color.categories) >= {"red", "green", "blue"}
    assert [f.name for f in model.outputs] == ["approved", "probability(no)", "probability(yes)"]
    assert model.mining_function == "classification"


def test_every_problem_of_a_record_is_reported_at_once(golden_model):
    record = {"color": 5, "region": "mars", "age": "forty", "income": math.inf, "score": math.nan}
    with pytest.raises(errors.InvalidInputError) as caught:
        golden_model("logistic_mixed").score(record)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("color", "invalid_type"),
        ("region", "invalid_value"),
        ("age", "invalid_type"),
        ("income", "invalid_value"),
    ]
    messages = [e.message for e in caught.value.errors]
    assert messages[0] == "Field 'color' must be a string; got 5."
    assert (
        messages[1]
        == "Field 'region' must be one of 'east', 'missing', 'north', 'south', 'west'; got 'mars'."
    )
    assert messages[2] == "Field 'age' must be a number; got 'forty'."
    assert messages[3] == "Field 'income' must be a finite number; got Infinity."
    assert caught.value.to_dict()["error"]["code"] == "invalid_type"


def test_booleans_are_not_numbers(golden_model):
    with pytest.raises(errors.InvalidInputError, match=r"Field 'age' must be a number; got true\."):
        golden_model("logistic_mixed").score({**GOOD, "age": True})


def test_messages_never_carry_java_class_names(golden_model, settings):
    with pytest.raises(errors.InvalidInputError) as caught:
        golden_model("logistic_mixed").score({"color": [1], "region": {"a": 1}, "age": "x"})
    assert [e.message for e in caught.value.errors][:2] == [
        "Field 'color' must be a string; got a list.",
        "Field 'region' must be a string; got an object.",
    ]
    with pytest.raises(errors.InvalidModelError) as refused:
        load_bytes(b"<PMML/>", settings)
    for text in (str(caught.value.to_dict()), refused.value.message):
        assert not re.search(r"java\.|org\.jpmml|Exception|io\.pmmlkit", text), text


def test_missing_values_follow_the_model_and_score(golden_model):
    result = golden_model("logistic_mixed").score({"color": None, "income": np.nan})
    assert result["approved"] in ("yes", "no")
    assert math.isclose(result["probability(no)"] + result["probability(yes)"], 1.0)


def test_a_bad_record_in_a_batch_fails_alone(golden_model):
    batch = [GOOD, {**GOOD, "color": "purple"}, ["not", "a", "record"], GOOD]
    result = golden_model("logistic_mixed").score_batch(batch)
    assert [(row, e.code) for row, e in result.errors] == [
        (1, "invalid_value"),
        (2, "invalid_record"),
    ]
    records = result.records()
    assert records[1] is None and records[2] is None
    assert records[0] == records[3] == golden_model("logistic_mixed").score(GOOD)


def test_a_bad_value_in_a_long_column_fails_its_row_with_the_errors_it_has_alone(golden_model):
    # Clean columns cross to Java as arrays; one bad value sends its column down the row-by-row
    # path, which must report what the record scored alone reports, whatever the batch shape.
    model = golden_model("logistic_mixed")
    bad = {
        3: {"age": "forty"},
        7: {"age": True},
        11: {"color": 5, "region": "mars"},
        20: {"region": ["west"]},
        25: {"income": None, "score": "1"},
    }
    batch = [{**GOOD, **bad.get(row, {})} for row in range(40)]
    by_records = model.score_batch(batch)
    by_columns = model.score_batch({name: [r[name] for r in batch] for name in GOOD})
    assert by_records.errors == by_columns.errors
    for row, changes in bad.items():
        with pytest.raises(errors.InvalidInputError) as alone:
            model.score({**GOOD, **changes})
        assert [e for r, e in by_records.errors if r == row] == alone.value.errors
    records = by_records.records()
    assert records == by_columns.records()
    assert [row for row, r in enumerate(records) if r is None] == sorted(bad)
    assert all(r == model.score(GOOD) for r in records if r is not None)


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_a_single_record_scores_as_it_does_in_a_batch(golden_model, case):
    # One record takes one call into Java (Scorer.scoreValues, its answer in JSON); a batch
    # crosses as columns. Same results, same result types, same errors, valid or not.
    model = golden_model(case)
    frame = read_input(case, model)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")[:60]
    numeric = [f.name for f in model.inputs if f.is_numeric]
    text = [f.name for f in model.inputs if not f.is_numeric]
    odd = [None, "text", True, 7, -0.0, 1e300, 2**70, -(2**63), [1], {"a": 1}, "unseen", 3.5]
    rng = random.Random(5)
    records = list(rows)
    for row in rows[:40]:
        records.append({**row, **{n: rng.choice(odd) for n in rng.sample(numeric + text, 2)}})
    records += [{n: round(v) for n, v in rows[0].items() if n in numeric and v is not None}, {}]
    for record in records:
        alone = model.score_batch([record])
        in_batch = model.score_batch([record, rows[0]])
        assert alone.errors == [(r, e) for r, e in in_batch.errors if r == 0], record
        assert alone.records() == in_batch.records()[:1], record
        for name, column in alone.columns.items():
            other = in_batch.columns[name]
            assert type(column) is type(other), name
            if isinstance(column, np.ndarray):
                np.testing.assert_array_equal(column, other[:1])
    scored = [r for r in records if not model.score_batch([r]).errors]
    assert 60 <= len(scored) < len(records), "the records must hold valid and invalid ones"


def test_columns_of_unequal_length_are_refused(golden_model):
    with pytest.raises(errors.InvalidInputError, match="Columns must have one length") as caught:
        golden_model("forest").score_batch({"f1": [0.1, 0.2], "f2": [0.3]})
    assert caught.value.code == "invalid_batch"


def test_an_empty_batch_scores_nothing(golden_model):
    result = golden_model("forest").score_batch([])
    assert result.n_rows == 0 and result.errors == [] and result.records() == []


def test_many_threads_score_one_model_with_the_same_results(golden_model):
    model = golden_model("forest")
    frame = read_input("forest", model)
    expected = model.score_batch(frame).records()
    chunks = [frame.iloc[i : i + 10] for i in range(0, len(frame), 10)] * 8

    def score(chunk):
        return chunk.index[0], model.score_batch(chunk).records()

    with ThreadPoolExecutor(max_workers=8) as pool:
        for start, records in pool.map(score, chunks):
            assert records == expected[start : start + len(records)]


def test_a_stored_model_loads_with_its_checksum_checked(settings, tmp_path):
    store = ModelStore(tmp_path)
    card = {
        "created_by": "tests",
        "description": "",
        "algorithm": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {}},
        "input_schema": [],
        "target": {"name": "approved", "kind": "classification"},
        "library_versions": {},
    }
    store.publish("loans", LOGISTIC.read_bytes(), card)
    model = Model.load_from_store(store, "loans", None, settings)
    assert model.source == "loans v1"
    store.pmml_path("loans", 1).write_bytes(LOGISTIC.read_bytes() + b" ")
    with pytest.raises(errors.ChecksumMismatchError):
        Model.load_from_store(store, "loans", None, settings)


def test_a_strict_domain_refuses_missing_and_out_of_range_values(golden_model):
    model = golden_model("multiclass")
    petal_width = next(f for f in model.inputs if f.name == "petal_width")
    assert petal_width.missing_allowed is False
    assert petal_width.intervals == ((0.1, 2.5, True, True),)
    with pytest.raises(errors.InvalidInputError) as caught:
        model.score({"sepal_length": 5.0, "sepal_width": None, "petal_width": 9.5})
    assert [e.to_dict() for e in caught.value.errors] == [
        {
            "field": "sepal_width",
            "code": "missing_field",
            "message": "Field 'sepal_width' is required; got no value.",
        },
        {
            "field": "petal_length",
            "code": "missing_field",
            "message": "Field 'petal_length' is required; got no value.",
        },
        {
            "field": "petal_width",
            "code": "out_of_range",
            "message": "Field 'petal_width' must be within [0.1, 2.5]; got 9.5.",
        },
    ]


def test_a_batch_over_its_time_budget_raises_timeout(golden_model):
    model = golden_model("forest")
    columns = {f.name: np.zeros(200_000) for f in model.inputs}
    with pytest.raises(errors.RequestTimeoutError, match=r"scored \d+ of 200000 rows in the 1 ms"):
        model.score_batch(columns, timeout=0.001)
    assert model.score_batch({f.name: np.zeros(3) for f in model.inputs}, timeout=60).n_rows == 3
