"""Side by side on a real stack: the guide's old app on CloudWatch (moto), its new app on a real
Prometheus, under the same mirrored Locust load."""

import json

import pytest

from cwparity.flows import DEMO_APP_ENV, DEMO_SIDE_BY_SIDE_CONFIG
from cwparity.results import Status
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec

from .conftest import demo_config, parity_run

pytestmark = pytest.mark.integration
OLD, NEW = 0, 1


@pytest.fixture(scope="module")
def two_apps(moto_credentials, tmp_path_factory):
    spec = StackSpec(
        apps=(
            AppSpec("cloudwatch_app", dict(DEMO_APP_ENV), scraped=False),
            AppSpec("prometheus_app", dict(DEMO_APP_ENV)),
        )
    )
    with EmbeddedStack(spec, keep_logs_in=tmp_path_factory.mktemp("sbs")) as stack:
        yield stack


def side_by_side_run(stack, run_dir):
    _, checks = parity_run(demo_config(stack, DEMO_SIDE_BY_SIDE_CONFIG), run_dir)
    document = json.loads((run_dir / "results.json").read_text())
    assert (run_dir / "report.html").stat().st_size > 0
    return checks, document


def test_clean_side_by_side_compares_root_and_explains_long_request(two_apps, tmp_path):
    checks, document = side_by_side_run(two_apps, tmp_path / "clean")
    for check_id in (
        "count[GET /]",
        "count.cloudwatch[GET /]",
        "count.prometheus[GET /]",
        "mean_latency[GET /]",
        "bias[GET /]",
    ):
        assert checks[check_id].status is Status.PASS, checks[check_id].reason
        assert checks[check_id].details["mode"] == "side-by-side"
    not_compared = checks["comparable[GET /long-request]"]
    assert not_compared.status is Status.SKIP
    assert "only the Prometheus app serves" in not_compared.reason
    assert "404" in not_compared.reason
    assert not any(c.status is Status.FAIL for c in checks.values())
    assert document["verdict"] == "pass"
    # the report says in plain words what was compared with what, and why not /long-request
    comparison = document["run"]["comparison"]
    assert comparison["mode"] == "side by side"
    report = (tmp_path / "clean" / "report.html").read_text()
    assert "What was compared" in report
    assert "only the Prometheus app serves it" in report


def test_new_app_20ms_slower_fails_latency_and_names_the_offset(two_apps, tmp_path):
    two_apps.restart_app(NEW, env={"CWPARITY_FAULT_DELAY_MS": "20", "CWPARITY_FAULT_PATHS": "/"})
    try:
        checks, document = side_by_side_run(two_apps, tmp_path / "slow")
    finally:
        two_apps.restart_app(NEW, env={"CWPARITY_FAULT_DELAY_MS": "0"})
    latency = checks["mean_latency[GET /]"]
    assert latency.status is Status.FAIL
    assert "the Prometheus app slower by" in latency.reason
    assert latency.observed["difference_ms"] == pytest.approx(20, abs=5)
    # a bias verdict needs blocks the boundaries barely move; never a PASS here either way
    bias = checks["bias[GET /]"]
    assert bias.status in (Status.FAIL, Status.SKIP, Status.WARN)  # WARN: inconclusive
    if bias.status is Status.FAIL:
        assert bias.details["finding"]["offset_ms"] == pytest.approx(20, abs=5)
    assert checks["count[GET /]"].status is Status.PASS
    assert document["verdict"] == "fail"


def test_old_app_dropping_2_percent_fails_the_cloudwatch_count(two_apps, tmp_path):
    two_apps.restart_app(OLD, env={"CWPARITY_FAULT_CW_DROP": "0.02"})
    try:
        checks, document = side_by_side_run(two_apps, tmp_path / "drop")
    finally:
        two_apps.restart_app(OLD, env={"CWPARITY_FAULT_CW_DROP": "0"})
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL
    assert "CloudWatch counted" in checks["count.cloudwatch[GET /]"].reason
    assert checks["count.prometheus[GET /]"].status is Status.PASS
    assert checks["count[GET /]"].status is Status.FAIL
    assert document["exit_code"] == 1
