"""What is running on the host: the Prometheus process on the port, its flags, its config file.

The ``process`` profile (a host without systemd, the embedded demo) derives the config file, the
data dir and the binary from the running process's command line; the ``systemd`` profile expects
the guide's paths from the config.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

from cwparity.hosts.common import CannotJudge, first_line, run
from cwparity.hosts.settings import HostsConfig

_PID = re.compile(r"pid=(\d+)")


@dataclass(frozen=True)
class Live:
    """The Prometheus process found listening on the port (``pid`` None when there is none)."""

    port: int
    pid: int | None = None
    user: str | None = None
    argv: tuple[str, ...] = ()
    note: str = ""

    def flag(self, name: str) -> str | None:
        return flag_value(self.argv, name)


def flag_value(argv: tuple[str, ...] | list[str], name: str) -> str | None:
    """``--name=value`` or ``--name value`` (kingpin accepts both)."""
    for index, arg in enumerate(argv):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
    return None


def find_process(host: Any, port: int) -> Live:
    """The process holding the listening TCP port, through ``ss -p`` on the host."""
    answer = run(host, "ss", "-Hltnp", f"sport = :{port}")
    if answer.rc != 0:
        return Live(port, note=f"ss failed: {answer.stderr.strip()[:120]}")
    match = _PID.search(answer.stdout)
    if not match:
        if answer.stdout.strip():
            return Live(port, note="a socket listens but ss shows no process (need root?)")
        return Live(port, note=f"nothing listens on port {port}")
    pid = int(match.group(1))
    user = run(host, "ps", "-o", "user=", "-p", str(pid)).stdout.strip() or None
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string
    argv = tuple(part for part in cmdline.split("\0") if part)
    return Live(port, pid, user, argv)


@dataclass(frozen=True)
class Layout:
    """The paths the checks look at, for this profile."""

    config_file: str
    data_dir: str
    binaries: tuple[str, ...]
    promtool: str
    sources: dict[str, str] = field(default_factory=dict)


def layout(hosts: HostsConfig, live: Live, host: Any) -> Layout:
    spec = hosts.prometheus
    if hosts.profile == "systemd" or not live.argv:
        promtool = next((b for b in spec.binaries if b.endswith("promtool")), "promtool")
        return Layout(spec.config_file, spec.data_dir, tuple(spec.binaries), promtool, {})
    binary = live.argv[0]
    if "/" not in binary:
        binary = run(host, "sh", "-c", f"command -v {shlex.quote(binary)}").stdout.strip() or binary
    sibling = binary.rsplit("/", 1)[0] + "/promtool"
    promtool = sibling if host.file(sibling).exists else "promtool"
    return Layout(
        live.flag("--config.file") or "prometheus.yml",
        live.flag("--storage.tsdb.path") or "data/",
        (binary, promtool),
        promtool,
        {"config_file": "process flags", "data_dir": "process flags", "binaries": "process argv"},
    )


def read_config(host: Any, path: str) -> dict[str, Any]:
    """The live Prometheus config as data. A file that cannot be read or parsed raises
    ``CannotJudge``: no check may judge from a guess at its contents (promtool's check,
    ``host.config_valid``, says what is wrong with it)."""
    why = f"could not read the config {path}"
    try:
        text = host.file(path).content_string
    except Exception as err:  # testinfra raises on a failed cat (missing, no permission)
        raise CannotJudge(f"{why}: {first_line(str(err)) or type(err).__name__}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise CannotJudge(f"{why}: {where}{getattr(err, 'problem', None) or 'not YAML'}") from None
    if not isinstance(data, dict):
        raise CannotJudge(f"{why}: not a mapping of keys")
    return data


def job_config(config: dict[str, Any], job: str) -> dict[str, Any] | None:
    for scrape in config.get("scrape_configs") or []:
        if isinstance(scrape, dict) and scrape.get("job_name") == job:
            return scrape
    return None


def static_targets(scrape: dict[str, Any]) -> list[str]:
    targets: list[str] = []
    for group in scrape.get("static_configs") or []:
        targets.extend(str(t) for t in (group or {}).get("targets") or [])
    return targets


def discovery_kinds(scrape: dict[str, Any]) -> list[str]:
    """The service discovery a job uses besides static_configs (``file_sd_configs``, ...)."""
    return sorted(key for key, value in scrape.items() if key.endswith("_sd_configs") and value)


def job_interval(config: dict[str, Any], job: str) -> str:
    """The job's scrape interval as written: its own, else the global one, else 1m."""
    scrape = job_config(config, job) or {}
    return str(
        scrape.get("scrape_interval") or (config.get("global") or {}).get("scrape_interval") or "1m"
    )


def unit_service(text: str) -> dict[str, str]:
    """The [Service] keys of a systemd unit, continuation lines joined."""
    joined = re.sub(r"\\\s*\n", " ", text)
    section, keys = "", {}
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            keys[key.strip()] = value.strip()
    return keys
