"""How many Prometheus series each route costs, and whether a label grows without bound.

A route's histogram is ``statuses × instances × (buckets + 2)`` series (``_bucket`` per ``le``,
plus ``_sum`` and ``_count``). Each new value of a label multiplies that: a path label holding
IDs (``request.path`` with ``/items/42``) adds a route's worth of series for every ID ever
requested, which is the unbounded cardinality Prometheus's docs warn about ("do not use labels
to store dimensions with high cardinality … such as user IDs"). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cwparity.results import CheckResult, Status

KIND = "cardinality"
#: routes listed in the check's table (the largest ones)
MAX_TABLE_ROUTES = 50
_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?=[^/]*\d)[0-9a-fA-F]{8,}|(?=[^/]*\d)[A-Za-z0-9_-]{20,})$"
)


@dataclass(frozen=True)
class RouteSeries:
    route: str
    series: int
    statuses: int
    instances: int
    buckets: int


def id_template(path: str) -> str:
    """``/items/42/edit`` → ``/items/{id}/edit``: ID-like segments (numbers, UUIDs, hex, tokens)."""
    return "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in path.split("/"))


def route_series(
    labels: Sequence[Mapping[str, str]], path_label: str, method_label: str
) -> list[RouteSeries]:
    """Series per route from the histogram's label sets (``/api/v1/series``)."""
    by_route: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for series in labels:
        route = f"{series.get(method_label, '').upper()} {series.get(path_label, '')}"
        by_route[route].append(series)
    return [
        RouteSeries(
            route,
            len(members),
            len({s.get("status", "") for s in members}),
            len({s.get("instance", "") for s in members}),
            len({s["le"] for s in members if "le" in s}),
        )
        for route, members in sorted(by_route.items())
    ]


def unbounded_paths(paths: Sequence[str]) -> dict[str, list[str]]:
    """ID templates that two or more concrete path values collapse into."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        template = id_template(path)
        if template != path:
            groups[template].append(path)
    return {t: sorted(p) for t, p in groups.items() if len(p) >= 2}


def judge_cardinality(
    job: str,
    job_series: int,
    routes: Sequence[RouteSeries],
    paths: Sequence[str],
    path_label: str,
) -> CheckResult:
    """The job's cardinality, per route; WARN with a finding when the path label holds IDs."""
    histogram = sum(r.series for r in routes)
    observed: dict[str, float | None] = {
        "job_series": job_series,
        "histogram_series": histogram,
        "routes": len(routes),
        "max_series_per_route": max((r.series for r in routes), default=0),
    }
    # the largest routes: a table of every route would grow with the unbounded label itself
    largest = sorted(routes, key=lambda r: (-r.series, r.route))[:MAX_TABLE_ROUTES]
    table = [
        {
            "route": r.route,
            "series": r.series,
            "statuses": r.statuses,
            "instances": r.instances,
            "buckets": r.buckets,
        }
        for r in sorted(largest, key=lambda r: r.route)
    ]
    summary = (
        f"job {job} has {job_series} series; the latency histogram {histogram} over "
        f"{len(routes)} routes (statuses × instances × (buckets + 2) each)"
    )
    grows = unbounded_paths(paths)
    if not grows:
        return CheckResult(
            f"{KIND}[{job}]",
            KIND,
            job,
            Status.PASS,
            summary,
            "window",
            observed,
            details={"routes": table},
        )
    template, examples = next(iter(sorted(grows.items(), key=lambda kv: -len(kv[1]))))
    per_route = round(histogram / max(len(routes), 1))
    finding = (
        f"the {path_label} label holds IDs ({', '.join(examples[:3])} … → {template}): every new "
        f"ID adds about {per_route} series, without bound; label by the URL rule instead "
        f"(prometheus_flask_exporter's group_by='url_rule') or drop the ID from the path"
    )
    observed["id_like_paths"] = sum(len(v) for v in grows.values())
    return CheckResult(
        f"{KIND}[{job}]",
        KIND,
        job,
        Status.WARN,
        f"{summary}; {finding}",
        "window",
        observed,
        details={"routes": table, "unbounded": grows, "finding": finding},
    )
