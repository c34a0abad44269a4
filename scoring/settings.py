"""Settings: the one table that yields CLI flags, ``PMMLKIT_*`` environment variables and the
README's configuration table, the way waitress's ``adjustments.py`` drives its keywords and flags.

This is the only module that reads the environment. Unknown ``PMMLKIT_*`` variables and invalid
values stop start-up with a message naming them.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigurationError

ENV_PREFIX = "PMMLKIT_"
_HEAP = re.compile(r"^[1-9][0-9]*[kKmMgG]$")


def _heap(value: str) -> str:
    if not _HEAP.match(value):
        raise ValueError(f"must be a JVM heap size such as 512m or 2g; got {value!r}")
    return value


def _bounded_int(low: int, high: int):
    def parse(value) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a whole number; got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}; got {number}")
        return number

    return parse


def _bounded_float(low: float, high: float):
    def parse(value) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number; got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}; got {number:g}")
        return number

    return parse


def _one_of(*choices: str):
    def parse(value) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    return parse


def _host(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"must be a host name or address; got {value!r}")
    return value


def _optional_token(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if len(value) < 16 or any(c.isspace() for c in value):
        raise ValueError("must be at least 16 characters without spaces")
    return value


_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _model_names(value) -> tuple[str, ...]:
    names = value if isinstance(value, (tuple, list)) else str(value or "").split(",")
    names = tuple(n.strip() for n in names if n.strip())
    bad = [n for n in names if not _MODEL_NAME.match(n)]
    if bad:
        raise ValueError(
            f"must be model names separated by commas; got {', '.join(map(repr, bad))}"
        )
    return names


def _log_target(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    value = str(value)
    if "://" in value and not value.startswith(("sqlite://", "postgresql://", "postgresql+")):
        raise ValueError(f"must be a file, a sqlite:// or postgresql:// URL, or off; got {value!r}")
    return value


def _access_target(value: str | None) -> str | None:
    if value in (None, "", "off"):
        return None
    if value == "stdout":
        return value
    path = _path(value)
    if path.is_dir() or not path.parent.is_dir():
        raise ValueError(f"must be stdout, off, or a file in an existing directory; got {value!r}")
    return str(path)


def _path(value: str | Path) -> Path:
    return Path(value).expanduser()


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value in (None, "") else _path(value)


def _meta(parse, help: str, metavar: str) -> dict:
    return {"parse": parse, "help": help, "metavar": metavar}


@dataclass(frozen=True)
class Settings:
    """Every setting of pmmlkit; build one with keywords in tests, or :meth:`from_sources`."""

    store: Path = field(
        default=Path("pmml_models"), metadata=_meta(_path, "Model store directory.", "DIR")
    )
    jvm_heap: str = field(
        default="1g", metadata=_meta(_heap, "Maximum heap of the in-process JVM (-Xmx).", "SIZE")
    )
    host: str = field(
        default="127.0.0.1", metadata=_meta(_host, "Address the service listens on.", "HOST")
    )
    port: int = field(
        default=8080, metadata=_meta(_bounded_int(0, 65535), "Port (0: any free port).", "PORT")
    )
    # Python runs one thread at a time: on 2 cores, single records handed to the threads (at 4
    # clients, before inline_max_bytes) ran at 2,010-2,500 requests/s with 1 thread, 1,770-1,890
    # with 2, 1,250-1,710 with 8 (bench_http.py); 2 keeps one thread scoring while another waits
    # on an upload or a monitoring report.
    threads: int = field(
        default=2,
        metadata=_meta(
            _bounded_int(1, 256),
            "Request threads of waitress. More cost throughput (one runs Python at a time); "
            "with 1, a slow request (an upload, a report) holds up the others.",
            "N",
        ),
    )
    # Measured (forest, single records, 4 clients, 2 threads): 2,550-2,880 requests/s, p50
    # 1.2-1.4 ms handed to a thread; 5,660-6,150 requests/s, p50 0.44-0.48 ms served inline.
    inline_max_bytes: int = field(
        default=4096,
        metadata=_meta(
            _bounded_int(0, 1 << 20),
            "Scoring requests (POST .../predict) with a body up to this size, for a model "
            "already loaded, are answered on the server's I/O thread instead of being handed "
            "to a request thread: about twice the single-record throughput. 0: none.",
            "BYTES",
        ),
    )
    access_log: str | None = field(
        default="stdout",
        metadata=_meta(
            _access_target,
            "Where each request's JSON access-log line goes: stdout, a file (appended), or off.",
            "stdout|FILE|off",
        ),
    )
    max_body_bytes: int = field(
        default=16 << 20,
        metadata=_meta(
            _bounded_int(1024, 1 << 31), "Largest request body; larger gets 413.", "BYTES"
        ),
    )
    max_records: int = field(
        default=10000,
        metadata=_meta(_bounded_int(1, 1_000_000), "Most records per request; more gets 413.", "N"),
    )
    unknown_fields: str = field(
        default="warn",
        metadata=_meta(
            _one_of("warn", "reject", "ignore"),
            "A record field the model does not know (say a training column the model never "
            "used): warn (scored, named in the answer's warnings), reject (an error naming it) "
            "or ignore.",
            "POLICY",
        ),
    )
    request_timeout: float = field(
        default=30.0,
        metadata=_meta(
            _bounded_float(0.1, 3600),
            "Seconds a request may take to arrive and to score; slower gets 503 timeout.",
            "SECONDS",
        ),
    )
    reload_interval: float = field(
        default=2.0,
        metadata=_meta(
            _bounded_float(0, 3600),
            "Seconds between checks of the store for new versions and aliases (0: only on "
            "POST /v1/admin/reload).",
            "SECONDS",
        ),
    )
    admin_token: str | None = field(
        default=None,
        repr=False,
        metadata=_meta(
            _optional_token,
            "Bearer token for admin calls (upload, alias, archive, reload); without one they are "
            "refused off loopback. Prefer the variable: flags show in ps.",
            "TOKEN",
        ),
    )
    interpreted_models: tuple[str, ...] = field(
        default=(),
        metadata=_meta(
            _model_names,
            "Models (names, comma-separated) scored by JPMML-Evaluator even where the compiled "
            "tree evaluator could score them.",
            "NAMES",
        ),
    )
    prediction_log: str | None = field(
        default=None,
        repr=False,  # a database URL may carry a password
        metadata=_meta(
            _log_target,
            "Where the service logs predictions and feedback: a SQLite file, a "
            "postgresql://user:pass@host/db URL (instances then share one log), or off. "
            "Default: pmmlkit-predictions.sqlite3 beside the store.",
            "FILE|URL|off",
        ),
    )
    log_inputs_rate: float = field(
        default=0.1,
        metadata=_meta(
            _bounded_float(0, 1),
            "Share of scored rows whose inputs are logged too (input drift, case review, "
            "`pmmlkit cases export`).",
            "RATE",
        ),
    )
    log_queue: int = field(
        default=2000,
        metadata=_meta(
            _bounded_int(1, 1_000_000),
            "Requests waiting for the prediction log's writer at most; beyond, their rows are "
            "counted as dropped and scoring goes on.",
            "N",
        ),
    )
    log_retention_days: float = field(
        default=30.0,
        metadata=_meta(
            _bounded_float(0.01, 36500), "Days the prediction log keeps requests.", "DAYS"
        ),
    )
    drift_psi: float = field(
        default=0.2,
        metadata=_meta(
            _bounded_float(0.001, 100),
            "Population stability index (predictions or an input field, window vs the model "
            "card's training baseline) from which monitoring reports drift.",
            "PSI",
        ),
    )
    alert_error_rate: float = field(
        default=0.05,
        metadata=_meta(
            _bounded_float(0, 1), "Share of failed rows from which monitoring alerts.", "RATE"
        ),
    )
    alert_latency_ms: float = field(
        default=250.0,
        metadata=_meta(
            _bounded_float(0.1, 3_600_000),
            "p95 request latency (ms) from which monitoring alerts.",
            "MS",
        ),
    )
    monitor_min_rows: int = field(
        default=100,
        metadata=_meta(
            _bounded_int(1, 1 << 30),
            "Rows a window needs before monitoring computes drift and alerts.",
            "N",
        ),
    )
    monitor_interval: float = field(
        default=60.0,
        metadata=_meta(
            _bounded_float(0, 86400),
            "Seconds between the background drift checks that feed /metrics and the log "
            "(over the last day; 0: off).",
            "SECONDS",
        ),
    )
    jars: Path | None = field(
        default=None,
        metadata=_meta(
            _optional_path,
            "Directory of the java_client jars; default: the jars inside the package.",
            "DIR",
        ),
    )

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                object.__setattr__(self, f.name, f.metadata["parse"](value))
            except (TypeError, ValueError) as error:
                raise ConfigurationError(f"Setting '{f.name}' {error}.", field=f.name) from None

    @property
    def prediction_log_target(self) -> str | None:
        """The prediction log's file or URL; None when logging is off."""
        if self.prediction_log == "off":
            return None
        if self.prediction_log is None:
            return str(Path(self.store).absolute().parent / "pmmlkit-predictions.sqlite3")
        return self.prediction_log

    @classmethod
    def from_sources(cls, args: argparse.Namespace | None = None, environ=None) -> Settings:
        """Defaults, overridden by ``PMMLKIT_*`` variables, overridden by command-line flags."""
        settings = cls(**_from_environ(os.environ if environ is None else environ))
        given = {
            f.name: getattr(args, f.name)
            for f in fields(cls)
            if getattr(args, f.name, None) is not None
        }
        return replace(settings, **given) if given else settings


def _from_environ(environ) -> dict:
    names = {ENV_PREFIX + f.name.upper(): f.name for f in fields(Settings)}
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in names)
    if unknown:
        raise ConfigurationError(
            f"Unknown environment variable(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}."
        )
    return {name: environ[var] for var, name in names.items() if var in environ}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds one ``--flag`` per setting (default None, so unset flags leave the environment's value)."""
    for f in fields(Settings):
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            metavar=f.metadata["metavar"],
            help=f.metadata["help"],
        )


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for f in fields(Settings):
        default = "" if f.default in (None, ()) else f"`{f.default}`"
        flag = "--" + f.name.replace("_", "-")
        rows.append(
            f"| `{flag}` | `{ENV_PREFIX}{f.name.upper()}` | {default} | {f.metadata['help']} |"
        )
    return "\n".join(rows)
