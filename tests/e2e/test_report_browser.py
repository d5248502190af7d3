"""The report in a real browser: headless Chromium draws it with no console error, the charts
have a size, and a hostile label shows as text instead of running.

Chromium is driven over the DevTools protocol (websocket-client): each ``*.enable`` is answered
before ``Page.navigate``, so no console message can be missed. The report is built from a
synthetic results document (``cwparity.report.sample``), so no stack is needed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cwparity.report import write_all
from cwparity.report.sample import HOSTILE_PATH, sample_document

websocket = pytest.importorskip("websocket", reason="websocket-client is in the test extras")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (scripts/setup --test installs it)"
    ),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
STARTUP_LIMIT = 60.0  # a guard against a hung browser, not a timing assertion


class DevTools:
    """A minimal DevTools-protocol client: calls wait for their own reply, events are kept."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=STARTUP_LIMIT, suppress_origin=True)
        self.events: list[dict[str, Any]] = []
        self.last_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            message = json.loads(self.socket.recv())
            self.events.append(message)
            if message.get("method") == method:
                return message

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"]["value"]

    def close(self) -> None:
        self.socket.close()


def _devtools_port(profile: Path, browser: subprocess.Popen) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        assert browser.poll() is None, f"chromium exited with {browser.returncode}"
        time.sleep(0.1)
    raise AssertionError("chromium did not open its DevTools port")


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "chromium-profile"  # a fresh profile for every run
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # always carries harmless D-Bus noise: not page errors
        start_new_session=True,  # /usr/bin/chromium is a wrapper: stop its whole group
    )
    try:
        port = _devtools_port(profile, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
            pages = [t for t in json.load(answer) if t.get("type") == "page"]
        devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
        yield devtools
        devtools.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def open_report(devtools: DevTools, html: Path) -> None:
    for domain in ("Runtime", "Log", "Page"):
        devtools.call(f"{domain}.enable")  # each reply arrives before we navigate
    devtools.call(
        "Emulation.setDeviceMetricsOverride",
        width=1280,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    devtools.call("Page.navigate", url=html.as_uri())
    devtools.wait_for("Page.loadEventFired")
    devtools.evaluate("document.readyState")  # flush: events sent before this reply are in


def console_errors(devtools: DevTools) -> list[str]:
    errors = []
    for event in devtools.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append((details.get("exception") or {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args"))[:300])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def screenshot(devtools: DevTools, path: Path) -> Path:
    shot = devtools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    keep = os.environ.get("CWPARITY_SCREENSHOT_DIR")  # to look at it after the run
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


CHART_SIZES = """Array.from(document.querySelectorAll('svg.plot')).map(svg => {
  const box = svg.getBoundingClientRect();
  return {w: box.width, h: box.height,
          lines: svg.querySelectorAll('polyline').length,
          dots: Array.from(svg.querySelectorAll('circle')).filter(
                  c => c.getBoundingClientRect().width > 0).length,
          bands: svg.querySelectorAll('rect.band').length};
})"""


def test_the_report_renders_with_charts_no_errors_and_escaped_labels(browser, tmp_path):
    html = write_all(tmp_path / "reports" / "run", sample_document(failing=True))["html"]
    open_report(browser, html)
    shot = screenshot(browser, tmp_path / "report.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    assert console_errors(browser) == []
    charts = browser.evaluate(CHART_SIZES)
    assert len(charts) == 6  # two routes × (counts, mean latency) + GET /'s two percentile charts
    for chart in charts:
        assert chart["w"] > 200 and chart["h"] > 80, chart
        assert chart["lines"] >= 2 and chart["dots"] >= 6 and chart["bands"] >= 3, chart

    text = browser.evaluate("document.body.innerText")
    assert HOSTILE_PATH in text  # shown as text...
    assert browser.evaluate("document.querySelectorAll('script').length") == 0  # ...not a tag
    assert not [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]


def test_a_failing_run_shows_which_check_failed_and_why(browser, tmp_path):
    html = write_all(tmp_path / "reports" / "run", sample_document(failing=True))["html"]
    open_report(browser, html)
    banner = browser.evaluate("document.querySelector('header.banner').innerText")
    assert banner.startswith("NO-GO")
    assert f"count[GET {HOSTILE_PATH}]" in banner
    assert "CloudWatch counted 30 fewer requests than Prometheus" in banner
    failed_rows = browser.evaluate(
        "Array.from(document.querySelectorAll('#checks tr.fail')).map(r => r.innerText)"
    )
    assert len(failed_rows) == 2
    assert all("±" in row and "cloudwatch =" in row for row in failed_rows)
    marked = browser.evaluate(
        "Array.from(document.querySelectorAll('rect.failmark'))"
        ".map(r => r.getBoundingClientRect().width)"
    )
    assert marked and all(width > 0 for width in marked)
    assert console_errors(browser) == []


def test_the_error_check_itself_sees_console_errors(browser, tmp_path):
    """A control: a page that logs an error and throws is caught, so 'no errors' means none."""
    page = tmp_path / "broken.html"
    page.write_text("<p>x</p><script>console.error('logged'); missingFunction();</script>")
    open_report(browser, page)
    errors = console_errors(browser)
    assert len(errors) == 2 and "logged" in errors[0] and "missingFunction" in errors[1]


def test_a_real_failing_demo_report_renders_and_says_why(browser, tmp_path):
    """The demo with CloudWatch dropping a fifth of its publishes: exit 1, and a full report."""
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "cwparity.cli", "demo", "--duration", "10", "--out", str(reports),
         "--app-env", "CWPARITY_FAULT_CW_DROP=0.2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert len((reports / "history.jsonl").read_text().splitlines()) == 1

    open_report(browser, run_dir / "report.html")
    screenshot(browser, tmp_path / "demo-report.png")
    assert console_errors(browser) == []
    charts = browser.evaluate(CHART_SIZES)
    routes = {row["route"] for row in results["run"]["periods"]}
    assert len(charts) >= 2 * len(routes) >= 2
    assert all(chart["w"] > 200 and chart["h"] > 80 and chart["dots"] > 0 for chart in charts)
    banner = browser.evaluate("document.querySelector('header.banner').innerText")
    assert banner.startswith("NO-GO")
    failed = [c for c in results["checks"] if c["status"] == "fail"]
    assert failed and any("fewer requests" in c["reason"] for c in failed)
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('#checks tr.fail')).map(r => r.innerText)"
    )
    assert len(rows) == len([c for c in failed if c["kind"] not in ("host", "grafana", "security")])


def test_a_week_of_250_routes_renders_in_seconds_and_stays_small(browser, tmp_path):
    """The engine's own output for a synthetic week (250 routes, hourly periods, one route
    losing half its CloudWatch data for an afternoon): a few MB, drawn without errors, and the
    failed periods named. The render time is printed, not asserted (no timed tests)."""
    from cwparity.scale import week_document

    document = week_document(routes=250, period=3600)
    paths = write_all(tmp_path / "reports" / "week", document, history=False)
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    assert sizes["json"] < 5_000_000 and sizes["html"] < 5_000_000, sizes
    began = time.perf_counter()
    open_report(browser, paths["html"])
    print(f"week report: {sizes}, loaded in {time.perf_counter() - began:.2f} s")
    assert console_errors(browser) == []
    charts = browser.evaluate(CHART_SIZES)
    # 30 routes charted (the failing one first), each in bins of whole periods
    assert len(charts) == 2 * 30
    assert all(chart["w"] > 200 and chart["dots"] > 0 for chart in charts)
    assert "of 250 routes are charted" in browser.evaluate("document.body.innerText")
    banner = browser.evaluate("document.querySelector('header.banner').innerText")
    assert banner.startswith("NO-GO") and "count[GET /r1]" in banner
    failed = [c for c in document["checks"] if c["status"] == "fail"]
    assert {c["id"] for c in failed} >= {"count[GET /r1]", "count[GET /r1]@periods"}
    assert any(c["id"].startswith("count[GET /r1]@2026-11-18T") for c in failed)
    letters = document["run"]["period_verdicts"]["kinds"]["count"]
    assert len(letters) == 250 and "f" in letters["GET /r1"] and "f" not in letters["GET /r0"]
    assert browser.evaluate("document.querySelectorAll('rect.failmark').length") > 0
