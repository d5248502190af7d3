"""Acceptance criteria: the monitoring host is what the guide builds ("Install Prometheus as a
Service"), checked with testinfra on the host in ``hosts.host`` for ``hosts.profile``.

Skipped unless the run's config says ``hosts.enabled: true``.
"""

import pytest

from cwparity.hosts.common import select
from cwparity.hosts.prometheus_host import alerting_checks, prometheus_checks
from cwparity.pytest_plugin import assert_checks

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def host_checks(parity_session, monitoring_host):
    return prometheus_checks(parity_session.config, monitoring_host)


@pytest.fixture(scope="module")
def alerting(parity_session, monitoring_host):
    if not parity_session.config.alarms.enabled:
        pytest.skip(
            "alarms are off (alarms.enabled: false): no rule files or Alertmanager expected"
        )
    return alerting_checks(parity_session.config, monitoring_host)


def judge(parity_session, checks, prefix):
    __tracebackhide__ = True
    chosen = [parity_session.record(c) for c in select(checks, prefix)]
    assert_checks(chosen)


def test_prometheus_user_has_no_login_shell_and_no_home(parity_session, host_checks):
    judge(parity_session, host_checks, "host.user")


def test_config_and_data_dirs_belong_to_prometheus(parity_session, host_checks):
    judge(parity_session, host_checks, "host.dir")


def test_prometheus_and_promtool_binaries_report_their_version(parity_session, host_checks):
    judge(parity_session, host_checks, "host.binary")


def test_unit_runs_prometheus_as_its_user_with_the_guides_flags(parity_session, host_checks):
    judge(parity_session, host_checks, "host.unit")


def test_service_is_active_and_enabled(parity_session, host_checks):
    judge(parity_session, host_checks, "host.service")


def test_prometheus_runs_as_its_user(parity_session, host_checks):
    judge(parity_session, host_checks, "host.process")


def test_prometheus_listens_on_its_port(parity_session, host_checks):
    judge(parity_session, host_checks, "host.listen")


def test_live_config_passes_promtool_check_config(parity_session, host_checks):
    judge(parity_session, host_checks, "host.config_valid")


def test_config_scrapes_the_app_as_its_job(parity_session, host_checks):
    judge(parity_session, host_checks, "host.scrape_job")


def test_app_target_is_up_recent_and_at_the_configured_interval(parity_session, host_checks):
    judge(parity_session, host_checks, "host.target")


def test_rule_files_are_configured_and_pass_promtool_check_rules(parity_session, alerting):
    judge(parity_session, alerting, "host.rule_files")


def test_an_alertmanager_is_configured_and_reachable(parity_session, alerting):
    judge(parity_session, alerting, "host.alertmanager")


def test_the_alertmanager_config_passes_amtool_check_config(parity_session, alerting):
    judge(parity_session, alerting, "host.amtool")
