"""Synthetic request streams with known truth, seen as CloudWatch and Prometheus would see them.

For the engine's unit and property tests and for the benchmark: no server involved. Given when
each request finished and how long it took, it builds exactly the frames the two sources return:
CloudWatch files each datum under the period its timestamp falls in; Prometheus samples the
cumulative counters at each scrape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cwparity.samples import SAMPLE_COLUMNS, SeriesSet, StatGrid
from cwparity.window import Window

CW_COLUMNS = ["route", "period_start", "stat", "value"]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


@dataclass(frozen=True)
class Stream:
    """One route's requests: completion times (unix seconds) and latencies (seconds)."""

    route: str
    ends: np.ndarray
    latencies: np.ndarray
    status: str = "200"


@dataclass(frozen=True)
class Scrapes:
    """When Prometheus scraped, and (optionally) when the app restarted, zeroing its counters."""

    times: np.ndarray
    restarts: tuple[float, ...] = field(default_factory=tuple)


def cloudwatch_frame(
    streams: list[Stream],
    window: Window,
    drop: dict[str, np.ndarray] | None = None,
    offset: float = 0.0,
) -> pd.DataFrame:
    """The long frame GetMetricData gives: per route and period, SampleCount and Sum."""
    rows = []
    for stream in streams:
        keep = np.ones(len(stream.ends), dtype=bool)
        if drop and stream.route in drop:
            keep[drop[stream.route]] = False
        ends, latencies = stream.ends[keep], stream.latencies[keep] + offset
        index = np.floor((ends - window.start.timestamp()) / window.period).astype(int)
        for i, start in enumerate(window.period_starts()):
            chosen = index == i
            if chosen.any():
                stamp = pd.Timestamp(start)
                rows.append((stream.route, stamp, "count", float(chosen.sum())))
                rows.append((stream.route, stamp, "sum", float(latencies[chosen].sum())))
    return pd.DataFrame(rows, columns=CW_COLUMNS)


def _counter(ends: np.ndarray, weights: np.ndarray, scrapes: Scrapes) -> np.ndarray:
    """The counter each scrape reads: what finished since the last restart before it."""
    if not len(ends):
        return np.zeros(len(scrapes.times))
    order = np.argsort(ends)
    ends, cumulative = ends[order], np.cumsum(weights[order])
    upto = np.searchsorted(ends, scrapes.times, side="right")
    values = np.where(upto > 0, cumulative[np.maximum(upto - 1, 0)], 0.0)
    for restart in scrapes.restarts:
        since = np.searchsorted(ends, restart, side="right")
        base = cumulative[since - 1] if since > 0 else 0.0
        values = np.where(scrapes.times >= restart, values - base, values)
    return values


def prometheus_series(
    streams: list[Stream],
    scrapes: Scrapes,
    born: bool = True,
    buckets: tuple[float, ...] = DEFAULT_BUCKETS,
) -> dict[str, SeriesSet]:
    """Raw samples of ``_count``, ``_sum`` and ``_bucket``, as the range query returns them.

    With ``born`` a series has no samples before its first request (prometheus_flask_exporter
    creates a label set on first use).
    """
    parts: dict[str, tuple[list, list, list]] = {
        k: ([], [], []) for k in ("count", "sum", "bucket")
    }
    for stream in streams:
        method, path = stream.route.split(" ", 1)
        first = stream.ends.min() if len(stream.ends) else np.inf
        visible = scrapes.times >= first if born else np.ones(len(scrapes.times), dtype=bool)
        ones = np.ones(len(stream.ends))
        series = {
            "count": [("", _counter(stream.ends, ones, scrapes))],
            "sum": [("", _counter(stream.ends, stream.latencies, scrapes))],
            "bucket": [
                (f"{le:g}", _counter(stream.ends, (stream.latencies <= le).astype(float), scrapes))
                for le in buckets
            ]
            + [("+Inf", _counter(stream.ends, ones, scrapes))],
        }
        for suffix, per_le in series.items():
            labels, stamps, values = parts[suffix]
            for le, counter in per_le:
                if not visible.any():
                    continue
                name = f"method={method},path={path},status={stream.status},le={le}"
                labels.append({"series": name, "path": path, "method": method, "le": le})
                stamps.append(scrapes.times[visible])
                values.append(counter[visible])
    return {k: SeriesSet.from_arrays(*v) for k, v in parts.items()}


def prometheus_frames(
    streams: list[Stream],
    scrapes: Scrapes,
    born: bool = True,
    buckets: tuple[float, ...] = DEFAULT_BUCKETS,
) -> dict[str, pd.DataFrame]:
    """The same samples in the long form (one row per sample)."""
    series = prometheus_series(streams, scrapes, born, buckets)
    return {k: v.to_frame()[SAMPLE_COLUMNS] for k, v in series.items()}


def cloudwatch_grid(
    streams: list[Stream],
    window: Window,
    drop: dict[str, np.ndarray] | None = None,
    offset: float = 0.0,
) -> StatGrid:
    """What GetMetricData gives, on the window's grid (see ``cloudwatch_frame``)."""
    return StatGrid.from_frame(
        cloudwatch_frame(streams, window, drop, offset),
        list(dict.fromkeys(s.route for s in streams)),
        window,
    )


def poisson_stream(
    route: str, rng: np.random.Generator, start: float, end: float, rate: float, mean_latency: float
) -> Stream:
    """Requests finishing at a steady random rate inside [start, end)."""
    count = rng.poisson(rate * (end - start))
    ends = np.sort(rng.uniform(start, end, count))
    latencies = rng.exponential(mean_latency, count)
    return Stream(route, ends, latencies)


def scrape_times(start: float, end: float, interval: float, phase: float = 0.0) -> np.ndarray:
    return np.arange(start + phase, end, interval)


@dataclass(frozen=True)
class Week:
    """A synthetic long run as arrays: ``routes`` × ``statuses`` series scraped from one target."""

    routes: list[str]
    window: Window
    cloudwatch: StatGrid
    count: SeriesSet
    sums: SeriesSet
    scrape: float


def week_of_series(
    routes: int,
    points: int,
    rng: np.random.Generator,
    statuses: tuple[str, ...] = ("200", "404", "500", "503"),
    scrape: float = 60.0,
    period: int = 300,
) -> Week:
    """Counters of ``routes`` × ``statuses`` series over ``points`` scrapes, written straight
    into arrays (a week of one-minute scrapes is 10,080 points); CloudWatch's SampleCount and
    Sum per route and period are what the series counted, so a clean run passes."""
    start = datetime(2026, 11, 16, tzinfo=UTC).timestamp()
    stamps = start - 3 * scrape + scrape * np.arange(points)
    names = [f"GET /r{i}" for i in range(routes)]
    labels = [
        {"series": f"method=GET,path={r[4:]},status={s}", "path": r[4:], "method": "GET", "le": ""}
        for r in names
        for s in statuses
    ]
    total = len(labels) * points
    offsets = np.arange(len(labels) + 1, dtype=np.int64) * points
    # each metric its own timestamps, as Prometheus returns them (one array per series)
    count_stamps, sum_stamps = np.empty(total), np.empty(total)
    counts, sums = np.empty(total), np.empty(total)
    for index in range(len(labels)):
        part = slice(index * points, (index + 1) * points)
        count_stamps[part] = stamps
        sum_stamps[part] = stamps
        np.cumsum(rng.poisson(5, points), out=counts[part])
        np.multiply(counts[part], 0.02, out=sums[part])
    end = start + period * int((stamps[-1] - start - 2 * scrape) // period)
    window = Window(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), period)
    frame = pd.DataFrame(labels)
    count = SeriesSet(frame, offsets, count_stamps, counts)
    summed = SeriesSet(frame, offsets.copy(), sum_stamps, sums)
    grid = StatGrid(tuple(names), window, _scraped_per_period(count, summed, window, statuses))
    return Week(names, window, grid, count, summed, scrape)


def _scraped_per_period(count, sums, window, statuses) -> dict[str, np.ndarray]:
    """Each route's increase per period, read at the scrapes on the boundaries (the series
    are scraped on the period grid): what CloudWatch counted of the same requests."""
    points = window.start.timestamp() + window.period * np.arange(len(window.period_starts()) + 1)
    stamps = count.timestamps[count.offsets[0] : count.offsets[1]]
    at = np.searchsorted(stamps, points)
    assert np.array_equal(stamps[at], points), "the synthetic scrapes sit on the boundaries"
    result = {}
    for name, series in (("count", count), ("sum", sums)):
        rows = series.values.reshape(len(series), -1)[:, at]
        per_route = rows.reshape(-1, len(statuses), len(points)).sum(axis=1)
        result[name] = np.diff(per_route, axis=1)
    return result
