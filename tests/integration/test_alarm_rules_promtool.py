"""Property: a rule translated from an alarm fires in exactly the periods the alarm is in ALARM.

Hypothesis draws an alarm (statistic, comparison, M of N, missing-data mode) and a series with
known breaches; the CloudWatch side is the evaluator's timeline over the series' period values,
the Prometheus side is Prometheus's own rule engine (``promtool test rules``) over the same
series as counters. The twin: the same rule with its threshold off by 1000 fails.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cwparity.alarms.checks import promtool
from cwparity.alarms.evaluator import timeline
from cwparity.alarms.model import AlarmSpec, Point, State
from cwparity.alarms.rules import Expectation, promtool_test, render_rules
from cwparity.alarms.translate import Mapping, translate

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed"),
]
P = 10
H = "flask_http_request_duration_seconds"
LABELS = {"job": "flask_app", "path": "/long-request", "method": "GET", "status": "200"}
MAPPING = Mapping()


@st.composite
def cases(draw):
    statistic = draw(st.sampled_from(["Average", "SampleCount"]))
    operator = draw(
        st.sampled_from(
            [
                "GreaterThanThreshold",
                "GreaterThanOrEqualToThreshold",
                "LessThanThreshold",
                "LessThanOrEqualToThreshold",
            ]
        )
    )
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, n))
    spec = AlarmSpec(
        name="synthetic alarm",
        namespace="FlaskApp",
        metric_name="EndpointLatency",
        dimensions={"Endpoint": "/long-request", "Method": "GET"},
        statistic=statistic,
        period=P,
        evaluation_periods=n,
        datapoints_to_alarm=m,
        comparison=operator,
        threshold=0.5 if statistic == "Average" else 100.0,
        treat_missing_data=draw(
            st.sampled_from(["missing", "ignore", "breaching", "notBreaching"])
        ),
    )
    breaches = draw(st.lists(st.booleans(), min_size=n + 6, max_size=n + 12))
    periods = [_period(draw, spec, b) for b in breaches]
    return spec, periods


def _period(draw, spec: AlarmSpec, breach: bool) -> tuple[int, float]:
    """(requests, mean latency) of one period, clearly on the side of the threshold it is on."""
    above = breach == (spec.operator in (">", ">="))
    if spec.statistic == "SampleCount":
        count = draw(st.integers(150, 300) if above else st.integers(10, 60))
        return count, draw(st.sampled_from([0.125, 0.25, 1.5]))
    count = draw(st.integers(5, 40))
    latency = draw(
        st.sampled_from([0.75, 1.0, 2.5]) if above else st.sampled_from([0.0625, 0.125, 0.25])
    )
    return count, latency


def counters(
    periods: list[tuple[int, float]],
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """_count and _sum sampled every second; period k's requests land in samples kP+1..(k+1)P."""
    count = total = 0.0
    counts, sums = [(0.0, 0.0)], [(0.0, 0.0)]
    for k, (requests, latency) in enumerate(periods):
        for second in range(P):
            share = requests // P + (1 if second < requests % P else 0)
            count += share
            total += share * latency
            at = float(k * P + second + 1)
            counts.append((at, count))
            sums.append((at, total))
    return [
        ({"__name__": f"{H}_count", **LABELS}, counts),
        ({"__name__": f"{H}_sum", **LABELS}, sums),
    ]


def expected(spec: AlarmSpec, periods: list[tuple[int, float]]) -> list[tuple[float, bool]]:
    """CloudWatch's timeline: the evaluator over each period's statistic, after the first
    evaluation range (before it the range reaches back before the series began)."""
    value = (lambda c, v: float(c)) if spec.statistic == "SampleCount" else (lambda c, v: v)
    starts = [datetime.fromtimestamp(k * P, tz=UTC) for k in range(len(periods))]
    points = [Point(s, value(c, v)) for s, (c, v) in zip(starts, periods, strict=True)]
    states = timeline(spec, points, starts)
    warm = spec.evaluation_periods + 2
    return [(e.end.timestamp(), e.state is State.ALARM) for e in states[warm:]]


def run_promtool(
    tmp: Path, spec: AlarmSpec, periods, threshold_factor: float = 1.0
) -> tuple[int, str]:
    rule = translate(spec, MAPPING).rule
    assert rule is not None
    if threshold_factor != 1.0:
        wrong = f"{rule.threshold * threshold_factor:.10g}"
        rule = replace(rule, expr=rule.expr.replace(f" {rule.threshold:.10g})", f" {wrong})", 1))
    (tmp / "rules.yml").write_text(render_rules([rule], "/etc/prometheus/rules/x.yml", "test"))
    labels = {"alertname": rule.alert, **rule.labels, "path": "/long-request", "method": "GET"}
    expectations = [
        Expectation(rule.alert, end + 1.0, firing, labels, dict(rule.annotations))
        for end, firing in expected(spec, periods)
    ]
    end = len(periods) * P + 2.0
    document = promtool_test("rules.yml", counters(periods), expectations, 0.0, end, 1.0, 1.0, "p")
    (tmp / "test.yml").write_text(yaml.safe_dump(document, sort_keys=False, width=10_000))
    return promtool("test", "rules", "test.yml", cwd=tmp)


SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(case=cases())
def test_the_translated_rule_fires_in_the_periods_the_alarm_is_in_alarm(tmp_path, case):
    spec, periods = case
    code, output = run_promtool(tmp_path, spec, periods)
    assert code == 0, f"{spec.describe()}\n{periods}\n{output[-1500:]}"


@SETTINGS
@given(case=cases())
def test_twin_a_threshold_off_by_1000_fails(tmp_path, case):
    spec, periods = case
    states = {firing for _, firing in expected(spec, periods)}
    assume(states == {True, False})  # off by 1000 fires always or never: both must be expected
    code, output = run_promtool(tmp_path, spec, periods, threshold_factor=1000.0)
    assert code == 1 and "FAILED" in output
