"""One call from a fitted scikit-learn pipeline to a published, verified, documented model.

    card = convert(pipeline, train, target="approved", name="loans", description="...",
                   holdout=test, store=ModelStore("pmml_models"))

Steps: refuse bad input up front (name, fit, columns); convert with sklearn2pmml (no phone-home),
embedding verification rows; score a sample of training and holdout rows with the serving engine
and compare with scikit-learn (the fidelity check); refuse to publish on any difference unless
``allow_mismatch``; write the card; publish a new version atomically.
"""

from __future__ import annotations

import getpass
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.errors import FidelityError
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore, check_name

from . import card as cards
from .fidelity import (
    DEFAULT_SAMPLE_SIZE,
    DEFAULT_TOLERANCE,
    FidelityReport,
    check_fidelity,
    fidelity_sample,
)
from .pipelines import as_pmml_pipeline, check_features, check_fitted, split_target
from .sklearn_export import export_pmml

VERIFICATION_ROWS = 20
COMPRESS_ABOVE_BYTES = 1 << 20


@dataclass(frozen=True)
class ConvertOptions:
    tolerance: float = DEFAULT_TOLERANCE
    sample_size: int = DEFAULT_SAMPLE_SIZE
    allow_mismatch: bool = False
    compress: bool | None = None  # None: gzip when the PMML is over 1 MiB
    allow_phone_home: bool = False
    created_by: str | None = None


@dataclass
class _Data:
    features: list[str]
    X: pd.DataFrame
    y: pd.Series
    holdout_X: pd.DataFrame | None
    holdout_y: pd.Series | None


def convert(
    pipeline,
    train: pd.DataFrame,
    *,
    target: str,
    name: str,
    description: str,
    store: ModelStore,
    holdout: pd.DataFrame | None = None,
    settings: Settings | None = None,
    options: ConvertOptions = ConvertOptions(),
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Converts, checks fidelity, writes the card and publishes a new version; returns the card.

    Raises NotFittedModelError, InvalidDataError, InvalidNameError, ConversionError or
    FidelityError before anything is written; the store is left exactly as it was.
    """
    check_name(name)
    check_fitted(pipeline)
    data = _prepare(pipeline, train, holdout, target)
    settings = settings or Settings()
    sample, labels = fidelity_sample(data.X, data.holdout_X, options.sample_size)
    pmml_pipeline = as_pmml_pipeline(pipeline, data.features, target)
    with _step(progress, "converting with sklearn2pmml"):
        pmml = _export(pmml_pipeline, sample.head(VERIFICATION_ROWS), options)
    with _step(progress, f"checking fidelity on {len(sample)} rows"):
        # JPMML-Evaluator is the reference: the compiled evaluator is checked against it at load.
        model = Model.load_bytes(pmml, name, settings, verify=False, compile=False)
        report = check_fidelity(pipeline, model, sample, labels, options.tolerance)
    if not report.passed:
        pmml = _handle_mismatch(report, pmml_pipeline, sample, labels, options, progress)
    with _step(progress, "loading the PMML with its verification rows"):
        model = Model.load_bytes(pmml, name, settings, compile=False)
    with _step(progress, "writing the model card and publishing"):
        card = _card(pipeline, model, data, report, description, options)
        return store.publish(name, pmml, card, compress=_compress(options, pmml))


def _prepare(pipeline, train, holdout, target) -> _Data:
    X, y = split_target(train, target, "training")
    check_features(pipeline, X, "training")
    features = [str(c) for c in getattr(pipeline, "feature_names_in_", X.columns)]
    holdout_X = holdout_y = None
    if holdout is not None:
        holdout_X, holdout_y = split_target(holdout, target, "holdout")
        check_features(pipeline, holdout_X, "holdout")
        holdout_X = holdout_X[features]
    return _Data(features, X[features], y, holdout_X, holdout_y)


def _export(pmml_pipeline, verification_rows: pd.DataFrame, options: ConvertOptions) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pmmlkit-convert-") as directory:
        path = Path(directory) / "model.pmml"
        export_pmml(
            pmml_pipeline,
            path,
            verification_frame=verification_rows,
            tolerance=options.tolerance,
            allow_phone_home=options.allow_phone_home,
        )
        return path.read_bytes()


def _handle_mismatch(
    report: FidelityReport, pmml_pipeline, sample, labels, options, progress
) -> bytes:
    if not options.allow_mismatch:
        differences = [d.__dict__ for d in report.differences]
        raise FidelityError(f"Refusing to publish: {report.summary()}", differences)
    progress(f"publishing despite the mismatch (--allow-mismatch): {report.summary()}")
    differing = set(report.differing_rows())
    agreeing = sample[[label not in differing for label in labels]]
    with _step(progress, "converting again with verification rows that agree"):
        return _export(pmml_pipeline, agreeing.head(VERIFICATION_ROWS), options)


def _card(
    pipeline, model: Model, data: _Data, report: FidelityReport, description: str, options
) -> dict:
    target = cards.target_entry(data.y, model, pipeline)
    kind = target["kind"]
    on_holdout = data.holdout_X is not None
    eval_X, eval_y = (data.holdout_X, data.holdout_y) if on_holdout else (data.X, data.y)
    card = {
        "created_by": options.created_by or f"{getpass.getuser()}@{socket.gethostname()}",
        "description": description,
        "algorithm": cards.algorithm(pipeline),
        "input_schema": cards.input_schema(data.X, model),
        "target": target,
        "outputs": [f.name for f in model.outputs],
        "training_data": cards.fingerprint(pd.concat([data.X, data.y], axis=1)),
        "holdout_data": cards.fingerprint(pd.concat([data.holdout_X, data.holdout_y], axis=1))
        if on_holdout
        else None,
        "metrics": cards.evaluation(
            pipeline, eval_X, eval_y, kind, "holdout" if on_holdout else "training"
        ),
        "baseline": cards.baseline(pipeline, data.X, kind),
        "fidelity": report.to_card(),
        "library_versions": cards.library_versions(model),
    }
    return {k: v for k, v in card.items() if v is not None}


def _compress(options: ConvertOptions, pmml: bytes) -> bool:
    return options.compress if options.compress is not None else len(pmml) > COMPRESS_ABOVE_BYTES


class _step:
    """Reports a step that may take seconds: 'converting with sklearn2pmml ... 2.1 s'."""

    def __init__(self, progress: Callable[[str], None], message: str):
        self.progress, self.message = progress, message

    def __enter__(self):
        self.started = time.perf_counter()
        self.progress(f"{self.message} ...")

    def __exit__(self, kind, error, trace):
        if kind is None:
            self.progress(f"{self.message}: done in {time.perf_counter() - self.started:.1f} s")
