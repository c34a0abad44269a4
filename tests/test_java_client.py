"""Cross-language tests of java_client: the CSV tool (a real `java -jar`), the Java HTTP client
against the live Python service, and the embedded store reader on a store the Python side wrote.
Everything is compared with scikit-learn's expected.csv of the golden cases."""

from __future__ import annotations

import math
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import jpype
import pandas as pd
import pytest

from pmmlkit.scoring.engine import start_jvm
from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings
from pmmlkit.scoring.store import ModelStore

from .golden_cases import GOLDEN, GOLDEN_CASES, conflicts, read_expected
from .test_service import CARD

ROOT = Path(__file__).resolve().parent.parent
TOOL_JAR = ROOT / "build" / "libs" / "pmmlkit-all.jar"
M2 = ROOT / "build" / "m2"  # the local Maven repository `make publish-local` writes


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    for case in GOLDEN_CASES:
        ModelStore(root).publish(case, (GOLDEN / case / "model.pmml").read_bytes(), CARD)
    return root


@pytest.fixture(scope="module")
def service(store):
    with Service(Settings(store=store, port=0)).start() as running:
        yield running


def tool(*args: str, heap: str | None = None) -> subprocess.CompletedProcess:
    assert TOOL_JAR.exists(), f"{TOOL_JAR} is missing: `make setup` builds it (gradle allJar)"
    command = ["java", *([f"-Xmx{heap}"] if heap else []), "-jar", str(TOOL_JAR), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def csv_conflicts(case: str, output: Path) -> list[str]:
    got = pd.read_csv(output, dtype=str, keep_default_na=False)
    columns = {name: [_cell(v) for v in got[name]] for name in got.columns}
    expected = read_expected(case)
    assert list(got.columns) == list(expected.columns)
    return conflicts(case, expected, columns)


def _cell(text: str):
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_csv_tool_matches_scikit_learn_on_every_golden_case(case, tmp_path):
    output = tmp_path / "out.csv"
    model, data = GOLDEN / case / "model.pmml", GOLDEN / case / "input.csv"
    done = tool("score", "--model", str(model), "--input", str(data), "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert csv_conflicts(case, output) == []


@pytest.mark.parametrize("source", ["store", "url"])
def test_csv_tool_scores_by_name_from_the_store_and_through_the_service(
    source, store, service, tmp_path
):
    where = ["--store", str(store)] if source == "store" else ["--url", service.url]
    for case in GOLDEN_CASES:
        output = tmp_path / f"{case}.csv"
        done = tool(
            "score", *where, "--name", case, "--ref", "1", "--parallel",
            "--input", str(GOLDEN / case / "input.csv"), "--output", str(output),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"with {case} v1" in done.stderr
        assert csv_conflicts(case, output) == []


def test_csv_tool_streams_a_file_larger_than_its_heap(tmp_path):
    rows = pd.read_csv(GOLDEN / "multiclass" / "input.csv")
    big = tmp_path / "big.csv"
    copies = 2000  # 300,000 rows, about 5 MB in and 25 MB out, through a 24 MB heap
    pd.concat([rows] * copies).to_csv(big, index=False)
    output = tmp_path / "out.csv"
    done = tool(
        "score", "--model", str(GOLDEN / "multiclass" / "model.pmml"),
        "--input", str(big), "--output", str(output), heap="24m",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"Scored {len(rows) * copies} of {len(rows) * copies} rows" in done.stderr
    got = pd.read_csv(output)
    assert len(got) == len(rows) * copies
    expected = pd.read_csv(GOLDEN / "multiclass" / "expected.csv")
    last = got.iloc[-len(rows) :].reset_index(drop=True)
    assert (last["species"] == expected["species"]).all()
    assert ((last.iloc[:, 1:] - expected.iloc[:, 1:]).abs().max() < 1e-9).all()


def test_csv_tool_reports_bad_rows_and_exits_one(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text(
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n,3.5,x,0.2\n"
    )
    done = tool("score", "--model", str(GOLDEN / "multiclass" / "model.pmml"), "--input", str(data))
    assert done.returncode == 1
    assert done.stdout.splitlines()[2] == ",,,"
    assert "row 2 (line 3): Field 'sepal_length' is required; got no value." in done.stderr
    assert "row 2 (line 3): Field 'petal_length' must be a number; got 'x'." in done.stderr


# The Java HTTP client and store reader, called in this process's JVM through JPype.


def java_records(path: Path, fields) -> list:
    """input.csv rows as java.util.Map records typed by the schema (empty cell: absent)."""
    hash_map = jpype.JClass("java.util.HashMap")
    numeric = {str(f.name()) for f in fields if f.isNumeric()}
    records = jpype.JClass("java.util.ArrayList")()
    for row in pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records"):
        record = hash_map()
        for name, text in row.items():
            if text != "":
                record.put(name, jpype.JDouble(float(text)) if name in numeric else text)
        records.add(record)
    return records


def result_columns(results, fields) -> dict:
    columns = {str(f.name()): [] for f in fields}
    for result in results:
        assert result.isOk(), str(result)
        for name, values in columns.items():
            values.append(_python(result.get(name)))
    return columns


def _python(value):
    if value is None:
        return None
    if isinstance(value, jpype.JString) or str(value.getClass().getSimpleName()) == "String":
        return str(value)
    number = float(value.doubleValue())
    return None if math.isnan(number) else number


def client_for(service):
    uri = jpype.JClass("java.net.URI").create(service.url)
    return jpype.JClass("io.pmmlkit.ServiceClient").builder(uri).build()


@pytest.mark.parametrize("parallel", [False, True])
def test_http_client_scores_the_golden_cases_through_the_live_service(service, parallel):
    client = client_for(service)
    assert [str(m.name()) for m in client.list()] == GOLDEN_CASES
    for case in GOLDEN_CASES:
        predictor = client.predictor(case)
        records = java_records(GOLDEN / case / "input.csv", predictor.inputFields())
        results = predictor.scoreAll(records, parallel)
        assert {int(r.version()) for r in results} == {1}
        columns = result_columns(results, predictor.resultFields())
        assert conflicts(case, read_expected(case), columns) == []


def test_http_client_raises_what_the_embedded_scorer_raises(service, store):
    start_jvm(Settings())
    embedded = jpype.JClass("io.pmmlkit.StoreModels").builder(store).build()
    remote = client_for(service)
    record = jpype.JClass("java.util.HashMap")()
    record.put("sepal_length", "forty")
    record.put("petal_width", jpype.JDouble(-1.0))
    failures = []
    for catalog in (embedded, remote):
        try:
            catalog.predictor("multiclass").score(record)
        except jpype.JException as error:
            failures.append(
                (
                    error.getClass().getSimpleName(),
                    [(e.field(), e.code(), e.message()) for e in error.errors()],
                )
            )
    assert len(failures) == 2 and failures[0] == failures[1]
    assert failures[0][0] == "InvalidInputException"
    for catalog in (embedded, remote):
        with pytest.raises(jpype.JException) as raised:
            catalog.predictor("absent").score(record)
        assert raised.value.getClass().getSimpleName() == "ModelLoadException"
        assert raised.value.code() == "model_not_found"
    embedded.close()


def test_http_client_publishes_promotes_and_archives(service):
    client = client_for(service)
    pmml = (GOLDEN / "forest" / "model.pmml").read_bytes()
    version = client.publish("forest", jpype.JArray(jpype.JByte)(pmml), "retrained")
    assert version == 2
    client.promote("forest", "production", 1)
    production = client.predictor("forest", "production")
    record = java_records(GOLDEN / "forest" / "input.csv", production.inputFields())[0]
    assert production.score(record).version() == 1
    client.promote("forest", "production", 2)
    assert production.score(record).version() == 2
    client.promote("forest", "production", 1)
    client.archive("forest", 2)
    info = next(m for m in client.list() if m.name() == "forest")
    assert list(info.versions()) == [1]


def test_embedded_store_models_read_the_store_the_python_side_wrote(store):
    start_jvm(Settings())
    models = jpype.JClass("io.pmmlkit.StoreModels").builder(store).maxLoaded(2).build()
    for case in GOLDEN_CASES:
        predictor = models.predictor(case)
        records = java_records(GOLDEN / case / "input.csv", predictor.inputFields())
        columns = result_columns(predictor.scoreAll(records, True), predictor.resultFields())
        assert conflicts(case, read_expected(case), columns) == []
        assert models.loadedCount() <= 2
    models.close()


def test_the_library_publishes_with_sources_javadoc_and_three_dependencies():
    done = subprocess.run(
        ["gradle", "--quiet", "--console=plain", f"-Dmaven.repo.local={M2}", "publishToMavenLocal"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    release = M2 / "io" / "pmmlkit" / "pmmlkit" / "0.1.0"
    for suffix in (".jar", "-sources.jar", "-javadoc.jar", "-all.jar", ".pom"):
        assert (release / f"pmmlkit-0.1.0{suffix}").stat().st_size > 0, suffix
    pom = ET.parse(release / "pmmlkit-0.1.0.pom").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    dependencies = {
        d.find("m:artifactId", ns).text: d.find("m:scope", ns).text
        for d in pom.iterfind("m:dependencies/m:dependency", ns)
    }
    assert dependencies == {
        "pmml-evaluator-metro": "compile",
        "jackson-databind": "runtime",
        "slf4j-api": "runtime",
        "fastcsv": "runtime",
    }
