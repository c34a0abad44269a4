"""Runs the HTTP service on waitress: ``pmmlkit serve``."""

from __future__ import annotations

import logging

import waitress

from .app import create_app
from .registry import Registry
from .settings import Settings
from .store import ModelStore

_log = logging.getLogger(__name__)


def build_server(settings: Settings):
    """A waitress server with every model's default version loaded (failures are logged and
    shown by /readyz; the other models still serve)."""
    registry = Registry(ModelStore(settings.store), settings)
    for name, failure in registry.load_defaults().items():
        _log.error("model %s is not ready: %s", name, failure)
    app = create_app(settings, registry)
    # waitress's own 413 is not JSON: let bodies through up to twice the limit, the app answers.
    return waitress.create_server(
        app,
        host=settings.host,
        port=settings.port,
        threads=settings.threads,
        max_request_body_size=2 * settings.max_body_bytes,
        ident="pmmlkit",
    )


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = build_server(settings)
    _log.info("serving %s on http://%s:%s", settings.store, settings.host, server.effective_port)
    server.run()
