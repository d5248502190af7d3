"""The harness end to end on a real stack: moto, the dual app, a real Prometheus, real Locust."""

import json

import pytest

from cwparity.results import Status

from .conftest import demo_config, parity_run

pytestmark = pytest.mark.integration
ROUTES = ("GET /", "GET /long-request")


def test_clean_dual_app_passes_count_and_mean_checks(dual_stack, tmp_path):
    _, checks = parity_run(demo_config(dual_stack), tmp_path / "clean")
    for route in ROUTES:
        for check_id in (
            f"count[{route}]",
            f"count.cloudwatch[{route}]",
            f"count.prometheus[{route}]",
            f"mean_latency[{route}]",
        ):
            assert checks[check_id].status is Status.PASS, checks[check_id].reason
        assert checks[f"count[{route}]"].observed["cloudwatch"] > 0
    per_period = [c for c in checks.values() if "@" in c.id and c.kind == "count"]
    assert per_period and all(c.status is Status.PASS for c in per_period)
    assert all(c.status is not Status.FAIL for c in checks.values())


def test_dropping_5_percent_of_cloudwatch_publishes_fails_the_count(dual_stack, tmp_path):
    dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0.05", "CWPARITY_FAULT_PATHS": "/"})
    try:
        run_dir = tmp_path / "drop"
        _, checks = parity_run(demo_config(dual_stack), run_dir)
    finally:
        dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0", "CWPARITY_FAULT_PATHS": ""})
    lost = checks["count[GET /]"]
    assert lost.status is Status.FAIL
    assert "CloudWatch counted" in lost.reason and "fewer requests than Prometheus" in lost.reason
    assert lost.observed["difference"] <= -1
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL
    assert checks["count.prometheus[GET /]"].status is Status.PASS
    # the unaffected route still passes
    assert checks["count[GET /long-request]"].status is Status.PASS
    # a failing run still writes everything it measured
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "fail" and document["exit_code"] == 1
    for name in ("report.html", "junit.xml", "cloudwatch.csv", "prometheus-count.csv"):
        assert (run_dir / name).stat().st_size > 0
