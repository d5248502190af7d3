"""The Prometheus host suite over real SSH, against a test host built like the guide's Linode.

The host: a network namespace (veth 10.201.N.1/30 <-> 10.201.N.2/30) with its own process table,
hostname and mounts (``unshare --pid --fork --kill-child --mount-proc --uts --mount``); its
accounts, /etc/prometheus, /var/lib/prometheus, /usr/local/bin and the unit file are bind-mounted
from a tree built by fixtures/hosts/make-guide-host.sh; Prometheus runs there as user prometheus
with the unit's ExecStart, the example app on its loopback, and Debian's sshd with its own keys and
config. No systemd: the service check is SKIP. Each twin breaks the host and sees its check FAIL.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
import yaml

from cwparity.config import RunConfig, parse_config
from cwparity.errors import SourceError
from cwparity.hosts.api import check_target
from cwparity.hosts.common import connect
from cwparity.hosts.grafana import host_checks
from cwparity.hosts.live import unit_service
from cwparity.hosts.prometheus_host import (
    check_binary,
    check_config_valid,
    check_dir,
    check_listening,
    check_process,
    check_scrape_job,
    check_unit,
    check_user,
    probe,
    prometheus_checks,
)
from cwparity.hosts.security import prometheus_security_checks
from cwparity.paths import APPS_DIR, GRAFANA_STANDIN, HOSTS_DIR
from cwparity.results import Status
from cwparity.stack.process import free_port

pytestmark = pytest.mark.integration

MAKE_HOST = HOSTS_DIR / "make-guide-host.sh"
TOOLS = ("ip", "unshare", "setpriv", "mount", "ss", "ps")
BIND_TARGETS = ("/etc/prometheus", "/var/lib/prometheus", "/usr/local/bin", "/etc/systemd/system")


def missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, bind mounts, useradd)"
    tools = [t for t in TOOLS if not shutil.which(t)]
    tools += [t for t in ("/usr/sbin/sshd", shutil.which("ssh") or "ssh") if not Path(t).exists()]
    tools += [t for t in ("prometheus", "promtool", "ssh-keygen") if not shutil.which(t)]
    if tools:
        return f"missing {', '.join(tools)} (scripts/setup --test installs them)"
    if missing := [t for t in BIND_TARGETS if not Path(t).is_dir()]:
        return f"bind-mount targets missing: {', '.join(missing)} (Debian prometheus package)"
    probe_ns = f"cwp-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe_ns], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe_ns], capture_output=True)
    return None


_MISSING = missing_prerequisite()
if _MISSING:
    pytestmark = [pytestmark, pytest.mark.skip(reason=_MISSING)]


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def free_subnet() -> int:
    """A 10.201.N.0/30 no interface or route on this machine uses (others use 10.200.x)."""
    taken = sh("ip", "-o", "addr").stdout + sh("ip", "route").stdout
    for n in random.sample(range(1, 250), 249):
        if f"10.201.{n}." not in taken:
            return n
    raise RuntimeError("no free 10.201.N.0/30 subnet")


@dataclass
class GuideHost:
    ns: str
    address: str
    tmp: Path
    root: Path
    ssh_config: Path
    key: Path
    process: subprocess.Popen[bytes]

    def config(self, **hosts: object) -> RunConfig:
        return parse_config(
            {
                "prometheus": {"url": f"http://{self.address}:9090", "scrape_interval": "1s"},
                "app": {"base_url": "http://127.0.0.1:8080"},
                "hosts": {
                    "enabled": True,
                    "host": f"ssh://root@{self.address}",
                    "ssh_config": str(self.ssh_config),
                    "ssh_identity_file": str(self.key),
                    "profile": "systemd",
                    "strict": True,
                    **hosts,
                },
            }
        )


def write_ssh_files(tmp: Path, address: str) -> tuple[Path, Path, Path]:
    for name in ("hostkey", "clientkey"):
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(tmp / name))
    (tmp / "authorized_keys").write_text((tmp / "clientkey.pub").read_text())
    host_type, host_key = (tmp / "hostkey.pub").read_text().split()[:2]
    (tmp / "known_hosts").write_text(f"{address} {host_type} {host_key}\n")
    sshd_config = tmp / "sshd_config"
    sshd_config.write_text(
        "\n".join(
            [
                f"ListenAddress {address}",
                "Port 22",
                f"HostKey {tmp / 'hostkey'}",
                f"PidFile {tmp / 'sshd.pid'}",
                f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "",
            ]
        )
    )
    ssh_config = tmp / "ssh_config"
    ssh_config.write_text(
        f"Host {address}\n  User root\n  IdentityFile {tmp / 'clientkey'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {tmp / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )
    return sshd_config, ssh_config, tmp / "clientkey"


def host_script(tmp: Path, root: Path, sshd_config: Path) -> Path:
    """What runs as PID 1 of the test host: its own mounts, the app, Prometheus, then sshd."""
    unit = unit_service((root / "etc/systemd/system/prometheus.service").read_text())
    exec_start = shlex.join(shlex.split(unit["ExecStart"]))
    binds = [
        f"mount --bind {root}/etc/{f} /etc/{f}"
        for f in ("passwd", "group", "shadow", "gshadow")
        if (root / "etc" / f).exists()
    ]
    binds += [f"mount --bind {root}{target} {target}" for target in BIND_TARGETS]
    app = f"{sys.executable} {APPS_DIR / 'prometheus_app.py'} --host 127.0.0.1 --port 8080"
    standin = f"{sys.executable} {GRAFANA_STANDIN} --prometheus http://127.0.0.1:9090 --port 3000"
    script = tmp / "host.sh"
    script.write_text(
        "\n".join(
            [
                "set -e",
                "hostname guide-host",
                "mount -t tmpfs tmpfs /run",
                "mkdir -p /run/sshd",
                *binds,
                f"cd {APPS_DIR} && {app} >{tmp}/app.log 2>&1 &",
                # the Grafana stand-in on the host's loopback :3000, for the Grafana port check
                f"{standin} >{tmp}/grafana.log 2>&1 &",
                f"setpriv --reuid=prometheus --regid=prometheus --init-groups {exec_start} >{tmp}/prometheus.log 2>&1 &",
                f"exec /usr/sbin/sshd -D -e -f {sshd_config} >{tmp}/sshd.log 2>&1",
                "",
            ]
        )
    )
    return script


def wait_ready(host: GuideHost, timeout: float = 60) -> None:
    """sshd accepts TCP, Prometheus is ready and has scraped the app (a readiness wait)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            break
        try:
            socket.create_connection((host.address, 22), timeout=1).close()
            answer = requests.get(f"http://{host.address}:9090/api/v1/targets", timeout=1).json()
            health = [
                t["health"]
                for t in answer["data"]["activeTargets"]
                if t["labels"]["job"] == "flask_app"
            ]
            listening = sh("ip", "netns", "exec", host.ns, "ss", "-Hltn", "sport = :3000").stdout
            if health == ["up"] and listening.strip():
                return
            last = f"flask_app target {health}"
        except (OSError, requests.RequestException, ValueError, KeyError) as err:
            last = str(err)
        time.sleep(0.2)
    logs = {
        name: (host.tmp / name).read_text()[-400:]
        for name in ("host.log", "prometheus.log", "sshd.log")
        if (host.tmp / name).exists()
    }
    raise RuntimeError(f"test host not ready ({last}): {json.dumps(logs)}")


def stop(ns: str, veth: str, process: subprocess.Popen[bytes] | None) -> None:
    pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    if process is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", veth, check=False)


@pytest.fixture(scope="module")
def guide_host() -> Iterator[GuideHost]:
    n = free_subnet()
    ns, veth, peer = (
        f"cwp-host-{os.getpid()}-{n}",
        f"cwh{n}a{os.getpid() % 10000}",
        f"cwh{n}b{os.getpid() % 10000}",
    )
    address = f"10.201.{n}.2"
    tmp = Path(tempfile.mkdtemp(prefix="cwp-guide-host-"))
    process = None
    try:
        env = {**os.environ, "SCRAPE_TARGET": "127.0.0.1:8080", "SCRAPE_INTERVAL": "1s"}
        subprocess.run(
            [str(MAKE_HOST), str(tmp / "root")], env=env, check=True, capture_output=True
        )
        sshd_config, ssh_config, key = write_ssh_files(tmp, address)
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
        sh("ip", "link", "set", peer, "netns", ns)
        sh("ip", "addr", "add", f"10.201.{n}.1/30", "dev", veth)
        sh("ip", "link", "set", veth, "up")
        sh("ip", "-n", ns, "addr", "add", f"{address}/30", "dev", peer)
        sh("ip", "-n", ns, "link", "set", peer, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        script = host_script(tmp, tmp / "root", sshd_config)
        unshare = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--uts", "--mount"]
        with (tmp / "host.log").open("wb") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", ns, *unshare, "bash", str(script)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        host = GuideHost(ns, address, tmp, tmp / "root", ssh_config, key, process)
        wait_ready(host)
        yield host
    finally:
        stop(ns, veth, process)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def changed(path: Path, text: str) -> Iterator[None]:
    """Rewrite a file of the host in place (bind-mounted files keep their inode), then restore."""
    before = path.read_text()
    path.write_text(text)
    try:
        yield
    finally:
        path.write_text(before)


def by_id(checks: list) -> dict:
    return {c.id: c for c in checks}


def test_the_guide_host_passes_over_real_ssh_with_systemd_checks_skipped(guide_host):
    config = guide_host.config()
    checks = by_id(prometheus_checks(config, connect(config.hosts)))
    service = checks.pop("host.service[prometheus]")
    assert service.status is Status.SKIP and "no systemd" in service.reason
    bad = {
        cid: f"{c.status}: {c.reason}" for cid, c in checks.items() if c.status is not Status.PASS
    }
    assert not bad
    assert set(checks) >= {
        "host.user[prometheus]",
        "host.dir[/etc/prometheus]",
        "host.dir[/var/lib/prometheus]",
        "host.binary[/usr/local/bin/prometheus]",
        "host.binary[/usr/local/bin/promtool]",
        "host.unit[prometheus.service]",
        "host.process[prometheus]",
        "host.listen[9090]",
        "host.config_valid[/etc/prometheus/prometheus.yml]",
        "host.scrape_job[flask_app]",
        "host.target[flask_app]",
    }
    assert "version" in checks["host.binary[/usr/local/bin/promtool]"].reason


def write_config(config: RunConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_unset=True)))
    return path


def without_aws(**extra: str) -> dict[str, str]:
    """The environment with no AWS credentials, region or endpoint: nothing could reach
    CloudWatch, so a run that needs it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **extra,
    }


def cwparity_hosts(config: RunConfig, tmp: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`cwparity hosts --config` as a user runs it, from a folder of its own."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = write_config(config, tmp / "cwparity.yaml")
    answer = subprocess.run(
        [sys.executable, "-m", "cwparity.cli", "hosts", "--config", str(path), "--out", str(tmp)],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=without_aws(),
        timeout=120,
    )
    results = next(tmp.glob("*/results.json"), None)
    assert results is not None, answer.stderr[-2000:]
    return answer, json.loads(results.read_text())


def no_cloudwatch(config: RunConfig) -> RunConfig:
    """The config with CloudWatch pointed at a port nothing listens on."""
    closed = f"http://127.0.0.1:{free_port()}"
    update = config.cloudwatch.model_copy(update={"endpoint_url": closed})
    return config.model_copy(update={"cloudwatch": update})


def test_cwparity_hosts_passes_with_no_cloudwatch_and_reports_only_host_checks(guide_host):
    answer, document = cwparity_hosts(no_cloudwatch(guide_host.config()), guide_host.tmp / "hosts")
    assert answer.returncode == 0, answer.stdout[-3000:] + answer.stderr[-2000:]
    assert "cwparity: verdict PASS" in answer.stdout
    assert {c["kind"] for c in document["checks"]} == {"host", "security"}
    assert document["run"]["mode"] == "hosts"
    assert document["verdict"] == "pass" and document["exit_code"] == 0
    statuses = {c["id"]: c["status"] for c in document["checks"]}
    assert statuses["host.target[flask_app]"] == "pass"
    assert statuses["security.prometheus.not_root"] == "pass"


@contextlib.contextmanager
def owned_by_root(path: Path) -> Iterator[None]:
    before = path.stat()
    os.chown(path, 0, 0)
    try:
        yield
    finally:
        os.chown(path, before.st_uid, before.st_gid)


@contextlib.contextmanager
def not_executable(path: Path) -> Iterator[None]:
    path.chmod(0o644)
    try:
        yield
    finally:
        path.chmod(0o755)


def edited(path: Path, old: str, new: str) -> contextlib.AbstractContextManager[None]:
    text = path.read_text()
    assert old in text
    return changed(path, text.replace(old, new))


def appended(path: Path, extra: str) -> contextlib.AbstractContextManager[None]:
    return changed(path, path.read_text() + extra)


def breakage(host: GuideHost, name: str) -> tuple[contextlib.AbstractContextManager[None], dict]:
    """One of the broken hosts the in-process tests below build, and the config to check it."""
    etc = host.root / "etc"
    config, unit = etc / "prometheus/prometheus.yml", etc / "systemd/system/prometheus.service"
    flag = " \\\n    --web.console.libraries=/etc/prometheus/console_libraries"

    def login_shell() -> contextlib.AbstractContextManager[None]:
        passwd = (etc / "passwd").read_text()
        line = next(entry for entry in passwd.splitlines() if entry.startswith("prometheus:"))
        return edited(etc / "passwd", line, line.rsplit(":", 1)[0] + ":/bin/bash")

    broken: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
        "data dir owned by root": lambda: owned_by_root(host.root / "var/lib/prometheus"),
        "target port wrong in the config": lambda: edited(
            config, "127.0.0.1:8080", "127.0.0.1:8081"
        ),
        "config promtool rejects": lambda: appended(
            config, "  - job_name: broken\n    scrape_interval: often\n"
        ),
        "config that is not YAML": lambda: appended(config, "\t- job_name: [broken\n"),
        "login shell": login_shell,
        "promtool not executable": lambda: not_executable(host.root / "usr/local/bin/promtool"),
        "unit without the console flags": lambda: edited(unit, flag, ""),
        "unit running as root": lambda: edited(unit, "User=prometheus", "User=root"),
    }
    overrides = {
        "target port wrong in the config": {"scrape_target": "127.0.0.1:8080"},
        "nothing on the expected port": {"listen_port": 9091},
        "target Prometheus does not scrape": {"scrape_target": "127.0.0.1:9999"},
    }
    return broken.get(name, contextlib.nullcontext)(), overrides.get(name, {})


BROKEN = {
    "data dir owned by root": ["host.dir[/var/lib/prometheus]"],
    "target port wrong in the config": ["host.scrape_job[flask_app]"],
    "config promtool rejects": ["host.config_valid[/etc/prometheus/prometheus.yml]"],
    "config that is not YAML": ["host.config_valid[/etc/prometheus/prometheus.yml]"],
    "login shell": ["host.user[prometheus]"],
    "promtool not executable": ["host.binary[/usr/local/bin/promtool]"],
    "unit without the console flags": ["host.unit[prometheus.service]"],
    "unit running as root": ["host.unit[prometheus.service]", "security.prometheus.not_root"],
    "nothing on the expected port": ["host.listen[9091]", "host.process[prometheus]"],
    "target Prometheus does not scrape": ["host.target[flask_app]"],
}


# each CLI run breaks the host in a few independent ways at once (every run is a full host check
# over SSH, seconds each); the unparseable config runs alone, to show it is reported once
BROKEN_TOGETHER = {
    "layout and target": [
        "data dir owned by root",
        "login shell",
        "unit without the console flags",
        "target Prometheus does not scrape",
    ],
    "root and promtool": ["unit running as root", "promtool not executable"],
    "config and port": [
        "target port wrong in the config",
        "config promtool rejects",
        "nothing on the expected port",
    ],
    "config that is not YAML": ["config that is not YAML"],
}


@pytest.mark.parametrize("group", list(BROKEN_TOGETHER))
def test_cwparity_hosts_fails_the_broken_hosts_with_exit_1(guide_host, group, tmp_path):
    names = BROKEN_TOGETHER[group]
    overrides: dict = {"prometheus": {}}
    with contextlib.ExitStack() as stack:
        for name in names:
            broken, prometheus = breakage(guide_host, name)
            stack.enter_context(broken)
            overrides["prometheus"].update(prometheus)
        config = no_cloudwatch(guide_host.config(**overrides))
        answer, document = cwparity_hosts(config, tmp_path)
    assert answer.returncode == 1, answer.stdout[-3000:] + answer.stderr[-2000:]
    statuses = {c["id"]: c for c in document["checks"]}
    for name in names:
        for cid in BROKEN[name]:
            assert statuses[cid]["status"] == "fail", (name, statuses[cid])
    assert {c["kind"] for c in document["checks"]} <= {"host", "security"}
    if group == "config that is not YAML":
        # one fault, reported once: the checks that need the file say they could not read it
        failed = {cid for cid, c in statuses.items() if c["status"] in ("fail", "error")}
        assert failed == set(BROKEN["config that is not YAML"])
        target = statuses["host.target[flask_app]"]
        assert target["status"] in ("pass", "skip")
        assert "could not read the config" in target["reason"]
        assert statuses["host.scrape_job[flask_app]"]["status"] == "skip"


def test_the_host_suite_runs_alone_under_pytest_from_the_config(guide_host, tmp_path):
    """As testinfra users run suites: `pytest --pyargs cwparity.suites --cwparity-config … -m
    host --junitxml …`, with testinfra's own --hosts naming the host (the config says local://)."""
    config = no_cloudwatch(guide_host.config(host="local://"))
    path = write_config(config, tmp_path / "cwparity.yaml")
    junit = tmp_path / "x.xml"
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "cwparity.suites",
            f"--cwparity-config={path}",
            f"--cwparity-out={tmp_path / 'reports'}",
            # paramiko: one connection for the whole suite (the other tests use ssh://)
            f"--hosts=paramiko://root@{guide_host.address}",
            "-m",
            "host",
            f"--junitxml={junit}",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=without_aws(),
        timeout=120,
    )
    assert answer.returncode == 0, answer.stdout[-3000:] + answer.stderr[-2000:]
    assert "cwparity: verdict PASS" in answer.stdout
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    names = {(case.get("classname", "").rsplit(".", 1)[-1], case.get("name")) for case in cases}
    assert {module for module, _ in names} == {"test_hosts"}
    assert ("test_hosts", "test_app_target_is_up_recent_and_at_the_configured_interval") in names
    run_dir = next((tmp_path / "reports").glob("*-parity"))
    document = json.loads((run_dir / "results.json").read_text())
    assert {c["kind"] for c in document["checks"]} == {"host"}
    assert document["verdict"] == "pass" and document["run"]["mode"] == "pytest"
    assert "host.service[prometheus]" in (run_dir / "junit.xml").read_text()
    assert (run_dir / "report.html").exists()


def test_security_checks_pass_on_the_guide_host(guide_host):
    config = guide_host.config()
    host = connect(config.hosts)
    live, layout = probe(config, host)
    checks = by_id(prometheus_security_checks(config, host, live, layout.promtool))
    assert checks["security.prometheus.not_root"].status is Status.PASS
    assert checks["security.prometheus.admin_api"].status is Status.PASS
    # the guide's Prometheus has no auth: a warning unless the profile requires auth
    assert checks["security.prometheus.auth"].reason.startswith("warning:")


def test_wrong_owner_on_the_data_dir_fails(guide_host):
    config = guide_host.config()
    data = guide_host.root / "var/lib/prometheus"
    owner = data.stat()
    os.chown(data, 0, 0)
    try:
        check = check_dir(connect(config.hosts), "/var/lib/prometheus", config.hosts)
    finally:
        os.chown(data, owner.st_uid, owner.st_gid)
    assert check.status is Status.FAIL
    assert check.reason == "owned by root:root, expected prometheus:prometheus"


def test_target_port_wrong_in_the_config_fails(guide_host):
    config = guide_host.config()
    path = guide_host.root / "etc/prometheus/prometheus.yml"
    host = connect(config.hosts)
    _, layout = probe(config, host)
    with changed(path, path.read_text().replace("127.0.0.1:8080", "127.0.0.1:8081")):
        check = check_scrape_job(host, layout, "flask_app", "127.0.0.1:8080")
    assert check.status is Status.FAIL
    assert "targets ['127.0.0.1:8081'], expected 127.0.0.1:8080" in check.reason


def test_invalid_config_fails_promtool_check(guide_host):
    config = guide_host.config()
    host = connect(config.hosts)
    _, layout = probe(config, host)
    path = guide_host.root / "etc/prometheus/prometheus.yml"
    with changed(path, path.read_text() + "  - job_name: broken\n    scrape_interval: often\n"):
        check = check_config_valid(host, layout)
    assert check.status is Status.FAIL
    assert check.reason.startswith("promtool check config failed:")


def test_a_login_shell_for_prometheus_fails(guide_host):
    config = guide_host.config()
    host = connect(config.hosts)
    _, layout = probe(config, host)
    path = guide_host.root / "etc/passwd"
    text = path.read_text()
    line = next(entry for entry in text.splitlines() if entry.startswith("prometheus:"))
    with changed(path, text.replace(line, line.rsplit(":", 1)[0] + ":/bin/bash")):
        check = check_user(host, config.hosts, layout)
    assert check.status is Status.FAIL
    assert check.reason == "login shell /bin/bash (guide: /bin/false)"


def test_a_promtool_that_cannot_run_fails(guide_host):
    config = guide_host.config()
    path = guide_host.root / "usr/local/bin/promtool"
    path.chmod(0o644)
    try:
        check = check_binary(connect(config.hosts), "/usr/local/bin/promtool")
    finally:
        path.chmod(0o755)
    assert check.status is Status.FAIL
    assert check.reason == "/usr/local/bin/promtool is not executable"


def test_a_unit_without_the_console_flags_or_running_as_root_fails(guide_host):
    config = guide_host.config()
    host = connect(config.hosts)
    live, layout = probe(config, host)
    path = guide_host.root / "etc/systemd/system/prometheus.service"
    text = path.read_text()
    with changed(
        path, text.replace(" \\\n    --web.console.libraries=/etc/prometheus/console_libraries", "")
    ):
        flags = check_unit(host, config.hosts)
    with changed(path, text.replace("User=prometheus", "User=root")):
        user = check_unit(host, config.hosts)
        security = by_id(prometheus_security_checks(config, host, live, layout.promtool))
    assert flags.status is Status.FAIL
    assert (
        flags.reason == "ExecStart lacks --web.console.libraries=/etc/prometheus/console_libraries"
    )
    assert user.status is Status.FAIL and user.reason == "User=root (expected prometheus)"
    assert security["security.prometheus.not_root"].status is Status.FAIL


def test_nothing_on_the_expected_port_fails(guide_host):
    config = guide_host.config(prometheus={"listen_port": 9091})
    host = connect(config.hosts)
    live, _ = probe(config, host)
    listen, process = check_listening(host, 9091), check_process(live, config.hosts)
    assert listen.status is Status.FAIL and listen.reason == "nothing listens on TCP 9091"
    assert process.status is Status.FAIL
    assert process.reason == "no Prometheus process: nothing listens on port 9091"


def test_a_target_prometheus_does_not_scrape_fails(guide_host):
    config = guide_host.config(prometheus={"scrape_target": "127.0.0.1:9999"})
    host = connect(config.hosts)
    _, layout = probe(config, host)
    check = check_target(config, host, layout, "127.0.0.1:9999")
    assert check.status is Status.FAIL
    assert check.reason == "Prometheus has no active target 127.0.0.1:9999 in job flask_app"


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_an_unreachable_host_is_one_line(guide_host, scheme):
    config = guide_host.config(host=f"{scheme}://root@{guide_host.address}:2222")
    with pytest.raises(SourceError) as caught:
        connect(config.hosts)
    message = str(caught.value)
    assert message.startswith(
        f"hosts.host = '{scheme}://root@{guide_host.address}:2222': cannot run a command there:"
    )
    assert "\n" not in message


def test_grafana_port_listens_and_its_service_is_skipped_without_systemd(guide_host):
    config = guide_host.config()
    host = connect(config.hosts)
    raw = {
        **config.model_dump(mode="json"),
        "grafana": {"enabled": True, "url": "http://127.0.0.1:1"},
    }
    checks = by_id(host_checks(parse_config(raw), host))
    assert checks["grafana.service[grafana-server]"].status is Status.SKIP
    assert "no systemd" in checks["grafana.service[grafana-server]"].reason
    assert checks["grafana.listen[3000]"].status is Status.PASS
    wrong = check_listening(host, 3001, "grafana")
    assert wrong.status is Status.FAIL and wrong.reason == "nothing listens on TCP 3001"


def test_the_guide_host_passes_through_an_ansible_inventory(guide_host):
    """The way Ansible users already name hosts: ``ansible://NAME?ansible_inventory=FILE``."""
    pytest.importorskip(
        "ansible", reason="ansible-core is not installed (pip install ansible-core)"
    )
    inventory = guide_host.tmp / "inventory.ini"
    inventory.write_text(
        "[monitoring]\n"
        f"monitoring-server ansible_host={guide_host.address} ansible_user=root "
        f"ansible_ssh_private_key_file={guide_host.key} "
        f"ansible_ssh_common_args='-F {guide_host.ssh_config}'\n"
    )
    config = guide_host.config(
        host=f"ansible://monitoring-server?ansible_inventory={inventory}",
        ssh_config=None,
        ssh_identity_file=None,
    )
    checks = by_id(prometheus_checks(config, connect(config.hosts)))
    assert checks["host.user[prometheus]"].status is Status.PASS
    assert checks["host.config_valid[/etc/prometheus/prometheus.yml]"].status is Status.PASS
    assert checks["host.target[flask_app]"].status is Status.PASS
    assert not [c.reason for c in checks.values() if c.status in (Status.FAIL, Status.ERROR)]
