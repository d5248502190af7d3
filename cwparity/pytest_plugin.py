"""The pytest plugin behind the suites: options, per-route parametrization, one evaluation a
session, the run folder written at the end.

Two ways in: ``--cwparity-run-dir`` judges a folder that ``cwparity demo|run|hosts|grafana``
prepared; ``--cwparity-config FILE`` (``pytest --pyargs cwparity.suites``, as testinfra users
run their suites) prepares that folder itself when the tests start, as ``cwparity run`` would:
load is sent only when parity tests are selected and no ``--cwparity-window`` is given.
testinfra's own ``--hosts``/``--connection``/``--ssh-config``/``--ssh-identity-file``/``--sudo``
replace the config's ``hosts`` keys.

Inactive (and cheap) unless one of the two is given: it loads in every pytest run of an
environment where cwparity is installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cwparity.comparison import explain as explain_comparison
from cwparity.config import RunConfig, load_config, redact
from cwparity.errors import ConfigError, HarnessError
from cwparity.results import CheckResult, Status
from cwparity.window import Window

if TYPE_CHECKING:
    from cwparity.run import RunPlan

log = logging.getLogger(__name__)

MARKERS = {
    "parity": "a CloudWatch-versus-Prometheus parity check",
    "host": "a check of the monitoring host (testinfra)",
    "grafana": "a check of Grafana through its HTTP API",
    "security": "a security check of the monitoring stack",
    "alarm": "a CloudWatch alarm against the Prometheus rules that replace it",
    "load": "needs Locust traffic",
}


class ParitySession:
    """One run folder being judged: evaluated lazily, once; every suite records into it.

    From ``--cwparity-run-dir`` the folder exists already; from ``--cwparity-config`` it is
    prepared (``prepare``) when the tests start, so the config is known at collection and the
    window (and load) follows from the tests selected.
    """

    def __init__(self, run_dir: Path | None = None, *, pending: PendingRun | None = None) -> None:
        from cwparity.run import RunPlan

        self.pending = pending
        self._plan: RunPlan | None = None
        if pending is None:
            assert run_dir is not None
            self._plan = RunPlan.load(run_dir)
            self.config = self._plan.config()
        else:
            self.config = pending.config
        self.prepare_error: HarnessError | None = None
        self.recorded: list[CheckResult] = []
        self.info: dict[str, Any] = {}
        self._evaluated = False
        self._parity: list[CheckResult] = []
        self.periods: list[dict[str, Any]] = []
        self.document: dict[str, Any] | None = None
        self.period_verdicts: dict[str, Any] | None = None
        self.charted: dict[str, Any] = {}
        #: the phase and signal of an interruption, once one happened
        self.interrupted: dict[str, str] | None = None

    @property
    def plan(self) -> RunPlan:
        if self._plan is None:
            self.prepare(parity=False)
        assert self._plan is not None
        return self._plan

    @property
    def prepared(self) -> bool:
        return self._plan is not None

    @property
    def run_dir(self) -> Path:
        return Path(self.plan.run_dir)

    def prepare(self, parity: bool) -> None:
        """Write the run folder of a ``--cwparity-config`` session (once). A source that cannot
        be reached or load that fails is recorded: the parity tests then fail with it."""
        if self._plan is not None or self.pending is None:
            return
        self._plan, self.prepare_error = self.pending.prepare(parity)

    def parity_checks(self) -> list[CheckResult]:
        from cwparity.run import error_check, evaluate

        if not self._evaluated:
            self._evaluated = True
            if self.prepare_error is not None:
                self._parity = [error_check(self.prepare_error)]
                return self._parity
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

    def write_reports(self, interrupted: bool = False) -> dict[str, Path]:
        """The run folder's record and views. Interrupted (before or while writing them), the
        record says so and is ERROR: checks the run did not reach are missing, not passed."""
        from cwparity import phases

        phases.enter("report", checkpoint=False)
        try:
            phases.reached("report")
            return self._write(interrupted)
        except KeyboardInterrupt:
            self._write(True)  # results.json first: the record survives a second interrupt
            raise

    def _write(self, interrupted: bool) -> dict[str, Path]:
        from cwparity.report import build_document, write_all
        from cwparity.run import interrupted_check

        checks, summary = self.all_checks(), self.run_summary()
        if interrupted:
            summary["interrupted"] = self.interrupted or self.note_interrupt()
            checks = [interrupted_check(summary["interrupted"]), *checks]
        self.document = build_document(checks, summary)
        return write_all(self.run_dir, self.document)

    def note_interrupt(self) -> dict[str, str]:
        """Where the interruption happened, read once (before the report phase is entered)."""
        from cwparity.run import interruption

        if self.interrupted is None:
            self.interrupted = interruption()
        return self.interrupted

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
            "cost": self.info.get("cost"),
            "alarms": self.info.get("alarms", []),
            "meta": self.plan.meta,
        }


@dataclass
class PendingRun:
    """``--cwparity-config``: the run folder to prepare when the tests start."""

    config_path: Path
    config: RunConfig
    out: Path | None
    window: Window | None

    @classmethod
    def from_options(cls, config: pytest.Config) -> PendingRun:
        from cwparity.flows import window_option

        path = Path(config.getoption("cwparity_config"))
        run_config = load_config(path)
        text = config.getoption("cwparity_window")
        window = window_option(text, run_config.window.period) if text else None
        out = config.getoption("cwparity_out")
        return cls(path.resolve(), run_config, Path(out) if out else None, window)

    def prepare(self, parity: bool) -> tuple[RunPlan, HarnessError | None]:
        """The run folder and its plan, as ``cwparity run`` writes them."""
        from cwparity.flows import new_run_dir, plan_run, recent_window, written_if_interrupted
        from cwparity.run import RunPlan

        run_dir = new_run_dir(self.config, self.out)
        meta = {"mode": "pytest", "started_at": datetime.now(UTC).isoformat()}
        try:
            with written_if_interrupted(self.config, run_dir, meta, self.window):
                plan = plan_run(self.config, self.config_path, run_dir, meta, parity, self.window)
            error = None
        except HarnessError as err:
            log.error("cwparity: %s", err)
            window = self.window or recent_window(self.config.window.period)
            plan, error = RunPlan(self.config_path, window, run_dir, None, meta), err
        plan.save()
        return plan, error


SESSION_KEY = pytest.StashKey[ParitySession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cwparity", "cwparity parity runs")
    group.addoption(
        "--cwparity-config",
        dest="cwparity_config",
        metavar="FILE",
        default=None,
        help="judge the endpoints in this config (YAML): the run folder is written as "
        "`cwparity run` writes it; load is sent when parity tests are selected and no "
        "--cwparity-window is given",
    )
    group.addoption(
        "--cwparity-window",
        dest="cwparity_window",
        metavar="START:END",
        default=None,
        help="judge this window, send no load: ISO 8601 times, unix seconds or now-15m "
        "(e.g. now-30m:now, or START/END)",
    )
    group.addoption(
        "--cwparity-out",
        dest="cwparity_out",
        metavar="DIR",
        default=None,
        help="reports folder for --cwparity-config (default: the config's report.output_dir)",
    )
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
    from_config = config.getoption("cwparity_config")
    if run_dir and from_config:
        raise pytest.UsageError("cwparity: give --cwparity-run-dir or --cwparity-config, not both")
    for option in ("cwparity_window", "cwparity_out"):
        if config.getoption(option) and not from_config:
            flag = "--" + option.replace("_", "-")
            raise pytest.UsageError(f"cwparity: {flag} needs --cwparity-config")
    if not run_dir and not from_config:
        return
    try:
        if from_config:
            session = ParitySession(pending=PendingRun.from_options(config))
        else:
            session = ParitySession(Path(run_dir))
        session.config = with_testinfra_options(session.config, config)
    except (HarnessError, OSError) as err:
        raise pytest.UsageError(f"cwparity: {err}") from None
    config.stash[SESSION_KEY] = session
    stop_on_sigterm()


def stop_on_sigterm() -> None:
    """SIGTERM (a CI job's timeout) stops the session as Ctrl-C does, so the session-finish
    hook writes the interrupted record; left alone when someone (the CLI) already handles it."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt_on_signal)


def pytest_unconfigure(config: pytest.Config) -> None:
    import signal
    import threading

    ours = signal.getsignal(signal.SIGTERM) is _interrupt_on_signal
    if ours and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt_on_signal(signum: int, frame: Any) -> None:
    from cwparity.phases import note_signal

    note_signal(signum)
    raise KeyboardInterrupt


def with_testinfra_options(run_config: RunConfig, config: pytest.Config) -> RunConfig:
    """testinfra's ``--hosts``, ``--connection``, ``--ssh-config``, ``--ssh-identity-file`` and
    ``--sudo`` in place of the config's ``hosts`` keys (one monitoring host)."""
    from pydantic import ValidationError

    from cwparity.hosts.settings import HostsConfig

    option = config.option
    update: dict[str, Any] = {}
    hosts = getattr(option, "hosts", None)
    if hosts:
        names = [name.strip() for name in hosts.split(",") if name.strip()]
        if len(names) != 1:
            raise ConfigError(f"--hosts {hosts!r}: cwparity checks one monitoring host")
        connection = getattr(option, "connection", None) or "paramiko"  # testinfra's default
        update["host"] = names[0] if "://" in names[0] else f"{connection}://{names[0]}"
    for key in ("ssh_config", "ssh_identity_file"):
        if getattr(option, key, None):
            update[key] = getattr(option, key)
    if getattr(option, "sudo", False):
        update["sudo"] = True
    if not update:
        return run_config
    try:
        merged = HostsConfig.model_validate({**run_config.hosts.model_dump(), **update})
    except ValidationError as err:
        first = err.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "host"
        option_name = "--hosts" if key == "host" else "--" + key.replace("_", "-")
        raise ConfigError(f"{option_name} {update.get(key)!r}: {first['msg']}") from None
    return run_config.model_copy(update={"hosts": merged})


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


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """A ``--cwparity-config`` run folder is prepared before the first test, so every suite
    (Grafana's window too) sees the window the parity tests judge: with load when any parity
    test is selected and no window was given."""
    parity = active_session(session.config)
    if parity is None or parity.prepared or session.config.option.collectonly:
        return
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return  # pytest stops on collection errors: send no load for a run that will not run
    if session.items:
        parity.prepare(any(item.get_closest_marker("parity") for item in session.items))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The reports, from what was judged. An interrupted session (Ctrl-C, SIGTERM) writes a
    partial record marked interrupted, ERROR: never a PASS from the checks it reached."""
    parity = active_session(session.config)
    if parity is None or not parity.prepared:
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    if interrupted:
        parity.note_interrupt()
    try:
        paths = parity.write_reports(interrupted)
    except KeyboardInterrupt:  # while writing them: the interrupted record was written
        session.exitstatus = pytest.ExitCode.INTERRUPTED
        return
    log.info("report written: %s", paths["html"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """``pytest --cwparity-config``: the verdict and where the report is, as the CLI says them."""
    parity = active_session(terminalreporter.config)
    if parity is None or parity.pending is None or parity.document is None:
        return
    document = parity.document
    summary = ", ".join(f"{n} {s}" for s, n in document["summary"].items() if n)
    terminalreporter.write_line(f"cwparity: verdict {document['verdict'].upper()} ({summary})")
    terminalreporter.write_line(f"cwparity: report {parity.run_dir / 'report.html'}")


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
