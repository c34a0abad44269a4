"""Settings: one table for flags, environment variables and the README."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pmmlkit.scoring.errors import ConfigurationError
from pmmlkit.scoring.settings import Settings, add_arguments, markdown_table


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_override_environment_which_overrides_defaults():
    environ = {"PMMLKIT_STORE": "/srv/models", "PMMLKIT_JVM_HEAP": "2g"}
    settings = Settings.from_sources(parse("--jvm-heap", "512m"), environ)
    assert settings == Settings(store=Path("/srv/models"), jvm_heap="512m")
    assert Settings.from_sources(parse(), {}) == Settings()


def test_unknown_environment_variables_are_named():
    with pytest.raises(
        ConfigurationError, match="Unknown environment variable\\(s\\) PMMLKIT_HEAP; known: "
    ):
        Settings.from_sources(parse(), {"PMMLKIT_HEAP": "1g"})


def test_invalid_values_name_the_setting_and_the_rule():
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(parse("--jvm-heap", "lots"), {})
    assert (
        caught.value.message
        == "Setting 'jvm_heap' must be a JVM heap size such as 512m or 2g; got 'lots'."
    )
    assert caught.value.field == "jvm_heap"


def test_the_access_log_goes_to_stdout_a_file_or_nowhere(tmp_path):
    assert Settings().access_log == "stdout"
    assert Settings.from_sources(parse("--access-log", "off"), {}).access_log is None
    target = str(tmp_path / "access.log")
    assert Settings.from_sources(parse(), {"PMMLKIT_ACCESS_LOG": target}).access_log == target
    for bad in (str(tmp_path), str(tmp_path / "no" / "such" / "access.log")):
        with pytest.raises(ConfigurationError) as caught:
            Settings(access_log=bad)
        assert caught.value.field == "access_log"
        assert "must be stdout, off, or a file in an existing directory" in caught.value.message


def test_the_readme_table_lists_every_setting():
    table = markdown_table()
    for flag, variable in [
        ("--store", "PMMLKIT_STORE"),
        ("--jvm-heap", "PMMLKIT_JVM_HEAP"),
        ("--jars", "PMMLKIT_JARS"),
    ]:
        assert f"| `{flag}` | `{variable}` |" in table
    assert table in (Path(__file__).parent.parent / "README.md").read_text()
