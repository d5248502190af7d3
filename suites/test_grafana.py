"""Acceptance criteria: Grafana shows what Prometheus holds and what CloudWatch showed (the guide's "Connect Grafana to
Prometheus" and "Create a Grafana Dashboard"), through Grafana's HTTP API.

Skipped unless the run's config says ``grafana.enabled: true``.
"""

import pytest

from cwparity.errors import HarnessError
from cwparity.hosts.common import connect, select, unreachable
from cwparity.hosts.grafana import grafana_checks
from cwparity.pytest_plugin import assert_checks

pytestmark = pytest.mark.grafana


@pytest.fixture(scope="module")
def checks(parity_session):
    config = parity_session.config
    if not config.grafana.enabled:
        pytest.skip("Grafana checks are off (grafana.enabled: false in the run's config)")
    host = None
    if config.hosts.enabled and config.hosts.profile == "systemd":
        try:
            host = connect(config.hosts)
        except HarnessError as err:
            parity_session.record(unreachable("grafana.connect", "grafana", err))
            pytest.fail(str(err), pytrace=False)
    return grafana_checks(config, parity_session.plan.window, host)


def judge(parity_session, checks, prefix):
    __tracebackhide__ = True
    assert_checks([parity_session.record(c) for c in select(checks, prefix)])


def test_grafana_service_is_active_and_listens_on_3000(parity_session, checks):
    judge(parity_session, checks, ("grafana.service", "grafana.listen"))


def test_grafana_is_healthy(parity_session, checks):
    judge(parity_session, checks, "grafana.health")


def test_prometheus_datasource_points_at_prometheus_and_is_healthy(parity_session, checks):
    judge(parity_session, checks, "grafana.datasource")


def test_dashboard_has_the_latency_panel(parity_session, checks):
    judge(parity_session, checks, "grafana.dashboard")


def test_latency_panel_shows_what_prometheus_returns(parity_session, checks):
    judge(parity_session, checks, "grafana.series")


def test_latency_panel_shows_what_cloudwatch_showed(parity_session, checks):
    judge(parity_session, checks, "grafana.latency")
