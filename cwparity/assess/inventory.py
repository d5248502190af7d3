"""What exists on both sides in a window: CloudWatch's dimension sets, Prometheus's series.

One reader for ``cwparity discover`` and for the coverage checks every run makes:

- CloudWatch: ListMetrics (paged) for the metric's dimension sets; ListMetrics knows two weeks,
  not the window, so GetMetricData asks each set's SampleCount over the window.
- Prometheus: the histogram's raw ``_count`` samples for every path of the job (counted as the
  engine counts them), and its label sets (``/api/v1/series``) for the cardinality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cwparity.align import Sampling, boundaries, route_counters
from cwparity.config import RunConfig
from cwparity.judge.coverage import PromRoute
from cwparity.samples import SeriesSet
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

Dimensions = cloudwatch.Dimensions


@dataclass
class Inventory:
    """Both sides' routes in ``window``, keyed (method, path)."""

    window: Window
    cloudwatch: dict[tuple[str, str], float]
    prometheus: dict[tuple[str, str], PromRoute]
    #: every (metric name, dimension set) ListMetrics reported for the namespace
    metrics: list[tuple[str, Dimensions]] = field(default_factory=list)
    #: dimension sets of the metric that are not Endpoint + Method (+ extra_dimensions)
    other_dimension_sets: list[Dimensions] = field(default_factory=list)
    #: label sets of the histogram's series in the window
    series_labels: list[dict[str, str]] = field(default_factory=list)
    job_series: int = 0


def route_dimensions(config: RunConfig, dims: Dimensions) -> tuple[str, str] | None:
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


def cloudwatch_side(
    client: Any, config: RunConfig, window: Window, also: Sequence[tuple[str, str]] = ()
) -> tuple[dict[tuple[str, str], float], list[tuple[str, Dimensions]], list[Dimensions]]:
    """Counts per route; ``also`` are routes asked for even when ListMetrics does not list them
    (AWS: a new metric can take up to 15 minutes to appear there)."""
    cw = config.cloudwatch
    metrics = cloudwatch.list_metrics(client, cw.namespace)
    mine = [dims for name, dims in metrics if name == cw.metric_name]
    mine += [d for d in (route_key(config, m, p) for m, p in also) if d not in mine]
    routes = {dims: route_dimensions(config, dims) for dims in mine}
    shaped = [dims for dims, route in routes.items() if route is not None]
    counts = cloudwatch.dimension_counts(client, cw.namespace, cw.metric_name, shaped, window)
    by_route: dict[tuple[str, str], float] = {}
    for dims, count in counts.items():
        route = routes[dims]
        assert route is not None
        by_route[route] = by_route.get(route, 0.0) + count
    others = [dims for dims, route in routes.items() if route is None]
    return by_route, metrics, others


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


def prometheus_series(
    prometheus: PrometheusSource, config: RunConfig, window: Window
) -> tuple[list[dict[str, str]], int]:
    """The histogram's label sets, and how many series the whole job has, in the window."""
    start, end = window.start.timestamp(), window.end.timestamp()
    selector = prometheus.selector()
    name = config.prometheus.histogram
    histogram = prometheus.series(
        f'{{__name__=~"{name}_(bucket|count|sum)",{selector[1:]}', start, end
    )
    job = prometheus.series(selector, start, end)
    return histogram, len(job)


def take_inventory(
    client: Any,
    prometheus: PrometheusSource,
    config: RunConfig,
    window: Window,
    sampling: Sampling,
) -> Inventory:
    lookback = window.start.timestamp() - sampling.range_start
    pad = 2 * sampling.scrape_interval + sampling.skew
    samples = prometheus.raw_samples("count", window, lookback, pad, sampling.scrape_interval)
    prom_routes = prometheus_routes(samples, window, sampling)
    mapped = [(r.method, r.path) for r in config.routes]
    cw_routes, metrics, others = cloudwatch_side(client, config, window, [*prom_routes, *mapped])
    labels, job_series = prometheus_series(prometheus, config, window)
    return Inventory(
        window,
        cw_routes,
        prom_routes,
        metrics,
        others,
        labels,
        job_series,
    )


def paths_of(labels: Sequence[dict[str, str]], path_label: str) -> list[str]:
    return sorted({series[path_label] for series in labels if path_label in series})
