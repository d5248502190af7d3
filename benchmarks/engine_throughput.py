"""Benchmark: the engine (align + judge) on a synthetic week: 1,000 series x 10,080 points.

Prints aligned points per second and peak memory. Not a test: figures, not assertions.

    python benchmarks/engine_throughput.py [--series 1000] [--points 10080]

The window is a week of one-minute scrapes (10,080 points per series); series are split over
routes x statuses the way prometheus_flask_exporter labels them; CloudWatch has one SampleCount
and Sum per route and 5-minute period.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cwparity.align import Sampling, align
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.window import Window

STATUSES = ("200", "404", "500", "503")
SCRAPE = 60.0
PERIOD = 300


def synthetic_week(series: int, points: int, rng: np.random.Generator):
    start = datetime(2026, 11, 16, tzinfo=UTC).timestamp()
    stamps = start - 3 * SCRAPE + SCRAPE * np.arange(points)
    routes = [f"GET /r{i}" for i in range(series // len(STATUSES))]
    frames_count, frames_sum, cw_rows = [], [], []
    for route in routes:
        path = route.split(" ", 1)[1]
        for status in STATUSES:
            increments = rng.poisson(5, points).astype(float)
            counts = np.cumsum(increments)
            sums = np.cumsum(increments * 0.02)
            name = f"method=GET,path={path},status={status}"
            for frame, values in ((frames_count, counts), (frames_sum, sums)):
                frame.append(
                    pd.DataFrame(
                        {
                            "series": name,
                            "path": path,
                            "method": "GET",
                            "le": "",
                            "timestamp": stamps,
                            "value": values,
                        }
                    )
                )
    window_end = start + PERIOD * int((stamps[-1] - start - 2 * SCRAPE) // PERIOD)
    window = Window(
        datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(window_end, UTC), PERIOD
    )
    for route in routes:
        for period_start in window.period_starts():
            stamp = pd.Timestamp(period_start)
            cw_rows += [(route, stamp, "count", 100.0), (route, stamp, "sum", 2.0)]
    cloudwatch = pd.DataFrame(cw_rows, columns=["route", "period_start", "stat", "value"])
    return (
        routes,
        window,
        cloudwatch,
        pd.concat(frames_count, ignore_index=True),
        pd.concat(frames_sum, ignore_index=True),
    )


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10080)
    args = parser.parse_args()
    routes, window, cloudwatch, count, sums = synthetic_week(
        args.series, args.points, np.random.default_rng(0)
    )
    config = parse_config(
        {"routes": [{"path": r.split(" ", 1)[1]} for r in routes], "window": {"period": PERIOD}}
    )
    sampling = Sampling(SCRAPE, 0.25, window.start.timestamp() - 3 * SCRAPE)
    samples = len(count) + len(sums)
    # peak RSS, not tracemalloc: tracing every allocation slows the engine several-fold
    rss_before = _max_rss_mib()
    began = time.perf_counter()
    aligned = align(cloudwatch, count, sums, routes, window, sampling)
    aligned_at = time.perf_counter()
    checks = judge_run(aligned, None, config)
    done = time.perf_counter()
    rss_after = _max_rss_mib()
    print(
        f"series: {args.series} ({len(routes)} routes x {len(STATUSES)} statuses), "
        f"points per series: {args.points}, raw samples (count + sum): {samples:,}"
    )
    print(f"align: {aligned_at - began:.2f} s = {samples / (aligned_at - began):,.0f} points/s")
    print(
        f"judge: {done - aligned_at:.2f} s for {len(checks):,} checks "
        f"({len(aligned.periods):,} route-periods)"
    )
    print(f"total: {done - began:.2f} s = {samples / (done - began):,.0f} aligned points/s")
    print(
        f"peak memory: process max RSS {rss_after:,.0f} MiB; align+judge raised it by "
        f"{rss_after - rss_before:,.0f} MiB over the synthetic input"
    )


if __name__ == "__main__":
    main()
