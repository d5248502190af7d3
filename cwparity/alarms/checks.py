"""The checks around the alarm timelines: each rule's PromQL lint, promtool on the rules files
and on the test built from the run, alerts reaching Alertmanager, team rules paired with nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cwparity.alarms import rules
from cwparity.alarms.model import AlarmSpec
from cwparity.config import NamedQuery, RunConfig
from cwparity.lint import lint_checks
from cwparity.results import CheckResult, Status
from cwparity.sources.alarms import read_watch

RULES_KIND = "alarm_rules"
ALERTMANAGER_KIND = "alertmanager"


def promtool(*args: str, cwd: Path | None = None, timeout: float = 60) -> tuple[int, str]:
    """Run Prometheus's own ``promtool``; (exit code, output). 127 when it is not installed."""
    binary = shutil.which("promtool")
    if not binary:
        return 127, "promtool not found (apt-get install prometheus)"
    done = subprocess.run(
        [binary, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def unpaired(rule: rules.TeamRule, config: RunConfig) -> CheckResult:
    how = f"{config.alarms.pair_by} {config.alarms.pair_key}"
    if config.alarms.pair_by == "name":
        how = "alert name"
    return CheckResult(
        f"alarm.unpaired[{rule.alert}]",
        "alarm",
        rule.alert,
        Status.WARN,
        f"warning: team rule {rule.alert} ({Path(rule.file).name}) pairs with no CloudWatch "
        f"alarm of this run (pairing by {how}): it is not judged",
    )


def lint(
    config: RunConfig,
    translated: Sequence[Any],
    team: Sequence[rules.TeamRule],
    scrape_interval: float,
) -> list[CheckResult]:
    """The project's PromQL lint on every generated rule expression and every team rule."""
    queries = [
        NamedQuery(name=f"alarm:{t.alarm.name}", expr=t.rule.expr) for t in translated if t.rule
    ]
    queries += [NamedQuery(name=f"rule:{r.alert}", expr=r.expr) for r in team]
    if not queries:
        return []
    prometheus = config.prometheus.model_copy(update={"queries": queries})
    return lint_checks(config.model_copy(update={"prometheus": prometheus}), scrape_interval)


def promtool_check(path: Path) -> CheckResult:
    cid = f"{RULES_KIND}.check[{path.name}]"
    code, output = promtool("check", "rules", str(path))
    if code == 127:
        return CheckResult(cid, RULES_KIND, path.name, Status.SKIP, output)
    summary = _summary(output, "SUCCESS") if code == 0 else _summary(output, "")
    status = Status.PASS if code == 0 else Status.FAIL
    return CheckResult(
        cid,
        RULES_KIND,
        path.name,
        status,
        f"promtool check rules: {summary}",
        details={"file": str(path)},
    )


def promtool_test(path: Path) -> CheckResult:
    """``promtool test rules``: Prometheus's rule engine on the run's samples must fire the
    translated rules exactly when CloudWatch's timeline was in ALARM."""
    cid = f"{RULES_KIND}.test[{path.name}]"
    code, output = promtool("test", "rules", path.name, cwd=path.parent, timeout=120)
    if code == 127:
        return CheckResult(cid, RULES_KIND, path.name, Status.SKIP, output)
    if code == 0:
        reason = (
            "promtool test rules: SUCCESS — Prometheus's rule engine, fed this run's samples, "
            "fires the translated rules in the periods CloudWatch's timeline is in ALARM"
        )
        return CheckResult(
            cid, RULES_KIND, path.name, Status.PASS, reason, details={"file": str(path)}
        )
    return CheckResult(
        cid,
        RULES_KIND,
        path.name,
        Status.FAIL,
        f"promtool test rules failed: {_summary(output, '')}",
        details={"file": str(path), "output": output[-2000:]},
    )


def not_tested(path: Path, why: str) -> CheckResult:
    return CheckResult(
        f"{RULES_KIND}.test[{path.name}]",
        RULES_KIND,
        path.name,
        Status.ERROR,
        f"the promtool test could not be built from the run's samples: {why}",
    )


def _summary(output: str, marker: str) -> str:
    lines = [" ".join(x.split()) for x in output.splitlines() if x.strip()]
    if marker:
        lines = [x for x in lines if marker in x] or lines
    else:
        lines = [x for x in lines if not x.startswith(("Checking", "Unit Testing"))] or lines
    return "; ".join(lines[:4])[:600] or "(no output)"


def alertmanager(
    fired: Sequence[tuple[AlarmSpec, str, float]], watch_file: Path
) -> list[CheckResult]:
    """For each translated rule that fired in Prometheus: did Alertmanager list it, with the
    alarm's labels, while the load ran?"""
    watch = read_watch(watch_file)
    found = []
    for spec, alert, first in fired:
        cid = f"{ALERTMANAGER_KIND}[{spec.name}]"
        if watch is None:
            reason = "no Alertmanager was watched (alarms.alertmanager.url is not set)"
            found.append(CheckResult(cid, ALERTMANAGER_KIND, spec.name, Status.SKIP, reason))
            continue
        found.append(_delivered(cid, spec, alert, first, watch))
    return found


def _delivered(
    cid: str, spec: AlarmSpec, alert: str, first: float, watch: dict[str, Any]
) -> CheckResult:
    seen = [
        a for a in watch.get("alerts") or [] if (a.get("labels") or {}).get("alertname") == alert
    ]
    fired_at = _clock(first)
    if not seen:
        errors = "; ".join(watch.get("errors") or []) or "none"
        return CheckResult(
            cid,
            ALERTMANAGER_KIND,
            spec.name,
            Status.FAIL,
            f"rule {alert} fired in Prometheus at {fired_at} but Alertmanager "
            f"({watch.get('url')}) never listed it in /api/v2/alerts (poll errors: {errors})",
        )
    alert_seen = min(seen, key=lambda a: a.get("first_seen") or 0)
    labels = alert_seen.get("labels") or {}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return CheckResult(
        cid,
        ALERTMANAGER_KIND,
        spec.name,
        Status.PASS,
        f"rule {alert} fired at {fired_at}; Alertmanager listed it in /api/v2/alerts from "
        f"{_clock(alert_seen.get('first_seen'))} with labels {shown}",
        observed={"first_seen": _clock(alert_seen.get("first_seen")), "labels": shown},
        details={"alertmanager": watch.get("url"), "startsAt": alert_seen.get("startsAt")},
    )


def _clock(stamp: Any) -> str:
    if not isinstance(stamp, int | float):
        return "?"
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%H:%M:%S")
