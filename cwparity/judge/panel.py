"""Does a Grafana latency panel show what CloudWatch showed? Judged point by point.

What a panel query computes decides what it is compared with:

- ``ratio``: ``rate(x_sum[R]) / rate(x_count[R])`` (any aggregation, ``increase`` too) is the mean
  latency of the requests between the first and the last scrape inside ``(t-R, t]``;
- ``cumulative``: ``x_sum / x_count`` on raw counters (the guide's query) claims a period's mean
  but is the mean since the process started: compared with the Average CloudWatch's graph showed
  for the period ending at the point, and FAILed as cumulative in any case;
- ``quantile``: ``histogram_quantile(q, … x_bucket …)`` lies between the fastest and the slowest
  request of its window, widened to the bucket edges around them (its interpolation).

The bound for each point is derived, not chosen. CloudWatch's periods wholly inside the
point's window count fully; a period at either edge (the window's first and last scrape are
known from the raw samples; each edge is widened by the clock skew) contributes any share of
its requests, whose mean lies between that period's Minimum and Maximum. The lowest and
highest means those shares allow bound the point, and the mean-latency tolerance the parity
checks use (the two backends time a request at slightly different moments) widens them. A
``rate()`` is extrapolated towards its range's ends by at most 1.1 average sample intervals on
each side, and towards a young counter's zero differently for ``_sum`` and ``_count``: their
ratio moves by at most a factor ``1 ± 2.2/(n-1)`` for ``n`` samples in the range, which widens
a ratio's bound too. A
rate over [5m] compared with 5 s periods is therefore a 5-minute mean compared with a
5-minute mean, never with one period. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import promql_parser as pp

from cwparity.config import RunConfig
from cwparity.lint import (
    RATE_FUNCTIONS,
    LintContext,
    _metric_name,
    _ratio_bases,
    _scale,
    _selectors,
    _split_name,
    _walk,
)
from cwparity.results import CheckResult, Origin, Status, Tolerance

KIND = "grafana"
LATENCY_KINDS = ("ratio", "cumulative", "quantile")
#: Grafana's unit ids → seconds per unit; a panel without one shows CloudWatch's unit
UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}
CW_UNIT_SECONDS = {"Seconds": 1.0, "Milliseconds": 1e-3, "Microseconds": 1e-6}


@dataclass(frozen=True)
class Shape:
    """What a panel query computes, read from its PromQL."""

    kind: str
    range_s: float | None = None
    scale: float = 1.0
    matchers: dict[str, str] = field(default_factory=dict)
    problem: str = ""


def interpolate(expr: str, step_s: float, scrape_s: float, range_s: float) -> str:
    """Grafana's built-in variables as its Prometheus data source fills them in server-side:
    ``$__interval`` (the step), ``$__rate_interval`` (max(step + scrape, 4 × scrape)),
    ``$__range``."""
    rate_interval = max(step_s + scrape_s, 4 * scrape_s)
    values = {
        "__rate_interval": rate_interval,
        "__interval": step_s,
        "__range": range_s,
    }
    for name, seconds in values.items():
        text = f"{round(seconds * 1000)}ms"
        expr = expr.replace(f"${{{name}}}", text).replace(f"${name}", text)
    return re.sub(r"\$\{?__interval_ms\}?", str(round(step_s * 1000)), expr)


def _ranges(tree: object, histogram: str) -> list[float]:
    return [
        node.range.total_seconds()
        for node in _walk(tree)
        if isinstance(node, pp.MatrixSelector)
        and _split_name(_metric_name(node.vector_selector))[0] == histogram
    ]


def _route_matchers(tree: object, context: LintContext) -> dict[str, str]:
    pinned: dict[str, str] = {}
    for selector in _selectors(tree):
        if _split_name(_metric_name(selector))[0] != context.histogram:
            continue
        for matcher in selector.matchers.matchers:
            if matcher.op == pp.MatchOp.Equal and matcher.name in (
                context.path_label,
                context.method_label,
            ):
                pinned[matcher.name] = matcher.value
    return pinned


def _has_quantile(tree: object, histogram: str) -> bool:
    return any(
        isinstance(node, pp.Call)
        and node.func.name == "histogram_quantile"
        and any(_split_name(_metric_name(s)) == (histogram, "bucket") for s in _selectors(node))
        for node in _walk(tree)
    )


def _has_ratio(tree: object, histogram: str) -> bool:
    """``x_sum`` on one side of a division and ``x_count`` on the other, rated or not."""
    for node in _walk(tree):
        if isinstance(node, pp.BinaryExpr) and str(node.op) == "/":
            left = {_split_name(_metric_name(s)) for s in _selectors(node.lhs)}
            right = {_split_name(_metric_name(s)) for s in _selectors(node.rhs)}
            if (histogram, "sum") in left and (histogram, "count") in right:
                return True
    return False


def query_shape(expr: str, context: LintContext) -> Shape:
    try:
        tree = pp.parse(expr)
    except ValueError as err:
        return Shape("other", problem=f"does not parse: {' '.join(str(err).split())}")
    matchers = _route_matchers(tree, context)
    ranges = _ranges(tree, context.histogram)
    scale = _scale(tree)
    if _has_quantile(tree, context.histogram):
        return Shape("quantile", max(ranges, default=None), scale, matchers)
    if not _has_ratio(tree, context.histogram):
        return Shape("other", matchers=matchers)
    cumulative = any(
        isinstance(n, pp.BinaryExpr) and str(n.op) == "/" and context.histogram in _ratio_bases(n)
        for n in _walk(tree)
    )
    if cumulative:
        return Shape("cumulative", None, scale, matchers)
    rated = any(isinstance(n, pp.Call) and n.func.name in RATE_FUNCTIONS for n in _walk(tree))
    return Shape("ratio" if rated else "other", max(ranges, default=None), scale, matchers)


# --- the bound of one point -----------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """CloudWatch's per-period statistics for one route (seconds), and the route's scrapes."""

    periods: pd.DataFrame  # period_start (unix s), count, sum, min, max
    period: int
    scrapes: np.ndarray  # unix seconds of the route's raw samples, sorted
    skew: float
    buckets: tuple[float, ...] = ()


def effective_window(t: float, range_s: float, scrapes: np.ndarray) -> tuple[float, float] | None:
    """(first, last) scrape inside [t - R, t]: the requests a rate at t stands on lie between."""
    first = np.searchsorted(scrapes, t - range_s, side="left")
    last = np.searchsorted(scrapes, t, side="right") - 1
    if first >= len(scrapes) or last < 0 or scrapes[first] >= scrapes[last]:
        return None
    return float(scrapes[first]), float(scrapes[last])


def _split_periods(ref: Reference, first: float, last: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(periods wholly inside the window, periods at its edges), by CloudWatch's timestamps."""
    starts = ref.periods["period_start"].to_numpy(dtype=float)
    ends = starts + ref.period
    inside = (starts >= first + ref.skew) & (ends <= last - ref.skew)
    touches = (ends > first - ref.skew) & (starts < last + ref.skew)
    return ref.periods[inside], ref.periods[touches & ~inside]


def _extreme_mean(total: float, count: float, edges: pd.DataFrame, column: str, low: bool):
    """The lowest (or highest) mean reachable by adding any share of each edge period."""
    order = edges.sort_values(column, ascending=low)
    for row in order.itertuples():
        value = float(getattr(row, column))
        mean = total / count if count else None
        if row.count > 0 and (mean is None or (value < mean if low else value > mean)):
            total, count = total + row.count * value, count + row.count
    return total / count if count else None


def mean_bounds(ref: Reference, first: float, last: float) -> tuple[float, float] | None:
    """What the mean of the requests between two scrapes can be, by CloudWatch's periods."""
    inside, edges = _split_periods(ref, first, last)
    total, count = float(inside["sum"].sum()), float(inside["count"].sum())
    edges = edges[edges["count"] > 0]
    if count == 0 and edges.empty:
        return None
    low = _extreme_mean(total, count, edges, "min", low=True)
    high = _extreme_mean(total, count, edges, "max", low=False)
    assert low is not None and high is not None
    return low, high


def quantile_bounds(ref: Reference, first: float, last: float) -> tuple[float, float] | None:
    """Between the fastest and slowest request, widened to the bucket edges around them
    (``histogram_quantile`` interpolates inside the bucket that holds the rank)."""
    inside, edges = _split_periods(ref, first, last)
    seen = pd.concat([inside, edges])
    seen = seen[seen["count"] > 0]
    if seen.empty:
        return None
    fastest, slowest = float(seen["min"].min()), float(seen["max"].max())
    finite = sorted(b for b in ref.buckets if math.isfinite(b))
    if not finite:
        return fastest, slowest
    low = max((b for b in finite if b < fastest), default=0.0)
    # a rank in the +Inf bucket reads as the largest finite bound
    high = next((b for b in finite if b >= slowest), finite[-1])
    return low, high


def windowed_means(
    sums: pd.DataFrame, counts: pd.DataFrame, stamps_ms: Sequence[int], range_s: float
) -> dict[int, float]:
    """Prometheus's own mean latency over each point's window, from the raw counter samples
    (``series``, ``timestamp``, ``value``): Δsum / Δcount between the first and last scrape in
    [t - R, t], resets counted as ``increase()`` does."""
    from cwparity.counters import reset_corrected

    def deltas(frame: pd.DataFrame) -> dict[int, float]:
        total = dict.fromkeys(stamps_ms, 0.0)
        for _, series in frame.groupby("series", sort=False):
            series = series.sort_values("timestamp")
            stamps = series["timestamp"].to_numpy(dtype=float)
            values = reset_corrected(series["value"].to_numpy(dtype=float))
            for stamp in stamps_ms:
                window = effective_window(stamp / 1000, range_s, stamps)
                if window is not None:
                    first, last = np.searchsorted(stamps, window, side="left")
                    total[stamp] += float(values[last] - values[first])
        return total

    summed, counted = deltas(sums), deltas(counts)
    return {t: summed[t] / counted[t] for t in stamps_ms if counted.get(t)}


def period_average(ref: Reference, t: float) -> tuple[float, float] | None:
    """CloudWatch's Average for the period that ends at (or holds) ``t``: what its graph showed."""
    starts = ref.periods["period_start"].to_numpy(dtype=float)
    chosen = ref.periods[(starts < t) & (starts + ref.period >= t)]
    if chosen.empty or float(chosen["count"].iloc[0]) == 0:
        return None
    average = float(chosen["sum"].iloc[0]) / float(chosen["count"].iloc[0])
    return average, average


def extrapolation_spread(scrapes: np.ndarray, first: float, last: float) -> float:
    """How far ``rate(sum)/rate(count)`` may sit from Δsum/Δcount: 2.2/(n-1) for n samples."""
    samples = int(np.count_nonzero((scrapes >= first) & (scrapes <= last)))
    return 2.2 / (samples - 1) if samples > 1 else math.inf


def tolerance_s(value: float, config: RunConfig) -> float:
    section = config.tolerances.mean_latency
    return max(section.absolute_ms / 1000, section.relative * abs(value))


@dataclass
class PointVerdict:
    stamp_ms: int
    shown_s: float
    low_s: float
    high_s: float
    prometheus_s: float | None = None

    @property
    def inside(self) -> bool:
        return self.low_s <= self.shown_s <= self.high_s


def judge_points(
    points: dict[int, float],
    shape: Shape,
    ref: Reference,
    seconds_per_value: float,
    config: RunConfig,
    prometheus_means: dict[int, float] | None = None,
) -> list[PointVerdict]:
    """Each panel point against its derived bound (points CloudWatch cannot speak for skipped)."""
    range_s = float(ref.period) if shape.kind == "cumulative" else (shape.range_s or ref.period)
    bounds = quantile_bounds if shape.kind == "quantile" else mean_bounds
    verdicts = []
    for stamp, value in sorted(points.items()):
        if not math.isfinite(value):
            continue
        window = effective_window(stamp / 1000, range_s, ref.scrapes)
        if shape.kind == "cumulative":
            found = period_average(ref, stamp / 1000)
        else:
            found = bounds(ref, *window) if window else None
        if window is None or found is None:
            continue
        low, high = found
        if shape.kind == "ratio":
            spread = extrapolation_spread(ref.scrapes, *window)
            low, high = low / (1 + spread), high * (1 + spread)
        verdicts.append(
            PointVerdict(
                stamp,
                value * seconds_per_value,
                low - tolerance_s(low, config),
                high + tolerance_s(high, config),
                (prometheus_means or {}).get(stamp),
            )
        )
    return verdicts


# --- the check ----------------------------------------------------------------------------------


def _ratio_words(outside: Sequence[PointVerdict]) -> str:
    ratios = [p.shown_s / ((p.low_s + p.high_s) / 2) for p in outside if (p.low_s + p.high_s) > 0]
    if not ratios:
        return ""
    typical = float(np.median(ratios))
    for factor in (1000.0, 1e6, 1e-3, 1e-6):
        if math.isclose(typical, factor, rel_tol=0.2):
            return f"; the values are about {factor:g}× CloudWatch's: a unit error"
    return f"; typically {typical:.3g}× CloudWatch's"


def _cause(shape: Shape, outside: Sequence[PointVerdict], unit: str) -> str:
    if shape.kind == "cumulative":
        return (
            "the query divides raw counters, so it shows the mean since the process started, "
            "not CloudWatch's per-period Average (lint.cumulative_ratio)"
        )
    agree = [
        p
        for p in outside
        if p.prometheus_s is not None
        and abs(p.shown_s - p.prometheus_s) <= max(p.high_s - p.low_s, 0.0) / 2
    ]
    if agree and len(agree) == len(outside) and shape.scale == 1.0:
        return "the panel shows Prometheus's own counters faithfully: CloudWatch and Prometheus differ (see the count and mean_latency checks)"
    if shape.scale != 1.0:
        return (
            f"the query scales by {shape.scale:g} while the panel's unit is {unit}: a unit "
            "error (set the panel's unit to match, or drop the scaling)"
        )
    return "the panel's query does not compute CloudWatch's per-period mean for this route"


def judge_panel_series(
    check_id: str, title: str, route: str, shape: Shape, verdicts: list[PointVerdict], unit: str
) -> CheckResult:
    if not verdicts:
        return CheckResult(
            check_id,
            KIND,
            title,
            Status.SKIP,
            f"{route}: no point of the panel had CloudWatch data to compare with",
            "host",
        )
    outside = [p for p in verdicts if not p.inside]
    widest = max((p.high_s - p.low_s) / 2 for p in verdicts)
    tolerance = Tolerance(
        round(widest * 1000, 3),
        "ms",
        Origin.DERIVED,
        f"per point: CloudWatch periods inside the panel's {shape.range_s or 'period'}"
        f"{'s' if shape.range_s else ''} window, its edge periods' Minimum/Maximum, ± the "
        "mean-latency tolerance",
    )
    worst = max(outside or verdicts, key=lambda p: max(p.low_s - p.shown_s, p.shown_s - p.high_s))
    observed = {
        "points_compared": len(verdicts),
        "points_outside": len(outside),
        "worst_shown_s": round(worst.shown_s, 6),
        "worst_low_s": round(worst.low_s, 6),
        "worst_high_s": round(worst.high_s, 6),
        "worst_prometheus_s": None if worst.prometheus_s is None else round(worst.prometheus_s, 6),
    }
    details = {"kind": shape.kind, "range_s": shape.range_s, "unit": unit, "route": route}
    at = pd.Timestamp(worst.stamp_ms, unit="ms", tz="UTC").isoformat()
    if outside:
        reason = (
            f"{route}: {len(outside)} of {len(verdicts)} points outside what CloudWatch showed "
            f"(at {at}: panel {worst.shown_s * 1000:.4g} ms, CloudWatch allows "
            f"{worst.low_s * 1000:.4g}–{worst.high_s * 1000:.4g} ms){_ratio_words(outside)}: "
            f"{_cause(shape, outside, unit)}"
        )
        return CheckResult(
            check_id, KIND, title, Status.FAIL, reason, "host", observed, tolerance, details
        )
    if shape.kind == "cumulative":
        reason = (
            f"{route}: {len(verdicts)} points agree in this window only because latency held "
            f"steady: {_cause(shape, outside, unit)}"
        )
        return CheckResult(
            check_id, KIND, title, Status.FAIL, reason, "host", observed, tolerance, details
        )
    reason = f"{route}: {len(verdicts)} points within what CloudWatch showed ({shape.kind})"
    return CheckResult(
        check_id, KIND, title, Status.PASS, reason, "host", observed, tolerance, details
    )
