"""The starter config ``cwparity discover --write FILE`` writes, and the table it prints.

Routes seen on both sides are mapped, with load weights in the proportion of the observed
traffic; routes on one side only are listed in a comment (a run's coverage checks FAIL them
while they carry traffic). Everything else is the guide's defaults. No secret is written:
only the *names* of environment variables carry over.
"""

from __future__ import annotations

from typing import Any

import yaml

from cwparity.assess.discover import Discovery
from cwparity.config import parse_config
from cwparity.judge.coverage import WHY_METRICS, CoverageRow

#: Locust weights are integers: the quietest mapped route gets 1, none more than this
MAX_WEIGHT = 100


def weights(rows: list[CoverageRow]) -> dict[str, int]:
    """Integer load weights in the proportion of each route's observed requests."""
    traffic = {
        r.key: max(r.cloudwatch, r.prometheus.requests if r.prometheus else 0.0) for r in rows
    }
    top = max(traffic.values(), default=0.0)
    if top <= 0:
        return dict.fromkeys(traffic, 1)
    floor = top / MAX_WEIGHT
    smallest = min((t for t in traffic.values() if t > 0), default=top)
    unit = max(smallest, floor)
    return {key: max(1, min(MAX_WEIGHT, round(t / unit))) for key, t in traffic.items()}


def _env_only(section: dict[str, Any]) -> dict[str, Any]:
    """A config section without literal secrets (``*_env`` names stay)."""
    clean = {k: v for k, v in section.items() if k not in ("password", "bearer_token")}
    auth = clean.get("basic_auth")
    if isinstance(auth, dict):
        if auth.get("password_env"):
            clean["basic_auth"] = {
                "username": auth["username"],
                "password_env": auth["password_env"],
            }
        else:
            clean.pop("basic_auth")
    return clean


def starter_config(found: Discovery) -> dict[str, Any]:
    config = found.config
    given = config.model_dump(mode="json", exclude_unset=True)
    cloudwatch = {**given.get("cloudwatch", {})}
    if found.cloudwatch_unit:
        cloudwatch["unit"] = found.cloudwatch_unit
    mapped = found.both_sides
    weight = weights(mapped)
    routes = [{"path": r.path, "method": r.method, "weight": weight[r.key]} for r in mapped]
    starter: dict[str, Any] = {
        "name": config.name if "name" in given else "parity",
        "cloudwatch": cloudwatch,
        "prometheus": _env_only({**given.get("prometheus", {})}),
        "app": {"base_url": found.app_url() or config.app.base_url},
        "routes": routes or [{"path": "/", "method": "GET", "weight": 1}],
        "window": given.get("window") or {"period": 60},
    }
    if "coverage" in given:
        starter["coverage"] = given["coverage"]
    return starter


def starter_yaml(found: Discovery, source: str) -> str:
    """The starter config as YAML with a header saying where it came from; validated first."""
    data = starter_config(found)
    parse_config(data, source="starter config")  # what validate would say, before writing
    window = found.inventory.window
    header = [
        f"# Written by `cwparity discover` from {source}, window {window.start.isoformat()} to "
        f"{window.end.isoformat()}.",
        "# Routes on both sides are mapped, weighted like the observed traffic; the guide's "
        "defaults elsewhere.",
    ]
    one_sided = [r for r in found.rows if r.state in ("cloudwatch_only", "prometheus_only")]
    for row in one_sided:
        side = "CloudWatch" if row.state == "cloudwatch_only" else "Prometheus"
        header.append(f"# {side} only (coverage FAILs it while it carries traffic): {row.key}")
    for row in found.rows:
        if row.state == "ignored":
            header.append(f"# ignored by coverage.ignore {row.ignored_by!r}: {row.key}")
    return "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


STATE_WORDS = {
    "both": "both",
    "templated": "both (templated)",
    "cloudwatch_only": "CloudWatch only",
    "prometheus_only": "Prometheus only",
    "ignored": "ignored",
    "idle": "no traffic in window",
}


def table(found: Discovery) -> str:
    """What is on both sides and what on one side only, as the terminal shows it."""
    config, window = found.config, found.inventory.window
    lines = [
        f"window {window.start.isoformat()} → {window.end.isoformat()}",
        f"CloudWatch {config.cloudwatch.namespace}/{config.cloudwatch.metric_name}: "
        f"{len(found.inventory.cloudwatch)} Endpoint/Method sets, unit "
        f"{found.cloudwatch_unit or 'unknown'}; {len(found.inventory.metrics)} metrics in the "
        f"namespace; other dimension sets: {len(found.inventory.other_dimension_sets)}",
        f"  alarms: {', '.join(a.name for a in found.alarms) or 'none'}",
        f"  log groups: {', '.join(g.name for g in found.log_groups[:10]) or 'none'}",
        f"Prometheus job {config.prometheus.job}: "
        + (
            ", ".join(
                f"{t.get('labels', {}).get('instance')} {t.get('health')}" for t in found.targets
            )
            or "no targets"
        ),
        f"  {config.prometheus.histogram}: {found.inventory.histogram_series} series; "
        + "; ".join(f"{k} {v[:8]}" for k, v in found.label_values.items()),
        f"  mapping: {config.cloudwatch.endpoint_dimension} ↔ {config.prometheus.path_label}, "
        f"{config.cloudwatch.method_dimension} ↔ {config.prometheus.method_label}, "
        f"{found.cloudwatch_unit or config.cloudwatch.unit} ↔ {config.prometheus.unit}",
        "",
        f"{'route':<32} {'CloudWatch':>10} {'Prometheus':>10} {'series':>6}  seen by",
    ]
    series = {r.route: r.series for r in found.inventory.route_series}
    for row in found.rows:
        prom = row.prometheus
        seen = STATE_WORDS.get(row.state, row.state)
        if row.state == "ignored" and row.ignored_by:
            seen += f" (coverage.ignore {row.ignored_by!r})"
        if row.matched:
            seen += f": {', '.join(sorted(row.matched)[:3])}"
        lines.append(
            f"{row.key:<32} {_number(row.cloudwatch):>10} {_number(prom.requests if prom else None):>10} "
            f"{series.get(row.key, 0):>6}  {seen}"
        )
    if any(r.state == "ignored" and r.ignored_by == "/metrics" for r in found.rows):
        lines.append(f"note: /metrics is ignored by default (coverage.ignore): {WHY_METRICS}")
    lines += [f"note: {p}" for p in found.problems]
    return "\n".join(lines)
