"""The model store: the contract between the Python and Java sides.

Layout (read by ``io.pmmlkit.ModelStore`` in Java too)::

    <root>/<name>/<version>/model.pmml[.gz]   immutable once written
    <root>/<name>/<version>/model.json        the model card (model-card.schema.json)
    <root>/<name>/aliases.json                {"production": 3}: the only mutable file
    <root>/<name>/.archive/<version>/         archived versions, kept whole and recoverable

Writes are atomic: a version is written into ``<root>/.staging/``, fsynced, then renamed into
place under a per-model lock, so a crash at any instant leaves the old state or the new one.
Version numbers are never reused, archived ones included.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import uuid
import zlib
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from .errors import (
    AliasNotFoundError,
    ChecksumMismatchError,
    InvalidCardError,
    InvalidModelError,
    InvalidNameError,
    ModelNotFoundError,
    StoreError,
    VersionInUseError,
    VersionNotFoundError,
)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_ALIAS = "production"
CARD_SCHEMA_FILE = Path(__file__).with_name("model-card.schema.json")
_VERSION = re.compile(r"^[1-9][0-9]{0,8}$")
_GZIP_MAGIC = b"\x1f\x8b"


def check_name(value: object, kind: str = "model name") -> str:
    """Returns ``value`` if it is a valid model name or alias; raises InvalidNameError otherwise."""
    if not isinstance(value, str) or not NAME.match(value) or ".." in value:
        raise InvalidNameError(
            f"The {kind} must match {NAME.pattern} (letters, digits, '.', '_', '-'; at most 64) "
            f"and not contain '..'; got {value!r}.",
            field=kind,
        )
    return value


def parse_version(ref: str | int) -> int | None:
    """The version number a reference names, or None when it is an alias."""
    if isinstance(ref, int):
        return ref
    return int(ref) if _VERSION.match(ref) else None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ModelStore:
    """A store directory. Safe to share between threads and processes on one host."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(f"Model store '{self.root}' is not a directory.")
        self._validator = jsonschema.Draft202012Validator(json.loads(CARD_SCHEMA_FILE.read_text()))

    # -- reading ---------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """Models with at least one live version, sorted."""
        return sorted(
            p.name for p in self.root.iterdir() if NAME.match(p.name) and self.versions(p.name)
        )

    def versions(self, name: str) -> list[int]:
        """Live (not archived) versions, ascending."""
        return _versions_in(self._model_dir(name))

    def archived_versions(self, name: str) -> list[int]:
        return _versions_in(self._model_dir(name) / ".archive")

    def aliases(self, name: str) -> dict[str, int]:
        path = self._model_dir(name) / "aliases.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def resolve(self, name: str, ref: str | int | None = None) -> int:
        """A live version from a reference: None (the production alias, else the newest),
        a version number, or an alias."""
        versions = self.versions(name)
        if not versions:
            raise ModelNotFoundError(
                f"Model '{name}' does not exist in store '{self.root}'.", field="name"
            )
        version = self._lookup(name, ref)
        if version is None:
            return versions[-1]
        if version not in versions:
            raise VersionNotFoundError(
                f"Model '{name}' has no live version {version}; live versions: {versions}.",
                field="version",
            )
        return version

    def card(self, name: str, version: int) -> dict:
        return json.loads((self._version_dir(name, version) / "model.json").read_text())

    def pmml_path(self, name: str, version: int) -> Path:
        return self._version_dir(name, version) / self.card(name, version)["pmml"]["file"]

    def read_pmml(self, name: str, version: int) -> bytes:
        """The stored PMML bytes (plain or gzip), after checking their sha256 against the card."""
        card = self.card(name, version)
        data = (self._version_dir(name, version) / card["pmml"]["file"]).read_bytes()
        actual = sha256_hex(data)
        if actual != card["pmml"]["sha256"]:
            raise ChecksumMismatchError(
                f"Model '{name}' version {version}: {card['pmml']['file']} has sha256 {actual} "
                f"but its card says {card['pmml']['sha256']}; refusing to serve it."
            )
        return data

    # -- writing ---------------------------------------------------------------------------------

    def publish(self, name: str, pmml: bytes, card: dict, *, compress: bool = False) -> dict:
        """Writes a new version atomically and returns its card (with version, checksum, sizes)."""
        check_name(name)
        data, file_name, raw_size = _encode(pmml, compress)
        with self._locked(name) as model_dir:
            version = max(self.versions(name) + self.archived_versions(name), default=0) + 1
            final = self._complete_card(card, name, version, data, file_name, raw_size)
            staging = self._stage({file_name: data, "model.json": _json_bytes(final)})
            _rename_into(staging, model_dir / str(version))
        return final

    def set_alias(self, name: str, alias: str, version: int) -> dict[str, int]:
        """Points ``alias`` at a live version (promote or roll back); returns all aliases."""
        check_name(alias, "alias")
        with self._locked(name) as model_dir:
            self._version_dir(name, version)
            aliases = {**self.aliases(name), alias: version}
            _write_atomic(model_dir / "aliases.json", _json_bytes(aliases))
        return aliases

    def remove_alias(self, name: str, alias: str) -> dict[str, int]:
        with self._locked(name) as model_dir:
            aliases = self.aliases(name)
            if aliases.pop(check_name(alias, "alias"), None) is None:
                raise AliasNotFoundError(f"Model '{name}' has no alias '{alias}'.", field="alias")
            _write_atomic(model_dir / "aliases.json", _json_bytes(aliases))
        return aliases

    def archive(self, name: str, version: int) -> None:
        """Moves a version out of service into ``.archive``; its files stay whole and recoverable."""
        with self._locked(name) as model_dir:
            source = self._version_dir(name, version)
            users = sorted(a for a, v in self.aliases(name).items() if v == version)
            if users:
                raise VersionInUseError(
                    f"Model '{name}' version {version} is the target of alias(es) {', '.join(users)}; "
                    "move them before archiving it.",
                    field="version",
                )
            (model_dir / ".archive").mkdir(exist_ok=True)
            _rename_into(source, model_dir / ".archive" / str(version))

    def retire(self, name: str) -> list[int]:
        """Takes a whole model out of service: archives every live version (files kept whole in
        ``.archive``, restorable) and moves its aliases to ``.archive/aliases.json``. Returns the
        versions archived."""
        with self._locked(name) as model_dir:
            versions = self.versions(name)
            if not versions:
                raise ModelNotFoundError(f"Model '{name}' does not exist.", field="name")
            (model_dir / ".archive").mkdir(exist_ok=True)
            aliases = self.aliases(name)
            if aliases:  # kept beside the archived versions, for whoever restores them
                _write_atomic(model_dir / ".archive" / "aliases.json", _json_bytes(aliases))
            _write_atomic(model_dir / "aliases.json", _json_bytes({}))
            for version in versions:
                _rename_into(model_dir / str(version), model_dir / ".archive" / str(version))
        return versions

    def restore(self, name: str, version: int) -> None:
        """Brings an archived version back into service under its own number."""
        with self._locked(name) as model_dir:
            source = model_dir / ".archive" / str(version)
            if not (source / "model.json").exists():
                raise VersionNotFoundError(
                    f"Model '{name}' has no archived version {version}.", field="version"
                )
            _rename_into(source, model_dir / str(version))

    # -- internals -------------------------------------------------------------------------------

    def _lookup(self, name: str, ref: str | int | None) -> int | None:
        if ref is None:
            return self.aliases(name).get(DEFAULT_ALIAS)
        if parse_version(ref) is not None:
            return parse_version(ref)
        aliases = self.aliases(name)
        if check_name(ref, "alias") not in aliases:
            raise AliasNotFoundError(
                f"Model '{name}' has no alias '{ref}'; aliases: {sorted(aliases)}.", field="alias"
            )
        return aliases[ref]

    def _model_dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def _version_dir(self, name: str, version: int) -> Path:
        path = self._model_dir(name) / str(version)
        if not isinstance(version, int) or version < 1 or not (path / "model.json").exists():
            raise VersionNotFoundError(
                f"Model '{name}' has no version {version!r}.", field="version"
            )
        return path

    def _complete_card(
        self, card: dict, name: str, version: int, data: bytes, file_name: str, raw_size: int
    ):
        pmml = {"file": file_name, "sha256": sha256_hex(data), "size_bytes": len(data)}
        pmml["uncompressed_size_bytes"] = raw_size
        final = {
            "schema_version": 1,
            "created_at": _now(),
            **card,
            "name": name,
            "version": version,
            "pmml": pmml,
        }
        errors = sorted(self._validator.iter_errors(final), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(card)"
            raise InvalidCardError(
                f"Model card field '{where}' is invalid: {errors[0].message}.", field=where
            )
        return final

    def _stage(self, files: dict[str, bytes]) -> Path:
        staging = self.root / ".staging" / uuid.uuid4().hex
        try:
            staging.mkdir(parents=True)
            for file_name, data in files.items():
                _write_synced(staging / file_name, data)
            _fsync_dir(staging)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise StoreError(
                f"Cannot write to model store '{self.root}': {error.strerror or error}."
            ) from None
        return staging

    @contextmanager
    def _locked(self, name: str):
        model_dir = self._model_dir(name)
        try:
            model_dir.mkdir(exist_ok=True)
            lock = os.open(model_dir / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as error:
            raise StoreError(
                f"Cannot write to model store '{self.root}': {error.strerror or error}."
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield model_dir
        finally:
            os.close(lock)


def _versions_in(directory: Path) -> list[int]:
    if not directory.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in directory.iterdir()
        if _VERSION.match(p.name) and (p / "model.json").exists()
    )


def _encode(pmml: bytes, compress: bool) -> tuple[bytes, str, int]:
    """The bytes to store, their file name and the uncompressed size."""
    if not pmml:
        raise InvalidModelError("The PMML document is empty.")
    if pmml[:2] == _GZIP_MAGIC:
        try:
            return pmml, "model.pmml.gz", len(gzip.decompress(pmml))
        except (OSError, EOFError, zlib.error):
            raise InvalidModelError(
                "The PMML document looks gzip-compressed but is not valid gzip."
            ) from None
    if compress:
        return gzip.compress(pmml, compresslevel=6, mtime=0), "model.pmml.gz", len(pmml)
    return pmml, "model.pmml", len(pmml)


def _json_bytes(value: dict) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    """Replaces one file atomically: temporary file in the same directory, fsync, rename, fsync dir."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        _write_synced(temporary, data)
        os.replace(temporary, path)
        _fsync_dir(path.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"Cannot write '{path}': {error.strerror or error}.") from None


def _rename_into(source: Path, target: Path) -> None:
    """Renames a complete directory into place; never replaces an existing one."""
    if target.exists():
        raise StoreError(f"Refusing to overwrite '{target}': versions are immutable.")
    try:
        os.rename(source, target)
        _fsync_dir(target.parent)
    except OSError as error:
        raise StoreError(
            f"Cannot move '{source}' to '{target}': {error.strerror or error}."
        ) from None
