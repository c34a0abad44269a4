"""The models the service holds: loaded lazily from the store, once per (name, version), shared by
every request thread (a loaded Model is thread-safe)."""

from __future__ import annotations

import threading

from .engine import Model
from .errors import PmmlkitError
from .settings import Settings
from .store import ModelStore


class Registry:
    """Thread-safe cache of loaded models over one store."""

    def __init__(self, store: ModelStore, settings: Settings):
        self.store = store
        self.settings = settings
        self._models: dict[tuple[str, int], Model] = {}
        self._lock = threading.Lock()

    def get(self, name: str, ref: str | int | None = None) -> tuple[int, Model]:
        """The version a reference resolves to and its loaded model (checksum and verification
        rows checked on first load)."""
        version = self.store.resolve(name, ref)
        key = (name, version)
        model = self._models.get(key)
        if model is None:
            with self._lock:
                model = self._models.get(key)
                if model is None:
                    model = Model.load_from_store(self.store, name, version, self.settings)
                    self._models[key] = model
        return version, model

    def load_defaults(self) -> dict[str, str]:
        """Loads every model's default version; returns the failures (name to message)."""
        failures = {}
        for name in self.store.names():
            try:
                self.get(name)
            except PmmlkitError as error:
                failures[name] = f"{error.code}: {error.message}"
        return failures
