"""The parts of a run that can be judged on their own, and the suites' markers that select them.

``cwparity hosts``, ``cwparity grafana`` and ``cwparity run --only a,b`` run pytest over the suites
with the part's marker expression, exactly as ``pytest --pyargs cwparity.suites -m ...`` would;
the report then holds only what ran, and the exit code covers only that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cwparity.config import RunConfig
from cwparity.errors import ConfigError


@dataclass(frozen=True)
class Part:
    name: str
    #: a pytest ``-m`` expression over the suites' markers
    markers: str
    #: what it judges, for --help
    summary: str
    #: why the config cannot run it (None: it can)
    unavailable: Callable[[RunConfig], str | None]


def _needs_hosts(config: RunConfig) -> str | None:
    return None if config.hosts.enabled else "hosts.enabled is false (set it, and hosts.host)"


def _needs_grafana(config: RunConfig) -> str | None:
    return None if config.grafana.enabled else "grafana.enabled is false (set it, and grafana.url)"


def _needs_hosts_or_grafana(config: RunConfig) -> str | None:
    if config.hosts.enabled or config.grafana.enabled:
        return None
    return "hosts.enabled and grafana.enabled are both false"


PARTS: dict[str, Part] = {
    part.name: part
    for part in (
        Part(
            "parity", "parity", "CloudWatch against Prometheus (needs CloudWatch)", lambda c: None
        ),
        Part(
            "hosts",
            "host or (security and not grafana)",
            "the monitoring host and Prometheus's security (testinfra; no CloudWatch)",
            _needs_hosts,
        ),
        Part("grafana", "grafana", "Grafana's service, API, panel and security", _needs_grafana),
        Part(
            "security", "security", "Prometheus's and Grafana's security", _needs_hosts_or_grafana
        ),
    )
}


def parse_parts(text: str) -> tuple[str, ...]:
    """``parity,hosts`` as part names, each known (the ValueError names the valid ones)."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in PARTS]
    if unknown or not names:
        raise ValueError(f"unknown part {', '.join(unknown)!r}: choose from {', '.join(PARTS)}")
    return names


def marker_expression(names: Iterable[str]) -> str:
    return " or ".join(f"({PARTS[name].markers})" for name in names)


def require(names: Iterable[str], config: RunConfig, source: str) -> None:
    """A part asked for by name must be on in the config: say so in one line, not skip it."""
    for name in names:
        why = PARTS[name].unavailable(config)
        if why:
            raise ConfigError(f"{source}: the {name} checks are off: {why}")
