"""A real Prometheus (the Debian binary) with a generated config that scrapes the app."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

from cwparity.errors import StackError
from cwparity.stack.process import ManagedProcess, free_port, http_ok

log = logging.getLogger(__name__)

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus"


def scrape_config(targets: list[str], job: str, interval: float) -> dict[str, object]:
    return {
        "global": {"scrape_interval": f"{interval:g}s", "evaluation_interval": f"{interval:g}s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
    }


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
) -> tuple[ManagedProcess, str]:
    """Prometheus on a free loopback port, and its URL. With ``web_config``
    (``--web.config.file``: TLS, client certificates, basic auth) the caller says how to tell it
    is ready: ``ready(url)`` (a TLS caller asks https:// on the URL's port)."""
    binary = shutil.which("prometheus")
    if not binary:
        raise StackError(f"prometheus binary not found: {INSTALL_HINT}")
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(scrape_config(targets, job, interval)))
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
