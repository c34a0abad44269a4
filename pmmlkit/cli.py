"""The ``pmmlkit`` command.

Exit codes: 0 success; 1 an error (model, store, data or settings), message on stderr; 2 a usage
error; 3 ``score`` wrote its output but some rows could not be scored (each named on stderr);
4 ``convert`` refused to publish because the PMML does not reproduce scikit-learn; 5 ``monitor``
found a threshold crossed.
"""

from __future__ import annotations

import argparse
import json
import sys

from pmmlkit import monitor_cli
from pmmlkit.scoring import csv_format
from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.errors import ConfigurationError, PmmlkitError
from pmmlkit.scoring.settings import Settings, add_arguments
from pmmlkit.scoring.store import ModelStore

EXIT_ERROR, EXIT_ROWS_FAILED, EXIT_FIDELITY = 1, 3, 4


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_arguments(common)
    parser = argparse.ArgumentParser(
        prog="pmmlkit", description="scikit-learn to PMML, stored, served, embedded."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser(
        "score", parents=[common], help="Score a CSV file with a stored model or a PMML file."
    )
    target = score.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="Model name in the store.")
    target.add_argument("--model", help="A PMML file (plain or gzip) instead of a stored model.")
    score.add_argument(
        "--version", help="Version number or alias (default: production, else newest)."
    )
    score.add_argument(
        "--input", type=argparse.FileType("r"), default="-", help="CSV with a header row."
    )
    score.add_argument("--output", type=argparse.FileType("w"), default="-", help="CSV of results.")
    score.set_defaults(run=run_score)

    serve = commands.add_parser(
        "serve", parents=[common], help="Serve every model in the store over HTTP."
    )
    serve.set_defaults(run=run_serve)

    models = commands.add_parser("models", help="Read and manage the model store.")
    actions = models.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common], help="Models, versions and aliases.")
    listing.set_defaults(run=run_list)
    show = actions.add_parser(
        "show", parents=[common], help="The model card of a version, as JSON."
    )
    show.add_argument("name")
    show.add_argument(
        "--version", help="Version number or alias (default: production, else newest)."
    )
    show.set_defaults(run=run_show)
    convert = commands.add_parser(
        "convert",
        parents=[common],
        help="Convert a fitted pipeline, check fidelity, publish a version.",
    )
    convert.add_argument(
        "pipeline",
        help="joblib or pickle file of the fitted pipeline (trusted: loading runs code).",
    )
    convert.add_argument(
        "--data", required=True, help="Training data, CSV or Parquet, with the target column."
    )
    convert.add_argument("--target", required=True, help="Name of the target column.")
    convert.add_argument("--name", required=True, help="Model name in the store.")
    convert.add_argument("--description", default="", help="What the model is for.")
    convert.add_argument(
        "--holdout", help="Holdout data (CSV or Parquet) for metrics and the fidelity sample."
    )
    convert.add_argument(
        "--tolerance", type=float, default=1e-9, help="Absolute plus relative (default 1e-9)."
    )
    convert.add_argument(
        "--sample-size", type=int, default=1000, help="Rows compared (default 1000)."
    )
    convert.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="Publish a failed check, recorded in the card.",
    )
    convert.add_argument(
        "--compress", action=argparse.BooleanOptionalAction, help="gzip (default: above 1 MiB)."
    )
    convert.add_argument(
        "--allow-phone-home", action="store_true", help="Let sklearn2pmml report failures."
    )
    convert.set_defaults(run=run_convert)

    promote = actions.add_parser("promote", parents=[common], help="Point an alias at a version.")
    promote.add_argument("name")
    promote.add_argument("alias")
    promote.add_argument("version", type=int)
    promote.set_defaults(run=run_promote)
    archive = actions.add_parser(
        "archive", parents=[common], help="Take a version out of service (kept)."
    )
    archive.add_argument("name")
    archive.add_argument("version", type=int)
    archive.set_defaults(run=run_archive)
    diff = actions.add_parser("diff", parents=[common], help="Two versions' cards side by side.")
    diff.add_argument("name")
    diff.add_argument("first")
    diff.add_argument("second")
    diff.set_defaults(run=run_diff)
    monitor_cli.add_commands(commands, common)
    return parser


def run_serve(args, settings: Settings) -> int:
    from pmmlkit.scoring.server import serve

    serve(settings)
    return 0


def run_convert(args, settings: Settings) -> int:
    try:
        from pmmlkit.converter.commands import convert_files
    except ImportError as error:
        raise ConfigurationError(
            f"pmmlkit convert needs the [convert] extra (pip install 'pmmlkit[convert]'): {error}",
            code="missing_extra",
        ) from None
    return convert_files(args, settings)


def run_promote(args, settings: Settings) -> int:
    aliases = ModelStore(settings.store).set_alias(args.name, args.alias, args.version)
    print(f"{args.name}: {args.alias} -> v{aliases[args.alias]}")
    return 0


def run_archive(args, settings: Settings) -> int:
    ModelStore(settings.store).archive(args.name, args.version)
    print(
        f"{args.name} v{args.version} archived (restorable from {args.name}/.archive/{args.version})"
    )
    return 0


def run_diff(args, settings: Settings) -> int:
    store = ModelStore(settings.store)
    versions = [store.resolve(args.name, ref) for ref in (args.first, args.second)]
    cards = [_flatten(store.card(args.name, v)) for v in versions]
    keys = [k for k in sorted(set(cards[0]) | set(cards[1])) if cards[0].get(k) != cards[1].get(k)]
    width = max([len(k) for k in keys] + [5])
    print(f"{'field':<{width}}  v{versions[0]:<24} v{versions[1]}")
    for key in keys:
        print(f"{key:<{width}}  {_cell(cards[0].get(key)):<25} {_cell(cards[1].get(key))}")
    return 0


def _flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def _cell(value) -> str:
    text = (
        "-"
        if value is None
        else json.dumps(value)
        if isinstance(value, (list, dict))
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def run_score(args, settings: Settings) -> int:
    if args.model:
        model = Model.load_file(args.model, settings, compile="now")  # one batch: compile first
    else:
        store = ModelStore(settings.store)
        model = Model.load_from_store(store, args.name, args.version, settings, compile="now")
    result = model.score_batch(csv_format.read_columns(args.input, model.inputs))
    csv_format.write_results(args.output, result)
    for row, error in result.errors:
        print(f"row {row + 1}: {error.message}", file=sys.stderr)
    return EXIT_ROWS_FAILED if result.errors else 0


def run_list(args, settings: Settings) -> int:
    store = ModelStore(settings.store)
    for name in store.names():
        aliases = ", ".join(f"{a}={v}" for a, v in sorted(store.aliases(name).items())) or "-"
        print(f"{name}\tversions {store.versions(name)}\taliases {aliases}")
    return 0


def run_show(args, settings: Settings) -> int:
    store = ModelStore(settings.store)
    print(json.dumps(store.card(args.name, store.resolve(args.name, args.version)), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, Settings.from_sources(args))
    except PmmlkitError as error:
        print(f"pmmlkit: {error.code}: {error.message}", file=sys.stderr)
        return EXIT_FIDELITY if error.code == "fidelity_failed" else EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
