"""``pmmlkit monitor NAME`` and ``pmmlkit cases export NAME``: the monitoring report and the logged
cases, read straight from the prediction log (the one the service writes: --prediction-log).

``monitor`` exits 5 when a threshold is crossed, so a cron job or CI step can act on it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from pmmlkit.scoring import cases, monitoring
from pmmlkit.scoring.errors import PredictionLogError
from pmmlkit.scoring.logwindow import WINDOWS
from pmmlkit.scoring.predlog import PredictionLog
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

EXIT_ALERTS = 5


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    monitor = commands.add_parser(
        "monitor", parents=[common], help="Traffic, drift and feedback of a model (exit 5: alerts)."
    )
    monitor.add_argument("name")
    monitor.add_argument("--window", choices=list(WINDOWS), default="day")
    monitor.add_argument("--version", type=int, help="Only this version.")
    monitor.add_argument("--json", action="store_true", help="The report as JSON.")
    monitor.set_defaults(run=run_monitor)

    group = commands.add_parser("cases", help="Logged cases for review and retraining.")
    actions = group.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", parents=[common], help="Write logged cases with inputs and feedback."
    )
    export.add_argument("name")
    export.add_argument("--output", required=True, help="File to write (.csv or .parquet).")
    export.add_argument("--format", choices=["csv", "parquet"], help="Default: from --output.")
    export.add_argument("--window", choices=list(WINDOWS), default="week")
    export.add_argument("--version", type=int, help="Only this version.")
    export.add_argument("--filter", choices=cases.FILTERS, default="all")
    export.add_argument("--limit", type=int, default=1_000_000, help="Newest cases at most.")
    export.add_argument(
        "--all-rows", action="store_true", help="Also rows whose inputs were not logged."
    )
    export.set_defaults(run=run_export)


def _log(settings: Settings) -> PredictionLog:
    target = settings.prediction_log_target
    if target is None:
        raise PredictionLogError("The prediction log is off (--prediction-log off).")
    if "://" not in target and not Path(target).exists():
        raise PredictionLogError(f"No prediction log at {target}; set --prediction-log.")
    return PredictionLog.open(target)


def run_monitor(args, settings: Settings) -> int:
    store = ModelStore(settings.store)
    log = _log(settings)
    try:
        answer = monitoring.report(
            log.engine,
            args.name,
            lambda v: monitoring.card_or_empty(store, args.name, v),
            window=args.window,
            version=args.version,
            thresholds=monitoring.Thresholds.of(settings),
        )
    finally:
        log.engine.dispose()
    print(json.dumps(answer, indent=2) if args.json else render(answer))
    return EXIT_ALERTS if any(v["alerts"] for v in answer["versions"]) else 0


def render(answer: dict) -> str:
    lines = [f"{answer['model']}: last {answer['window']} ({answer['from']} to {answer['to']})"]
    if not answer["versions"]:
        lines.append("  no traffic logged in this window")
    for v in answer["versions"]:
        volume, latency = v["volume"], v["latency_ms"]
        rate = "-" if volume["error_rate"] is None else f"{volume['error_rate']:.2%}"
        lines += [
            "",
            f"version {v['version']} ({v['kind']})",
            f"  requests {volume['requests']}  rows {volume['rows']}  failed rows "
            f"{volume['failed_rows']} ({rate})  latency ms p50/p95/p99 "
            f"{latency['p50']}/{latency['p95']}/{latency['p99']}",
            f"  predictions PSI {_num(v['predictions']['psi'])}",
        ]
        predictions = v["predictions"]
        for label in predictions.get("classes", []):
            lines.append(
                f"    {label:<20} baseline {_share(predictions['baseline'].get(label))}"
                f"  observed {_share(predictions['observed'].get(label))}"
            )
        lines.append(f"  {'input':<22} {'rows':>6} {'missing base/obs':>18} {'PSI':>8}")
        for entry in v["inputs"]:
            missing = entry["missing_rate"]
            lines.append(
                f"  {entry['field']:<22} {entry['rows']:>6} "
                f"{_share(missing['baseline']) + '/' + _share(missing['observed']):>18} "
                f"{_num(entry['psi']):>8}"
            )
        fb = v["feedback"]
        quality = {k: fb[k] for k in ("accuracy", "mae", "rmse") if k in fb}
        lines.append(
            f"  feedback {fb['count']}  "
            + "  ".join(f"{k} {_num(q)}" for k, q in quality.items())
            + "".join(f"  {flag} {n}" for flag, n in fb["flags"].items())
        )
        lines += [f"  ALERT {a['message']}" for a in v["alerts"]] or ["  no alerts"]
    return "\n".join(lines)


def _num(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _share(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def run_export(args, settings: Settings) -> int:
    log = _log(settings)
    span, _ = WINDOWS[args.window]
    until = time.time()
    try:
        rows = cases.cases(
            log.engine,
            args.name,
            until - span,
            until,
            version=args.version,
            kind=args.filter,
            limit=args.limit,
            with_inputs=not args.all_rows,
        )
    finally:
        log.engine.dispose()
    fmt = args.format or ("parquet" if args.output.endswith(".parquet") else "csv")
    count = cases.export(rows, Path(args.output), fmt)
    print(f"{count} cases of {args.name} written to {args.output}")
    return 0
