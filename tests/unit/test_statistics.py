"""Percentile, bias, distribution and side-by-side judges: each verdict and its failing twin."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from cwparity.align import Aligned
from cwparity.config import parse_config
from cwparity.judge.bias import classify
from cwparity.judge.distribution import mann_whitney, smallest_p
from cwparity.judge.percentiles import (
    histogram_quantile,
    judge_client_percentiles,
    judge_cloudwatch_percentiles,
    rank_range,
)
from cwparity.judge.side_by_side import judge_route_side_by_side
from cwparity.results import Status
from cwparity.truth import GroundTruth, LatencyHistogram, RouteTruth
from cwparity.window import Window

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LES = np.array([0.01, 0.05, 0.1, 0.5, np.inf])


def test_histogram_quantile_interpolates_inside_the_bucket():
    cumulative = np.array([0.0, 50.0, 100.0, 100.0, 100.0])
    estimate, width = histogram_quantile(LES, cumulative, 0.5)
    assert estimate == pytest.approx(0.05) and width == pytest.approx(0.04)
    estimate, _ = histogram_quantile(LES, cumulative, 0.75)
    assert estimate == pytest.approx(0.075)


def test_rank_range_widens_with_boundary_uncertainty():
    cumulative = np.array([0.0, 50.0, 100.0, 100.0, 100.0])
    exact = rank_range(LES, cumulative, np.zeros(5), 0.9)
    assert (exact.lower, exact.upper) == (0.05, 0.1)
    blurred = rank_range(LES, cumulative, np.full(5, 45.0), 0.9)
    assert blurred.lower <= 0.01 and blurred.upper >= 0.1


def buckets(period_start, counts):
    return pd.DataFrame(
        {"route": "GET /", "period_start": period_start, "le": LES, "count": counts, "u": 0.0}
    )


@pytest.mark.parametrize(
    ("value", "status"), [(0.07, Status.PASS), (0.2, Status.FAIL), (0.049, Status.FAIL)]
)
def test_cloudwatch_percentile_must_lie_in_the_bucket_range(value, status):
    stamp = pd.Timestamp(T0)
    cw = pd.DataFrame(
        [("GET /", stamp, "p90", value)], columns=["route", "period_start", "stat", "value"]
    )
    frame = buckets(stamp, [0.0, 50.0, 100.0, 100.0, 100.0])
    (check,) = judge_cloudwatch_percentiles(frame, cw, None, "GET /", parse_config({}))
    assert check.status is status
    # rank 90 of 100 is 40 of the 50 requests into the (50, 100] ms bucket
    assert check.observed["histogram_quantile_ms"] == pytest.approx(90.0)


def test_cloudwatch_percentile_with_no_prometheus_request_fails():
    stamp = pd.Timestamp(T0)
    cw = pd.DataFrame(
        [("GET /", stamp, "p50", 0.02)], columns=["route", "period_start", "stat", "value"]
    )
    (check,) = judge_cloudwatch_percentiles(
        buckets(stamp, [0.0] * 5), cw, None, "GET /", parse_config({})
    )
    assert check.status is Status.FAIL


def test_percentiles_the_service_cannot_answer_are_skipped_with_its_words():
    (check,) = judge_cloudwatch_percentiles(
        buckets(None, [0.0] * 5), None, "HTTP 500", "GET /", parse_config({})
    )
    assert check.status is Status.SKIP and "HTTP 500" in check.reason


def client_checks(client_ms, server_counts=(0.0, 50.0, 100.0, 100.0, 100.0)):
    truth = RouteTruth(
        "http://app", "GET /", {"200": len(client_ms)}, 0, LatencyHistogram.of(client_ms)
    )
    window = buckets(None, list(server_counts))
    window["period_start"] = None
    return {c.id: c for c in judge_client_percentiles(window, truth, "GET /")}


@pytest.mark.parametrize(
    ("client_ms", "status"),
    # the server's p90 lies in (50, 100] ms: a client p90 of 30 ms (or 49 ms: 2 % below, more
    # than the client histogram's 1 % buckets) is impossible; exactly 50 ms is possible
    [(60.0, Status.PASS), (50.0, Status.PASS), (49.0, Status.FAIL), (30.0, Status.FAIL)],
)
def test_client_percentile_must_not_be_below_the_servers(client_ms, status):
    check = client_checks([client_ms] * 100)["percentile_client.p90[GET /]"]
    assert check.status is status, check.reason
    assert check.observed["locust_low_ms"] <= client_ms <= check.observed["locust_high_ms"]
    assert "within 1%" in check.tolerance.detail


def test_client_percentiles_at_a_bucket_edge_never_fail_on_exact_data():
    """Every request takes exactly a Prometheus bucket bound, client time = server time."""
    for bound_ms in (5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0, 2500.0):
        les = np.array([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, np.inf])
        counts = np.where(les * 1000 >= bound_ms, 100.0, 0.0)
        frame = pd.DataFrame(
            {"route": "GET /", "period_start": None, "le": les, "count": counts, "u": 0.0}
        )
        truth = RouteTruth(
            "http://app", "GET /", {"200": 100}, 0, LatencyHistogram.of([bound_ms] * 100)
        )
        for check in judge_client_percentiles(frame, truth, "GET /"):
            assert check.status is Status.PASS, check.reason


def test_latency_histogram_holds_every_value_within_one_percent_and_merges_exactly():
    rng = np.random.default_rng(7)
    values = [*rng.lognormal(3.0, 1.5, 5000), 0.0005, 0.001, 50.0, 100.0]
    halves = LatencyHistogram.of(values[:2000]).merged(LatencyHistogram.of(values[2000:]))
    whole = LatencyHistogram.of(values)
    assert halves == whole and whole.total == len(values)
    ordered = sorted(values)
    for q in (0.01, 0.5, 0.9, 0.99, 1.0):
        low, high = whole.nearest_rank(q)
        exact = ordered[max(0, int(np.ceil(q * len(ordered))) - 1)]
        assert low <= exact <= high
        assert high <= max(low * 1.0100001, 0.0010001)
    assert LatencyHistogram.from_dict(whole.to_dict()) == whole
    # a week of requests stays a few kilobytes: buckets are what grows, not requests
    assert len(json.dumps(whole.to_dict())) < 15_000


def test_truth_written_before_histograms_still_reads():
    old = {
        "target": "http://app",
        "route": "GET /",
        "by_status": {"200": 3},
        "failures": 0,
        "latencies_ms": [10.0, 20.0, 30.0],
    }
    truth = RouteTruth.from_dict(old)
    assert truth.latency.total == 3
    low, high = truth.latency.nearest_rank(0.5)
    assert low <= 20.0 <= high
    assert RouteTruth.from_dict(truth.to_dict()) == truth


def test_bias_classes():
    times = np.arange(8, dtype=float) * 60
    assert classify(np.full(8, 0.5), times, 5.0, 0.95)["classification"] == "equal"
    offset = classify(np.full(8, 10.0) + np.linspace(-0.1, 0.1, 8), times, 5.0, 0.95)
    assert offset["classification"] == "constant offset"
    assert offset["block_median_ms"] == pytest.approx(10.0, abs=0.2)
    drift = classify(np.linspace(0.0, 20.0, 8), times, 5.0, 0.95)
    assert drift["classification"] == "drift"


def test_mann_whitney_classes():
    baseline = np.array([10.0, 10.2, 9.9, 10.1, 10.0, 9.8])
    assert mann_whitney(baseline, baseline + 0.1, 0.05, 5.0, 3)["classification"] == "Pass"
    assert mann_whitney(baseline, baseline + 20, 0.05, 5.0, 3)["classification"] == "High"
    assert mann_whitney(baseline, baseline - 20, 0.05, 5.0, 3)["classification"] == "Low"
    # three against three can never reach p < 0.05: NoData, not a Pass that means nothing
    assert smallest_p(3, 3) >= 0.05
    assert mann_whitney(baseline[:3], baseline[:3] + 20, 0.05, 5.0, 3)["classification"] == (
        "NoData"
    )


SIDE_BY_SIDE = {
    "targets": {"cloudwatch": {"base_url": "http://old"}, "prometheus": {"base_url": "http://new"}},
    "routes": [{"path": "/"}, {"path": "/long-request", "sides": ["prometheus"]}],
}


def aligned_two_routes(cw_count=100.0, prom_count=100.0):
    window = Window(T0, T0 + timedelta(seconds=20), 10)
    rows = []
    for route in ("GET /", "GET /long-request"):
        for i in range(2):
            rows.append(
                {
                    "route": route,
                    "period_start": pd.Timestamp(T0 + timedelta(seconds=10 * i)),
                    "cw_count": cw_count / 2,
                    "cw_sum": cw_count / 2 * 0.01,
                    "prom_count": prom_count / 2,
                    "prom_sum": prom_count / 2 * 0.01,
                    "prom_count_u": 0.0,
                    "prom_sum_u": 0.0,
                    "prom_count_u_start": 0.0,
                    "prom_count_u_end": 0.0,
                    "prom_sum_u_start": 0.0,
                    "prom_sum_u_end": 0.0,
                }
            )
    periods = pd.DataFrame(rows)
    totals = periods.groupby("route")[
        ["cw_count", "cw_sum", "prom_count", "prom_sum", "prom_count_u", "prom_sum_u"]
    ].sum()
    return Aligned(window, periods, totals)


def judge(config, aligned, truth=None, route=0):
    return {c.id: c for c in judge_route_side_by_side(aligned, config.routes[route], truth, config)}


def test_existing_window_counts_need_traffic_shares():
    checks = judge(parse_config(SIDE_BY_SIDE), aligned_two_routes())
    assert checks["count[GET /]"].status is Status.SKIP
    assert "traffic_share" in checks["count[GET /]"].reason


@pytest.mark.parametrize(("prom", "status"), [(100.0, Status.PASS), (160.0, Status.FAIL)])
def test_counts_are_compared_through_stated_shares(prom, status):
    raw = {
        **SIDE_BY_SIDE,
        "targets": {
            "cloudwatch": {"base_url": "http://old", "traffic_share": 0.5},
            "prometheus": {"base_url": "http://new", "traffic_share": 0.5},
        },
    }
    checks = judge(parse_config(raw), aligned_two_routes(prom_count=prom))
    assert checks["count[GET /]"].status is status


def truth_for(old_statuses, new_statuses, route="GET /"):
    return GroundTruth(
        T0,
        T0,
        (
            RouteTruth("http://old", route, old_statuses, 0),
            RouteTruth("http://new", route, new_statuses, 0),
        ),
    )


def test_one_sided_route_is_not_compared_and_says_why():
    truth = truth_for({"404": 40}, {"200": 40}, route="GET /long-request")
    checks = judge(parse_config(SIDE_BY_SIDE), aligned_two_routes(40, 40), truth, route=1)
    coverage = checks["comparable[GET /long-request]"]
    assert coverage.status is Status.SKIP and "40× 404" in coverage.reason
    assert "count[GET /long-request]" not in checks


def test_errors_on_one_side_of_a_shared_route_fail():
    checks = judge(
        parse_config(SIDE_BY_SIDE), aligned_two_routes(), truth_for({"500": 100}, {"200": 100})
    )
    assert checks["status[GET /]"].status is Status.FAIL
    clean = judge(
        parse_config(SIDE_BY_SIDE), aligned_two_routes(), truth_for({"200": 100}, {"200": 100})
    )
    assert "status[GET /]" not in clean and clean["count[GET /]"].status is Status.PASS
