"""The pmmlkit command, run as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from pmmlkit.converter.demo_pipelines import CASES
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, conflicts, read_expected

PMMLKIT = [sys.executable, "-m", "pmmlkit.cli"]


def pmmlkit(*args, env_store=None, input_text=None):
    env = {"PATH": "/usr/bin:/bin"}
    if env_store is not None:
        env["PMMLKIT_STORE"] = str(env_store)
    return subprocess.run(
        [*PMMLKIT, *args], capture_output=True, text=True, input=input_text, env=env, check=False
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    done = pmmlkit("--help")
    assert done.returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "pmmlkit.converter.demo", "--store", str(root)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return root


def test_score_writes_the_golden_results(demo_store, tmp_path):
    out = tmp_path / "out.csv"
    done = pmmlkit(
        "score",
        "logistic_mixed",
        "--input",
        str(GOLDEN / "logistic_mixed" / "input.csv"),
        "--output",
        str(out),
        env_store=demo_store,
    )
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    expected = read_expected("logistic_mixed")
    columns = {c: [v if c == "approved" else float(v) for v in written[c]] for c in written.columns}
    assert list(written.columns) == list(expected.columns)
    assert conflicts("logistic_mixed", expected, columns) == []


def test_score_reads_stdin_and_names_bad_rows_with_exit_3(demo_store):
    text = "f1,f2,f3,f4,f5,f6\n0.1,0.2,0.3,0.4,0.5,0.6\nabc,0.2,0.3,0.4,0.5,0.6\n,,,,,\n"
    done = pmmlkit("score", "forest", "--store", str(demo_store), input_text=text)
    assert done.returncode == 3
    lines = done.stdout.splitlines()
    assert lines[0] == "label,probability(0),probability(1)" and len(lines) == 4
    assert lines[2] == ",,"
    assert "row 2: Field 'f1' must be a number; got 'abc'." in done.stderr


def test_score_a_pmml_file_directly(tmp_path):
    done = pmmlkit(
        "score",
        "--model",
        str(GOLDEN / "regressor" / "model.pmml"),
        "--input",
        str(GOLDEN / "regressor" / "input.csv"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "response" and len(done.stdout.splitlines()) == 201


def test_errors_exit_1_with_the_code_and_message(demo_store, tmp_path):
    done = pmmlkit("score", "nope", "--store", str(demo_store), input_text="a\n1\n")
    assert done.returncode == 1
    assert (
        done.stderr
        == f"pmmlkit: model_not_found: Model 'nope' does not exist in store '{demo_store}'.\n"
    )
    done = pmmlkit("score", "../etc", "--store", str(demo_store), input_text="a\n1\n")
    assert done.returncode == 1 and "invalid_name" in done.stderr
    done = pmmlkit("models", "list", "--store", str(tmp_path / "absent"))
    assert done.returncode == 1 and "is not a directory" in done.stderr


def test_unknown_environment_variables_stop_the_command(demo_store):
    env = {"PATH": "/usr/bin:/bin", "PMMLKIT_STOER": "x"}
    done = subprocess.run(
        [*PMMLKIT, "models", "list"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 1
    assert "Unknown environment variable(s) PMMLKIT_STOER" in done.stderr


def test_models_list_and_show(demo_store):
    ModelStore(demo_store).set_alias("forest", "production", 1)
    listing = pmmlkit("models", "list", env_store=demo_store)
    assert listing.returncode == 0
    assert "forest\tversions [1]\taliases production=1" in listing.stdout.splitlines()
    shown = pmmlkit("models", "show", "forest", "--version", "production", env_store=demo_store)
    card = json.loads(shown.stdout)
    assert (card["name"], card["version"], card["target"]["classes"]) == ("forest", 1, [0, 1])


def test_demo_publishing_is_idempotent(demo_store):
    again = subprocess.run(
        [sys.executable, "-m", "pmmlkit.converter.demo", "--store", str(demo_store)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0
    assert again.stdout.count("already there") == len(CASES)
