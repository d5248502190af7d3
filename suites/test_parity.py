"""Acceptance criteria: Prometheus sees what CloudWatch saw, route by route.

Run through `cwparity demo` or `cwparity run`, which prepare the run folder these judge.
"""

import pytest

from cwparity.pytest_plugin import assert_checks

pytestmark = pytest.mark.parity


def test_cloudwatch_and_prometheus_count_the_same_requests(parity_session, route):
    assert_checks(parity_session.select("count", route, scope="window"))


def test_cloudwatch_and_prometheus_count_the_same_requests_each_period(parity_session, route):
    assert_checks(parity_session.select("count", route, scope="period"))


@pytest.mark.load
def test_each_backend_counts_every_request_locust_sent(parity_session, route):
    assert_checks(parity_session.select("count_truth", route))


def test_mean_latency_matches(parity_session, route):
    assert_checks(parity_session.select("mean_latency", route, scope="window"))


def test_mean_latency_matches_each_period(parity_session, route):
    assert_checks(parity_session.select("mean_latency", route, scope="period"))


def test_no_systematic_latency_bias(parity_session, route):
    assert_checks(parity_session.select("bias", route))


def test_per_period_latency_distributions_agree(parity_session, route):
    assert_checks(parity_session.select("distribution", route))


def test_cloudwatch_percentiles_fall_in_the_histograms_buckets(parity_session, route):
    assert_checks(parity_session.select("percentile", route))


@pytest.mark.load
def test_client_percentiles_are_not_below_the_servers(parity_session, route):
    assert_checks(parity_session.select("percentile_client", route))
