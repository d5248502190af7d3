"""The mapped routes' selectors and coverage's aggregates on a real Prometheus (RE2, its PromQL
lexer), against an exporter whose paths hold quotes, backslashes, newlines and regex
metacharacters, beside near misses that a badly escaped matcher would select too."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cwparity.align import Sampling
from cwparity.assess.inventory import prometheus_aggregates
from cwparity.config import PrometheusConfig, parse_config
from cwparity.sources.prometheus import PrometheusSource
from cwparity.stack.prometheus import start_prometheus, wait_targets_up
from cwparity.window import Window

pytestmark = pytest.mark.integration

MAPPED = ["/", "/a.b", '/x"y', "/back\\slash", "/new\nline", "/(a|b)*", "/ünï cödé"]
NEAR_MISSES = ["/aXb", "/x", "/a", "/(a|b)", "/back", "/new", "/other"]
HISTOGRAM = "flask_http_request_duration_seconds"
INTERVAL = 1.0


def _escape(value: str) -> str:
    """A label value in the text exposition format."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exporter(BaseHTTPRequestHandler):
    """Every path's ``_count`` grows by one per scrape: each route is busy in any window."""

    scrapes = 0

    def do_GET(self) -> None:
        type(self).scrapes += 1
        lines = []
        for path in MAPPED + NEAR_MISSES:
            labels = f'method="GET",path="{_escape(path)}",status="200"'
            count = type(self).scrapes
            lines.append(f'{HISTOGRAM}_bucket{{le="+Inf",{labels}}} {count}')
            lines.append(f"{HISTOGRAM}_sum{{{labels}}} {count / 10}")
            lines.append(f"{HISTOGRAM}_count{{{labels}}} {count}")
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> Iterator[PrometheusSource]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    workdir = Path(tmp_path_factory.mktemp("prom"))
    target = f"127.0.0.1:{server.server_address[1]}"
    process, url = start_prometheus(workdir, [target], "flask_app", INTERVAL)
    try:
        wait_targets_up(process, url, "flask_app")
        time.sleep(6 * INTERVAL)
        yield PrometheusSource(PrometheusConfig(url=url, scrape_interval=INTERVAL))
    finally:
        process.stop()
        server.shutdown()


def recent_window() -> tuple[Window, Sampling]:
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    window = Window(end - timedelta(seconds=3), end, 1)
    return window, Sampling(INTERVAL, 0.0, window.start.timestamp() - 3 * INTERVAL)


def test_the_mapped_routes_selector_fetches_exactly_their_series(prometheus):
    window, _ = recent_window()
    routes = [("GET", path) for path in MAPPED]
    samples = prometheus.raw_samples("count", window, 3.0, 0.0, INTERVAL, routes)
    assert sorted(set(samples.labels.path)) == sorted(MAPPED)
    # the twin: the whole job's read has the near misses too
    everything = prometheus.raw_samples("count", window, 3.0, 0.0, INTERVAL)
    assert sorted(set(everything.labels.path)) == sorted(MAPPED + NEAR_MISSES)


def test_aggregates_count_every_route_of_the_job(prometheus):
    window, sampling = recent_window()
    config = parse_config({"prometheus": {"scrape_interval": INTERVAL}})
    found, job_series = prometheus_aggregates(prometheus, config, window, sampling)
    assert {path for _, path in found} == set(MAPPED + NEAR_MISSES)
    # one more request per scrape: 3 s of 1 s scrapes is about 3 per route
    assert all(2 <= s.requests <= 4 for s in found.values()), found
    assert all(s.count_series == 1 and s.histogram_series == 3 for s in found.values())
    assert job_series == 3 * len(found)
