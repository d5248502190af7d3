"""The selectors a run sends Prometheus: only the mapped routes' series, every value escaped.

Parsed back with promql-parser (the PromQL grammar), so a quote, backslash, newline or regex
metacharacter in a path or job either survives exactly or the test fails.
"""

import re

import orjson
import promql_parser

from cwparity.config import PrometheusConfig
from cwparity.sources import prometheus_raw
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

from .test_sources import T0, WINDOW

HOSTILE = ["/", "/a.b", '/x"y', "/back\\slash", "/new\nline", "/(a|b)*", "/{id}", "/ünï cödé"]


def matchers(selector: str) -> dict[str, tuple[str, str]]:
    parsed = promql_parser.parse(f"x{selector}")
    return {m.name: (str(m.op), m.value) for m in parsed.matchers.matchers}


def test_route_selector_matches_exactly_the_mapped_paths_and_methods():
    source = PrometheusSource(PrometheusConfig())
    found = matchers(source.selector([("GET", p) for p in HOSTILE] + [("post", "/")]))
    assert found["job"][1] == "flask_app"
    pattern = re.compile(found["path"][1])
    for path in HOSTILE:
        assert pattern.fullmatch(path), path
    # near misses: an unescaped "." or "|" would select these too
    for other in ["/aXb", "/x", "/a", "/b", "/(a|b)", "/{id}x", "/new"]:
        assert not pattern.fullmatch(other), other
    method = found["method"][1]
    assert re.fullmatch(method, "get") and re.fullmatch(method, "POST")
    assert not re.fullmatch(method, "DELETE")


def test_a_job_with_quotes_and_backslashes_stays_one_matcher():
    # validate refuses such a job (config_values); the selector escapes it all the same
    source = PrometheusSource(PrometheusConfig.model_construct(job='app"}\\x'))
    assert matchers(source.selector()) == {"job": ("MatchOp.Equal", 'app"}\\x')}


def test_without_routes_the_selector_is_the_jobs():
    source = PrometheusSource(PrometheusConfig(selector='instance="a:8080"'))
    assert source.selector() == '{job="flask_app",instance="a:8080"}'


class _Answer:
    status_code = 200

    def __init__(self, body: dict) -> None:
        self.content = orjson.dumps(body)


class RecordingSession:
    """Answers /api/v1/series and /api/v1/query as Prometheus does, recording each form."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []

    def post(self, url: str, data: dict[str, str], timeout: float) -> _Answer:
        self.forms.append(data)
        if url.endswith("/api/v1/series"):
            labels = {"__name__": "x_count", "job": "flask_app", "path": "/", "method": "GET"}
            return _Answer({"status": "success", "data": [labels]})
        series = {"metric": {"path": "/", "method": "GET"}, "values": [[T0.timestamp(), "3"]]}
        return _Answer({"status": "success", "data": {"resultType": "matrix", "result": [series]}})


def test_raw_samples_list_and_fetch_only_the_mapped_routes():
    source = PrometheusSource(PrometheusConfig())
    session = RecordingSession()
    source._session = session  # type: ignore[assignment]
    window = Window(WINDOW.start, WINDOW.end, WINDOW.period)
    samples = source.raw_samples("count", window, 3.0, 2.0, 1.0, [("GET", "/"), ("GET", "/x")])
    assert len(samples) == 1
    listed, fetched = session.forms[0]["match[]"], session.forms[1]["query"]
    for sent in (listed, fetched):
        assert 'path=~"/|/x"' in sent and 'method=~"(?i)GET"' in sent
    # without routes (the Grafana panel's read), the whole job as before
    session.forms.clear()
    source.raw_samples("count", window, 3.0, 2.0, 1.0)
    assert "path" not in session.forms[0]["match[]"]


def test_quote_meta_escapes_what_re2_treats_specially():
    assert prometheus_raw.quote_meta("a.b*c") == "a\\.b\\*c"
    assert prometheus_raw.promql_string('a"\n') == '"a\\"\\n"'
