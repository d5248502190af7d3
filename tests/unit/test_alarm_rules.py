"""The team's rules files: read, paired with their alarms, and how each differs from its alarm
in words; the promtool test document built from a run's samples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cwparity.alarms.model import AlarmSpec
from cwparity.alarms.rules import (
    Expectation,
    differences,
    load_rules_file,
    pair,
    placed,
    promtool_test,
    seconds,
    series_text,
    shape,
)
from cwparity.alarms.translate import Mapping, translate
from cwparity.errors import ConfigError

H = "flask_http_request_duration_seconds"
SEL = '{job="flask_app",path="/long-request",method="GET"}'
MEAN = f"sum by (path, method) (increase({H}_sum{SEL}[10s])) / sum by (path, method) (increase({H}_count{SEL}[10s]))"
ALARM = AlarmSpec(
    name="latency",
    namespace="FlaskApp",
    metric_name="EndpointLatency",
    dimensions={"Endpoint": "/long-request", "Method": "GET"},
    statistic="Average",
    period=10,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison="GreaterThanThreshold",
    threshold=0.5,
)
MAPPING = Mapping()


def test_a_rules_file_is_read_with_its_groups_intervals_and_for(tmp_path):
    path = tmp_path / "team.yml"
    path.write_text(
        "groups:\n- name: latency\n  interval: 30s\n  rules:\n"
        "  - record: job:x:rate\n    expr: sum(x)\n"
        "  - alert: LatencyHigh\n    expr: x > 1\n    for: 1m30s\n"
        "    labels: {cloudwatch_alarm: latency}\n"
    )
    (rule,) = load_rules_file(path)
    assert (rule.alert, rule.for_seconds, rule.interval, rule.group) == (
        "LatencyHigh",
        90,
        30,
        "latency",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("groups: [\n", "alarms.rules_files"),
        ("rules: []\n", "not a Prometheus rules file"),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x\n    for: soon\n",
            "not a Prometheus duration",
        ),
    ],
)
def test_a_bad_rules_file_is_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "team.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_rules_file(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_a_missing_rules_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_rules_file(tmp_path / "nope.yml")


def team(alert, **extra):
    from cwparity.alarms.rules import TeamRule

    return TeamRule(file="team.yml", group="g", alert=alert, expr="x > 1", **extra)


def test_rules_pair_with_alarms_by_label_annotation_or_name():
    other = replace(ALARM, name="root count")
    rules = [
        team("A", labels={"cloudwatch_alarm": "latency"}),
        team("B", annotations={"cloudwatch_alarm": "root count"}),
        team("RootCount"),
        team("latency"),
    ]
    by_label, unpaired = pair(rules, [ALARM, other], "label", "cloudwatch_alarm")
    assert [r.alert for r in by_label["latency"]] == ["A"]
    assert [r.alert for r in unpaired] == ["B", "RootCount", "latency"]
    by_annotation, _ = pair(rules, [ALARM, other], "annotation", "cloudwatch_alarm")
    assert [r.alert for r in by_annotation["root count"]] == ["B"]
    by_name, _ = pair(rules, [ALARM, other], "name", "cloudwatch_alarm")
    # the alarm's own name, or the alert name cwparity would give it
    assert [r.alert for r in by_name["root count"]] == ["RootCount"]
    assert [r.alert for r in by_name["latency"]] == ["latency"]


def test_the_threshold_comparison_is_the_innermost_one_on_the_histogram():
    found = shape(f"count_over_time(({MEAN} > 500)[29s999ms:10s]) >= 2", H)
    assert (found.threshold, found.operator, found.grid_step) == (500, ">", 10)
    flipped = shape(f"0.5 < {MEAN}", H)
    assert (flipped.threshold, flipped.operator, flipped.grid_step) == (0.5, ">", None)
    assert shape("not promql (", H).threshold is None


def said(expr, for_seconds=0.0, spec=ALARM):
    wanted = translate(spec, MAPPING).rule.threshold
    return " | ".join(differences(spec, expr, for_seconds, MAPPING, wanted))


def test_the_faithful_translation_has_no_differences():
    rule = translate(ALARM, MAPPING).rule
    assert said(rule.expr, rule.for_seconds) == ""
    n_of_n = replace(ALARM, datapoints_to_alarm=3)
    rule = translate(n_of_n, MAPPING).rule
    assert said(rule.expr, rule.for_seconds, n_of_n) == ""


def test_differences_are_named():
    grid = f"count_over_time(({MEAN} > 500)[29s999ms:10s]) >= 2"
    assert "off by 1000 — units (milliseconds written where seconds are meant)" in said(grid)
    assert "threshold 0.7 where the alarm's is 0.5 seconds" in said(grid.replace("500", "0.7"))
    assert "compares with >= where" in said(grid.replace("> 500", ">= 0.5"))
    three = f"last_over_time(({MEAN} > 0.5)[9s999ms:10s])"
    assert "for: 20s: it needs 3 breaching periods in a row, where the alarm needs 2 of 3" in said(
        three, 20
    )
    sliding = f"{MEAN.replace('[10s]', '[1m]')} > 0.5"
    words = said(sliding, 30)
    assert "its window 1m is not the alarm's period 10s" in words
    assert "it slides" in words
    assert (
        "for: 30s: its condition must hold for 30s straight (about 4 periods of 10s), where the "
        "alarm needs 2 of 3 — any breaching datapoints" in words
    )


def test_durations():
    assert seconds("1m30s") == 90 and seconds("29s999ms") == pytest.approx(29.999)
    assert seconds(None) == 0
    with pytest.raises(ValueError):
        seconds("5 minutes")


def test_samples_keep_their_own_times_on_promtools_grid():
    samples = [(10.204, 1.0), (11.196, 2.0), (13.2, 5.0)]
    # a grid of 10 ms from 10 s: slots 20, 120 and 320, missing in between
    assert placed(samples, 10.0, 0.01, 400) == "_x20 1 _x99 2 _x199 5"
    assert placed([], 10.0, 0.01, 5) == "_x5"


def test_series_text_escapes_label_values():
    text = series_text({"__name__": "x_count", "path": 'a"b\\c', "job": "j"})
    assert text == 'x_count{job="j",path="a\\"b\\\\c"}'


def test_the_promtool_document_expects_the_alarms_timeline_relative_to_its_start():
    expectations = [
        Expectation("A", 130.0, True, {"alertname": "A"}, {"summary": "s"}),
        Expectation("A", 120.0, False),
    ]
    series = [({"__name__": "x_count", "job": "j"}, [(100.0, 1.0), (101.0, 2.0)])]
    document = promtool_test("r.yml", series, expectations, 100.0, 102.0, 1.0, 1.0, "t")
    test = document["tests"][0]
    assert document["rule_files"] == ["r.yml"] and test["interval"] == "1s"
    assert test["input_series"] == [{"series": 'x_count{job="j"}', "values": "1 2"}]
    assert test["alert_rule_test"] == [
        {"eval_time": "20s", "alertname": "A", "exp_alerts": []},
        {
            "eval_time": "30s",
            "alertname": "A",
            "exp_alerts": [{"exp_labels": {"alertname": "A"}, "exp_annotations": {"summary": "s"}}],
        },
    ]
