"""report.html: self-contained, escaped, complete for a failing run, and never crashed by data."""

from __future__ import annotations

import re

import pytest

from cwparity.report import write_all
from cwparity.report.charts import layout, nice_step, route_charts
from cwparity.report.html import render_html
from cwparity.report.sample import HOSTILE_PATH, sample_document
from cwparity.truth import LatencyHistogram

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def failing_html():
    return render_html(sample_document(failing=True))


def test_a_hostile_label_is_escaped_everywhere(failing_html):
    assert HOSTILE_PATH not in failing_html
    assert "<script" not in failing_html.lower()
    assert failing_html.count(ESCAPED) > 10  # charts, tables, banner, load, meta


def test_the_report_is_self_contained_and_allows_no_script(failing_html):
    assert not re.search(r"<(link|img|iframe|object|embed)\b", failing_html)
    assert not re.search(r"\ssrc=", failing_html)
    assert "default-src 'none'" in failing_html
    assert "@media print" in failing_html


def test_a_failing_run_says_no_go_and_which_checks_failed_and_why(failing_html):
    assert "NO-GO" in failing_html
    assert "2 check(s) are outside tolerance" in failing_html
    assert f"count[GET /{ESCAPED}]" in failing_html
    assert "CloudWatch counted 30 fewer requests than Prometheus" in failing_html
    assert "observed: cloudwatch=1170" not in failing_html  # the table shows values, not JUnit text
    assert "cloudwatch = 1170" in failing_html
    assert "±0 requests (default)" in failing_html
    assert 'class="failmark"' in failing_html  # the failing period is marked in its chart


def test_a_passing_run_says_go():
    html = render_html(sample_document(failing=False))
    assert "GO — parity PASS" in html and "NO-GO" not in html


def test_window_checks_come_before_period_checks_and_are_grouped_by_kind(failing_html):
    window = failing_html.index("Checks over the whole window")
    period = failing_html.index("Checks per period")
    assert window < period
    assert failing_html.index("Request counts: CloudWatch vs Prometheus") < period
    assert "Novel kind" in failing_html  # an unknown kind gets a generic group
    assert "value = [1, 2, 3]" in failing_html


def test_findings_are_explained_in_plain_words(failing_html):
    findings = failing_html[failing_html.index('id="findings"') : failing_html.index('id="charts"')]
    assert "A constant offset of about 2 ms" in findings
    assert "a panel divides _sum by _count" in findings
    assert "Rendered generically." in findings
    assert "Settled after 3 polls (10.2 s): no new data for 20 s" in findings


def test_host_checks_render_when_present_and_not_otherwise(failing_html):
    assert 'id="hosts"' in failing_html
    assert "Grafana" in failing_html and "401 without auth" in failing_html
    assert 'id="hosts"' not in render_html(sample_document(hosts=False))


def test_load_run_details_and_versions_are_shown(failing_html):
    for text in ("Locust's statistics", "0123456789ab", "2.42.0", "60 s periods", "steady"):
        assert text in failing_html
    assert "***" in failing_html  # the redacted password stays redacted


def test_each_route_gets_count_and_latency_charts_and_percentiles_where_judged(failing_html):
    # GET /: counts, mean latency, p99 per period, client percentiles; the other route: two
    assert failing_html.count('<svg class="plot"') == 6
    assert failing_html.count('class="band"') == 4 * 6 + 6 + 3
    assert "p99 latency per period — GET /" in failing_html
    assert "Client and server percentiles — GET /" in failing_html
    assert "percentile (whole window)" in failing_html


def _with_truth(truth_route: dict, workers=None) -> dict:
    document = sample_document(failing=False)
    document["run"]["truth"]["routes"] = [truth_route]
    document["run"]["config"]["load"] |= {"workers": 2}
    if workers is not None:
        document["run"]["truth"]["workers"] = workers
    return document


def test_ground_truth_percentiles_render_from_the_histogram_and_from_older_latency_lists():
    route = {"route": "GET /", "target": "http://app", "by_status": {"200": 100}, "failures": 0}
    histogram = LatencyHistogram.of([10.0] * 50 + [20.0] * 40 + [40.0] * 10).to_dict()
    workers = [{"id": "<b>host-a</b>_1", "requests": 60}, {"id": "host-b_2", "requests": 40}]
    new = render_html(_with_truth({**route, "latency_ms": histogram}, workers))
    old = render_html(
        _with_truth({**route, "latencies_ms": [10.0] * 50 + [20.0] * 40 + [40.0] * 10})
    )
    # p50 10 ms, p90 20 ms, p99 40 ms: exact from the old list, the bucket's middle from the new
    assert re.search(r'<td class="num">10</td><td class="num">20</td><td class="num">40</td>', old)
    cells = re.search(r'<td class="num">0</td>((?:<td class="num">[\d.]+</td>){3})', new)
    assert cells, "no percentile cells"
    shown = [float(x) for x in re.findall(r"[\d.]+", cells.group(1))]
    assert shown == pytest.approx([10.0, 20.0, 40.0], rel=0.005)
    assert "ground truth merged from 2" in new and "&lt;b&gt;host-a&lt;/b&gt;_1" in new
    assert "(60 requests)" in new and "ground truth merged from" not in old


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"verdict": "error", "run": None, "checks": None},
        {"run": {"periods": [{"route": "GET /"}], "truth": "?"}, "checks": ["text", 3]},
        {"run": {"periods": [{"route": "GET /", "period_start": "x", "cw_count": "nan"}]}},
    ],
)
def test_odd_documents_render_without_crashing(document, tmp_path):
    html = render_html(document)
    assert "NO-GO" in html
    write_all(tmp_path / "run", {**document, "checks": document.get("checks") or []})


def test_count_band_falls_back_to_the_derived_uncertainty_plus_slack():
    document = sample_document()
    document["checks"] = []
    document["run"]["config"]["tolerances"]["count"]["slack"] = 2
    count_chart = route_charts(document)[0]["charts"][0]
    assert count_chart.bands[0] == (100 - 5.0, 100 + 5.0)  # prom_count ± (prom_count_u 3 + 2)


def test_a_missing_value_breaks_the_line_instead_of_joining_across_it():
    document = sample_document()
    document["run"]["periods"][2]["cw_count"] = None
    cloudwatch = route_charts(document)[0]["charts"][0].series[0]
    assert len(cloudwatch.segments) == 2 and len(cloudwatch.markers) == 5


def test_nice_steps_are_round():
    assert [nice_step(s) for s in (0, 1, 7, 130, 2600)] == [1.0, 0.25, 2.0, 50, 1000]
    chart = layout(route_charts(sample_document())[0]["charts"][0])
    assert chart.y_ticks[0]["label"] == "0" and all(
        t["y"] >= chart.plot["y"] for t in chart.y_ticks
    )


def test_no_secret_reaches_the_page_even_from_an_unredacted_document():
    document = sample_document()
    prometheus = document["run"]["config"]["prometheus"]
    prometheus["basic_auth"] = {"username": "u", "password": "hunter2", "password_env": "PW_VAR"}
    prometheus["bearer_token"] = "tok-123"
    prometheus["url"] = "https://admin:s3cret@prom.example:9090"
    html = render_html(document)
    for secret in ("hunter2", "tok-123", "s3cret"):
        assert secret not in html
    assert "PW_VAR" in html and "https://***@prom.example:9090" in html


def test_a_warning_of_any_kind_is_a_finding():
    document = sample_document()
    document["checks"].append(
        {"id": "security.tls", "kind": "security", "subject": "Prometheus", "status": "warn",
         "reason": "Prometheus is reached over plain HTTP"}
    )  # fmt: skip
    html = render_html(document)
    findings = html[html.index('id="findings"') : html.index('id="charts"')]
    assert "Security: Prometheus" in findings and "plain HTTP" in findings


def test_the_settle_record_says_how_the_wait_ended_and_why():
    document = sample_document(failing=False)
    document["run"]["settle"] = {
        "settled": False,
        "ended": "deadline",
        "polls": 4,
        "waited_s": 90.0,
        "quiet_span_s": 20.0,
        "quiet_for_s": 5.0,
        "min_data_age_s": 10.0,
        "min_data_age_used_s": 31.5,
        "deadline_s": 90.0,
        "shortfall": [449.0, 120.0, 12.0],
        "shortfall_trend": "shrinking",
        "why": "at the 90 s deadline 2 period(s) were not final; still shrinking: lag, not loss",
    }
    page = render_html(document)
    assert "Not settled after 4 polls (90.0 s): at the 90 s deadline" in page
    assert "449 → 120 → 12" in page and "shortfall trend: shrinking" in page
    assert "minimum data age used (s, learned from late data): 31.5" in page
    assert "quiet span needed (s): 20" in page
