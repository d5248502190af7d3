"""What exists on both sides in a window: CloudWatch's dimension sets, Prometheus's routes.

One reader for ``cwparity discover`` and for the coverage checks every run makes. A job may hold
any number of paths (an ID in a path label makes thousands), so nothing here grows with them
beyond one small row per route:

- Prometheus: server-side aggregates per (path, method), evaluated at the window's edges
  (:func:`prometheus_aggregates`): each route's ``_count`` at both edges and its resets, its
  ``_count`` series per status and instance, its histogram series, and the job's series. No
  raw sample of an unmapped route is read, except for the routes the two sides disagree on
  (one side saw none) or whose counter reset: those, at most ``MAX_EXACT_ROUTES``, are counted
  from raw ``_count`` samples as the engine counts them (resets, series born inside the window,
  the uncertainty at the window's edges).
- CloudWatch: ListMetrics (paged) for the metric's dimension sets; ListMetrics knows two weeks,
  not the window, so GetMetricData asks the SampleCount over the window of the mapped routes,
  of the routes Prometheus saw requests on, and of the other listed sets, at most
  ``MAX_ASKED_ROUTES`` beyond the mapped ones (two GetMetricData calls of 500 queries per page
  of periods); the routes beyond the bound are not judged, and a check says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cwparity.align import Sampling, boundaries, route_counters
from cwparity.config import RunConfig
from cwparity.judge.cardinality import RouteSeries
from cwparity.judge.coverage import PromRoute, ignore_rule
from cwparity.samples import SeriesSet
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

Dimensions = cloudwatch.Dimensions
Key = tuple[str, str]

#: routes counted from raw samples beyond what the server-side aggregates tell
MAX_EXACT_ROUTES = 200
#: routes beyond the mapped ones whose window CloudWatch is asked for (GetMetricData queries)
MAX_ASKED_ROUTES = 1000


@dataclass
class Inventory:
    """Both sides' routes in ``window``, keyed (method, path)."""

    window: Window
    cloudwatch: dict[Key, float]
    prometheus: dict[Key, PromRoute]
    #: every (metric name, dimension set) ListMetrics reported for the namespace
    metrics: list[tuple[str, Dimensions]] = field(default_factory=list)
    #: dimension sets of the metric that are not Endpoint + Method (+ extra_dimensions)
    other_dimension_sets: list[Dimensions] = field(default_factory=list)
    #: the histogram's series per route in the window
    route_series: list[RouteSeries] = field(default_factory=list)
    job_series: int = 0
    #: routes one side listed that CloudWatch was not asked about (beyond MAX_ASKED_ROUTES)
    unasked: list[Key] = field(default_factory=list)

    @property
    def histogram_series(self) -> int:
        return sum(r.series for r in self.route_series)

    @property
    def paths(self) -> list[str]:
        return sorted({r.route.partition(" ")[2] for r in self.route_series})


def route_dimensions(config: RunConfig, dims: Dimensions) -> Key | None:
    """(method, path) when ``dims`` is the mapping's shape: Endpoint, Method and the extras."""
    cw = config.cloudwatch
    names = dict(dims)
    wanted = {cw.endpoint_dimension, cw.method_dimension, *cw.extra_dimensions}
    if set(names) != wanted:
        return None
    if any(names[k] != v for k, v in cw.extra_dimensions.items()):
        return None
    return names[cw.method_dimension].upper(), names[cw.endpoint_dimension]


def route_key(config: RunConfig, method: str, path: str) -> Dimensions:
    """The dimension set CloudWatch files a route's datums under."""
    cw = config.cloudwatch
    pairs = {cw.endpoint_dimension: path, cw.method_dimension: method, **cw.extra_dimensions}
    return tuple(sorted(pairs.items()))


def cloudwatch_listed(
    client: Any, config: RunConfig
) -> tuple[dict[Dimensions, Key | None], list[tuple[str, Dimensions]]]:
    """ListMetrics: the metric's dimension sets (their route when mapping-shaped), and every
    metric of the namespace."""
    cw = config.cloudwatch
    metrics = cloudwatch.list_metrics(client, cw.namespace)
    mine = [dims for name, dims in metrics if name == cw.metric_name]
    return {dims: route_dimensions(config, dims) for dims in mine}, metrics


def cloudwatch_counts(
    client: Any, config: RunConfig, window: Window, routes: Sequence[Key]
) -> dict[Key, float]:
    """SampleCount over the window of each route asked (GetMetricData)."""
    cw = config.cloudwatch
    sets = {route_key(config, m, p): (m, p) for m, p in routes}
    counts = cloudwatch.dimension_counts(client, cw.namespace, cw.metric_name, list(sets), window)
    by_route: dict[Key, float] = {}
    for dims, count in counts.items():
        by_route[sets[dims]] = by_route.get(sets[dims], 0.0) + count
    return by_route


def prometheus_routes(samples: SeriesSet, window: Window, sampling: Sampling) -> dict:
    """Requests per (method, path) in the window from raw ``_count`` samples, as align counts."""
    if not len(samples):
        return {}
    per_series = samples.routes()
    keys = sorted(set(per_series))
    counts, spread = route_counters(samples, keys, boundaries(window), sampling)
    found = {}
    for row, key in enumerate(keys):
        method, _, path = key.partition(" ")
        total = counts[row, -1] - counts[row, 0]
        uncertain = spread[row, 0] + spread[row, -1]
        # a series that stopped being scraped before the window ended counts as unknown (NaN)
        found[(method, path)] = PromRoute(
            float(0.0 if np.isnan(total) else total),
            float(0.0 if np.isnan(uncertain) else uncertain),
            int(np.count_nonzero(per_series == key)),
        )
    return found


@dataclass
class Screened:
    """One route as Prometheus's server-side aggregates see it over the window."""

    requests: float = 0.0
    resets: float = 0.0
    count_series: int = 0
    histogram_series: int = 0
    statuses: set[str] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)


def _millis(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds * 1000))}ms"


#: an aggregate over every series of a large job takes Prometheus seconds, not milliseconds
AGGREGATE_TIMEOUT = 120.0


def _answers(
    prometheus: PrometheusSource, queries: Sequence[tuple[str, float]]
) -> list[list[tuple[dict[str, str], float]]]:
    """Each (query, time)'s rows, the queries ``prometheus.max_concurrency`` at a time
    (Prometheus evaluates concurrent queries on several cores)."""

    def rows(item: tuple[str, float]) -> list[tuple[dict[str, str], float]]:
        query, at = item
        answer = prometheus.instant(query, at, timeout=AGGREGATE_TIMEOUT)
        return [(dict(r.get("metric") or {}), float(r["value"][1])) for r in answer]

    workers = min(len(queries), prometheus.config.max_concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aggregate") as pool:
        return list(pool.map(rows, queries))


def aggregate_queries(
    config: RunConfig, selector: str, window: Window, sampling: Sampling
) -> list[tuple[str, float]]:
    """(PromQL, evaluation time): ``_count`` at the window's end and at its start (its last
    sample at or before each), its resets, its series per status and instance, and the
    series each of the job's scrapes brings (Prometheus's own ``scrape_*`` series: one per
    target, so the job's size costs nothing to read)."""
    cfg = config.prometheus
    end, begin = window.end.timestamp(), window.start.timestamp()
    span, lookback = _millis(end - sampling.range_start), _millis(begin - sampling.range_start)
    count = f"{cfg.histogram}_count{selector}"
    by = f"{cfg.path_label}, {cfg.method_label}"
    scraped = "scrape_samples_post_metric_relabeling" + selector
    return [
        (f"sum by ({by}) (last_over_time({count}[{span}]))", end),
        (f"sum by ({by}) (last_over_time({count}[{lookback}]))", begin),
        (f"sum by ({by}) (resets({count}[{span}]))", end),
        (f"count by ({by}, status, instance) (last_over_time({count}[{span}]))", end),
        (f"sum(max_over_time({scraped}[{span}]))", end),
    ]


def prometheus_aggregates(
    prometheus: PrometheusSource, config: RunConfig, window: Window, sampling: Sampling
) -> tuple[dict[Key, Screened], int]:
    """Per route, from instant queries Prometheus answers with one row per route (never one
    per sample), in [range start, window end]; and the job's series. A route's histogram
    series are its ``_count`` series × (buckets + 2), the buckets read from the label values
    of the mapped routes' ``_bucket`` series (one histogram has one bucket layout)."""
    cfg = config.prometheus
    queries = aggregate_queries(config, prometheus.selector(), window, sampling)
    at_end, at_start, resets, pairs, job = _answers(prometheus, queries)
    routes: dict[Key, Screened] = {}

    def route(labels: dict[str, str]) -> Screened:
        key = (labels.get(cfg.method_label, "").upper(), labels.get(cfg.path_label, ""))
        return routes.setdefault(key, Screened())

    for labels, value in at_end:
        route(labels).requests += value
    for labels, value in at_start:
        route(labels).requests -= value  # a series born inside the window started from zero
    for labels, value in resets:
        route(labels).resets += value
    for labels, value in pairs:
        screened = route(labels)
        screened.count_series += int(value)
        screened.statuses.add(labels.get("status", ""))
        screened.instances.add(labels.get("instance", ""))
    buckets = bucket_count(prometheus, config, window, sampling)
    for screened in routes.values():
        screened.histogram_series = screened.count_series * (buckets + 2)
    return routes, int(sum(value for _, value in job))


def bucket_count(
    prometheus: PrometheusSource, config: RunConfig, window: Window, sampling: Sampling
) -> int:
    """How many ``le`` values the histogram has (label values of the mapped routes' buckets;
    of the job's when nothing is mapped)."""
    mapped = [(r.method, r.path) for r in config.routes] or None
    match = f"{config.prometheus.histogram}_bucket{prometheus.selector(mapped)}"
    end = window.end.timestamp()
    return len(prometheus.label_values("le", match, sampling.range_start, end))


def route_series(screened: dict[Key, Screened]) -> list[RouteSeries]:
    """Series per route: statuses × instances × (buckets + 2)."""
    return [
        RouteSeries(
            f"{method} {path}",
            s.histogram_series,
            len(s.statuses),
            len(s.instances),
            s.histogram_series // max(s.count_series, 1) - 2,
        )
        for (method, path), s in sorted(screened.items(), key=lambda kv: kv[0][::-1])
        if s.count_series
    ]


def routes_to_ask(
    mapped: Sequence[Key],
    screened: dict[Key, Screened],
    listed: Iterable[Key],
    ignore: Sequence[str] = (),
) -> tuple[list[Key], list[Key]]:
    """(asked, not asked) of CloudWatch: the mapped routes, then those ``coverage.ignore``
    names (reported as ignored, with their counts), the routes Prometheus saw requests on
    (busiest first), the other listed ones; at most MAX_ASKED_ROUTES beyond the mapped."""
    active = sorted(
        (k for k, s in screened.items() if s.requests > 0 or s.resets > 0),
        key=lambda k: (-screened[k].requests, k),
    )
    others = sorted(set(listed) - set(active))
    ignored = [k for k in [*others, *active] if ignore_rule(k[0], k[1], ignore)]
    chosen = set(mapped)
    extra = [k for k in dict.fromkeys([*ignored, *active, *others]) if k not in chosen]
    return [*dict.fromkeys(mapped), *extra[:MAX_ASKED_ROUTES]], extra[MAX_ASKED_ROUTES:]


def routes_to_count(
    cloudwatch_counts: dict[Key, float], screened: dict[Key, Screened]
) -> list[Key]:
    """The routes the aggregates cannot settle: one side saw none (a gap, or requests at the
    window's edge), or the counter reset. At most MAX_EXACT_ROUTES, the busiest first."""
    doubtful: dict[Key, float] = {}
    for key, screen in screened.items():  # a route without a series is certainly a gap
        seen_cw = cloudwatch_counts.get(key, 0.0) > 0
        if screen.count_series and (screen.resets > 0 or seen_cw != (screen.requests > 0)):
            doubtful[key] = cloudwatch_counts.get(key, 0.0) + max(screen.requests, 0.0)
    return sorted(doubtful, key=lambda k: (-doubtful[k], k))[:MAX_EXACT_ROUTES]


def prometheus_side(
    prometheus: PrometheusSource,
    screened: dict[Key, Screened],
    exact: Sequence[Key],
    window: Window,
    sampling: Sampling,
) -> dict[Key, PromRoute]:
    """Each route Prometheus has a series for: counted exactly for ``exact``, from the
    aggregates (without the edges' uncertainty) for the others."""
    found = {
        key: PromRoute(max(s.requests, 0.0), 0.0, s.count_series, exact=False)
        for key, s in screened.items()
        if s.count_series
    }
    if not exact:
        return found
    lookback = window.start.timestamp() - sampling.range_start
    pad = 2 * sampling.scrape_interval + sampling.skew
    samples = prometheus.raw_samples(
        "count", window, lookback, pad, sampling.scrape_interval, list(exact)
    )
    counted = prometheus_routes(samples, window, sampling)
    for key in exact:
        found.pop(key, None)
        if key in counted:
            found[key] = counted[key]
    return found


def take_inventory(
    client: Any,
    prometheus: PrometheusSource,
    config: RunConfig,
    window: Window,
    sampling: Sampling,
) -> Inventory:
    screened, job_series = prometheus_aggregates(prometheus, config, window, sampling)
    listed, metrics = cloudwatch_listed(client, config)
    mapped = [(r.method, r.path) for r in config.routes]
    shaped = [route for route in listed.values() if route is not None]
    asked, unasked = routes_to_ask(mapped, screened, shaped, config.coverage.ignore)
    cw_routes = cloudwatch_counts(client, config, window, asked)
    skipped = set(unasked)
    judged = {k: v for k, v in screened.items() if k not in skipped}
    exact = routes_to_count(cw_routes, judged)
    # the routes not asked are not judged: neither side's figure stands alone
    prom_routes = prometheus_side(prometheus, judged, exact, window, sampling)
    return Inventory(
        window,
        cw_routes,
        prom_routes,
        metrics,
        [dims for dims, route in listed.items() if route is None],
        route_series(screened),
        job_series,
        unasked,
    )
