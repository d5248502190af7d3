"""``grafana.latency[<panel>]``: the latency panel, run through Grafana, against CloudWatch.

For each latency panel (chosen by what its query computes, see ``judge/panel.py``), its
Prometheus queries go through ``POST /api/ds/query`` for the run's window; every series is
mapped to its route (its path/method labels, else the query's matchers) and each point is
judged against CloudWatch's per-period statistics for that route (GetMetricData SampleCount,
Sum, Minimum, Maximum), with Prometheus's own windowed mean from the raw counters alongside,
so a failure says whether the panel or the backends disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from cwparity.config import Route, RunConfig
from cwparity.hosts.series import Series
from cwparity.judge.panel import (
    CW_UNIT_SECONDS,
    KIND,
    UNIT_SECONDS,
    Reference,
    Shape,
    judge_panel_series,
    judge_points,
    windowed_means,
)
from cwparity.results import CheckResult, Status
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window, align_down

EXTREMES = {"SampleCount": "count", "Sum": "sum", "Minimum": "min", "Maximum": "max"}


def seconds_per_value(panel: dict[str, Any], config: RunConfig) -> tuple[float, str]:
    """What one unit of the panel's values is, by its display unit (else CloudWatch's)."""
    unit = str(((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit") or "")
    if unit in UNIT_SECONDS:
        return UNIT_SECONDS[unit], unit
    return CW_UNIT_SECONDS[
        config.cloudwatch.unit
    ], f"{unit or 'none'} (read as {config.cloudwatch.unit})"


def route_of(labels: dict[str, str], shape: Shape, config: RunConfig) -> tuple[str, str] | None:
    """(method, path) of a series: its labels, else the query's matchers, else the mapping."""
    prom = config.prometheus
    path = labels.get(prom.path_label) or shape.matchers.get(prom.path_label)
    method = labels.get(prom.method_label) or shape.matchers.get(prom.method_label)
    if path and not method:
        mapped = [r.method for r in config.routes if r.path == path]
        method = mapped[0] if len(mapped) == 1 else None
    return (method.upper(), path) if path and method else None


class PanelReferences:
    """CloudWatch's statistics and Prometheus's raw counters per route, fetched once each."""

    def __init__(self, config: RunConfig, window: Window, range_s: float) -> None:
        self.config, self.window = config, window
        period = config.window.period
        start = align_down(
            datetime.fromtimestamp(window.start.timestamp() - range_s - period, UTC), period
        )
        self.extended = Window(start, window.end, period)
        self.client = cloudwatch.make_client(config.cloudwatch)
        self.prometheus = PrometheusSource(config.prometheus)
        lookback = window.start.timestamp() - start.timestamp()
        interval = self.prometheus.scrape_interval()
        # a panel's routes are few: the long form (one row per sample) is small here
        self.counts = self.prometheus.raw_samples(
            "count", window, lookback, 0.0, interval
        ).to_frame()
        self.sums = self.prometheus.raw_samples("sum", window, lookback, 0.0, interval).to_frame()
        name = f"{config.prometheus.histogram}_bucket{self.prometheus.selector()}"
        edges = self.prometheus.label_values("le", name, start.timestamp(), window.end.timestamp())
        self.buckets = sorted(_le(le) for le in edges)
        self.skew = config.window.clock_skew

    def for_route(self, method: str, path: str) -> tuple[Reference, pd.DataFrame, pd.DataFrame]:
        route = Route(path=path, method=method)
        frame = cloudwatch.fetch_stats(
            self.client, self.config.cloudwatch, [route], self.extended, EXTREMES
        ).to_frame()
        wide = frame.pivot_table(
            index="period_start", columns="stat", values="value", aggfunc="sum"
        )
        wide = wide.reindex(columns=list(EXTREMES.values())).fillna(0.0).reset_index()
        wide["period_start"] = wide["period_start"].map(lambda t: t.timestamp())
        mine = (self.counts["method"] == method) & (self.counts["path"] == path)
        counts = self.counts[mine]
        sums = self.sums[(self.sums["method"] == method) & (self.sums["path"] == path)]
        scrapes = pd.Series(counts["timestamp"].unique()).sort_values().to_numpy(dtype=float)
        reference = Reference(
            wide, self.config.window.period, scrapes, self.skew, tuple(self.buckets)
        )
        return reference, sums, counts


def _le(text: str) -> float:
    return float("inf") if text in ("+Inf", "Inf") else float(text)


def judge_series(
    title: str,
    series: Series,
    shape: Shape,
    refs: PanelReferences,
    panel: dict[str, Any],
) -> list[CheckResult]:
    """One result per route the panel's series show (a route split in several series FAILs)."""
    config = refs.config
    factor, unit = seconds_per_value(panel, config)
    by_route: dict[tuple[str, str], list[dict[int, float]]] = {}
    unmapped = 0
    for key, points in series.items():
        route = route_of(dict(key), shape, config)
        if route is None:
            unmapped += 1
            continue
        by_route.setdefault(route, []).append(points)
    results = []
    check_id = f"grafana.latency[{title}]"
    for (method, path), members in sorted(by_route.items()):
        label = f"{method} {path}"
        if len(members) > 1:
            results.append(_split(check_id, title, label, len(members)))
            continue
        reference, sums, counts = refs.for_route(method, path)
        range_s = (
            float(config.window.period)
            if shape.kind == "cumulative"
            else (shape.range_s or config.window.period)
        )
        means = windowed_means(sums, counts, list(members[0]), range_s)
        verdicts = judge_points(members[0], shape, reference, factor, config, means)
        results.append(judge_panel_series(check_id, title, label, shape, verdicts, unit))
    if unmapped and not results:
        reason = (
            f"the panel's series carry no {config.prometheus.path_label} label and the query pins "
            "none: it aggregates every route, which CloudWatch's per-route metric cannot be compared with"
        )
        results.append(CheckResult(check_id, KIND, title, Status.SKIP, reason, "host"))
    return results


def _split(check_id: str, title: str, route: str, count: int) -> CheckResult:
    reason = (
        f"{route} shows as {count} series (split by status or instance): CloudWatch's metric is "
        "one series per Endpoint and Method (lint.extra_labels); aggregate with sum by (path, method)"
    )
    return CheckResult(check_id, KIND, title, Status.FAIL, reason, "host", {"series": count})


def merge(check_id: str, title: str, results: Sequence[CheckResult]) -> CheckResult:
    """One check per panel: FAIL if any route failed, else PASS if any passed, else SKIP."""
    if len(results) == 1:
        return results[0]
    for status in (Status.FAIL, Status.ERROR, Status.PASS):
        chosen = [r for r in results if r.status is status]
        if chosen:
            break
    else:
        chosen, status = list(results), Status.SKIP
    observed = {
        "points_compared": sum(float(r.observed.get("points_compared") or 0) for r in results),
        "points_outside": sum(float(r.observed.get("points_outside") or 0) for r in results),
    }
    reason = "; ".join(r.reason for r in chosen)
    return CheckResult(
        check_id,
        KIND,
        title,
        status,
        reason,
        "host",
        observed,
        chosen[0].tolerance,
        {"routes": [r.reason for r in results]},
    )


def reference_range(shapes: Sequence[Shape], period: int) -> float:
    return max((s.range_s or period for s in shapes), default=float(period))
