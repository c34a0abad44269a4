"""`pmmlkit convert`: files in (a joblib/pickle pipeline, CSV or Parquet data), a version out."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import pandas as pd

from pmmlkit.scoring.errors import InvalidDataError
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore, check_name

from .convert import ConvertOptions, convert


def convert_files(args, settings: Settings) -> int:
    check_name(args.name)
    store = ModelStore(settings.store)
    pipeline = load_pipeline(Path(args.pipeline))
    options = ConvertOptions(
        tolerance=args.tolerance,
        sample_size=args.sample_size,
        allow_mismatch=args.allow_mismatch,
        compress=args.compress,
        allow_phone_home=args.allow_phone_home,
    )
    card = convert(
        pipeline,
        read_frame(Path(args.data)),
        target=args.target,
        name=args.name,
        description=args.description,
        holdout=read_frame(Path(args.holdout)) if args.holdout else None,
        store=store,
        settings=settings,
        options=options,
        progress=lambda message: print(message, file=sys.stderr),
    )
    fidelity = card["fidelity"]
    verdict = (
        "passed"
        if fidelity["passed"]
        else f"FAILED, published anyway ({fidelity['differences_total']} differences)"
    )
    print(
        f"published {card['name']} v{card['version']}: fidelity {verdict} on {fidelity['rows_checked']} rows, "
        f"max abs diff {fidelity['max_abs_diff']:.3g}; {card['pmml']['file']} {card['pmml']['size_bytes']:,} bytes"
    )
    return 0


def load_pipeline(path: Path):
    try:
        return joblib.load(path)
    except FileNotFoundError:
        raise InvalidDataError(
            f"Pipeline file '{path}' does not exist.", field="pipeline"
        ) from None
    except Exception as error:
        raise InvalidDataError(
            f"Pipeline file '{path}' is not a joblib or pickle file: {error}", field="pipeline"
        ) from None


def read_frame(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InvalidDataError(f"Data file '{path}' does not exist.", field=str(path)) from None
    except ImportError as error:
        raise InvalidDataError(
            f"Reading '{path}' needs a Parquet engine: {error}", field=str(path)
        ) from None
    except (ValueError, OSError) as error:
        raise InvalidDataError(
            f"Data file '{path}' cannot be read: {error}", field=str(path)
        ) from None
