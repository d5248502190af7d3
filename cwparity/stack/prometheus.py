"""A real Prometheus (the Debian binary) with a generated config that scrapes the app."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

from cwparity.errors import StackError
from cwparity.stack.process import ManagedProcess, free_port, http_ok

log = logging.getLogger(__name__)

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus"


RULES_DIR = "rules"


def scrape_config(
    targets: list[str],
    job: str,
    interval: float,
    alertmanager: str | None = None,
    evaluation_interval: float | None = None,
    rules_dir: Path | None = None,
) -> dict[str, object]:
    evaluation = evaluation_interval or interval
    config: dict[str, object] = {
        "global": {"scrape_interval": f"{interval:g}s", "evaluation_interval": f"{evaluation:g}s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
    }
    if rules_dir is not None:
        config["rule_files"] = [str(rules_dir / "*.yml")]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def _run_as(workdir: Path) -> str | None:
    """Run as the guide's ``prometheus`` user when we are root and it exists, as a host would,
    provided that user can reach ``workdir`` (pytest's tmp dirs, for one, are root-only)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("prometheus")
    except KeyError:
        return None
    if not all(parent.stat().st_mode & 0o001 for parent in workdir.resolve().parents):
        log.debug("running prometheus as root: %s is not reachable for other users", workdir)
        return None
    return "prometheus"


def start_prometheus(
    workdir: Path,
    targets: list[str],
    job: str,
    interval: float,
    web_config: Path | None = None,
    ready: Callable[[str], bool] | None = None,
    alertmanager: str | None = None,
    evaluation_interval: float | None = None,
) -> tuple[ManagedProcess, str]:
    """Prometheus on a free loopback port, and its URL. With ``web_config``
    (``--web.config.file``: TLS, client certificates, basic auth) the caller says how to tell it
    is ready: ``ready(url)`` (a TLS caller asks https:// on the URL's port). It loads the rule
    files put in ``workdir/rules`` (see ``reload``) and, with ``alertmanager`` (host:port), sends
    their alerts there."""
    binary = shutil.which("prometheus")
    if not binary:
        raise StackError(f"prometheus binary not found: {INSTALL_HINT}")
    config_path = workdir / "prometheus.yml"
    rules_dir = workdir / RULES_DIR
    rules_dir.mkdir(exist_ok=True)
    config = scrape_config(targets, job, interval, alertmanager, evaluation_interval, rules_dir)
    config_path.write_text(yaml.safe_dump(config))
    data_dir = workdir / "tsdb"
    data_dir.mkdir()
    user = _run_as(workdir)
    if user:
        shutil.chown(data_dir, user, user)
        os.chmod(workdir, 0o755)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        # resend firing alerts every evaluation, not every minute: an alert that fires in the
        # seconds before a reloaded Prometheus rediscovers its Alertmanager is not held back
        f"--rules.alert.resend-delay={evaluation_interval or interval:g}s",
    ]
    if web_config is not None:
        argv.append(f"--web.config.file={web_config}")
    process = ManagedProcess("prometheus", argv, workdir, user=user)
    is_ready = ready or (lambda base: http_ok(f"{base}/-/ready"))
    process.wait_ready(lambda: is_ready(url), timeout=30, what="ready")
    return process, url


def wait_targets_up(process: ManagedProcess, url: str, job: str, timeout: float = 30) -> None:
    """Ready means every target of ``job`` has been scraped and is ``up``."""

    def all_up() -> bool:
        answer = requests.get(f"{url}/api/v1/targets", timeout=2).json()
        targets = [t for t in answer["data"]["activeTargets"] if t["labels"].get("job") == job]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    try:
        process.wait_ready(all_up, timeout=timeout, what=f"scraping job {job} with targets up")
    except StackError as err:
        raise StackError(str(err)) from None


def check_rules(paths: list[Path]) -> None:
    """``promtool check rules`` on each file first: its message names the file and the rule,
    which a rejected reload's log line does not."""
    promtool = shutil.which("promtool")
    if not promtool:
        raise StackError(f"promtool not found: {INSTALL_HINT}")
    for path in paths:
        done = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            lines = [x.strip() for x in (done.stdout + done.stderr).splitlines() if x.strip()]
            # promtool prints "FAILED:" and then one line per problem
            problems = [x for x in lines if x not in ("FAILED:",) and not x.startswith("Checking")]
            detail = problems[0] if problems else "FAILED"
            raise StackError(f"promtool check rules: {detail[:300]}")


def reload(process: ManagedProcess, url: str, alertmanager: bool, timeout: float = 30) -> None:
    """SIGHUP, then wait until Prometheus reports the reload (and, with an Alertmanager, has
    discovered it again: discovery updates are batched every 5 s, and an alert that fires
    before that waits for the next resend, a minute later)."""
    before = _runtime(url).get("lastConfigTime")
    process.signal(signal.SIGHUP)

    def reloaded() -> bool:
        info = _runtime(url)
        if info.get("reloadConfigSuccess") is False:
            raise _ReloadFailed()
        if info.get("lastConfigTime") == before:
            return False
        return not alertmanager or bool(_active_alertmanagers(url))

    try:
        process.wait_ready(reloaded, timeout=timeout, what="reloaded", fatal=(_ReloadFailed,))
    except _ReloadFailed:
        raise StackError(f"prometheus rejected the reloaded config: {process.tail(3)}") from None


class _ReloadFailed(Exception):
    pass


def _runtime(url: str) -> dict[str, object]:
    answer = requests.get(f"{url}/api/v1/status/runtimeinfo", timeout=5)
    answer.raise_for_status()
    return dict(answer.json()["data"])


def _active_alertmanagers(url: str) -> list[object]:
    answer = requests.get(f"{url}/api/v1/alertmanagers", timeout=5)
    answer.raise_for_status()
    return list(answer.json()["data"].get("activeAlertmanagers") or [])
