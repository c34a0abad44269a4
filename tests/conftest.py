"""Shared fixtures: real golden PMML made by sklearn2pmml, a real in-process JVM, real stores."""

from __future__ import annotations

import pytest

from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.settings import Settings

from .golden_cases import GOLDEN


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def golden_model(settings):
    """Loads a golden case's model once per session: ``golden_model("forest")``."""
    loaded: dict[str, Model] = {}

    def load(case: str) -> Model:
        if case not in loaded:
            loaded[case] = Model.load_file(GOLDEN / case / "model.pmml", settings)
        return loaded[case]

    return load
