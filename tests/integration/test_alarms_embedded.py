"""Alarm parity on a real stack: moto's alarms, a real Prometheus evaluating the rules, a real
Alertmanager — all judged over ONE load window with the demo's fault (every /long-request
times out for two whole alarm periods, on their grid).

The team's rules file holds one faithful rule and three that a migration really produces: the
threshold written in milliseconds, a `for` that covers 3 periods where the alarm says 2 of 3,
and a `status="200"` filter that hides the very requests that time out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml

from cwparity.alarms.demo import create_demo_alarms, fault_env
from cwparity.alarms.replay import alarm_phase
from cwparity.flows import DEMO_APP_ENV, load_and_plan, write_config
from cwparity.report import read_document
from cwparity.results import Status
from cwparity.sources import cloudwatch
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec

from .conftest import demo_config, judge

pytestmark = pytest.mark.integration

LOAD_SECONDS = 60.0
LATENCY = "long-request-latency-high"
COUNT = "root-request-count-low"
HISTOGRAM = "flask_http_request_duration_seconds"


def mean(status: str = "") -> str:
    """The per-period mean of GET /long-request, as a team writes it (status filter optional)."""
    extra = f',status="{status}"' if status else ""
    sel = f'{{job="flask_app",path="/long-request",method="GET"{extra}}}'
    by = "sum by (path, method)"
    return (
        f"{by} (increase({HISTOGRAM}_sum{sel}[10s])) / {by} (increase({HISTOGRAM}_count{sel}[10s]))"
    )


TEAM_RULES = {
    "groups": [
        {
            "name": "team-latency",
            "rules": [
                {
                    "alert": "LatencyHighTeam",
                    "expr": f"count_over_time(({mean()} > 0.5)[29999ms:10s]) >= 2",
                    "labels": {"cloudwatch_alarm": LATENCY, "severity": "page"},
                },
                {
                    "alert": "LatencyMilliseconds",
                    "expr": f"count_over_time(({mean()} > 500)[29999ms:10s]) >= 2",
                    "labels": {"cloudwatch_alarm": LATENCY},
                },
                {
                    "alert": "LatencyThreePeriods",
                    "expr": f"last_over_time(({mean()} > 0.5)[9999ms:10s])",
                    "for": "20s",
                    "labels": {"cloudwatch_alarm": LATENCY},
                },
                {
                    "alert": "LatencyOkOnly",
                    "expr": f"count_over_time(({mean('200')} > 0.5)[29999ms:10s]) >= 2",
                    "labels": {"cloudwatch_alarm": LATENCY},
                },
                {
                    "alert": "DiskFull",
                    "expr": "vector(0) > 1",
                    "labels": {"severity": "page"},
                },
            ],
        }
    ]
}

DIMENSIONS = [{"Name": "Endpoint", "Value": "/long-request"}, {"Name": "Method", "Value": "GET"}]
UNTRANSLATABLE = [
    {
        "AlarmName": "long-request-latency-ms-math",
        "Metrics": [
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "FlaskApp",
                        "MetricName": "EndpointLatency",
                        "Dimensions": DIMENSIONS,
                    },
                    "Period": 10,
                    "Stat": "Average",
                },
                "ReturnData": False,
            },
            {"Id": "e1", "Expression": "m1*1000", "ReturnData": True},
        ],
        "EvaluationPeriods": 1,
        "Threshold": 500,
        "ComparisonOperator": "GreaterThanThreshold",
    },
    {
        "AlarmName": "long-request-latency-max",
        "Namespace": "FlaskApp",
        "MetricName": "EndpointLatency",
        "Dimensions": DIMENSIONS,
        "Statistic": "Maximum",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 3,
        "ComparisonOperator": "GreaterThanThreshold",
    },
    {
        "AlarmName": "long-request-p90",
        "Namespace": "FlaskApp",
        "MetricName": "EndpointLatency",
        "Dimensions": DIMENSIONS,
        "ExtendedStatistic": "p90",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    },
]


@pytest.fixture(scope="module")
def alarm_stack(moto_credentials, tmp_path_factory):
    logs = tmp_path_factory.mktemp("alarm-stack")
    env = {**DEMO_APP_ENV, **fault_env(LOAD_SECONDS)}
    spec = StackSpec(apps=(AppSpec("dual_app", env),), alertmanager=True)
    with EmbeddedStack(spec, keep_logs_in=logs) as stack:
        yield stack


@pytest.fixture(scope="module")
def judged(alarm_stack, tmp_path_factory):
    """One load with the fault, judged as `cwparity demo` judges it."""
    run_dir = tmp_path_factory.mktemp("alarms") / "run"
    run_dir.mkdir()
    team_file = run_dir.parent / "team-rules.yml"
    team_file.write_text(yaml.safe_dump(TEAM_RULES, sort_keys=False))
    config = demo_config(alarm_stack, duration=LOAD_SECONDS)
    settings = config.alarms.model_copy(update={"rules_files": [str(team_file)]})
    config = config.model_copy(update={"alarms": settings})
    create_demo_alarms(config)
    client = cloudwatch.make_client(config.cloudwatch)
    for alarm in UNTRANSLATABLE:
        client.put_metric_alarm(**alarm)
    config_path = write_config(config, run_dir / "config.yaml")
    meta: dict = {"mode": "test"}
    with alarm_phase(config, run_dir, meta, run_dir.parent, alarm_stack):
        # the rules run before the load: Prometheus evaluates them in real time only
        rules = requests.get(f"{alarm_stack.prometheus_url}/api/v1/rules", timeout=5).json()
        loaded = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
        load_and_plan(config, config_path, run_dir, meta).save()
    session, checks = judge(run_dir)
    return run_dir, session, checks, loaded


def test_rules_are_loaded_into_prometheus_before_the_load(judged):
    _, _, _, loaded = judged
    assert {"LongRequestLatencyHigh", "RootRequestCountLow", "LatencyHighTeam"} <= loaded
    assert "LongRequestP90" in loaded  # translated; only CloudWatch cannot answer it


def test_faithful_translations_fire_in_the_same_periods(judged):
    _, _, checks, _ = judged
    for name in (LATENCY, COUNT):
        check = checks[f"alarm[{name}]"]
        assert check.status is Status.PASS, check.reason
        assert "fired with the alarm" in check.reason
        assert "Prometheus's own evaluation: ALERTS" in check.reason
        # both timelines are in the observed values, and they are the same stretches
        assert check.observed["cloudwatch_alarm"] == check.observed["prometheus_firing"]
        assert check.observed["cloudwatch_alarm"] != "never"
        assert check.tolerance.origin.value == "derived"
    team = checks[f"alarm[{LATENCY}:LatencyHighTeam]"]
    assert team.status is Status.PASS, team.reason


def test_threshold_in_the_wrong_unit_fails_and_says_units(judged):
    check = judged[2][f"alarm[{LATENCY}:LatencyMilliseconds]"]
    assert check.status is Status.FAIL
    assert "never fired while CloudWatch was in ALARM" in check.reason
    assert "off by 1000" in check.reason and "units" in check.reason


def test_for_covering_three_periods_where_the_alarm_says_two_of_three_fails(judged):
    check = judged[2][f"alarm[{LATENCY}:LatencyThreePeriods]"]
    assert check.status is Status.FAIL
    assert "late" in check.reason or "never fired" in check.reason, check.reason
    assert "for: 20s" in check.reason and "2 of 3" in check.reason


def test_a_status_200_filter_fails_because_the_timeouts_are_errors(judged):
    check = judged[2][f"alarm[{LATENCY}:LatencyOkOnly]"]
    assert check.status is Status.FAIL
    assert "never fired" in check.reason
    assert 'status="200"' in check.reason


def test_untranslatable_alarms_are_skipped_with_their_reason(judged):
    checks = judged[2]
    math = checks["alarm[long-request-latency-ms-math]"]
    assert math.status is Status.SKIP and "metric math" in math.reason and "m1*1000" in math.reason
    maximum = checks["alarm[long-request-latency-max]"]
    assert maximum.status is Status.SKIP and "Maximum cannot be computed" in maximum.reason
    # a percentile alarm is translated, but moto cannot answer percentiles: said, not passed
    p90 = checks["alarm[long-request-p90]"]
    assert p90.status is Status.SKIP and "cannot answer this alarm's p90" in p90.reason


def test_a_team_rule_with_no_alarm_is_reported_not_judged(judged):
    check = judged[2]["alarm.unpaired[DiskFull]"]
    assert check.status is Status.WARN and "pairs with no CloudWatch alarm" in check.reason


def test_rules_pass_promtool_check_and_the_generated_test(judged):
    run_dir, _, checks, _ = judged
    assert checks["alarm_rules.check[cwparity-alarms.rules.yml]"].status is Status.PASS
    assert checks["alarm_rules.check[team-rules.yml]"].status is Status.PASS
    test = checks["alarm_rules.test[cwparity-alarms.test.yml]"]
    assert test.status is Status.PASS, test.reason
    document = yaml.safe_load((run_dir / "alarms" / "cwparity-alarms.test.yml").read_text())
    expected = [t for t in document["tests"][0]["alert_rule_test"] if t["exp_alerts"]]
    assert expected, "the generated test expects the alerts CloudWatch's timeline had"


def test_generated_expressions_pass_the_lint_and_team_filters_are_found(judged):
    checks = judged[2]
    assert checks[f"lint[alarm:{LATENCY}]"].status is Status.PASS
    assert checks["lint.status_filter[rule:LatencyOkOnly]"].status is Status.WARN


def test_the_alerts_reach_alertmanager_with_the_alarms_labels(judged, alarm_stack):
    run_dir, _, checks, _ = judged
    for name in (LATENCY, COUNT):
        check = checks[f"alertmanager[{name}]"]
        assert check.status is Status.PASS, check.reason
        assert f"cloudwatch_alarm={name}" in check.reason
    watched = json.loads((run_dir / "alarms" / "alertmanager-alerts.json").read_text())
    names = {a["labels"].get("cloudwatch_alarm") for a in watched["alerts"]}
    assert {LATENCY, COUNT} <= names


def test_the_report_draws_both_timelines(judged):
    run_dir, _, _, _ = judged
    document = read_document(run_dir / "results.json")
    records = {r["alarm"]: r for r in document["run"]["alarms"]}
    latency = records[LATENCY]
    assert any(p["state"] == "ALARM" for p in latency["cloudwatch"])
    assert any(r["firing"] for r in latency["rules"])
    html = Path(run_dir / "report.html").read_text()
    assert 'id="alarms"' in html and "LatencyMilliseconds" in html


def host_config(stack, **alarms):
    from cwparity.config import parse_config

    raw = {
        "hosts": {"enabled": True, "host": "local://", "profile": "process", "strict": False},
        "alarms": {"enabled": True, **alarms},
    }
    return stack.configure(parse_config(raw))


def test_host_checks_find_the_rule_files_the_alertmanager_and_its_valid_config(alarm_stack):
    from cwparity.hosts.common import connect
    from cwparity.hosts.prometheus_host import alerting_checks

    config = host_config(alarm_stack)
    checks = {c.id.split("[")[0]: c for c in alerting_checks(config, connect(config.hosts))}
    assert checks["host.rule_files"].status is Status.PASS, checks["host.rule_files"].reason
    assert "promtool check rules: SUCCESS" in checks["host.rule_files"].reason
    assert checks["host.alertmanager"].status is Status.PASS, checks["host.alertmanager"].reason
    amtool = checks["host.amtool"]
    assert amtool.status is Status.PASS and "from the flags of the process" in amtool.reason


def test_twins_no_rule_files_a_broken_rule_no_alertmanager_and_a_bad_config_fail(
    alarm_stack, tmp_path
):
    from cwparity.hosts.common import connect
    from cwparity.hosts.live import Layout
    from cwparity.hosts.prometheus_host import check_alertmanager, check_amtool, check_rule_files

    config = host_config(alarm_stack)
    host = connect(config.hosts)
    bare = tmp_path / "prometheus.yml"
    bare.write_text("global: {scrape_interval: 15s}\n")
    lay = Layout(str(bare), str(tmp_path), (), "promtool")
    missing = check_rule_files(host, lay, alarms=True)
    assert missing.status is Status.FAIL and "has no rule_files" in missing.reason
    assert check_rule_files(host, lay, alarms=False).status is Status.SKIP
    (tmp_path / "bad.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(\n"
    )
    bare.write_text("rule_files: ['*.yml']\n")
    broken = check_rule_files(host, Layout(str(bare), str(tmp_path), (), "promtool"), alarms=True)
    assert broken.status is Status.FAIL and "parse error" in broken.reason
    nothing = check_alertmanager(config, host, lay)
    assert nothing.status is Status.FAIL and "no Alertmanager" in nothing.reason
    bad = tmp_path / "alertmanager.yml"
    bad.write_text("route: {receiver: nowhere}\nreceivers: []\n")
    wrong = config.model_copy(
        update={
            "alarms": config.alarms.model_copy(
                update={
                    "alertmanager": config.alarms.alertmanager.model_copy(
                        update={"config_file": str(bad)}
                    )
                }
            )
        }
    )
    failed = check_amtool(wrong, host, lay)
    assert failed.status is Status.FAIL and "amtool check-config failed" in failed.reason


def test_a_past_window_without_the_rules_loaded_is_replayed_and_says_so(judged, alarm_stack):
    """`cwparity run --no-load` on a Prometheus that does not run the rules: Prometheus still
    evaluates each expression (query_range), cwparity applies `for`, and the checks say so."""
    from cwparity.alarms.replay import judge_alarms
    from cwparity.sources.prometheus import PrometheusSource

    run_dir, session, _, _ = judged
    alarm_stack.load_rules([])
    meta = {**session.plan.meta["alarms"], "loaded_at": None}
    config = session.config
    outcome = judge_alarms(
        meta,
        config,
        session.plan.window,
        run_dir.parent / "replayed",
        cloudwatch.make_client(config.cloudwatch),
        PrometheusSource(config.prometheus),
        1.0,
    )
    checks = {c.id: c for c in outcome.checks}
    faithful = checks[f"alarm[{LATENCY}]"]
    assert faithful.status is Status.PASS, faithful.reason
    assert "replayed" in faithful.reason and "cwparity applied for" in faithful.reason
    assert checks[f"alarm[{COUNT}]"].status is Status.PASS, checks[f"alarm[{COUNT}]"].reason
    assert checks[f"alarm[{LATENCY}:LatencyMilliseconds]"].status is Status.FAIL
    three = checks[f"alarm[{LATENCY}:LatencyThreePeriods]"]
    assert three.status is Status.FAIL, three.reason
