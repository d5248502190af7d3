"""Alarm → Prometheus rule: each statistic, units, M of N, missing data, and every reason an
alarm cannot be translated. The rules must pass the project's PromQL lint and promtool."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import yaml

from cwparity.alarms.checks import promtool
from cwparity.alarms.model import AlarmSpec, Kind
from cwparity.alarms.rules import render_rules
from cwparity.alarms.translate import Mapping, alert_name, duration, translate
from cwparity.lint import LintContext, lint_query

BASE = AlarmSpec(
    name="long-request latency",
    namespace="FlaskApp",
    metric_name="EndpointLatency",
    dimensions={"Endpoint": "/long-request", "Method": "GET"},
    statistic="Average",
    period=60,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison="GreaterThanThreshold",
    threshold=0.5,
)
MAPPING = Mapping()
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]


def rule(**changes):
    translation = translate(replace(BASE, **changes), MAPPING, BUCKETS)
    assert translation.rule is not None, translation.skip_reason
    return translation.rule


def test_average_is_a_ratio_of_increases_on_the_period_grid():
    r = rule()
    assert "increase(flask_http_request_duration_seconds_sum{" in r.expr
    assert "increase(flask_http_request_duration_seconds_count{" in r.expr
    assert 'path="/long-request"' in r.expr and 'method="GET"' in r.expr
    # 2 of 3: the last 3 grid points at step = Period, not a sliding window with for
    assert r.expr.endswith("[2m59s999ms:1m]) >= 2") and r.for_seconds == 0
    assert r.labels == {"cloudwatch_alarm": "long-request latency"}
    assert r.grid_aligned


def test_n_of_n_uses_for_over_the_latest_grid_point():
    r = rule(datapoints_to_alarm=3)
    assert r.expr.startswith("last_over_time(") and "[59s999ms:1m]" in r.expr
    assert r.for_seconds == 120
    single = rule(datapoints_to_alarm=1, evaluation_periods=1)
    assert single.for_seconds == 0


def test_sample_count_and_sum_and_percentile():
    assert "_count{" in rule(statistic="SampleCount", threshold=100).statistic
    assert (
        "_sum{" in rule(statistic="Sum").statistic
        and "_count" not in rule(statistic="Sum").statistic
    )
    p99 = rule(statistic="p99")
    assert p99.statistic.startswith("histogram_quantile(0.99, sum by (le, path, method)")
    assert any("a bucket edge" in n for n in p99.notes)  # 0.5 s is an edge of the buckets
    inside = rule(statistic="p99", threshold=0.3)
    assert any("lies in bucket (0.25, 0.5]" in n for n in inside.notes)


@pytest.mark.parametrize(
    ("cloudwatch_unit", "prometheus_unit", "expected"),
    [
        ("Seconds", "seconds", 0.5),
        ("Milliseconds", "seconds", 0.0005),
        ("Seconds", "milliseconds", 500),
    ],
)
def test_the_threshold_is_converted_to_the_histograms_unit(
    cloudwatch_unit, prometheus_unit, expected
):
    mapping = Mapping(cloudwatch_unit=cloudwatch_unit, prometheus_unit=prometheus_unit)
    r = translate(BASE, mapping).rule
    assert r is not None and r.threshold == pytest.approx(expected)
    # counts are counts, whatever the latency unit
    count = translate(replace(BASE, statistic="SampleCount", threshold=100), mapping).rule
    assert count is not None and count.threshold == 100


def test_an_empty_period_is_not_breaching_unless_the_alarm_says_breaching():
    floor = rule(statistic="SampleCount", comparison="LessThanThreshold", threshold=100)
    # 0 requests is a missing datapoint to CloudWatch, not a count of 0 below the floor
    assert "> 0)" in floor.expr
    breaching = rule(treat_missing_data="breaching")
    assert "== 0)" in breaching.expr and "absent_over_time(" in breaching.expr
    ignore = rule(treat_missing_data="ignore")
    assert any("keeps its state through missing data" in n for n in ignore.notes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": Kind.MATH, "expression": "m1*1000"}, "metric math alarm (m1*1000)"),
        ({"kind": Kind.ANOMALY}, "anomaly detection"),
        ({"kind": Kind.COMPOSITE, "expression": "ALARM(a)"}, "composite alarm"),
        ({"metric_name": "CPUUtilization"}, "metric FlaskApp/CPUUtilization is not mapped"),
        ({"statistic": "Maximum"}, "statistic Maximum cannot be computed from a histogram"),
        ({"statistic": "tm90"}, "statistic tm90 cannot be computed"),
        ({"dimensions": {"Endpoint": "/long-request"}}, "dimensions ['Endpoint'] are not"),
        ({"comparison": "LessThanLowerOrGreaterThanUpperThreshold"}, "no PromQL equivalent"),
        ({"threshold": None}, "no static threshold"),
    ],
)
def test_untranslatable_alarms_say_why(changes, reason):
    translation = translate(replace(BASE, **changes), MAPPING)
    assert translation.rule is None
    assert reason in translation.skip_reason


def test_names_and_durations():
    assert alert_name("long-request latency high") == "LongRequestLatencyHigh"
    assert alert_name("5xx-rate") == "Alarm5xxRate"
    assert (
        duration(10) == "10s"
        and duration(90) == "1m30s"
        and duration(9.999) == "9s999ms"
        and duration(0.5) == "500ms"
    )


def all_rules():
    shapes = [
        {},
        {"datapoints_to_alarm": 3},
        {"statistic": "SampleCount", "comparison": "LessThanThreshold", "threshold": 100},
        {"statistic": "Sum", "treat_missing_data": "breaching"},
        {"statistic": "p90", "comparison": "GreaterThanOrEqualToThreshold"},
        {"period": 10, "evaluation_periods": 5, "datapoints_to_alarm": 1},
    ]
    return [rule(name=f"alarm {i}", **shape) for i, shape in enumerate(shapes)]


def test_every_generated_expression_passes_the_promql_lint():
    context = LintContext(scrape_interval=15)
    for r in all_rules():
        findings = lint_query(r.expr, context)
        # a 10 s period read from 15 s scrapes is rightly too short; nothing else is found
        assert all(f.code == "short_range" for f in findings), (r.expr, findings)
    ten_second = all_rules()[-1]
    assert [f.code for f in lint_query(ten_second.expr, context)] == ["short_range"]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed")
def test_the_rules_file_passes_promtool_check_rules(tmp_path):
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(all_rules(), "/etc/prometheus/rules/cwparity-alarms.yml", "test"))
    code, output = promtool("check", "rules", str(path))
    assert code == 0, output
    assert "SUCCESS: 6 rules found" in output
    # and the file says how to install it on the guide's host
    assert "rule_files:" in path.read_text() and "/etc/prometheus/rules/*.yml" in path.read_text()
    assert yaml.safe_load(path.read_text())["groups"][0]["rules"][0]["labels"]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed")
def test_a_broken_rule_fails_promtool_check_rules(tmp_path):
    broken = replace(all_rules()[0], expr="sum(rate(x[1m])")
    path = tmp_path / "rules.yml"
    path.write_text(render_rules([broken], "/etc/prometheus/rules/x.yml", "test"))
    code, output = promtool("check", "rules", str(path))
    assert code == 1 and "parse error" in output
