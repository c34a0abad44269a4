"""`pmmlkit convert` and the store-management subcommands, run as processes."""

from __future__ import annotations

import json
import re

import joblib
import pytest

from pmmlkit.scoring.store import ModelStore

from . import pipelines
from .test_cli import pmmlkit


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("convert")
    frame = pipelines.loans()
    train, holdout = frame.iloc[:450], frame.iloc[450:]
    joblib.dump(pipelines.logistic_pipeline(train), root / "logistic.joblib")
    joblib.dump(pipelines.tree_on_missing_values(train), root / "tree.joblib")
    train.to_csv(root / "train.csv", index=False)
    holdout.to_parquet(root / "holdout.parquet")
    pipelines.numeric(train).to_csv(root / "train_numeric.csv", index=False)
    return root


@pytest.fixture
def store(tmp_path):
    return tmp_path


def convert(files, store, pipeline="logistic.joblib", data="train.csv", *extra):
    return pmmlkit(
        "convert",
        str(files / pipeline),
        "--data",
        str(files / data),
        "--target",
        "approved",
        "--name",
        "loans",
        "--store",
        str(store),
        *extra,
    )


def test_convert_publishes_and_reports_the_fidelity(files, store):
    done = convert(
        files,
        store,
        "logistic.joblib",
        "train.csv",
        "--holdout",
        str(files / "holdout.parquet"),
        "--description",
        "Loan approval.",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("published loans v1: fidelity passed on 600 rows, max abs diff")
    assert "converting with sklearn2pmml: done in" in done.stderr
    card = ModelStore(store).card("loans", 1)
    assert card["metrics"]["evaluated_on"] == "holdout" and card["description"] == "Loan approval."


def test_convert_refuses_wrong_pmml_with_exit_4_and_leaves_the_store_alone(files, store):
    done = convert(files, store, "tree.joblib", "train_numeric.csv")
    assert done.returncode == 4
    assert (
        "pmmlkit: fidelity_failed: Refusing to publish: " in done.stderr
        and "train row " in done.stderr
    )
    assert ModelStore(store).names() == []
    done = convert(
        files, store, "tree.joblib", "train_numeric.csv", "--allow-mismatch", "--compress"
    )
    assert (
        done.returncode == 0
        and "FAILED, published anyway" in done.stdout
        and "model.pmml.gz" in done.stdout
    )


@pytest.mark.parametrize(
    ("pipeline", "data", "message"),
    [
        ("absent.joblib", "train.csv", "Pipeline file '.*absent.joblib' does not exist."),
        ("train.csv", "train.csv", "is not a joblib or pickle file"),
        ("logistic.joblib", "absent.csv", "Data file '.*absent.csv' does not exist."),
    ],
)
def test_bad_files_exit_1_with_a_message(files, store, pipeline, data, message):
    done = convert(files, store, pipeline, data)
    assert done.returncode == 1
    assert done.stderr.startswith("pmmlkit: invalid_data: ")
    assert re.search(message, done.stderr)


def test_promote_archive_and_diff(files, store):
    for _ in range(2):
        assert convert(files, store).returncode == 0
    promoted = pmmlkit("models", "promote", "loans", "production", "1", "--store", str(store))
    assert promoted.stdout == "loans: production -> v1\n"
    refused = pmmlkit("models", "archive", "loans", "1", "--store", str(store))
    assert refused.returncode == 1 and "version_in_use" in refused.stderr
    diff = pmmlkit("models", "diff", "loans", "1", "2", "--store", str(store))
    lines = diff.stdout.splitlines()
    assert lines[0].split() == ["field", "v1", "v2"]
    assert any(line.startswith("version ") for line in lines) and any(
        line.startswith("created_at") for line in lines
    )
    archived = pmmlkit("models", "archive", "loans", "2", "--store", str(store))
    assert archived.returncode == 0 and ModelStore(store).versions("loans") == [1]
    shown = json.loads(pmmlkit("models", "show", "loans", "--store", str(store)).stdout)
    assert shown["version"] == 1
