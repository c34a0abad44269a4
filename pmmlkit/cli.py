"""The ``pmmlkit`` command.

Exit codes: 0 success; 1 an error (model, store or settings), message on stderr; 2 a usage error;
3 ``score`` wrote its output but some rows could not be scored (each named on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys

from pmmlkit.scoring import csv_format
from pmmlkit.scoring.engine import Model
from pmmlkit.scoring.errors import PmmlkitError
from pmmlkit.scoring.settings import Settings, add_arguments
from pmmlkit.scoring.store import ModelStore

EXIT_ERROR, EXIT_ROWS_FAILED = 1, 3


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
    return parser


def run_score(args, settings: Settings) -> int:
    if args.model:
        model = Model.load_file(args.model, settings)
    else:
        model = Model.load_from_store(ModelStore(settings.store), args.name, args.version, settings)
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
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
