"""The Prometheus host as the guide builds it, checked with testinfra (one function per check).

``prometheus_checks`` runs them all for a profile: ``systemd`` (the guide's Linode layout) or
``process`` (a host without systemd, the embedded demo). Checks that do not apply are SKIP with
the reason; layout checks are warnings when the profile is not strict.
"""

from __future__ import annotations

import shlex
from typing import Any

from cwparity.config import RunConfig
from cwparity.hosts import api
from cwparity.hosts.common import (
    NO_LOGIN_SHELLS,
    first_line,
    guarded,
    result,
    run,
    skip,
    soften,
)
from cwparity.hosts.http import url_hostport, url_port
from cwparity.hosts.live import (
    Layout,
    Live,
    discovery_kinds,
    find_process,
    job_config,
    layout,
    read_config,
    static_targets,
    unit_service,
)
from cwparity.hosts.settings import HostsConfig
from cwparity.results import CheckResult

KIND = "host"


def check_user(host: Any, hosts: HostsConfig, lay: Layout) -> CheckResult:
    name = hosts.prometheus.user
    cid = f"host.user[{name}]"
    user = host.user(name)
    if not user.exists:
        return result(cid, KIND, name, False, f"user {name} does not exist")
    shell, home = user.shell, user.home
    observed = {"uid": user.uid, "shell": shell, "home": home}
    if shell not in NO_LOGIN_SHELLS:
        return result(cid, KIND, name, False, f"login shell {shell} (guide: /bin/false)", observed)
    home_exists = host.file(home).exists
    if home_exists and home not in (lay.data_dir, hosts.prometheus.data_dir):
        return result(
            cid, KIND, name, False, f"home {home} exists (guide: --no-create-home)", observed
        )
    note = "no home directory" if not home_exists else f"home is the data dir {home}"
    return result(cid, KIND, name, True, f"uid {user.uid}, shell {shell}, {note}", observed)


def check_dir(host: Any, path: str, hosts: HostsConfig) -> CheckResult:
    cid = f"host.dir[{path}]"
    spec = hosts.prometheus
    entry = host.file(path)
    if not entry.exists:
        return result(cid, KIND, path, False, f"{path} does not exist")
    if not entry.is_directory:
        return result(cid, KIND, path, False, f"{path} is not a directory")
    owner, group = entry.user, entry.group
    observed = {"user": owner, "group": group, "mode": oct(entry.mode)}
    ok = owner == spec.user and group == spec.group
    reason = (
        f"owned by {owner}:{group}"
        if ok
        else f"owned by {owner}:{group}, expected {spec.user}:{spec.group}"
    )
    return result(cid, KIND, path, ok, reason, observed)


def check_binary(host: Any, path: str) -> CheckResult:
    cid = f"host.binary[{path}]"
    entry = host.file(path)
    if not entry.exists:
        return result(cid, KIND, path, False, f"{path} not found")
    if not entry.mode & 0o111:
        return result(cid, KIND, path, False, f"{path} is not executable")
    answer = run(host, path, "--version")
    version = first_line(answer.stdout or answer.stderr)
    if answer.rc != 0 or "version" not in version:
        return result(cid, KIND, path, False, f"{path} --version failed: {version[:120]}")
    return result(cid, KIND, path, True, version)


def check_unit(host: Any, hosts: HostsConfig) -> CheckResult:
    spec = hosts.prometheus
    cid = f"host.unit[{spec.service}.service]"
    entry = host.file(spec.unit_file)
    if not entry.exists:
        return result(cid, KIND, spec.unit_file, False, f"unit file {spec.unit_file} not found")
    keys = unit_service(entry.content_string)
    argv = shlex.split(keys.get("ExecStart", ""))
    missing = [
        flag
        for flag in (
            f"--config.file={spec.config_file}",
            f"--storage.tsdb.path={spec.data_dir}",
            *spec.unit_flags,
        )
        if flag not in argv
    ]
    observed = {"User": keys.get("User"), "ExecStart": keys.get("ExecStart")}
    if keys.get("User") != spec.user:
        return result(
            cid,
            KIND,
            spec.unit_file,
            False,
            f"User={keys.get('User')} (expected {spec.user})",
            observed,
        )
    if missing:
        return result(
            cid, KIND, spec.unit_file, False, f"ExecStart lacks {', '.join(missing)}", observed
        )
    return result(
        cid,
        KIND,
        spec.unit_file,
        True,
        f"runs {argv[0]} as {spec.user} with the guide's flags",
        observed,
    )


def has_systemd(host: Any) -> bool:
    """systemd's own test (sd_booted): /run/systemd/system exists when PID 1 is systemd."""
    return bool(host.file("/run/systemd/system").is_directory)


def check_service(host: Any, name: str, kind: str = KIND) -> CheckResult:
    cid = f"{kind}.service[{name}]"
    if not has_systemd(host):
        return skip(
            cid,
            kind,
            name,
            "no systemd on this host (PID 1 is not systemd): cannot tell active/enabled",
        )
    service = host.service(name)
    running, enabled = service.is_running, service.is_enabled
    ok = running and enabled
    reason = f"{name}: {'active' if running else 'not active'}, {'enabled' if enabled else 'not enabled'}"
    return result(cid, kind, name, ok, reason, {"active": running, "enabled": enabled})


def check_process(live: Live, hosts: HostsConfig) -> CheckResult:
    user = hosts.prometheus.user
    cid = f"host.process[{user}]"
    if live.pid is None:
        return result(cid, KIND, "prometheus", False, f"no Prometheus process: {live.note}")
    observed = {"pid": live.pid, "user": live.user, "binary": live.argv[0] if live.argv else None}
    if live.argv and not live.argv[0].endswith("prometheus"):
        return result(
            cid,
            KIND,
            "prometheus",
            False,
            f"port {live.port} is held by {live.argv[0]}, not prometheus",
            observed,
        )
    ok = live.user == user
    reason = f"pid {live.pid} runs as {live.user}" + ("" if ok else f" (expected {user})")
    return result(cid, KIND, "prometheus", ok, reason, observed)


def check_listening(host: Any, port: int, kind: str = KIND) -> CheckResult:
    """Listening on the port on any address (testinfra's socket() wants one exact address)."""
    cid = f"{kind}.listen[{port}]"
    answer = run(host, "ss", "-Hltn", f"sport = :{port}")
    lines = [line.split() for line in answer.stdout.splitlines()]
    addresses = sorted({fields[3] for fields in lines if len(fields) > 3})
    if answer.rc != 0:
        return result(cid, kind, str(port), False, f"ss failed: {first_line(answer.stderr)}")
    if not addresses:
        return result(cid, kind, str(port), False, f"nothing listens on TCP {port}")
    reason = f"listening on {', '.join(addresses)}"
    return result(cid, kind, str(port), True, reason, {"addresses": ", ".join(addresses)})


def check_config_valid(host: Any, lay: Layout) -> CheckResult:
    cid = f"host.config_valid[{lay.config_file}]"
    answer = run(host, lay.promtool, "check", "config", lay.config_file)
    text = (answer.stdout + answer.stderr).strip()
    if answer.rc == 0:
        success = [line.strip() for line in text.splitlines() if "SUCCESS" in line]
        summary = success[0] if success else first_line(text)
        return result(cid, KIND, lay.config_file, True, f"promtool check config: {summary}")
    failed = [line for line in text.splitlines() if "FAILED" in line or "error" in line.lower()]
    detail = (failed[0] if failed else first_line(text))[:200]
    return result(
        cid,
        KIND,
        lay.config_file,
        False,
        f"promtool check config failed: {detail}",
        {"rc": answer.rc},
    )


def check_scrape_job(host: Any, lay: Layout, job: str, target: str | None) -> CheckResult:
    """The config file has the app's job; with a configured target, the job lists it."""
    cid = f"host.scrape_job[{job}]"
    scrape = job_config(read_config(host, lay.config_file), job)
    if scrape is None:
        return result(cid, KIND, job, False, f"{lay.config_file} has no scrape job {job!r}")
    targets, discovery = static_targets(scrape), discovery_kinds(scrape)
    observed = {"targets": ", ".join(targets), "discovery": ", ".join(discovery)}
    if not targets and not discovery:
        return result(cid, KIND, job, False, f"job {job} has no targets and no discovery", observed)
    if target is None or (target not in targets and discovery):
        # no target to look for, or one service discovery may provide: the targets API judges
        found = ", ".join(targets + discovery)
        return result(cid, KIND, job, True, f"job {job} scrapes {found}", observed)
    ok = target in targets
    reason = (
        f"job {job} scrapes {target}" if ok else f"job {job} targets {targets}, expected {target}"
    )
    return result(cid, KIND, job, ok, reason, observed)


def expected_target(config: RunConfig) -> str | None:
    """The target the app's job must hold: the configured one, the app's own address only when
    the user says Prometheus reaches the app there, else none (every target must be up)."""
    spec = config.hosts.prometheus
    if spec.scrape_target:
        return spec.scrape_target
    if spec.scrape_target_from_app:
        return url_hostport(config.target_url("prometheus"))
    return None


def probe(config: RunConfig, host: Any) -> tuple[Live, Layout]:
    """The Prometheus process on the configured port and the paths this profile checks."""
    hosts = config.hosts
    port = hosts.prometheus.listen_port or url_port(config.prometheus.url)
    live = find_process(host, port)
    return live, layout(hosts, live, host)


def prometheus_checks(config: RunConfig, host: Any) -> list[CheckResult]:
    """Every Prometheus host check of the configured profile, in the guide's order.

    Layout checks (``hardening``) are warnings when the profile is not strict; a Prometheus that
    is not running, not listening, badly configured or not scraping the app FAILs always.
    """
    hosts, spec = config.hosts, config.hosts.prometheus
    live, lay = probe(config, host)
    job, target = config.prometheus.job, expected_target(config)
    systemd = hosts.profile == "systemd"
    plan: list[tuple[str, Any, bool]] = [
        (f"host.user[{spec.user}]", lambda: check_user(host, hosts, lay), True),
    ]
    if systemd:
        plan.append(
            (f"host.dir[{spec.config_dir}]", lambda: check_dir(host, spec.config_dir, hosts), True)
        )
    plan.append((f"host.dir[{lay.data_dir}]", lambda: check_dir(host, lay.data_dir, hosts), False))
    plan += [
        (f"host.binary[{b}]", lambda b=b: check_binary(host, b), systemd) for b in lay.binaries
    ]
    if systemd:
        plan.append((f"host.unit[{spec.service}.service]", lambda: check_unit(host, hosts), True))
        plan.append(
            (f"host.service[{spec.service}]", lambda: check_service(host, spec.service), False)
        )
    plan += [
        # running as another user is hardening; not running at all is a defect
        (f"host.process[{spec.user}]", lambda: check_process(live, hosts), live.pid is not None),
        (f"host.listen[{live.port}]", lambda: check_listening(host, live.port), False),
        (f"host.config_valid[{lay.config_file}]", lambda: check_config_valid(host, lay), False),
        (f"host.scrape_job[{job}]", lambda: check_scrape_job(host, lay, job, target), False),
        (f"host.target[{job}]", lambda: api.check_target(config, host, lay, target), False),
    ]
    checks = []
    for cid, fn, hardening in plan:
        check = guarded(cid, KIND, cid, fn)
        # a data dir owned by the user Prometheus really runs as works: only the layout differs
        writable = check.observed.get("user") == live.user and live.user is not None
        checks.append(soften(check, hosts.strict) if hardening or writable else check)
    if not systemd:
        reason = "process profile: no unit file or service manager to check"
        checks.append(skip(f"host.unit[{spec.service}.service]", KIND, spec.unit_file, reason))
        checks.append(skip(f"host.service[{spec.service}]", KIND, spec.service, reason))
    return checks
