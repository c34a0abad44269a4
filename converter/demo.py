"""Publishes the demo models into a store with the real converter: the seeded pipelines of
:mod:`pmmlkit.converter.demo_pipelines` (the same ones behind tests/golden/), each converted,
checked for fidelity and documented with a full model card.

    python -m pmmlkit.converter.demo [--store pmml_models]

A model whose newest version was made from the same training data and description is left
alone, so running it twice publishes nothing new (versions are never overwritten).
"""

from __future__ import annotations

import argparse

import numpy as np

from pmmlkit.scoring.settings import Settings, add_arguments
from pmmlkit.scoring.store import ModelStore

from .card import fingerprint
from .convert import ConvertOptions, convert
from .demo_pipelines import CASES, SEED

DESCRIPTIONS = {
    "logistic_mixed": "Loan approval: logistic regression on mixed numeric and text fields with missing values.",
    "forest": "Random forest (20 trees, depth 6) on six numeric features.",
    "regressor": "Gradient boosting regressor (60 trees of depth 3) on five numeric features.",
    "multiclass": "Iris species: multinomial logistic regression behind a strict domain.",
    "boosting_mixed": "Loan approval: histogram gradient boosting (40 trees) on numeric and text "
    "fields, missing numbers routed by the trees.",
}
TARGETS = {
    "logistic_mixed": "approved",
    "forest": "label",
    "regressor": "response",
    "multiclass": "species",
    "boosting_mixed": "approved",
}


def publish_demo(
    store: ModelStore, settings: Settings, progress=lambda message: None
) -> list[tuple[str, int, bool]]:
    """Converts and publishes every demo model; returns (name, version, newly published)."""
    published = []
    for index, (name, build) in enumerate(CASES.items()):
        pipeline, train, _ = build(np.random.default_rng([SEED, index]))
        newest = _newest_card(store, name)
        if newest and newest.get("training_data", {}).get("sha256") == fingerprint(train)["sha256"]:
            published.append((name, newest["version"], False))
            continue
        options = ConvertOptions(created_by="pmmlkit demo")
        card = convert(
            pipeline,
            train,
            target=TARGETS[name],
            name=name,
            description=DESCRIPTIONS[name],
            store=store,
            settings=settings,
            options=options,
            progress=progress,
        )
        published.append((name, card["version"], True))
    return published


def _newest_card(store: ModelStore, name: str) -> dict | None:
    versions = store.versions(name)
    return store.card(name, versions[-1]) if versions else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    settings = Settings.from_sources(parser.parse_args(argv))
    for name, version, new in publish_demo(ModelStore(settings.store), settings):
        print(f"{name} v{version}: {'published' if new else 'already there'}")


if __name__ == "__main__":
    main()
