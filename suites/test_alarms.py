"""Acceptance criteria: each CloudWatch alarm and the Prometheus rules that replace it fire in
the same periods, the rules are valid Prometheus, and their alerts reach Alertmanager.

One test per alarm read at the start of the run (`alarms.enabled`); skipped when alarms are off.
"""

import pytest

from cwparity.pytest_plugin import active_session, assert_checks

# alarm parity needs CloudWatch: it is part of the parity part (`cwparity run --only parity`)
pytestmark = [pytest.mark.parity, pytest.mark.alarm]


EVERY = "(every alarm on the mapped metric)"


def alarm_names(session) -> list[str]:
    """The alarms read at the start of the run; before a `--cwparity-config` run is prepared
    (collection must not plan it), the configured names or one test for every alarm."""
    if session is None or not session.config.alarms.enabled:
        return []
    if session.prepared:
        meta = session.plan.meta.get("alarms") or {}
        return [a["name"] for a in meta.get("alarms") or []]
    return list(session.config.alarms.names) or [EVERY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "alarm" in metafunc.fixturenames:
        names = alarm_names(active_session(metafunc.config))
        metafunc.parametrize("alarm", names, ids=names)


def run_errors(parity_session):
    return [c for c in parity_session.parity_checks() if c.kind == "run"]


def of_kind(parity_session, kind, subject=None):
    checks = parity_session.parity_checks()
    every = subject in (None, EVERY)
    chosen = [c for c in checks if c.kind == kind and (every or c.subject == subject)]
    evaluate = [c for c in checks if c.id == "alarm[evaluate]"]
    return run_errors(parity_session) + evaluate + chosen


def test_alarm_and_its_rules_fire_in_the_same_periods(parity_session, alarm):
    assert_checks(of_kind(parity_session, "alarm", alarm))


def test_alerts_reach_alertmanager_with_the_alarms_labels(parity_session, alarm):
    assert_checks(of_kind(parity_session, "alertmanager", alarm))


def test_rules_files_pass_promtool_check_and_test(parity_session):
    if not parity_session.config.alarms.enabled:
        pytest.skip("alarms are off (alarms.enabled: false in the run's config)")
    assert_checks(of_kind(parity_session, "alarm_rules"))


def test_rule_expressions_pass_the_promql_lint(parity_session):
    if not parity_session.config.alarms.enabled:
        pytest.skip("alarms are off (alarms.enabled: false in the run's config)")
    rule_lint = [
        c
        for c in parity_session.parity_checks()
        if c.kind == "lint" and c.subject.startswith(("alarm:", "rule:"))
    ]
    assert_checks(run_errors(parity_session) + rule_lint)
