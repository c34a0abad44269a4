"""The model store: versions, aliases, archive, checksums, names, atomicity, concurrency."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import resource
import signal
import subprocess
import sys
import textwrap

import pytest

from pmmlkit.scoring import errors
from pmmlkit.scoring.store import ModelStore, sha256_hex

from .golden_cases import GOLDEN

PMML = (GOLDEN / "regressor" / "model.pmml").read_bytes()


def card(**extra) -> dict:
    """The fields a publisher supplies; the store adds name, version, pmml and created_at."""
    return {
        "created_by": "tests",
        "description": "a regressor for store tests",
        "algorithm": {"estimator": "sklearn.ensemble.GradientBoostingRegressor", "params": {}},
        "input_schema": [{"name": "x1", "type": "double", "missing_allowed": True}],
        "target": {"name": "response", "kind": "regression"},
        "library_versions": {"pmmlkit": "0.1.0"},
        **extra,
    }


@pytest.fixture
def store(tmp_path) -> ModelStore:
    return ModelStore(tmp_path)


def snapshot(root) -> dict:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_publish_assigns_versions_and_completes_the_card(store):
    first = store.publish("churn", PMML, card())
    second = store.publish("churn", PMML, card())
    assert (first["version"], second["version"]) == (1, 2)
    assert first["pmml"] == {
        "file": "model.pmml",
        "sha256": sha256_hex(PMML),
        "size_bytes": len(PMML),
        "uncompressed_size_bytes": len(PMML),
    }
    assert store.card("churn", 1) == first
    assert store.read_pmml("churn", 2) == PMML
    assert store.names() == ["churn"] and store.versions("churn") == [1, 2]


def test_compressed_publish_stores_gzip_and_both_sizes(store):
    stored = store.publish("churn", PMML, card(), compress=True)
    assert stored["pmml"]["file"] == "model.pmml.gz"
    assert stored["pmml"]["uncompressed_size_bytes"] == len(PMML)
    assert gzip.decompress(store.read_pmml("churn", 1)) == PMML


def test_resolve_prefers_production_then_newest(store):
    for _ in range(3):
        store.publish("churn", PMML, card())
    assert store.resolve("churn") == 3
    store.set_alias("churn", "production", 2)
    store.set_alias("churn", "staging", 3)
    assert store.resolve("churn") == 2
    assert store.resolve("churn", "staging") == 3
    assert store.resolve("churn", "1") == 1
    assert store.resolve("churn", 3) == 3
    assert json.loads((store.root / "churn" / "aliases.json").read_text()) == {
        "production": 2,
        "staging": 3,
    }


def test_unknown_model_version_and_alias_are_lookup_errors(store):
    store.publish("churn", PMML, card())
    with pytest.raises(errors.ModelNotFoundError, match="Model 'nope' does not exist"):
        store.resolve("nope")
    with pytest.raises(errors.VersionNotFoundError, match="no live version 7"):
        store.resolve("churn", 7)
    with pytest.raises(errors.AliasNotFoundError, match="no alias 'canary'"):
        store.resolve("churn", "canary")
    with pytest.raises(errors.VersionNotFoundError):
        store.set_alias("churn", "production", 9)


def test_archive_keeps_files_and_never_reuses_the_number(store):
    store.publish("churn", PMML, card())
    store.publish("churn", PMML, card())
    store.archive("churn", 2)
    assert store.versions("churn") == [1]
    assert store.archived_versions("churn") == [2]
    assert (store.root / "churn" / ".archive" / "2" / "model.pmml").read_bytes() == PMML
    assert store.publish("churn", PMML, card())["version"] == 3
    store.restore("churn", 2)
    assert store.versions("churn") == [1, 2, 3]


def test_archiving_an_aliased_version_is_refused(store):
    store.publish("churn", PMML, card())
    store.set_alias("churn", "production", 1)
    with pytest.raises(errors.VersionInUseError, match="alias\\(es\\) production"):
        store.archive("churn", 1)
    assert store.versions("churn") == [1]


def test_a_changed_pmml_file_is_refused_by_checksum(store):
    store.publish("churn", PMML, card())
    path = store.pmml_path("churn", 1)
    path.write_bytes(PMML.replace(b"response", b"respons3", 1))
    with pytest.raises(errors.ChecksumMismatchError, match="refusing to serve it"):
        store.read_pmml("churn", 1)


@pytest.mark.parametrize(
    "name", ["..", "../evil", "a/b", "/etc", "", ".hidden", "a..b", "x" * 65, None]
)
def test_names_that_could_escape_the_store_are_refused(store, name):
    with pytest.raises(errors.InvalidNameError, match="must match"):
        store.publish(name, PMML, card())
    with pytest.raises(errors.InvalidNameError):
        store.resolve(name)
    assert snapshot(store.root) == {}


def test_an_invalid_card_is_refused_and_nothing_is_written(store):
    store.publish("churn", PMML, card())
    before = snapshot(store.root)
    with pytest.raises(errors.InvalidCardError, match="'target'"):
        store.publish("churn", PMML, card(target={"kind": "regression"}))
    assert snapshot(store.root) == before


def _publish_many(root: str, count: int, queue) -> None:
    store = ModelStore(root)
    queue.put([store.publish("shared", PMML, card())["version"] for _ in range(count)])


def test_concurrent_publishers_get_distinct_versions(tmp_path):
    queue = multiprocessing.get_context("fork").Queue()
    workers = [
        multiprocessing.get_context("fork").Process(
            target=_publish_many, args=(str(tmp_path), 5, queue)
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    versions = sorted(v for _ in workers for v in queue.get(timeout=60))
    for worker in workers:
        worker.join()
    assert versions == list(range(1, 21))
    assert ModelStore(tmp_path).versions("shared") == list(range(1, 21))


CRASH = textwrap.dedent(
    """
    import os, sys
    from pmmlkit.scoring import store as module
    real = {name}
    def crash(*args, **kwargs):
        os._exit(9)
    setattr({owner}, "{attribute}", crash)
    s = module.ModelStore(sys.argv[1])
    {action}
    """
)


def crash_during(root, owner: str, attribute: str, action: str) -> int:
    code = CRASH.format(
        name=f"{owner}.{attribute}", owner=owner, attribute=attribute, action=action
    )
    pmml_arg = str(GOLDEN / "regressor" / "model.pmml")
    return subprocess.run([sys.executable, "-c", code, str(root), pmml_arg], check=False).returncode


def test_a_crash_before_the_rename_leaves_the_old_state(store):
    store.publish("churn", PMML, card())
    publish = f"s.publish('churn', open(sys.argv[2], 'rb').read(), {card()!r})"
    assert crash_during(store.root, "module", "_rename_into", publish) == 9
    assert store.versions("churn") == [1]
    assert store.publish("churn", PMML, card())["version"] == 2


def test_a_crash_while_moving_an_alias_leaves_the_old_alias(store):
    store.publish("churn", PMML, card())
    store.publish("churn", PMML, card())
    store.set_alias("churn", "production", 1)
    assert (
        crash_during(store.root, "module.os", "replace", "s.set_alias('churn', 'production', 2)")
        == 9
    )
    assert store.aliases("churn") == {"production": 1}


def _publish_with_tiny_file_limit(root: str, queue) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        ModelStore(root).publish("churn", PMML, card())
        queue.put("published")
    except errors.StoreError as error:
        queue.put(error.message)


def test_a_full_disk_gives_a_store_error_and_changes_nothing(store):
    store.publish("churn", PMML, card())
    before = snapshot(store.root)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_publish_with_tiny_file_limit, args=(str(store.root), queue))
    worker.start()
    message = queue.get(timeout=60)
    worker.join()
    assert message.startswith("Cannot write to model store") and "too large" in message
    assert snapshot(store.root) == before
    assert store.versions("churn") == [1]


def test_a_missing_store_directory_is_a_store_error(tmp_path):
    with pytest.raises(errors.StoreError, match="is not a directory"):
        ModelStore(tmp_path / "absent")


def test_the_java_reader_reads_what_the_python_store_wrote(store, settings):
    """The store is the contract between the languages: Java's ModelStore reads Python's writes."""
    import jpype

    from pmmlkit.scoring.engine import start_jvm

    store.publish("churn", PMML, card())
    store.publish("churn", PMML, card(), compress=True)
    store.set_alias("churn", "production", 1)
    start_jvm(settings)
    java_store = jpype.JClass("io.pmmlkit.ModelStore").open(
        jpype.JClass("java.nio.file.Path").of(str(store.root))
    )
    assert [str(n) for n in java_store.names()] == ["churn"]
    assert [int(v) for v in java_store.versions("churn")] == [1, 2]
    assert int(java_store.resolve("churn", None)) == 1
    assert str(java_store.scorer("churn", 2).source()) == "churn v2"
    store.pmml_path("churn", 2).write_bytes(gzip.compress(PMML + b" "))
    with pytest.raises(jpype.JException, match="card says"):
        java_store.scorer("churn", 2)
