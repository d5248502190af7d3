"""Coverage parity: every route one side saw in the window is on the other side too.

CloudWatch's side is what each (Endpoint, Method) dimension set carried in the window
(GetMetricData SampleCount per dimension set ListMetrics reports); Prometheus's is the
histogram's ``_count`` per (path, method) label pair, counted as the engine counts (resets,
series born inside the window, the uncertainty at the window's edges).

A route whose path is templated on one side (``/items/<int:id>``, ``/items/{id}``,
``/items/:id``) and concrete on the other (``/items/42``) is matched as such, not reported as a
gap. ``coverage.ignore`` leaves routes out, and says so. Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cwparity.config import RunConfig
from cwparity.results import CheckResult, Status

KIND = "coverage"
#: a path segment that is a template placeholder in Flask, OpenAPI or Express style
_PLACEHOLDER = re.compile(r"^(<(?:[a-z_]+:)?[A-Za-z_]\w*>|\{[A-Za-z_]\w*\}|:[A-Za-z_]\w*)$")
#: said of a gap counted from Prometheus's aggregates, not its raw samples (assess/inventory)
ROUGH = (
    "counted from Prometheus's aggregates at the window's edges, without the edges' "
    "uncertainty (more routes were in doubt than coverage counts exactly)"
)
WHY_METRICS = (
    "an app that publishes every request to CloudWatch (the guide's after_request hook) also "
    "publishes Prometheus's scrapes of /metrics, which prometheus_flask_exporter never counts"
)


@dataclass(frozen=True)
class PromRoute:
    """One (method, path) of the histogram: requests in the window, ± edge uncertainty."""

    requests: float
    uncertainty: float = 0.0
    series: int = 1
    #: counted from raw samples as the engine counts; False: from Prometheus's server-side
    #: aggregates at the window's edges (the route was not in doubt, or beyond the bound)
    exact: bool = True

    @property
    def certainly_seen(self) -> bool:
        """At least one request lies inside the window whatever the edges did."""
        return self.requests - self.uncertainty >= 0.5


@dataclass
class CoverageRow:
    method: str
    path: str
    cloudwatch: float = 0.0
    prometheus: PromRoute | None = None
    state: str = "both"
    #: the other side's concrete (or templated) paths this row stands for
    matched: list[str] = field(default_factory=list)
    ignored_by: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def is_template(path: str) -> bool:
    return any(_PLACEHOLDER.match(part) for part in path.split("/"))


def template_pattern(path: str) -> re.Pattern[str]:
    """A templated path as a regex over concrete paths: each placeholder is one segment."""
    parts = ["[^/]+" if _PLACEHOLDER.match(p) else re.escape(p) for p in path.split("/")]
    return re.compile("^" + "/".join(parts) + "$")


def ignore_rule(method: str, path: str, patterns: Sequence[str]) -> str | None:
    """The first ``coverage.ignore`` pattern matching the route (``/p`` or ``METHOD /p``)."""
    for pattern in patterns:
        wanted_method, _, wanted_path = pattern.rpartition(" ")
        if wanted_method and wanted_method.upper() != method:
            continue
        if fnmatch.fnmatchcase(path, wanted_path):
            return pattern
    return None


def coverage_rows(
    cloudwatch: Mapping[tuple[str, str], float],
    prometheus: Mapping[tuple[str, str], PromRoute],
    ignore: Sequence[str],
) -> list[CoverageRow]:
    """Both sides' routes side by side, keyed (method, path), templating matched."""
    rows: dict[tuple[str, str], CoverageRow] = {}
    for (method, path), count in cloudwatch.items():
        if count > 0:
            rows[(method, path)] = CoverageRow(method, path, cloudwatch=count)
    for (method, path), prom in prometheus.items():
        row = rows.setdefault((method, path), CoverageRow(method, path))
        row.prometheus = prom
    _match_templates(rows)
    for row in rows.values():
        row.ignored_by = ignore_rule(row.method, row.path, ignore)
        if row.state == "both":
            row.state = _state(row)
        if row.ignored_by:
            row.state = "ignored"
    return sorted(
        (r for r in rows.values() if r.state != "absorbed"), key=lambda r: (r.path, r.method)
    )


def _state(row: CoverageRow) -> str:
    prom = row.prometheus
    if row.cloudwatch > 0 and prom is None:
        return "cloudwatch_only"
    if row.cloudwatch > 0 and prom is not None and prom.requests + prom.uncertainty < 0.5:
        return "cloudwatch_only"
    if row.cloudwatch == 0 and prom is not None and prom.certainly_seen:
        return "prometheus_only"
    if row.cloudwatch == 0:
        return "idle"
    return "both"


def _match_templates(rows: dict[tuple[str, str], CoverageRow]) -> None:
    """A templated path on one side absorbs the concrete paths it matches on the other."""
    for (method, path), row in list(rows.items()):
        if not is_template(path) or row.state == "absorbed":
            continue
        pattern = template_pattern(path)
        templated_side = "prometheus" if row.prometheus is not None else "cloudwatch"
        for (other_method, other_path), other in rows.items():
            if other is row or other_method != method or not pattern.match(other_path):
                continue
            other_side = "prometheus" if other.prometheus is not None else "cloudwatch"
            if other_side == templated_side or other.state == "absorbed":
                continue
            _absorb(row, other)
        if row.matched:
            row.state = "templated"


def _absorb(row: CoverageRow, other: CoverageRow) -> None:
    row.matched.append(other.path)
    row.cloudwatch += other.cloudwatch
    if other.prometheus is not None:
        mine = row.prometheus or PromRoute(0.0, 0.0, 0)
        row.prometheus = PromRoute(
            mine.requests + other.prometheus.requests,
            mine.uncertainty + other.prometheus.uncertainty,
            mine.series + other.prometheus.series,
            mine.exact and other.prometheus.exact,
        )
    other.state = "absorbed"


def _observed(row: CoverageRow, series: Mapping[str, int]) -> dict[str, float | None]:
    prom = row.prometheus
    return {
        "cloudwatch_requests": row.cloudwatch,
        "prometheus_requests": round(prom.requests, 3) if prom else None,
        "prometheus_uncertainty": round(prom.uncertainty, 3) if prom and prom.exact else None,
        # the histogram's series for the route: statuses × instances × (buckets + 2)
        "prometheus_series": series.get(row.key, prom.series if prom else 0),
    }


def _reason(row: CoverageRow, default_ignore: bool) -> tuple[Status, str]:
    prom = row.prometheus
    seen = f"{prom.requests:.0f}" if prom else "0"
    if row.state == "ignored":
        why = f" ({WHY_METRICS})" if default_ignore else ""
        return Status.SKIP, (
            f"ignored by coverage.ignore {row.ignored_by!r}{why}: CloudWatch saw "
            f"{row.cloudwatch:.0f} requests, Prometheus {seen}"
        )
    rough = "" if prom is None or prom.exact else f"; {ROUGH}"
    if row.state == "cloudwatch_only":
        lacks = (
            "Prometheus has no series for it"
            if prom is None
            else "Prometheus's series for it counted none of them"
        )
        return Status.FAIL, (
            f"{lacks}: CloudWatch saw {row.cloudwatch:.0f} requests to {row.key} in the window "
            f"(not instrumented? excluded_paths, a blueprint without the exporter){rough}"
        )
    if row.state == "prometheus_only":
        return Status.FAIL, (
            f"CloudWatch has no data for it: Prometheus counted {seen} requests to {row.key} in "
            f"the window (the app does not publish it, or its put_metric_data fails){rough}"
        )
    if row.state == "templated":
        return Status.PASS, (
            f"path templating differs, not a gap: {', '.join(sorted(row.matched)[:5])} on one "
            f"side are {row.path} on the other (CloudWatch {row.cloudwatch:.0f}, Prometheus "
            f"{seen} requests)"
        )
    return Status.PASS, (
        f"on both sides: CloudWatch saw {row.cloudwatch:.0f} requests, Prometheus {seen}"
    )


def _declared_one_side(row: CoverageRow, config: RunConfig) -> str | None:
    """Side by side, a route mapped to one deployment (``routes[].sides``) is one-sided by design."""
    route = next((r for r in config.routes if r.key == row.key), None)
    if route is None or len(route.sides) != 1:
        return None
    if row.state == f"{route.sides[0]}_only":
        return route.sides[0]
    return None


def judge_coverage(
    rows: Sequence[CoverageRow], config: RunConfig, series: Mapping[str, int] | None = None
) -> list[CheckResult]:
    """One ``coverage[METHOD /path]`` check per route seen in the window; ``series`` is each
    route's number of histogram series, when known."""
    default_ignore = "ignore" not in config.coverage.model_fields_set
    checks = []
    for row in rows:
        if row.state == "idle":
            continue
        status, reason = _reason(row, default_ignore and row.ignored_by == "/metrics")
        side = _declared_one_side(row, config)
        if side is not None:
            status = Status.SKIP
            reason = f"mapped to the {side} deployment only (routes[].sides): {reason}"
        details: dict[str, object] = {"state": row.state}
        if row.matched:
            details["matched"] = sorted(row.matched)
        checks.append(
            CheckResult(
                f"coverage[{row.key}]",
                KIND,
                row.key,
                status,
                reason,
                "window",
                _observed(row, series or {}),
                details=details,
            )
        )
    return checks


def judge_unasked(unasked: Sequence[tuple[str, str]], bound: int) -> list[CheckResult]:
    """The routes coverage did not ask CloudWatch about (beyond ``bound``): not judged, said so."""
    if not unasked:
        return []
    keys = [f"{method} {path}" for method, path in unasked]
    reason = (
        f"{len(keys)} more routes ({', '.join(keys[:5])} …) than the {bound} coverage asks "
        "CloudWatch about beyond the mapped ones: not judged (a label that grows without bound? "
        "see cardinality; or map them, or leave them out with coverage.ignore)"
    )
    return [
        CheckResult(
            f"{KIND}[unjudged]",
            KIND,
            "unjudged",
            Status.SKIP,
            reason,
            "window",
            {"routes": float(len(keys))},
            details={"state": "unjudged", "examples": keys[:20]},
        )
    ]
