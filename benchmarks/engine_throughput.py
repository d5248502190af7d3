"""Benchmark: the engine (align + judge) on a synthetic week, next to a bare numpy pass.

Prints aligned points per second, the same figure for a bare numpy pass over the same arrays in
the same process (interpolate every counter at the period boundaries, difference, compare: the
floor any engine must stand on), their ratios, and peak memory next to the raw arrays' bytes.
Not a test: figures, not assertions.

    python benchmarks/engine_throughput.py [--series 1000] [--points 10080] [--skip-judge]

The window is a week of one-minute scrapes (10,080 points per series); series are split over
routes x statuses the way prometheus_flask_exporter labels them, all scraped from one target
(one shared list of scrape times, as Prometheus stores a target's series); CloudWatch has one
SampleCount and Sum per route and 5-minute period (what the series counted: a clean run). "points" are the raw samples of every
series (``_count`` and ``_sum``), consumed per second.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import numpy as np

from cwparity.align import Sampling, align, boundaries
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.samples import SeriesSet, StatGrid
from cwparity.synthetic import week_of_series
from cwparity.window import Window

STATUSES = ("200", "404", "500", "503")
SCRAPE = 60.0
PERIOD = 300


def bare_numpy_pass(
    cloudwatch: StatGrid, count: SeriesSet, sums: SeriesSet, window: Window
) -> np.ndarray:
    """The floor: interpolate every counter at the boundaries, difference per route, compare.

    No reset correction, no born series, no uncertainty, no totals: what any engine must do."""
    points = boundaries(window)
    per_route = len(STATUSES)
    verdicts = []
    for series, cw in ((count, cloudwatch.stats["count"]), (sums, cloudwatch.stats["sum"])):
        at = np.empty((len(series), len(points)))
        for index in range(len(series)):
            begin, end = series.offsets[index], series.offsets[index + 1]
            at[index] = np.interp(points, series.timestamps[begin:end], series.values[begin:end])
        routes = at.reshape(-1, per_route, len(points)).sum(axis=1)
        verdicts.append(np.abs(np.diff(routes, axis=1) - cw) <= 1.0)
    return np.stack(verdicts)


def cloudwatch_figures(routes: int = 250, days: int = 7, lag: float = 150.0) -> dict:
    """A settled window: a week of ``routes`` routes (base and percentile statistics, 5-minute
    periods) read by the real settle and source code from a GetMetricData that pages as AWS
    documents, on a fake clock; the last period's data is ``lag`` seconds late (partial before).

    The minimum (cwparity.run.cloudwatch_cost): for each poll the settle rule needed (the first
    read of the whole window, one that proves the quiet span, one more for each poll that still
    saw data arrive), the fewest calls that carry the periods not yet final at that poll, packed
    within GetMetricData's limits. How many polls a window needs is the settle rule's, printed
    beside it, and so is what re-reading the whole window at each poll would cost."""
    import boto3
    from fake_cloudwatch import FakeGetMetricData

    from cwparity.config import CloudWatchConfig, Route, parse_config
    from cwparity.run import Fetched, settle_rule
    from cwparity.settle import settle
    from cwparity.sources import cloudwatch

    client = boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    calls = cloudwatch.CallLog().attach(client)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    window = Window(start, datetime.fromtimestamp(start.timestamp() + days * 86400, UTC), PERIOD)
    clock = [window.end.timestamp() + 2 * SCRAPE + 0.25]  # after Prometheus's last scrape

    def value(dimensions, stat, moment):  # complete once the period is ``lag`` seconds old
        return 1.0 if clock[0] >= moment.timestamp() + PERIOD + lag else 0.5

    FakeGetMetricData(value).attach(client)
    mapped = [Route(path=f"/r{i}") for i in range(routes)]
    config = CloudWatchConfig()

    def read(first_open, previous):
        if previous is None:
            grid, _ = cloudwatch.fetch_with_percentiles(client, config, mapped, window)
        else:
            grid, _ = cloudwatch.reread_open_periods(
                client, config, mapped, previous.cloudwatch, first_open
            )
        empty = SeriesSet.empty()
        return Fetched(grid, empty, empty, empty)

    def sleep(seconds):
        clock[0] += seconds

    ends = np.array([s.timestamp() + PERIOD for s in window.period_starts()])
    rule = settle_rule(parse_config({}))  # the defaults, for real AWS
    result = settle(
        read, Fetched.moved_periods, lambda _: None, ends, rule, sleep, lambda: clock[0]
    )
    assert result.settled and not np.isnan(result.value.cloudwatch.stats["p99"]).any()
    queries = routes * (len(cloudwatch.BASE_STATS) + len(cloudwatch.PERCENTILE_STATS))
    periods = len(ends)
    minimum = sum(cloudwatch.minimum_calls(queries, periods - first) for first in result.read_from)
    figures = calls.summary(minimum, queries * result.polls)
    figures["polls"] = result.polls
    figures["periods_read"] = [periods - first for first in result.read_from]
    figures["whole_window_each_poll"] = result.polls * cloudwatch.minimum_calls(queries, periods)
    figures["why"] = result.record["why"]
    return figures


def report_sizes(checks, tabled, aligned, window) -> str:
    """The run's results.json and report.html for this window, as a run writes them."""
    import tempfile
    from pathlib import Path

    from cwparity.judge.periods import chart_periods, collapse
    from cwparity.report import build_document, write_all

    began = time.perf_counter()
    kept, verdicts = collapse(checks, tabled)
    charted = chart_periods(aligned, verdicts)
    run = {
        "window": window.to_dict(),
        "periods": charted.pop("rows"),
        "charted": charted,
        "period_verdicts": verdicts.block(window.period_starts()),
    }
    with tempfile.TemporaryDirectory() as folder:
        paths = write_all(Path(folder) / "run", build_document(kept, run), history=False)
        sizes = {name: path.stat().st_size / 2**20 for name, path in paths.items()}
        written = time.perf_counter()
        csv = verdicts.save(Path(folder) / "period-verdicts.csv")
        csv_s, csv_mib = time.perf_counter() - written, csv.stat().st_size / 2**20
    return (
        f"report: {len(kept):,} checks shown of {len(checks):,} judged, {len(verdicts):,} "
        f"period verdicts in the table; results.json {sizes['json']:.1f} MiB, report.html "
        f"{sizes['html']:.1f} MiB (collapse and write {written - began:.1f} s)\n"
        f"period-verdicts.csv: {len(verdicts):,} rows, {csv_mib:,.0f} MiB written in {csv_s:.1f} s "
        f"= {len(verdicts) / csv_s:,.0f} rows/s"
    )


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function, *args):
    began = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=10080)
    parser.add_argument("--skip-judge", action="store_true", help="align and the bare pass only")
    parser.add_argument("--skip-locust", action="store_true", help="no Locust profile figures")
    args = parser.parse_args()
    week = week_of_series(args.series // len(STATUSES), args.points, np.random.default_rng(0))
    routes, window, cloudwatch, count, sums = (
        week.routes,
        week.window,
        week.cloudwatch,
        week.count,
        week.sums,
    )
    config = parse_config(
        {"routes": [{"path": r.split(" ", 1)[1]} for r in routes], "window": {"period": PERIOD}}
    )
    sampling = Sampling(SCRAPE, 0.25, window.start.timestamp() - 3 * SCRAPE)
    samples = count.samples + sums.samples
    raw_bytes = count.nbytes + sums.nbytes
    rss_input = _max_rss_mib()
    _, bare = _timed(bare_numpy_pass, cloudwatch, count, sums, window)
    aligned, align_s = _timed(align, cloudwatch, count, sums, routes, window, sampling)
    tabled: list = []
    checks, judge_s = (
        ([], 0.0) if args.skip_judge else _timed(judge_run, aligned, None, config, None, tabled)
    )
    rss_peak = _max_rss_mib()
    print(
        f"series: {args.series} ({len(routes)} routes x {len(STATUSES)} statuses), "
        f"points per series: {args.points}, raw samples (count + sum): {samples:,}"
    )
    print(f"bare numpy pass: {bare:.2f} s = {samples / bare:,.0f} points/s")
    print(f"align: {align_s:.2f} s = {samples / align_s:,.0f} points/s")
    if not args.skip_judge:
        print(
            f"judge: {judge_s:.2f} s for {len(checks):,} checks "
            f"({len(aligned.periods):,} route-periods)"
        )
    total = align_s + judge_s
    print(f"total: {total:.2f} s = {samples / total:,.0f} aligned points/s")
    print(
        f"ratio to the bare pass (points/s): align {align_s / bare:.2f}x slower, "
        f"align + judge {total / bare:.2f}x slower"
    )
    print(
        f"peak memory: process max RSS {rss_peak:,.0f} MiB = {rss_peak * 2**20 / raw_bytes:.2f}x "
        f"the raw arrays' {raw_bytes / 2**20:,.0f} MiB (input alone: {rss_input:,.0f} MiB)"
    )
    if not args.skip_judge:
        print(report_sizes(checks, tabled, aligned, window))
    cw = cloudwatch_figures()
    print(
        f"CloudWatch, a settled window: a week of 250 routes (SampleCount, Sum, p50, p90, p99; "
        f"{PERIOD // 60}-minute periods), the last period 150 s late, default settle keys: "
        f"{cw['polls']} polls reading {' + '.join(map(str, cw['periods_read']))} periods, "
        f"{cw['get_metric_data_calls']} GetMetricData calls, minimum "
        f"{cw['minimum_get_metric_data_calls']}: CloudWatch calls / minimum = "
        f"{cw['calls_over_minimum']:.2f} (re-reading the whole window at each poll: "
        f"{cw['whole_window_each_poll']}); {cw['metrics_requested']:,} metrics requested "
        f"(minimum {cw['minimum_metrics_requested']:,}), ${cw['cost_usd']:.4f}"
    )
    if not args.skip_locust:
        from locust_profile import measure

        locust = measure()
        print(
            f"locust profile: {locust['ours']['requests_per_cpu_s']:.0f} requests/CPU-s = "
            f"{locust['ratio']:.1%} of a plain FastHttpUser's "
            f"{locust['plain']['requests_per_cpu_s']:.0f} (same app, median of 3 rounds)"
        )


if __name__ == "__main__":
    main()
