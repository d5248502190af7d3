"""The per-route alignment cwparity had before the columnar engine, kept as the reference.

The columnar engine (cwparity/align.py over cwparity/counters.py) must give the same periods,
totals and bucket increases on any data; tests/unit/test_align_columnar.py compares the two on generated data.
Below, unchanged: the original module text.

Put CloudWatch periods and Prometheus counter samples on one grid.

CloudWatch files each datum under the period its timestamp falls in. Prometheus only knows a
cumulative counter, sampled at every scrape. So for each period boundary the counter's value is
interpolated between the two scrapes around it, and the requests that arrived between those two
scrapes are the boundary's *uncertainty*: any of them could sit on either side. A period's
uncertainty is that of its two boundaries; nothing else is guessed.

Pure numpy/pandas: no I/O, so the engine is tested with synthetic data (tests/unit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwparity.window import Window

PERIOD_COLUMNS = [
    "route",
    "period_start",
    "cw_count",
    "cw_sum",
    "prom_count",
    "prom_count_u",
    "prom_sum",
    "prom_sum_u",
    "prom_count_u_start",
    "prom_count_u_end",
    "prom_sum_u_start",
    "prom_sum_u_end",
]


@dataclass(frozen=True)
class Sampling:
    """How Prometheus sampled: its scrape interval, the clock skew allowed between the two
    services' timestamps, and where the fetched samples begin (to tell a series born inside
    the range from one that was already there)."""

    scrape_interval: float
    skew: float
    range_start: float


@dataclass(frozen=True)
class Aligned:
    """Per route and period (``periods``) and per route for the whole window (``totals``)."""

    window: Window
    periods: pd.DataFrame
    totals: pd.DataFrame


def reset_corrected(values: np.ndarray) -> np.ndarray:
    """A counter with resets (process restarts) made monotonic, as ``increase()`` does."""
    if len(values) < 2:
        return values.astype(float)
    deltas = np.diff(values)
    deltas = np.where(deltas < 0, values[1:], deltas)
    return np.concatenate([[values[0]], values[0] + np.cumsum(deltas)])


def rebirths(
    stamps: np.ndarray, values: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """Add the zero each (re)born series had one scrape before its first sample.

    Born: the first sample comes well after the fetched range began. Reborn: a reset after a
    gap of more than 1.5 scrapes (the app was down, then its new process created the label set
    on its first request). At the scrape before that sample the series did not exist: zero.
    """
    interval = sampling.scrape_interval
    gap = np.diff(stamps) > 1.5 * interval
    reset = np.diff(values) < 0
    starts = [0] if stamps[0] > sampling.range_start + 1.5 * interval else []
    starts += list(np.flatnonzero(gap & reset) + 1)
    if not starts:
        return stamps, values
    index = np.asarray(starts)
    return (
        np.insert(stamps, index, stamps[index] - interval),
        np.insert(values, index, 0.0),
    )


def counter_at(
    stamps: np.ndarray, values: np.ndarray, points: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """One series' counter at ``points``, and how far off that value can be.

    A series whose first sample comes well after the fetched range began was born inside it
    (prometheus_flask_exporter creates a label set on its first request): it was 0 one scrape
    before. So was a series reborn after a restart (a reset across a gap in its samples).
    A point after the series' last scrape is unknown: NaN.
    """
    order = np.argsort(stamps)
    stamps, values = rebirths(stamps[order], values[order].astype(float), sampling)
    cumulative = reset_corrected(values)
    at = np.interp(points, stamps, cumulative)
    low = np.searchsorted(stamps, points - sampling.skew, side="right") - 1
    high = np.searchsorted(stamps, points + sampling.skew, side="left")
    low_value = cumulative[np.clip(low, 0, len(stamps) - 1)]
    high_value = cumulative[np.clip(high, 0, len(stamps) - 1)]
    # the true count at the point lies between the two scrapes around it, so the interpolated
    # value is off by at most the larger of its distances to them
    uncertainty = np.maximum(at - low_value, high_value - at)
    unknown = points > stamps[-1] + sampling.skew
    at = np.where(unknown, np.nan, at)
    uncertainty = np.where(unknown, np.nan, uncertainty)
    return at, uncertainty


def route_counter(
    samples: pd.DataFrame, points: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """The sum over a route's series (one per status, instance…) of value and uncertainty."""
    total = np.zeros(len(points))
    uncertainty = np.zeros(len(points))
    for _, series in samples.groupby("series", sort=False):
        at, u = counter_at(
            series["timestamp"].to_numpy(), series["value"].to_numpy(), points, sampling
        )
        total += at
        uncertainty += u
    return total, uncertainty


def _boundaries(window: Window) -> np.ndarray:
    count = len(window.period_starts())
    return window.start.timestamp() + window.period * np.arange(count + 1, dtype=float)


def by_route(samples: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Samples split by route ("METHOD path") once: a filter per route would scan them all."""
    if samples.empty:
        return {}
    keys = samples["method"] + " " + samples["path"]
    return {str(route): part for route, part in samples.groupby(keys, sort=False)}


def _prometheus_route(
    count: pd.DataFrame, sums: pd.DataFrame, points: np.ndarray, sampling: Sampling
) -> dict[str, np.ndarray]:
    at_count, u_count = route_counter(count, points, sampling)
    at_sum, u_sum = route_counter(sums, points, sampling)
    return {"count": at_count, "count_u": u_count, "sum": at_sum, "sum_u": u_sum}


def _cloudwatch_wide(cloudwatch: pd.DataFrame, routes: Sequence[str], window: Window):
    """CloudWatch omits empty periods: they are zero requests, not missing data."""
    starts = pd.DatetimeIndex(window.period_starts())
    full = pd.MultiIndex.from_product([list(routes), starts], names=["route", "period_start"])
    if cloudwatch.empty:
        wide = pd.DataFrame(index=full, columns=["count", "sum"], dtype=float)
    else:
        wide = cloudwatch.pivot_table(
            index=["route", "period_start"], columns="stat", values="value", aggfunc="sum"
        ).reindex(full)
    for column in ("count", "sum"):
        if column not in wide:
            wide[column] = np.nan
    return wide.fillna({"count": 0.0, "sum": 0.0})


def align(
    cloudwatch: pd.DataFrame,
    prom_count: pd.DataFrame,
    prom_sum: pd.DataFrame,
    routes: Sequence[str],
    window: Window,
    sampling: Sampling,
) -> Aligned:
    points = _boundaries(window)
    starts = pd.DatetimeIndex(window.period_starts())
    wide = _cloudwatch_wide(cloudwatch, routes, window)
    period_rows, total_rows = [], []
    counts, sums = by_route(prom_count), by_route(prom_sum)
    empty = prom_count.iloc[0:0]
    for route in routes:
        prom = _prometheus_route(counts.get(route, empty), sums.get(route, empty), points, sampling)
        cw = wide.loc[route]
        period = pd.DataFrame(
            {
                "route": route,
                "period_start": starts,
                "cw_count": cw["count"].to_numpy(),
                "cw_sum": cw["sum"].to_numpy(),
                "prom_count": np.diff(prom["count"]),
                "prom_count_u": prom["count_u"][:-1] + prom["count_u"][1:],
                "prom_sum": np.diff(prom["sum"]),
                "prom_sum_u": prom["sum_u"][:-1] + prom["sum_u"][1:],
                # each boundary's own share, so that periods can be merged into blocks whose
                # interior boundaries cancel (judge/blocks.py)
                "prom_count_u_start": prom["count_u"][:-1],
                "prom_count_u_end": prom["count_u"][1:],
                "prom_sum_u_start": prom["sum_u"][:-1],
                "prom_sum_u_end": prom["sum_u"][1:],
            }
        )
        period_rows.append(period)
        total_rows.append(
            {
                "route": route,
                "cw_count": float(cw["count"].sum()),
                "cw_sum": float(cw["sum"].sum()),
                "prom_count": prom["count"][-1] - prom["count"][0],
                "prom_count_u": prom["count_u"][0] + prom["count_u"][-1],
                "prom_sum": prom["sum"][-1] - prom["sum"][0],
                "prom_sum_u": prom["sum_u"][0] + prom["sum_u"][-1],
            }
        )
    periods = (
        pd.concat(period_rows, ignore_index=True)
        if period_rows
        else pd.DataFrame(columns=PERIOD_COLUMNS)
    )
    totals = pd.DataFrame(total_rows).set_index("route")
    return Aligned(window=window, periods=periods, totals=totals)


def _le_value(le: str) -> float:
    return math.inf if le in ("+Inf", "Inf", "inf") else float(le)


def bucket_increases(
    buckets: pd.DataFrame, routes: Sequence[str], window: Window, sampling: Sampling
) -> pd.DataFrame:
    """Per route, per ``le`` and per period (and ``window``): the cumulative bucket's increase.

    The same interpolation and uncertainty as the counts, one ``le`` at a time: a bucket's count
    is the sum over its series (status, instance…) with that ``le``.
    """
    points = _boundaries(window)
    starts = [pd.Timestamp(t) for t in window.period_starts()]
    rows: list[tuple] = []
    if buckets.empty:
        return pd.DataFrame(rows, columns=BUCKET_COLUMNS)
    split = by_route(buckets)
    for route in routes:
        if route not in split:
            continue
        for le, samples in split[route].groupby("le", sort=False):
            at, u = route_counter(samples, points, sampling)
            bound = _le_value(str(le))
            for i, start in enumerate(starts):
                rows.append((route, start, bound, at[i + 1] - at[i], u[i] + u[i + 1]))
            rows.append((route, None, bound, at[-1] - at[0], u[0] + u[-1]))
    return pd.DataFrame(rows, columns=BUCKET_COLUMNS).sort_values(["route", "le"], kind="stable")


BUCKET_COLUMNS = ["route", "period_start", "le", "count", "u"]
