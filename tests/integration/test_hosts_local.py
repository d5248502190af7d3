"""The host suite over testinfra's local backend, ``process`` profile, on the embedded stack
(a real Prometheus run as user prometheus when root), and the Prometheus security checks against it
and against a second Prometheus with a web config (basic auth) and the admin API on.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import requests
import yaml

from cwparity.config import RunConfig, parse_config
from cwparity.hosts.api import check_target
from cwparity.hosts.common import connect
from cwparity.hosts.prometheus_host import check_config_valid, probe, prometheus_checks
from cwparity.hosts.security import prometheus_security_checks
from cwparity.results import Status
from cwparity.stack.embedded import EmbeddedStack
from cwparity.stack.process import ManagedProcess, free_port, http_ok

pytestmark = pytest.mark.integration

if os.geteuid() != 0:
    pytestmark = [
        pytestmark,
        pytest.mark.skip(
            reason="needs root: the embedded Prometheus runs as user prometheus only then"
        ),
    ]


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with EmbeddedStack() as running:
        yield running


def local_config(stack: EmbeddedStack, **hosts: object) -> RunConfig:
    raw = {
        "prometheus": {"scrape_interval": "1s"},
        "hosts": {
            "enabled": True,
            "host": "local://",
            "profile": "process",
            "strict": True,
            **hosts,
        },
    }
    return stack.configure(parse_config(raw))


def by_id(checks: list) -> dict:
    return {c.id: c for c in checks}


def run_checks(config: RunConfig) -> dict:
    return by_id(prometheus_checks(config, connect(config.hosts)))


def test_process_profile_passes_on_the_embedded_stack(stack):
    checks = run_checks(local_config(stack))
    skipped = {cid for cid, c in checks.items() if c.status is Status.SKIP}
    assert skipped == {"host.unit[prometheus.service]", "host.service[prometheus]"}
    bad = {cid: c.reason for cid, c in checks.items() if c.status not in (Status.PASS, Status.SKIP)}
    assert not bad
    prefixes = {cid.split("[")[0] for cid in checks}
    assert {"host.user", "host.dir", "host.binary", "host.process", "host.listen"} <= prefixes
    assert {"host.config_valid", "host.scrape_job", "host.target"} <= prefixes


def test_a_user_mismatch_fails_when_strict_and_warns_in_the_demo(stack):
    strict = run_checks(local_config(stack, prometheus={"user": "nobody"}))
    lenient = run_checks(local_config(stack, strict=False, prometheus={"user": "nobody"}))
    assert strict["host.process[nobody]"].status is Status.FAIL
    assert strict["host.process[nobody]"].reason.endswith("runs as prometheus (expected nobody)")
    assert lenient["host.process[nobody]"].status is Status.WARN
    assert lenient["host.process[nobody]"].reason.startswith("warning: pid ")


def test_an_invalid_live_config_fails_even_in_the_demo_profile(stack):
    config = local_config(stack, strict=False)
    host = connect(config.hosts)
    _, layout = probe(config, host)
    path = Path(layout.config_file)
    before = path.read_text()
    path.write_text(before + "scrape_configs: not-a-list\n")
    try:
        check = check_config_valid(host, layout)
    finally:
        path.write_text(before)
    assert check.status is Status.FAIL
    assert check.reason.startswith("promtool check config failed:")


def test_a_scrape_interval_other_than_the_runs_fails(stack):
    config = local_config(stack)
    config = config.model_copy(
        update={"prometheus": config.prometheus.model_copy(update={"scrape_interval": 15.0})}
    )
    host = connect(config.hosts)
    _, layout = probe(config, host)
    check = check_target(config, host, layout, config.app.base_url.removeprefix("http://"))
    assert check.status is Status.FAIL
    assert check.reason == "scrape interval 1s differs from prometheus.scrape_interval 15s"


def test_security_checks_on_the_embedded_prometheus(stack):
    config = local_config(stack)
    host = connect(config.hosts)
    live, layout = probe(config, host)
    checks = by_id(prometheus_security_checks(config, host, live, layout.promtool))
    assert checks["security.prometheus.not_root"].status is Status.PASS
    assert checks["security.prometheus.admin_api"].status is Status.PASS
    assert checks["security.prometheus.auth"].status is Status.WARN
    assert checks["security.prometheus.auth"].reason.startswith(
        "warning: Prometheus answers HTTP 200"
    )
    required = local_config(stack, prometheus={"require_auth": True, "require_tls": True})
    strict = by_id(prometheus_security_checks(required, host, live, layout.promtool))
    assert strict["security.prometheus.auth"].status is Status.FAIL
    assert strict["security.prometheus.tls"].status is Status.FAIL


@pytest.fixture(scope="module")
def guarded_prometheus(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    """A second Prometheus, as root, with basic auth (bcrypt) and the admin API on."""
    workdir = tmp_path_factory.mktemp("guarded")
    password = secrets.token_urlsafe(12)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    web = workdir / "web.yml"
    web.write_text(yaml.safe_dump({"basic_auth_users": {"cwparity": hashed}}))
    (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 1s\n")
    port = free_port()
    argv = [
        shutil.which("prometheus") or "prometheus",
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.config.file={web}",
        "--web.enable-admin-api",
    ]
    with ManagedProcess("prometheus-guarded", argv, workdir) as process:
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(
            lambda: (
                requests.get(f"{url}/-/ready", auth=("cwparity", password), timeout=1).status_code
                == 200
            ),
            timeout=30,
            what="ready",
        )
        assert not http_ok(f"{url}/-/ready")
        yield url, password, web


def test_auth_passes_and_admin_api_and_root_fail_on_a_guarded_prometheus(
    guarded_prometheus, monkeypatch
):
    url, password, web = guarded_prometheus
    monkeypatch.setenv("CWPARITY_TEST_PROM_PASSWORD", password)
    raw = {
        "prometheus": {
            "url": url,
            "basic_auth": {"username": "cwparity", "password_env": "CWPARITY_TEST_PROM_PASSWORD"},
        },
        "hosts": {
            "enabled": True,
            "profile": "process",
            "prometheus": {"require_auth": True, "web_config_file": str(web)},
        },
    }
    config = parse_config(raw)
    host = connect(config.hosts)
    live, layout = probe(config, host)
    checks = by_id(prometheus_security_checks(config, host, live, layout.promtool))
    assert checks["security.prometheus.auth"].status is Status.PASS
    assert checks["security.prometheus.web_config"].status is Status.PASS, checks[
        "security.prometheus.web_config"
    ].reason
    assert checks["security.prometheus.admin_api"].status is Status.FAIL
    assert checks["security.prometheus.admin_api"].reason.startswith("admin API enabled:")
    assert checks["security.prometheus.not_root"].status is Status.FAIL
    assert checks["security.prometheus.not_root"].reason.endswith("runs as root")
    assert password not in repr([c.to_dict() for c in checks.values()])
    raw["hosts"]["prometheus"]["web_config_file"] = "/etc/prometheus/web.yml"
    other = by_id(prometheus_security_checks(parse_config(raw), host, live, layout.promtool))
    assert other["security.prometheus.web_config"].status is Status.FAIL


def test_a_target_that_goes_down_fails(stack):
    """Last in the module: it stops the app (and starts it again for nothing that follows)."""
    config = local_config(stack)
    host = connect(config.hosts)
    _, layout = probe(config, host)
    target = config.app.base_url.removeprefix("http://")
    stack.apps[0].process.stop()
    check = check_target(config, host, layout, target)
    for _ in range(100):  # a readiness wait: until Prometheus has scraped the stopped app
        if check.status is not Status.PASS:
            break
        time.sleep(0.1)
        check = check_target(config, host, layout, target)
    assert check.status is Status.FAIL
    assert check.reason.startswith(f"target {target} is down:")
