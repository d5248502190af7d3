"""The pytest plugin behind suites/: options, per-route parametrization, one evaluation a session.

Inactive (and cheap) unless ``--cwparity-run-dir`` or ``--cwparity-config`` is given: it loads in
every pytest run of an environment where cwparity is installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cwparity.comparison import explain as explain_comparison
from cwparity.config import redact
from cwparity.errors import HarnessError
from cwparity.results import CheckResult, Status

log = logging.getLogger(__name__)

MARKERS = {
    "parity": "a CloudWatch-versus-Prometheus parity check",
    "host": "a check of the monitoring host (testinfra)",
    "grafana": "a check of Grafana through its HTTP API",
    "security": "a security check of the monitoring stack",
    "load": "needs Locust traffic",
}


class ParitySession:
    """One run folder being judged: evaluated lazily, once; every suite records into it."""

    def __init__(self, run_dir: Path) -> None:
        from cwparity.run import RunPlan

        self.run_dir = run_dir
        self.plan = RunPlan.load(run_dir)
        self.config = self.plan.config()
        self.recorded: list[CheckResult] = []
        self.info: dict[str, Any] = {}
        self._evaluated = False
        self._parity: list[CheckResult] = []
        self.periods: list[dict[str, Any]] = []
        self.period_verdicts: dict[str, Any] | None = None
        self.charted: dict[str, Any] = {}

    def parity_checks(self) -> list[CheckResult]:
        from cwparity.run import error_check, evaluate

        if not self._evaluated:
            self._evaluated = True
            try:
                evaluation = evaluate(self.plan, self.config)
                self._parity, self.info = evaluation.checks, evaluation.info
                self.record_periods(evaluation)
            except HarnessError as err:
                log.error("%s", err)
                self._parity = [error_check(err)]
            except Exception as err:  # a bug must show as ERROR in the results, never as skips
                log.exception("cwparity: evaluation failed")
                self._parity = [error_check(HarnessError(f"internal error: {err!r}"))]
        return self._parity

    def record_periods(self, evaluation: Any) -> None:
        """What the report draws (bounded: judge/periods.py) and the compact verdict table."""
        from cwparity.judge.periods import chart_periods

        charted = chart_periods(evaluation.aligned, evaluation.verdicts)
        self.periods = charted.pop("rows")
        self.charted = charted
        if evaluation.verdicts is not None:
            self.period_verdicts = evaluation.verdicts.block(self.plan.window.period_starts())

    def record(self, check: CheckResult) -> CheckResult:
        """Add a check judged by another suite (hosts, Grafana, security) to this run's results."""
        self.recorded.append(check)
        return check

    def select(self, kind: str, route: str, scope: str | None = None) -> list[CheckResult]:
        checks = self.parity_checks()
        chosen = [c for c in checks if c.kind == kind and c.subject == route]
        if scope == "window":
            chosen = [c for c in chosen if c.scope == "window"]
        elif scope == "period":
            chosen = [c for c in chosen if c.scope != "window"]
        errors = [c for c in checks if c.status is Status.ERROR and c.kind in ("run", "settle")]
        return errors + chosen

    def all_checks(self) -> list[CheckResult]:
        return [*(self.parity_checks() if self._evaluated else []), *self.recorded]

    def write_reports(self) -> dict[str, Path]:
        from cwparity.report import build_document, write_all

        document = build_document(self.all_checks(), self.run_summary())
        return write_all(self.run_dir, document)

    def run_summary(self) -> dict[str, Any]:
        """The run's record for the report, with every secret masked (targets, Locust names
        and meta can hold a URL with credentials in it, not only the config)."""
        return redact(self._summary())

    def _summary(self) -> dict[str, Any]:
        truth = self.plan.truth
        return {
            "name": self.config.name,
            "mode": self.plan.meta.get("mode", "run"),
            "started_at": self.plan.meta.get("started_at"),
            "finished_at": datetime.now(UTC).isoformat(),
            "window": self.plan.window.to_dict(),
            "config_digest": self.config.digest(),
            "config": self.config.redacted(),
            "versions": self.info.get("versions", {}),
            "scrape_interval": self.info.get("scrape_interval"),
            "settle": self.info.get("settle"),
            "cloudwatch_calls": self.info.get("cloudwatch_calls"),
            "load_stats": list(truth.locust_stats) if truth else [],
            "truth": truth.to_dict() if truth else None,
            "periods": self.periods,
            "charted": self.charted,
            "period_verdicts": self.period_verdicts,
            "comparison": explain_comparison(self.config),
            "meta": self.plan.meta,
        }


SESSION_KEY = pytest.StashKey[ParitySession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cwparity", "cwparity parity runs")
    group.addoption(
        "--cwparity-run-dir",
        dest="cwparity_run_dir",
        default=None,
        help="judge the run folder prepared by `cwparity demo|run` (run.json)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, help_text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {help_text}")
    run_dir = config.getoption("cwparity_run_dir")
    if run_dir:
        try:
            config.stash[SESSION_KEY] = ParitySession(Path(run_dir))
        except (HarnessError, OSError) as err:
            raise pytest.UsageError(f"cwparity: {err}") from None


def active_session(config: pytest.Config) -> ParitySession | None:
    return config.stash.get(SESSION_KEY, None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "route" in metafunc.fixturenames:
        session = active_session(metafunc.config)
        routes = [r.key for r in session.config.routes] if session else ["(no run)"]
        metafunc.parametrize("route", routes, ids=routes)


@pytest.fixture(scope="session")
def parity_session(request: pytest.FixtureRequest) -> ParitySession:
    session = active_session(request.config)
    if session is None:
        pytest.skip("cwparity: no run to judge (run through `cwparity demo` or `cwparity run`)")
    return session


@pytest.fixture(scope="session")
def monitoring_host(parity_session: ParitySession) -> Any:
    """The testinfra host of ``hosts.host``, connected once for every host and security suite.

    Skips when host checks are off; when the host cannot be reached, records one ERROR and fails.
    """
    from cwparity.hosts.common import connect, unreachable

    if not parity_session.config.hosts.enabled:
        pytest.skip("host checks are off (hosts.enabled: false in the run's config)")
    try:
        return connect(parity_session.config.hosts)
    except HarnessError as err:
        parity_session.record(unreachable("host.connect", "host", err))
        pytest.fail(str(err), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    parity = active_session(session.config)
    if parity is None:
        return
    paths = parity.write_reports()
    log.info("report written: %s", paths["html"])


def assert_checks(checks: Iterable[CheckResult]) -> None:
    """Fail with every failing check's reason; skip when nothing could be judged."""
    __tracebackhide__ = True
    checks = list(checks)
    bad = [c for c in checks if c.status in (Status.FAIL, Status.ERROR)]
    if bad:
        lines = [f"{c.status.value.upper()} {c.id}: {c.reason}" for c in bad[:20]]
        if len(bad) > 20:
            lines.append(f"... and {len(bad) - 20} more")
        pytest.fail("\n".join(lines), pytrace=False)
    if not checks or all(c.status is Status.SKIP for c in checks):
        reason = checks[0].reason if checks else "no check of this kind was produced"
        pytest.skip(reason)
