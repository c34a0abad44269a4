"""The monitoring page in a real headless browser: Debian's chromium driven by playwright, against
a live service over a copy of the demo store with logged traffic. What the charts drew is read
back from their canvases' pixels, in the page's palette (scoring/static/ui.js)."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from pmmlkit.scoring.server import Service
from pmmlkit.scoring.settings import Settings

from .golden_cases import GOLDEN
from .test_openapi import check
from .test_service import call

DEMO_STORE = Path(__file__).parents[1] / "pmml_models"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; playwright never downloads a browser here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PALETTE = {"blue": (47, 111, 176), "orange": (224, 123, 36), "red": (198, 47, 59), "grey": (154, 165, 177)}  # fmt: skip

# For one chart's canvas: opaque pixels of each palette colour (translucent reference lines and
# baselines are left out), and the bars (blue or red runs) on the row just above the lowest one
# that has bar colour, which is where every bar of a bar chart stands.
INK = """(figure, palette) => {
  const canvas = figure.querySelector("canvas");
  const { width, height } = canvas;
  const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  const colour = (x, y) => {
    const i = 4 * (y * width + x);
    if (pixels[i + 3] < 230) return null;
    for (const [name, rgb] of Object.entries(palette)) {
      if (rgb.every((c, k) => Math.abs(pixels[i + k] - c) < 12)) return name;
    }
    return null;
  };
  const counts = Object.fromEntries(Object.keys(palette).map((name) => [name, 0]));
  let lowest = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const name = colour(x, y);
      if (name) counts[name]++;
      if (name === "blue" || name === "red") lowest = y;
    }
  }
  let bars = 0, inside = false;
  for (let x = 0; lowest > 2 && x < width; x++) {
    const name = colour(x, lowest - 2);
    const bar = name === "blue" || name === "red";
    if (bar && !inside) bars++;
    inside = bar;
  }
  return { width, height, counts, bars };
}"""


def _typed(cell: str):
    try:
        return float(cell)
    except ValueError:
        return cell or None


def _records(case: str) -> list[dict]:
    with (GOLDEN / case / "input.csv").open(newline="") as f:
        return [{k: _typed(v) for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The demo models, each with 200 rows as trained, 200 drifted (every number times 0.6)
    and a batch with 5 rows that fail, all logged with their inputs."""
    root = tmp_path_factory.mktemp("ui")
    shutil.copytree(DEMO_STORE, root / "store", ignore=shutil.ignore_patterns("*.sqlite3*"))
    settings = Settings(
        store=root / "store",
        port=0,
        prediction_log=str(root / "log.sqlite3"),
        log_inputs_rate=1.0,
    )
    with Service(settings).start() as running:
        address = (running.port, root / "log.sqlite3")  # call() takes the port from it
        for name in ("forest", "regressor"):
            records = _records(name)
            drifted = [
                {k: v * 0.6 if isinstance(v, float) else v for k, v in r.items()} for r in records
            ]
            failing = [{**records[0], next(iter(records[0])): "x"}] * 5 + records[:20]
            for batch in (records, drifted, failing):
                status, body, _ = call(address, "POST", f"/v1/models/{name}/predict", {"records": batch})  # fmt: skip
                assert status == 200, body
        running.log.flush()
        yield address


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), f"No {CHROMIUM}: `make test` installs Debian's chromium package."
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Visit:
    """A page and what went wrong while it was open: console errors, uncaught exceptions and
    requests to anything but this machine (refused, so nothing reaches the internet)."""

    page: object
    errors: list = field(default_factory=list)
    foreign: list = field(default_factory=list)


@pytest.fixture
def visit(browser, service):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    seen = Visit(page)
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))

    def loopback_only(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https") and url.hostname in LOOPBACK:
            route.continue_()
        else:
            seen.foreign.append(route.request.url)
            route.abort()

    page.route("**/*", loopback_only)
    yield seen
    context.close()


def _open(visit: Visit, service, name: str) -> dict:
    """Opens /ui, picks ``name`` in the model list and waits for its charts and cases; returns
    the monitoring report the page was drawn from."""
    page = visit.page
    page.goto(f"http://127.0.0.1:{service[0]}/ui")
    page.click(f'nav a[data-model="{name}"]')
    page.wait_for_function(  # the model's own charts: the first model's may be drawn already
        "([n, name]) => document.querySelector('#model h2')?.textContent === name"
        " && document.querySelectorAll('figure[data-chart] canvas').length === n"
        " && document.querySelector('#cases tbody tr')",
        arg=[7, name],
    )
    status, report, _ = call(service, "GET", f"/v1/models/{name}/monitoring?window=day")
    assert status == 200
    return report["versions"][0]


def _ink(visit: Visit) -> dict:
    return {
        figure.get_attribute("data-chart"): figure.evaluate(INK, PALETTE)
        for figure in visit.page.query_selector_all("figure[data-chart]")
    }


def _drawn(ink: dict, colours: dict) -> dict:
    """The charts whose canvas lacks a colour it must show: chart -> {colour: pixels}."""
    return {
        chart: {c: ink[chart]["counts"][c] for c in wanted}
        for chart, wanted in colours.items()
        if any(ink[chart]["counts"][c] < 10 for c in wanted)
    }


def test_the_page_charts_a_classifier_against_its_baseline(visit, service):
    version = _open(visit, service, "forest")
    ink = _ink(visit)
    assert all(i["width"] > 200 and i["height"] > 100 for i in ink.values()), ink
    missing = _drawn(
        ink,
        {
            "class-shares": ["blue", "orange"],  # classes 0 and 1, opaque (baselines are not)
            "window-shares": ["grey", "blue"],  # baseline and observed bars
            "input-psi": [],
            "prediction-psi": ["blue"],
            "volume": ["blue", "orange"],  # rows and requests
            "errors": ["red"],  # the failed rows
            "latency": ["blue"],
        },
    )
    assert missing == {}
    assert ink["input-psi"]["bars"] == len(version["inputs"]) == 6
    table = visit.page.locator('table[data-table="inputs"] tbody tr td:first-child')
    assert table.all_inner_texts() == [f["field"] for f in version["inputs"]]
    alerts = visit.page.locator(".alerts li.alert")
    assert alerts.all_inner_texts() == [a["message"] for a in version["alerts"]] != []
    assert (visit.errors, visit.foreign) == ([], [])


def test_the_page_charts_a_regression_mean_and_histogram(visit, service):
    version = _open(visit, service, "regressor")
    ink = _ink(visit)
    assert _drawn(ink, {"mean": ["blue"], "histogram": ["grey", "blue"]}) == {}
    assert ink["input-psi"]["bars"] == len(version["inputs"]) == 5
    assert (visit.errors, visit.foreign) == ([], [])


def _review(visit: Visit, button: str) -> tuple[str, int, str | None]:
    """Marks the first scored, unreviewed case right or wrong (then picking the other class as
    the true one) in the page; returns its request id, row and the true class picked."""
    first = visit.page.locator("#cases tbody tr:not(:has(.verdict)):has(button.wrong)").first
    request_id, index = first.get_attribute("data-request-id"), first.get_attribute("data-row")
    row = visit.page.locator(f'tr[data-request-id="{request_id}"][data-row="{index}"]')
    row.locator(f"button.{button}").click()
    true_class = None
    if button == "wrong":
        true_class = {"0": "1", "1": "0"}[row.locator("td strong").inner_text()]
        row.locator("select.outcome").select_option(true_class)
        row.locator("button.send").click()
    row.locator(f".verdict.{button}").wait_for()
    return request_id, int(index), true_class


def test_a_reviewer_marks_cases_right_and_wrong_and_the_service_keeps_it(visit, service):
    _open(visit, service, "forest")
    *wrong, true_class = _review(visit, "wrong")
    *right, _ = _review(visit, "right")
    status, body, _ = call(service, "GET", "/v1/models/forest/cases?window=day&limit=1000")
    assert status == 200
    feedback = {(c["request_id"], c["row"]): c["feedback"] for c in body["cases"]}
    assert feedback[tuple(wrong)]["correct"] is False
    assert feedback[tuple(wrong)]["outcome"] == true_class
    assert feedback[tuple(right)]["correct"] is True
    assert (visit.errors, visit.foreign) == ([], [])


@pytest.fixture(scope="module")
def document(service):
    return call(service, "GET", "/openapi.json")[1]


def test_the_page_and_its_assets_are_served_as_documented(service, document):
    status, html = check(service, document, "GET", "/ui", "/ui")
    assert status == 200 and '<script src="ui/static/ui.js?v=' in html
    script = html.split('<script src="ui/static/ui.js?v=')[1].split('"')[0]
    status, _, response = call(service, "GET", f"/ui/static/ui.js?v={script}")
    assert (status, response.getheader("Content-Type")) == (200, "text/javascript; charset=utf-8")
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    etag = response.getheader("ETag")
    status, _, _ = call(service, "GET", "/ui/static/ui.js", headers={"If-None-Match": etag})
    assert status == 304
    assert check(service, document, "GET", "/ui/static/{path}", "/ui/static/ui.css")[0] == 200
    licence = "/ui/static/vendor/uplot/LICENSE"
    assert "MIT License" in check(service, document, "GET", "/ui/static/{path}", licence)[1]


@pytest.mark.parametrize(
    "path, named",
    [
        ("/ui/static/../app.py", "../app.py"),
        ("/ui/static/%2e%2e/app.py", "../app.py"),
        ("/ui/static/..%2fapp.py", "../app.py"),
        ("/ui/static/vendor/../../ui.py", "vendor/../../ui.py"),
        ("/ui/static//etc/passwd", "/etc/passwd"),
    ],
)
def test_a_path_outside_the_assets_is_a_json_404(service, document, path, named):
    status, body = check(service, document, "GET", "/ui/static/{path}", path)
    body["error"].pop("request_id")
    assert (status, body) == (
        404,
        {
            "error": {
                "code": "not_found",
                "message": f"No file '{named}' among the monitoring page's assets.",
            }
        },
    )


def _log_state(service) -> dict:
    return call(service, "GET", "/readyz")[1]["prediction_log"]


def test_the_page_says_when_the_prediction_log_cannot_write_and_when_it_can_again(visit, service):
    locker = sqlite3.connect(service[1], timeout=30, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another program's transaction: the writer's commits wait
    try:
        status, body, _ = call(service, "POST", "/v1/models/forest/predict", {"records": _records("forest")[:5]})  # fmt: skip
        assert status == 200, body
        deadline = time.monotonic() + 30  # the writer gives up each try after 5 s (busy_timeout)
        while _log_state(service)["state"] != "failing":
            assert time.monotonic() < deadline, _log_state(service)
            time.sleep(0.1)
        visit.page.goto(f"http://127.0.0.1:{service[0]}/ui")
        notice = visit.page.wait_for_selector('#status [data-notice="log"]')
        assert notice.text_content().startswith(
            "The prediction log cannot write: database is locked. Scoring goes on; 1 request waits, "
            "0 rows dropped so far."
        )
    finally:
        locker.rollback()
        locker.close()
    deadline = time.monotonic() + 60  # the writer's pause between tries doubles from 0.5 s
    while (state := _log_state(service))["state"] != "ok" or state["queued"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    visit.page.wait_for_selector('#status [data-notice="log"]', state="detached", timeout=15_000)
    assert visit.errors == [] and visit.foreign == []


def test_the_page_names_a_model_that_is_not_ready(browser, tmp_path):
    shutil.copytree(DEMO_STORE, tmp_path / "store", ignore=shutil.ignore_patterns("*.sqlite3*"))
    (tmp_path / "store" / "forest" / "1" / "model.pmml").write_bytes(b"<PMML/>")  # checksum fails
    settings = Settings(store=tmp_path / "store", port=0, prediction_log="off", access_log="off")
    with Service(settings).start() as running:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{running.port}/ui")
            notice = page.wait_for_selector('#status [data-notice="model"]')
            text = notice.text_content()
            page.wait_for_selector('nav a[data-model="regressor"]')  # the others still listed
            logged = page.query_selector('#status [data-notice="log"]')
        finally:
            context.close()
    assert text.startswith("Model forest is not ready (default: version 1: checksum_mismatch: ")
    assert text.endswith("refusing to serve it)."), text
    assert logged is None  # the log is off, not failing
