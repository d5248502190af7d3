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
