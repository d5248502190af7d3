"""The Prometheus host as the guide builds it, checked with testinfra (one function per check).

``prometheus_checks`` runs them all for a profile: ``systemd`` (the guide's Linode layout) or
``process`` (a host without systemd, the embedded demo). Checks that do not apply are SKIP with
the reason; layout checks are warnings when the profile is not strict.
"""

from __future__ import annotations

import re
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


# --- alerting: rule files, Alertmanager, amtool (issue 11) -----------------------------------

_GLOB = re.compile(r"^[A-Za-z0-9_./*?\[\]{}@+=,:-]+$")
DEBIAN_ALERTMANAGER_CONFIG = "/etc/prometheus/alertmanager.yml"


def _off_or_missing(cid: str, subject: str, alarms: bool, what: str) -> CheckResult:
    """Missing alerting config FAILs when the run judges alarms; otherwise it is not expected."""
    if alarms:
        return result(cid, KIND, subject, False, what)
    return skip(cid, KIND, subject, f"{what}; alarms are off (alarms.enabled: false)")


def rule_file_patterns(config: dict[str, Any]) -> list[str]:
    return [str(p) for p in config.get("rule_files") or []]


def check_rule_files(host: Any, lay: Layout, alarms: bool) -> CheckResult:
    """``rule_files:`` is set, its globs match files on the host, and promtool accepts them."""
    cid = f"host.rule_files[{lay.config_file}]"
    patterns = rule_file_patterns(read_config(host, lay.config_file))
    if not patterns:
        what = f"{lay.config_file} has no rule_files: Prometheus evaluates no alerting rule"
        return _off_or_missing(cid, lay.config_file, alarms, what)
    odd = [p for p in patterns if not _GLOB.match(p)]
    if odd:
        return result(
            cid, KIND, lay.config_file, False, f"cannot expand rule_files pattern {odd[0]!r}"
        )
    base = lay.config_file.rsplit("/", 1)[0] if "/" in lay.config_file else "."
    loop = " ".join(patterns)  # checked above: only glob characters, expanded by the host's sh
    listing = run(
        host,
        "sh",
        "-c",
        f'cd {shlex.quote(base)} && for f in {loop}; do [ -f "$f" ] && echo "$f"; done',
    )
    files = [line.strip() for line in listing.stdout.splitlines() if line.strip()]
    observed = {"patterns": ", ".join(patterns), "files": len(files)}
    if not files:
        return result(
            cid,
            KIND,
            lay.config_file,
            False,
            f"rule_files {', '.join(patterns)} match no file",
            observed,
        )
    answer = run(
        host,
        "sh",
        "-c",
        f"cd {shlex.quote(base)} && {shlex.quote(lay.promtool)} check rules "
        + " ".join(shlex.quote(f) for f in files),
    )
    text = " ".join((answer.stdout + answer.stderr).split())
    if answer.rc != 0:
        return result(
            cid,
            KIND,
            lay.config_file,
            False,
            f"promtool check rules failed: {text[:300]}",
            observed,
        )
    counts = [int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", text)]
    reason = f"{sum(counts)} rules in {len(files)} file(s), promtool check rules: SUCCESS"
    return result(cid, KIND, lay.config_file, True, reason, {**observed, "rules": sum(counts)})


def alertmanager_targets(config: dict[str, Any]) -> list[str]:
    """Every Alertmanager the config sends alerts to, as URLs (static_configs)."""
    urls = []
    for entry in (config.get("alerting") or {}).get("alertmanagers") or []:
        if not isinstance(entry, dict):
            continue
        scheme = entry.get("scheme", "http")
        prefix = str(entry.get("path_prefix") or "").rstrip("/")
        for group in entry.get("static_configs") or []:
            urls += [f"{scheme}://{t}{prefix}" for t in (group or {}).get("targets") or []]
    return urls


def check_alertmanager(config: RunConfig, host: Any, lay: Layout) -> CheckResult:
    """An Alertmanager is configured, Prometheus has discovered it, and it answers /-/healthy
    from the host (where the config's addresses mean what they say)."""
    from cwparity.hosts.http import get_json, prometheus_session

    cid = "host.alertmanager"
    alarms = config.alarms.enabled
    targets = alertmanager_targets(read_config(host, lay.config_file))
    if not targets:
        what = f"{lay.config_file} sends alerts to no Alertmanager (no alerting.alertmanagers)"
        return _off_or_missing(cid, "alertmanager", alarms, what)
    status, body = get_json(
        prometheus_session(config.prometheus), f"{config.prometheus.url}/api/v1/alertmanagers"
    )
    active = [
        a.get("url", "") for a in ((body or {}).get("data") or {}).get("activeAlertmanagers") or []
    ]
    observed = {"configured": ", ".join(targets), "active_in_prometheus": len(active)}
    if status != 200 or not active:
        why = f"HTTP {status}" if status != 200 else "none active"
        return result(
            cid,
            KIND,
            "alertmanager",
            False,
            f"Prometheus has discovered no Alertmanager ({why}) of {', '.join(targets)}",
            observed,
        )
    down = [t for t in targets if not _healthy_from(host, t)]
    if down:
        return result(
            cid,
            KIND,
            "alertmanager",
            False,
            f"Alertmanager {', '.join(down)} does not answer /-/healthy from the host",
            observed,
        )
    return result(
        cid,
        KIND,
        "alertmanager",
        True,
        f"{', '.join(targets)} configured, discovered by Prometheus and healthy",
        observed,
    )


def _healthy_from(host: Any, url: str) -> bool:
    """GET url/-/healthy on the host with whichever client it has (curl, wget, python3)."""
    target = shlex.quote(f"{url}/-/healthy")
    probe = (
        f"if command -v curl >/dev/null; then curl -fsS -m 5 -o /dev/null {target}; "
        f"elif command -v wget >/dev/null; then wget -q -T 5 -O /dev/null {target}; "
        f"else python3 -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' {target}; fi"
    )
    return run(host, "sh", "-c", probe).rc == 0


def alertmanager_config_file(config: RunConfig, host: Any, targets: list[str]) -> tuple[str, str]:
    """(path, where it came from): the config key, the running Alertmanager's flags, or Debian's."""
    if config.alarms.alertmanager.config_file:
        return config.alarms.alertmanager.config_file, "alarms.alertmanager.config_file"
    for target in targets:
        port = url_port(target)
        live = find_process(host, port) if port else None
        flag = live.flag("--config.file") if live and live.argv else None
        if flag:
            return flag, f"the flags of the process on port {port}"
    return DEBIAN_ALERTMANAGER_CONFIG, "Debian's default"


def check_amtool(config: RunConfig, host: Any, lay: Layout) -> CheckResult:
    """``amtool check-config`` on the Alertmanager's config file, on the host."""
    targets = alertmanager_targets(read_config(host, lay.config_file))
    path, source = alertmanager_config_file(config, host, targets)
    cid = f"host.amtool[{path}]"
    if not targets and not config.alarms.alertmanager.config_file:
        what = "no Alertmanager is configured, so there is no config for amtool to check"
        return _off_or_missing(cid, path, config.alarms.enabled, what)
    if run(host, "sh", "-c", "command -v amtool").rc != 0:
        return result(
            cid, KIND, path, False, "amtool not found on the host (Debian: prometheus-alertmanager)"
        )
    answer = run(host, "amtool", "check-config", path)
    text = " ".join((answer.stdout + answer.stderr).split())
    observed = {"file": path, "found_by": source}
    if answer.rc != 0:
        return result(cid, KIND, path, False, f"amtool check-config failed: {text[:300]}", observed)
    return result(
        cid, KIND, path, True, f"amtool check-config: SUCCESS ({path}, from {source})", observed
    )


def alerting_checks(config: RunConfig, host: Any) -> list[CheckResult]:
    """The alerting half of the guide's host: rule files valid, an Alertmanager configured and
    reachable, its config valid. Every check runs guarded (a host error is that check's ERROR)."""
    _, lay = probe(config, host)
    plan = [
        (
            f"host.rule_files[{lay.config_file}]",
            lambda: check_rule_files(host, lay, config.alarms.enabled),
        ),
        ("host.alertmanager", lambda: check_alertmanager(config, host, lay)),
        ("host.amtool", lambda: check_amtool(config, host, lay)),
    ]
    return [guarded(cid, KIND, cid, fn) for cid, fn in plan]
