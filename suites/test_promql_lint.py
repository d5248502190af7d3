"""Acceptance criteria: the PromQL the team keeps after cutover reads what CloudWatch read.

One test per `prometheus.queries` entry. Findings are WARN (reported, the test passes) unless
`lint.severity: fail`; a query that does not parse always fails.
"""

import pytest

from cwparity.pytest_plugin import active_session, assert_checks

pytestmark = pytest.mark.parity


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "query_name" in metafunc.fixturenames:
        session = active_session(metafunc.config)
        names = [q.name for q in session.config.prometheus.queries] if session else []
        metafunc.parametrize("query_name", names, ids=names)


def test_promql_query_reads_what_cloudwatch_read(parity_session, query_name):
    checks = parity_session.parity_checks()
    run_errors = [c for c in checks if c.kind == "run"]
    assert_checks(run_errors + [c for c in checks if c.kind == "lint" and c.subject == query_name])
