"""Acceptance criteria: the guide's "Security and Access Controls" advice holds.

Prometheus checks run when ``hosts.enabled`` (``cwparity hosts`` runs them with the host suite);
Grafana checks, marked ``grafana`` too, when ``grafana.enabled``. In a profile that is not strict
(``hosts.strict`` / ``grafana.strict`` false, the demo) a failure is reported as a warning (WARN,
reason ``warning: ...``) instead of failing the run.
"""

import pytest

from cwparity.hosts.common import select
from cwparity.hosts.prometheus_host import probe
from cwparity.hosts.security import grafana_security_checks, prometheus_security_checks
from cwparity.pytest_plugin import assert_checks

pytestmark = pytest.mark.security


@pytest.fixture(scope="module")
def prometheus_checks(parity_session, monitoring_host):
    live, layout = probe(parity_session.config, monitoring_host)
    return prometheus_security_checks(parity_session.config, monitoring_host, live, layout.promtool)


@pytest.fixture(scope="module")
def grafana_checks(parity_session):
    config = parity_session.config
    if not config.grafana.enabled:
        pytest.skip("Grafana security checks are off (grafana.enabled: false)")
    return grafana_security_checks(config)


def judge(parity_session, checks, prefix):
    __tracebackhide__ = True
    assert_checks([parity_session.record(c) for c in select(checks, prefix)])


def test_prometheus_does_not_run_as_root(parity_session, prometheus_checks):
    judge(parity_session, prometheus_checks, "security.prometheus.not_root")


def test_prometheus_admin_api_is_disabled(parity_session, prometheus_checks):
    judge(parity_session, prometheus_checks, "security.prometheus.admin_api")


def test_prometheus_requires_auth_when_the_profile_asks(parity_session, prometheus_checks):
    judge(parity_session, prometheus_checks, "security.prometheus.auth")


def test_prometheus_is_reached_over_tls_when_the_profile_asks(parity_session, prometheus_checks):
    judge(
        parity_session,
        prometheus_checks,
        ("security.prometheus.tls", "security.prometheus.web_config"),
    )


@pytest.mark.grafana
def test_grafana_rejects_the_default_admin_password(parity_session, grafana_checks):
    judge(parity_session, grafana_checks, "security.grafana.default_password")


@pytest.mark.grafana
def test_grafana_anonymous_access_is_off(parity_session, grafana_checks):
    judge(parity_session, grafana_checks, "security.grafana.anonymous")
