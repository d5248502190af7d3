"""The Grafana panel judgement on plain values: what a query computes, and each point's bound."""

import numpy as np
import pandas as pd
import pytest

from cwparity.config import parse_config
from cwparity.judge.panel import (
    Reference,
    interpolate,
    judge_panel_series,
    judge_points,
    mean_bounds,
    quantile_bounds,
    query_shape,
    windowed_means,
)
from cwparity.lint import LintContext
from cwparity.results import Status

CONTEXT = LintContext(scrape_interval=1.0)
CONFIG = parse_config({"window": {"period": 5}})
H = "flask_http_request_duration_seconds"
RATIO = f'sum by (path, method) (rate({H}_sum{{path="/"}}[20s])) / sum by (path, method) (rate({H}_count{{path="/"}}[20s]))'


def reference():
    """Six 5 s periods of 10 requests: 10 ms for 15 s, then 50 ms; scrapes at every x.5 s."""
    means = [0.010] * 3 + [0.050] * 3
    periods = pd.DataFrame(
        {
            "period_start": [5.0 * i for i in range(6)],
            "count": [10.0] * 6,
            "sum": [10 * m for m in means],
            "min": [m * 0.8 if m < 0.02 else 0.045 for m in means],
            "max": [m * 1.2 if m < 0.02 else 0.055 for m in means],
        }
    )
    return Reference(
        periods, 5, np.arange(0.5, 31, 1.0), 0.25, (0.005, 0.01, 0.05, 0.1, float("inf"))
    )


def test_what_a_query_computes():
    assert query_shape(RATIO, CONTEXT).kind == "ratio"
    assert query_shape(RATIO, CONTEXT).range_s == 20
    assert query_shape(f"{H}_sum / {H}_count", CONTEXT).kind == "cumulative"
    quantile = f"histogram_quantile(0.9, sum by (le) (rate({H}_bucket[1m])))"
    assert query_shape(quantile, CONTEXT).kind == "quantile"
    assert query_shape(f"sum(rate({H}_count[1m]))", CONTEXT).kind == "other"
    assert query_shape(f"({RATIO}) * 1000", CONTEXT).scale == 1000
    assert query_shape(RATIO, CONTEXT).matchers == {"path": "/"}


def test_grafanas_interval_variables_are_filled_in_as_it_does():
    assert interpolate("rate(x[$__rate_interval])", 5, 15, 60) == "rate(x[60000ms])"  # 4 × 15 s
    assert interpolate("rate(x[$__rate_interval])", 60, 15, 60) == "rate(x[75000ms])"  # 60 + 15
    assert interpolate("rate(x[${__interval}])", 5, 15, 60) == "rate(x[5000ms])"


def test_a_mean_bound_counts_inner_periods_fully_and_edge_periods_in_any_share():
    # t = 30, R = 20: scrapes 10.5 … 29.5; [15, 25) inside (mean 50 ms), [10, 15) and [25, 30) edges
    low, high = mean_bounds(reference(), 10.5, 29.5)
    assert low == pytest.approx((1.0 + 10 * 0.008) / 30)  # the 10 ms edge at its Minimum
    assert high == pytest.approx((1.0 + 10 * 0.055) / 30)  # the 50 ms edge at its Maximum


def test_a_window_of_edges_only_is_bounded_by_their_extremes():
    assert mean_bounds(reference(), 5.5, 14.5) == pytest.approx((0.008, 0.012))
    assert quantile_bounds(reference(), 20.5, 29.5) == pytest.approx((0.01, 0.1))  # bucket edges


def judge(shape_expr, shown):
    shape = query_shape(shape_expr, CONTEXT)
    points = {30_000: shown}
    return judge_points(points, shape, reference(), 1.0, CONFIG)


def test_a_point_inside_its_bound_passes_and_its_twin_outside_fails():
    inside = judge(RATIO, 0.045)
    assert inside and inside[0].inside
    # rate()'s extrapolation over 20 samples (2.2/19), then the mean-latency tolerance (5 ms)
    assert inside[0].low_s == pytest.approx((1.0 + 10 * 0.008) / 30 / (1 + 2.2 / 19) - 0.005)
    outside = judge(RATIO, 45.0)  # the same value × 1000
    result = judge_panel_series(
        "grafana.latency[p]", "p", "GET /", query_shape(RATIO, CONTEXT), outside, "s"
    )
    assert result.status is Status.FAIL
    assert result.tolerance.origin.value == "derived"


def test_a_cumulative_panel_fails_even_when_its_numbers_agree():
    expr = f"{H}_sum / {H}_count"
    # judged per period (R = 5 s): at t = 30 the last period's 50 ms
    verdicts = judge(expr, 0.050)
    result = judge_panel_series(
        "grafana.latency[p]", "p", "GET /", query_shape(expr, CONTEXT), verdicts, "s"
    )
    assert result.status is Status.FAIL and "latency held steady" in result.reason
    lagging = judge(expr, 0.030)  # the mean since the start, lagging behind the change
    result = judge_panel_series(
        "grafana.latency[p]", "p", "GET /", query_shape(expr, CONTEXT), lagging, "s"
    )
    assert result.status is Status.FAIL and "mean since the process started" in result.reason


def test_prometheus_windowed_mean_from_raw_counters_counts_across_a_reset():
    stamps = [0.5, 1.5, 2.5, 3.5]
    counts = pd.DataFrame({"series": "a", "timestamp": stamps, "value": [10, 20, 5, 15]})  # reset
    sums = pd.DataFrame({"series": "a", "timestamp": stamps, "value": [1.0, 2.0, 0.5, 1.5]})
    means = windowed_means(sums, counts, [3500], 3.0)
    assert means[3500] == pytest.approx((2.0 - 1.0 + 0.5 + 1.0) / (10 + 5 + 10))
