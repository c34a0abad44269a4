"""The wheel is what a serving host installs: no scikit-learn, the jars inside, only a JRE needed."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from .golden_cases import GOLDEN

ROOT = Path(__file__).resolve().parent.parent


def run(*command, cwd=None):
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_wheel_scores_on_a_host_without_scikit_learn(tmp_path):
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        str(tmp_path / "dist"),
        str(ROOT),
    )
    wheel = next((tmp_path / "dist").glob("pmmlkit-*.whl"))
    venv.create(tmp_path / "host", with_pip=True)
    python = tmp_path / "host" / "bin" / "python"
    run(str(python), "-m", "pip", "install", "--quiet", str(wheel))
    installed = run(str(python), "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert (
        "scikit-learn" not in installed
        and "sklearn2pmml" not in installed
        and "pandas" not in installed
    )
    done = run(
        str(tmp_path / "host" / "bin" / "pmmlkit"),
        "score",
        "--model",
        str(GOLDEN / "forest" / "model.pmml"),
        "--input",
        str(GOLDEN / "forest" / "input.csv"),
        cwd=tmp_path,
    )
    assert done.stdout.splitlines()[0] == "label,probability(0),probability(1)"
    assert len(done.stdout.splitlines()) == 201
    refused = subprocess.run(
        [
            str(tmp_path / "host" / "bin" / "pmmlkit"),
            "convert",
            "x.joblib",
            "--data",
            "x.csv",
            "--target",
            "y",
            "--name",
            "x",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "pmmlkit: missing_extra: pmmlkit convert needs the [convert] extra"
    )
