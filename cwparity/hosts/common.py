"""What the host, Grafana and security checks share: the testinfra host, results, warn mode.

A check is a function returning one ``CheckResult``. Checks of hardening or layout become
warnings when a profile is not strict (the demo): status WARN (reported, never changes the
verdict) with a reason that starts ``warning:``. A real defect (Prometheus down, config invalid,
target down) FAILs always.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import tempfile
from collections.abc import Callable
from typing import Any

from cwparity.errors import ConfigError, SourceError
from cwparity.hosts.settings import HostsConfig
from cwparity.results import CheckResult, Status
from cwparity.sources.prometheus_http import describe_failure

log = logging.getLogger(__name__)

NO_LOGIN_SHELLS = (
    "/bin/false",
    "/usr/bin/false",
    "/usr/sbin/nologin",
    "/sbin/nologin",
    "/bin/nologin",
)


class CannotJudge(Exception):
    """A check lacks what it needs to judge (a file it could not parse): it is SKIP with this
    reason, never a FAIL derived from what is missing. ``guarded`` turns it into that SKIP."""


def connect(hosts: HostsConfig) -> Any:
    """The testinfra host for ``hosts.host``; a bad spec or backend is one ConfigError line."""
    import testinfra

    kwargs: dict[str, Any] = {"sudo": hosts.sudo}
    if hosts.backend in ("ssh", "paramiko"):
        if hosts.ssh_identity_file:
            kwargs["ssh_identity_file"] = os.path.expanduser(hosts.ssh_identity_file)
        if hosts.ssh_config:
            kwargs["ssh_config"] = os.path.expanduser(hosts.ssh_config)
    if hosts.backend == "ssh":
        # one multiplexed connection for all commands (~3x faster); its master ssh exits 2 s
        # after the last command, not testinfra's 60 s. "%%" survives testinfra's %-formatting.
        kwargs["controlpath"] = os.path.join(tempfile.gettempdir(), "cwparity-ssh-%%C")
        kwargs["controlpersist"] = 2
    where = f"hosts.host = {host_label(hosts.host)!r}"
    try:
        host = testinfra.get_host(hosts.host, **kwargs)
    except Exception as err:
        raise ConfigError(f"{where}: {err}") from None
    try:
        answer = host.run("true")
    except Exception as err:  # testinfra raises on ssh's exit code 255, paramiko on connect
        failed = err.args[0] if err.args else None
        why = first_line(getattr(failed, "stderr", None) or str(err) or type(err).__name__)
        raise SourceError(f"{where}: cannot run a command there: {why}") from None
    if answer.rc != 0:
        why = first_line(answer.stderr) or f"exit code {answer.rc}"
        raise SourceError(f"{where}: cannot run a command there: {why}")
    return host


def host_label(spec: str) -> str:
    """The host spec with any password masked (the user name stays: it says where we went)."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", spec)


def unreachable(check_id: str, kind: str, err: Exception) -> CheckResult:
    """The one ERROR a suite records when the host cannot be reached at all."""
    return CheckResult(check_id, kind, "host", Status.ERROR, str(err), scope="host")


def result(
    check_id: str,
    kind: str,
    subject: str,
    ok: bool,
    reason: str,
    observed: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    return CheckResult(
        id=check_id,
        kind=kind,
        subject=subject,
        status=Status.PASS if ok else Status.FAIL,
        reason=reason,
        scope="host",
        observed=observed or {},
        details=details or {},
    )


def skip(check_id: str, kind: str, subject: str, reason: str) -> CheckResult:
    return CheckResult(check_id, kind, subject, Status.SKIP, reason, scope="host")


def warn(check_id: str, kind: str, subject: str, reason: str, **observed: Any) -> CheckResult:
    return CheckResult(check_id, kind, subject, Status.WARN, f"warning: {reason}", "host", observed)


def soften(check: CheckResult, strict: bool) -> CheckResult:
    """In a non-strict profile a failed hardening check is a warning (WARN), never a failure."""
    if strict or check.status is not Status.FAIL:
        return check
    return CheckResult(
        check.id,
        check.kind,
        check.subject,
        Status.WARN,
        f"warning: {check.reason}",
        check.scope,
        check.observed,
        check.tolerance,
        {**check.details, "warning": True},
    )


def guarded(check_id: str, kind: str, subject: str, fn: Callable[[], CheckResult]) -> CheckResult:
    """Run one check; a host or HTTP failure is that check's ERROR, not the suite's traceback,
    and a check that cannot judge (``CannotJudge``) is SKIP with its reason."""
    try:
        return fn()
    except ConfigError:
        raise
    except CannotJudge as err:
        return skip(check_id, kind, subject, str(err))
    except Exception as err:
        log.debug("check %s raised", check_id, exc_info=True)
        message = describe_failure(err)
        return CheckResult(
            check_id, kind, subject, Status.ERROR, f"could not check: {message}", scope="host"
        )


def run(host: Any, *argv: str) -> Any:
    """Run a command on the host with every argument quoted (testinfra's run takes a string)."""
    return host.run(" ".join(shlex.quote(a) for a in argv))


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def select(checks: list[CheckResult], prefix: str | tuple[str, ...]) -> list[CheckResult]:
    """The checks whose id starts with ``prefix`` (``host.dir`` matches ``host.dir[/etc/x]``)."""
    prefixes = (prefix,) if isinstance(prefix, str) else prefix
    return [c for c in checks if c.id.startswith(prefixes)]
