"""The models the service holds, and hot reload.

The registry keeps a *catalog*: for every model in the store, its live versions, its aliases and
the version each reference (the default, every alias) is served by. Requests resolve against the
catalog in memory, with no store I/O. :meth:`Registry.reload` rereads the store, loads the versions
the catalog newly points at, and swaps the catalog in one assignment; requests in flight keep the
Model object they already hold. A version that fails to load leaves the previous one serving that
reference, and the failure shows in :meth:`Registry.status` and the log.

A :class:`Poller` calls ``reload`` every ``reload_interval`` seconds; the admin calls call it after
they change the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from .engine import Model
from .errors import (
    AliasNotFoundError,
    ModelNotFoundError,
    ModelNotReadyError,
    PmmlkitError,
    VersionNotFoundError,
)
from .settings import Settings
from .store import DEFAULT_ALIAS, ModelStore, check_name, parse_version

_log = logging.getLogger(__name__)
DEFAULT = ""  # the catalog's key for "no alias given": the production alias, else the newest


@dataclass(frozen=True)
class Entry:
    """One model in the catalog."""

    name: str
    versions: tuple[int, ...]
    aliases: Mapping[str, int]
    serving: Mapping[str, int]  # DEFAULT or an alias -> the version that answers it
    failures: Mapping[str, str] = field(default_factory=dict)  # reference -> why its target failed


class Registry:
    """Thread-safe: many request threads read, one reload at a time writes."""

    def __init__(self, store: ModelStore, settings: Settings):
        self.store = store
        self.settings = settings
        self._catalog: dict[str, Entry] = {}
        self._models: dict[tuple[str, int], Model] = {}
        self._broken: dict[tuple[str, int], PmmlkitError] = {}
        self._cards: dict[tuple[str, int], dict] = {}
        self._load_lock = threading.Lock()
        self._reload_lock = threading.Lock()

    # -- requests ----------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._catalog)

    def entry(self, name: str) -> Entry:
        entry = self._catalog.get(check_name(name))
        if entry is None:
            raise ModelNotFoundError(f"Model '{name}' does not exist.", field="name")
        return entry

    def get(self, name: str, ref: str | int | None = None) -> tuple[int, Model]:
        """The version a reference is served by (None: the default; a number; an alias) and its
        loaded model."""
        version = self.resolve(name, ref)
        return version, self.model(name, version)

    def resolve(self, name: str, ref: str | int | None = None) -> int:
        entry = self.entry(name)
        number = ref if isinstance(ref, int) or ref is None else parse_version(ref)
        if number is not None:
            if number not in entry.versions:
                raise VersionNotFoundError(
                    f"Model '{name}' has no live version {number}; live versions: "
                    f"{list(entry.versions)}.",
                    field="version",
                )
            return number
        key = DEFAULT if ref is None else check_name(ref, "alias")
        if key in entry.serving:
            return entry.serving[key]
        if key in entry.failures:
            raise ModelNotReadyError(
                f"Model '{name}', {key or 'default version'}: {entry.failures[key].rstrip('.')}; "
                "no earlier version serves it."
            )
        raise AliasNotFoundError(
            f"Model '{name}' has no alias '{ref}'; aliases: {sorted(entry.aliases)}.",
            field="alias",
        )

    def loaded(self, name: str, ref: str | int | None = None) -> bool:
        """Whether the version ``ref`` names is loaded; False, not an error, when there is none."""
        try:
            return (name, self.resolve(name, ref)) in self._models
        except PmmlkitError:
            return False

    def model(self, name: str, version: int) -> Model:
        """A live version, loaded on first use (checksum and verification rows checked)."""
        key = (name, version)
        model = self._models.get(key)
        if model is not None:
            return model
        with self._load_lock:
            model = self._models.get(key)
            if model is None:
                if key in self._broken:
                    raise self._broken[key]
                try:
                    model = Model.load_from_store(self.store, name, version, self.settings)
                except PmmlkitError as error:
                    self._broken[key] = error
                    raise
                self._models[key] = model
        return model

    def card(self, name: str, version: int) -> dict:
        """A version's card (immutable, so read once)."""
        key = (name, version)
        if key not in self._cards:
            self._cards[key] = self.store.card(name, version)
        return self._cards[key]

    def adopt(self, name: str, version: int, model: Model) -> None:
        """Registers a model already loaded and verified (an upload) so it is not loaded twice."""
        with self._load_lock:
            self._models.setdefault((name, version), model)

    def status(self) -> dict:
        """Per model: the versions serving each reference, and any reference whose new target
        failed to load (it keeps its previous version, if it had one)."""
        return {
            name: {
                "serving": {(k or "default"): v for k, v in entry.serving.items()},
                "failures": {(k or "default"): m for k, m in entry.failures.items()},
            }
            for name, entry in sorted(self._catalog.items())
        }

    def failures(self) -> dict[str, str]:
        """Models with a reference that is not served by the version it points at."""
        return {
            name: "; ".join(f"{k or 'default'}: {m}" for k, m in entry.failures.items())
            for name, entry in sorted(self._catalog.items())
            if entry.failures
        }

    # -- reload ------------------------------------------------------------------------------------

    def reload(self, *, retry_failed: bool = False) -> list[str]:
        """Rereads the store and swaps in a new catalog; returns what changed, one line each.

        ``retry_failed`` forgets earlier load failures (an operator's explicit reload)."""
        with self._reload_lock:
            if retry_failed:
                with self._load_lock:
                    self._broken.clear()
            old = self._catalog
            new = {}
            for name in self.store.names():
                try:
                    new[name] = self._entry(name, old.get(name))
                except PmmlkitError as error:  # a model removed or damaged while we read it
                    _log.error("model %s: cannot be read from the store: %s", name, error.message)
                    if name in old:
                        new[name] = old[name]
            self._catalog = new
            self._forget(new)
        changes = _changes(old, new)
        for line in changes:
            _log.info("reload: %s", line)
        return changes

    def _entry(self, name: str, previous: Entry | None) -> Entry:
        versions = tuple(self.store.versions(name))
        aliases = self.store.aliases(name)
        wanted = {DEFAULT: aliases.get(DEFAULT_ALIAS, versions[-1]), **aliases}
        serving, failures = {}, {}
        for ref, version in wanted.items():
            try:
                if version not in versions:
                    raise VersionNotFoundError(
                        f"alias '{ref or DEFAULT_ALIAS}' points at version {version}, which is "
                        "not live."
                    )
                self.model(name, version)
                serving[ref] = version
            except PmmlkitError as error:
                failures[ref] = f"version {version}: {error.code}: {error.message}"
                kept = previous.serving.get(ref) if previous else None
                if kept is not None and kept in versions:
                    serving[ref] = kept
                if previous is None or previous.failures.get(ref) != failures[ref]:
                    _log.error(
                        "model %s, %s: version %s failed to load (%s: %s); %s",
                        name,
                        ref or "default",
                        version,
                        error.code,
                        error.message,
                        f"version {kept} keeps serving" if ref in serving else "nothing serves it",
                    )
        return Entry(name, versions, aliases, serving, failures)

    def _forget(self, catalog: dict[str, Entry]) -> None:
        """Drops loaded models whose version is no longer live (archived): their JVM memory goes
        once the requests holding them finish."""
        live = {(name, v) for name, entry in catalog.items() for v in entry.versions}
        with self._load_lock:
            for key in [k for k in self._models if k not in live]:
                del self._models[key]


def _changes(old: dict[str, Entry], new: dict[str, Entry]) -> list[str]:
    lines = []
    for name in sorted(old.keys() - new.keys()):
        lines.append(f"model {name} is gone")
    for name, entry in sorted(new.items()):
        before = old.get(name)
        if before is None:
            lines.append(f"model {name} added: versions {list(entry.versions)}, {_refs(entry)}")
        elif (before.versions, before.serving) != (entry.versions, entry.serving):
            lines.append(f"model {name}: versions {list(entry.versions)}, {_refs(entry)}")
    return lines


def _refs(entry: Entry) -> str:
    return ", ".join(f"{k or 'default'} -> v{v}" for k, v in entry.serving.items())


class Poller:
    """Calls ``registry.reload()`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, registry: Registry, interval: float):
        self._registry = registry
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pmmlkit-reload", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._registry.reload()
            except Exception:  # the poller must outlive a bad moment of the store
                _log.exception("reload failed; the current models keep serving")
