"""Each check's pass and fail edge, on hand-made aligned frames."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from cwparity.align import Aligned
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.results import Origin, Status
from cwparity.truth import GroundTruth, RouteTruth
from cwparity.window import Window

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = Window(T0, T0.replace(second=20), 10)
CONFIG = parse_config({"routes": [{"path": "/"}]})


def aligned(cw_count=100.0, prom_count=100.0, count_u=0.0, cw_sum=1.0, prom_sum=1.0, sum_u=0.0):
    totals = pd.DataFrame(
        [
            {
                "route": "GET /",
                "cw_count": cw_count,
                "cw_sum": cw_sum,
                "prom_count": prom_count,
                "prom_count_u": count_u,
                "prom_sum": prom_sum,
                "prom_sum_u": sum_u,
            }
        ]
    ).set_index("route")
    periods = pd.DataFrame(
        [
            {
                "route": "GET /",
                "period_start": pd.Timestamp(T0),
                "cw_count": cw_count,
                "cw_sum": cw_sum,
                "prom_count": prom_count,
                "prom_count_u": count_u,
                "prom_sum": prom_sum,
                "prom_sum_u": sum_u,
                "prom_count_u_start": count_u / 2,
                "prom_count_u_end": count_u / 2,
                "prom_sum_u_start": sum_u / 2,
                "prom_sum_u_end": sum_u / 2,
            }
        ]
    )
    return Aligned(WINDOW, periods, totals)


def truth(answered=100, failures=0):
    route = RouteTruth("http://app", "GET /", {"200": answered}, failures)
    return GroundTruth(T0, T0, (route,))


def by_id(checks):
    return {c.id: c for c in checks}


def test_clean_data_passes_every_check():
    checks = judge_run(aligned(), truth(), CONFIG)
    assert not {c.status for c in checks} & {Status.FAIL, Status.ERROR}
    ids = by_id(checks)
    for check_id in (
        "count[GET /]",
        "count.cloudwatch[GET /]",
        "count.prometheus[GET /]",
        "mean_latency[GET /]",
        "count[GET /]@2026-11-25T12:00:00Z",
    ):
        assert ids[check_id].status is Status.PASS
    # one period is too few for blocks, but the window's paired difference decides: said
    for kind in ("bias", "distribution"):
        assert ids[f"{kind}[GET /]"].status is Status.PASS
        assert "decided by the window's paired difference" in ids[f"{kind}[GET /]"].reason


def test_count_fails_one_request_beyond_the_bound():
    checks = by_id(judge_run(aligned(cw_count=99.0), truth(), CONFIG))
    window = checks["count[GET /]"]
    assert window.status is Status.FAIL
    assert "CloudWatch counted 1 fewer requests than Prometheus" in window.reason
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL
    assert checks["count.prometheus[GET /]"].status is Status.PASS


def test_count_passes_exactly_at_the_derived_bound_and_fails_past_it():
    at_bound = by_id(judge_run(aligned(cw_count=97.0, count_u=3.0), truth(97), CONFIG))
    check = at_bound["count[GET /]"]
    assert check.status is Status.PASS
    assert check.tolerance.bound == 3.0 and check.tolerance.origin is Origin.DERIVED
    past = by_id(judge_run(aligned(cw_count=96.0, count_u=3.0), truth(96), CONFIG))
    assert past["count[GET /]"].status is Status.FAIL


def test_configured_slack_widens_the_bound_and_says_so():
    config = parse_config({"routes": [{"path": "/"}], "tolerances": {"count": {"window_slack": 2}}})
    check = by_id(judge_run(aligned(cw_count=98.0), truth(), config))["count[GET /]"]
    assert check.status is Status.PASS
    assert check.tolerance.origin is Origin.CONFIGURED
    assert "window_slack 2 (configured)" in check.tolerance.detail


def test_locust_requests_without_a_response_widen_the_truth_bound():
    checks = by_id(
        judge_run(aligned(cw_count=101.0, prom_count=101.0), truth(100, failures=1), CONFIG)
    )
    assert checks["count.cloudwatch[GET /]"].status is Status.PASS
    checks = by_id(
        judge_run(aligned(cw_count=102.0, prom_count=102.0), truth(100, failures=1), CONFIG)
    )
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL


def test_missing_prometheus_samples_are_an_error_not_a_pass():
    check = by_id(judge_run(aligned(prom_count=float("nan")), truth(), CONFIG))["count[GET /]"]
    assert check.status is Status.ERROR


STATED = parse_config(
    {
        "routes": [{"path": "/"}],
        "tolerances": {"mean_latency": {"absolute_ms": 5, "relative": 0.05}},
    }
)


@pytest.mark.parametrize(("prom_sum", "status"), [(1.5, Status.PASS), (1.5001, Status.FAIL)])
def test_mean_latency_edge_at_the_configured_absolute_tolerance(prom_sum, status):
    # CloudWatch mean 10 ms, Prometheus 15 ms (+5 ms = the configured absolute tolerance)
    checks = by_id(judge_run(aligned(cw_sum=1.0, prom_sum=prom_sum), truth(), STATED))
    assert checks["mean_latency[GET /]"].status is status
    assert checks["mean_latency[GET /]"].tolerance.origin is Origin.CONFIGURED


def test_mean_latency_configured_relative_tolerance_takes_over_for_slow_routes():
    # CloudWatch mean 1 s: 5 % is 50 ms, more than the 5 ms absolute tolerance
    ok = by_id(judge_run(aligned(cw_sum=100.0, prom_sum=104.9), truth(), STATED))
    assert ok["mean_latency[GET /]"].status is Status.PASS
    bad = by_id(judge_run(aligned(cw_sum=100.0, prom_sum=105.1), truth(), STATED))
    assert bad["mean_latency[GET /]"].status is Status.FAIL
    assert "Prometheus higher by 51.000 ms" in bad["mean_latency[GET /]"].reason


@pytest.mark.parametrize(
    ("prom_sum", "status"),
    [(1.099, Status.PASS), (0.901, Status.PASS), (1.1003, Status.FAIL), (0.8997, Status.FAIL)],
)
def test_default_paired_acceptance_is_one_millisecond_either_way(prom_sum, status):
    # 100 requests timed by both: CloudWatch 10 ms, Prometheus 10 ms ± 1 ms (the default)
    checks = by_id(judge_run(aligned(cw_sum=1.0, prom_sum=prom_sum), truth(), CONFIG))
    check = checks["mean_latency[GET /]"]
    assert check.status is status, check.reason
    assert check.tolerance.origin is Origin.DEFAULT
    assert "a hook pair's cost" in check.tolerance.detail
    bias = checks["bias[GET /]"]
    assert bias.status is (Status.PASS if status is Status.PASS else Status.FAIL), bias.reason


def test_a_2ms_offset_on_a_slow_route_fails_by_default_and_names_the_cause():
    # 1 s requests: the old 5 % default (50 ms) swallowed this; now max(1 ms, 500 ppm of 1 s)
    checks = by_id(judge_run(aligned(cw_sum=100.2, prom_sum=100.0), truth(), CONFIG))
    assert checks["mean_latency[GET /]"].status is Status.FAIL
    bias = checks["bias[GET /]"]
    assert bias.status is Status.FAIL
    assert bias.details["finding"]["classification"] == "constant offset"
    assert bias.details["finding"]["offset_ms"] == pytest.approx(-2.0)
    assert "CloudWatch higher by 2.000 ms" in bias.reason
    assert "offset is added to the published value" in bias.reason
    assert checks["distribution[GET /]"].status is Status.FAIL


def test_a_units_mistake_is_named():
    checks = by_id(judge_run(aligned(cw_sum=1000.0, prom_sum=1.0), truth(), CONFIG))
    assert "units" in checks["bias[GET /]"].reason


def test_no_requests_means_skip_not_pass():
    checks = by_id(
        judge_run(aligned(cw_count=0.0, prom_count=0.0, cw_sum=0.0, prom_sum=0.0), truth(0), CONFIG)
    )
    assert checks["mean_latency[GET /]"].status is Status.SKIP


def test_shared_app_needs_at_least_what_locust_sent():
    config = parse_config({"routes": [{"path": "/"}], "load": {"exclusive": False}})
    more = by_id(judge_run(aligned(cw_count=130.0, prom_count=130.0), truth(100), config))
    assert more["count.cloudwatch[GET /]"].status is Status.PASS
    assert "other traffic is allowed" in more["count.cloudwatch[GET /]"].reason
    fewer = by_id(judge_run(aligned(cw_count=99.0, prom_count=99.0), truth(100), config))
    assert fewer["count.cloudwatch[GET /]"].status is Status.FAIL
    # the same surplus with an exclusive load is a failure
    exclusive = by_id(judge_run(aligned(cw_count=130.0, prom_count=130.0), truth(100), CONFIG))
    assert exclusive["count.cloudwatch[GET /]"].status is Status.FAIL
