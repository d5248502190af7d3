"""Acceptance criteria: nothing one side sees is missing on the other (the guide's "Assess
Current Monitoring Requirements"), and no label of the histogram grows without bound.

Every route CloudWatch or Prometheus saw in the window is judged, mapped or not; routes in
`coverage.ignore` (default `/metrics`) are reported as ignored.
"""

import pytest

from cwparity.pytest_plugin import assert_checks

pytestmark = pytest.mark.parity


def _kind(parity_session, kind):
    checks = parity_session.parity_checks()
    errors = [c for c in checks if c.kind == "run"]
    return errors + [c for c in checks if c.kind == kind]


def test_every_route_one_side_saw_is_on_the_other(parity_session):
    assert_checks(_kind(parity_session, "coverage"))


def test_the_jobs_cardinality_is_bounded(parity_session):
    assert_checks(_kind(parity_session, "cardinality"))
