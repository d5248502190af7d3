"""A target lost before the window ends, and a window neither side has data for: each gives a
clear per-route verdict (never PASS, never an internal error), and its twin on full data passes."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from cwparity.align import Sampling, align, bucket_increases
from cwparity.config import parse_config
from cwparity.judge import PercentileInputs, judge_run
from cwparity.judge.gaps import scrape_gaps
from cwparity.judge.percentiles import judge_cloudwatch_percentiles, rank_range
from cwparity.results import Status, verdict
from cwparity.samples import SeriesSet, StatGrid
from cwparity.synthetic import Scrapes, Stream, cloudwatch_grid, prometheus_series
from cwparity.window import Window

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = Window(T0, T0.replace(minute=2), 10)
START, END = WINDOW.start.timestamp(), WINDOW.end.timestamp()
SAMPLING = Sampling(1.0, 0.0, START - 3.0)
CONFIG = parse_config({"routes": [{"path": "/"}], "load": {"enabled": False}})
LES = np.array([0.01, 0.05, 0.1, 0.5, np.inf])


def stream() -> Stream:
    # a quiet second at each edge, one request every 0.25 s in between, 20-40 ms each
    ends = np.arange(START + 1.1, END - 1.0, 0.25)
    return Stream("GET /", ends, 0.02 + 0.02 * (np.arange(len(ends)) % 2))


def percentiles_of(streams: list[Stream]) -> pd.DataFrame:
    """CloudWatch's p50/p90/p99 per period (nearest rank), as GetMetricData gives them."""
    rows = []
    for s in streams:
        index = np.floor((s.ends - START) / WINDOW.period).astype(int)
        for i, start in enumerate(WINDOW.period_starts()):
            mine = np.sort(s.latencies[index == i])
            for stat, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
                if len(mine):
                    rank = max(int(np.ceil(q * len(mine))) - 1, 0)
                    rows.append((s.route, pd.Timestamp(start), stat, float(mine[rank])))
    return pd.DataFrame(rows, columns=["route", "period_start", "stat", "value"])


def judged(scrapes_until: float, streams: list[Stream] | None = None):
    streams = [stream()] if streams is None else streams
    scrapes = Scrapes(np.arange(START - 3.0, scrapes_until, 1.0))
    prom = prometheus_series(streams, scrapes, born=False)
    grid = (
        cloudwatch_grid(streams, WINDOW)
        if streams
        else StatGrid.empty_for(["GET /"], WINDOW, ["count", "sum"])
    )
    routes = ["GET /"]
    aligned = align(grid, prom["count"], prom["sum"], routes, WINDOW, SAMPLING)
    buckets = bucket_increases(prom["bucket"], routes, WINDOW, SAMPLING)
    inputs = PercentileInputs(buckets, percentiles_of(streams))
    checks = judge_run(aligned, None, CONFIG, inputs)
    checks += scrape_gaps(prom["count"], routes, WINDOW, SAMPLING)
    return {c.id: c for c in checks}, checks


def test_rank_range_of_unknown_counts_is_no_range_not_a_crash():
    cumulative = np.array([0.0, 50.0, np.nan, np.nan, np.nan])
    assert rank_range(LES, cumulative, np.zeros(5), 0.9) is None
    assert (
        rank_range(LES, np.array([0.0, 50.0, 100.0, 100.0, 100.0]), np.full(5, np.nan), 0.5) is None
    )


def test_percentile_of_a_period_after_the_last_scrape_is_skipped_with_the_reason():
    stamp = pd.Timestamp(T0)
    cw = pd.DataFrame(
        [("GET /", stamp, "p90", 0.07)], columns=["route", "period_start", "stat", "value"]
    )
    frame = pd.DataFrame(
        {"route": "GET /", "period_start": stamp, "le": LES, "count": np.nan, "u": np.nan}
    )
    (check,) = judge_cloudwatch_percentiles(frame, cw, None, "GET /", CONFIG)
    assert check.status is Status.SKIP
    assert "no samples" in check.reason and "target was lost" in check.reason


def test_full_data_twin_passes_without_a_gap():
    checks, listed = judged(END + 3.0)
    assert checks["count[GET /]"].status is Status.PASS
    assert not [c for c in listed if c.kind == "scrape_gap"]
    assert verdict(listed) is Status.PASS


def test_target_lost_before_the_window_ends_gives_per_route_verdicts_and_names_the_gap():
    lost_at = START + 75.0
    checks, listed = judged(lost_at)  # no scrape after 12:01:15, the window ends at 12:02
    assert checks["count[GET /]"].status is Status.ERROR
    assert "no samples" in checks["count[GET /]"].reason
    before = checks["count[GET /]@2026-11-25T12:00:10Z"]
    after = checks["count[GET /]@2026-11-25T12:01:40Z"]
    assert before.status is Status.PASS and after.status is Status.ERROR
    # percentiles: judged where the scrapes reach, SKIP with the reason after the last one
    assert checks["percentile.p90[GET /]@2026-11-25T12:00:10Z"].status is Status.PASS
    late = checks["percentile.p90[GET /]@2026-11-25T12:01:40Z"]
    assert late.status is Status.SKIP and "target was lost" in late.reason
    gap = checks["scrape_gap[GET /]"]
    assert gap.status is Status.WARN and "stop at 12:01:14Z" in gap.reason
    assert gap.details["finding"] == gap.reason
    assert verdict(listed) is Status.ERROR


def test_a_gap_inside_the_window_is_named():
    streams = [stream()]
    times = np.arange(START - 3.0, END + 3.0, 1.0)
    times = times[(times < START + 30) | (times > START + 36)]  # 7 scrapes missed
    prom = prometheus_series(streams, Scrapes(times), born=False)
    (gap,) = scrape_gaps(prom["count"], ["GET /"], WINDOW, SAMPLING)
    assert gap.status is Status.WARN
    assert (
        "1 gap(s)" in gap.reason
        and "8s from 12:00:29Z to 12:00:37Z (about 7 scrapes missed)" in gap.reason
    )
    assert "stop at" not in gap.reason


def test_a_boundary_just_after_the_last_scrape_is_unknown_not_a_count_fail():
    # the last scrape is 12:00:59, one interval before the 12:01:00 boundary; the requests
    # served in between were never scraped, so the count at that boundary is unknown: the
    # period ending there is ERROR (not judged), never a FAIL over requests nobody scraped
    checks, listed = judged(START + 59.5)
    ending = checks["count[GET /]@2026-11-25T12:00:50Z"]
    assert ending.status is Status.ERROR, ending.reason
    assert checks["count[GET /]@2026-11-25T12:00:40Z"].status is Status.PASS
    assert not [c for c in listed if c.status is Status.FAIL]
    assert verdict(listed) is Status.ERROR


def scrapes_missing(missing: list[float]) -> Scrapes:
    """One scrape a second around the window, without those at ``missing`` (s after START)."""
    times = np.arange(START - 3.0, END + 3.0, 1.0)
    return Scrapes(times[~np.isin(times, START + np.array(missing))])


def gap_check(missing: list[float]):
    """The scrape_gap check of a full-rate stream whose scrapes at ``missing`` were lost."""
    prom = prometheus_series([stream()], scrapes_missing(missing), born=False)
    return scrape_gaps(prom["count"], ["GET /"], WINDOW, SAMPLING)


def test_isolated_single_missed_scrapes_are_named_but_pass():
    # one lost scrape in each of three periods: what a scrape timeout on a busy runner gives
    (gap,) = gap_check([14.0, 35.0, 101.0])
    assert gap.status is Status.PASS, gap.reason
    assert "3 gap(s)" in gap.reason and "never more than one in a period" in gap.reason
    assert gap.observed["most_missed_in_a_period"] == 1
    assert "finding" not in gap.details


@pytest.mark.parametrize(
    "missing",
    [
        [14.0, 15.0],  # two in a row: the target was unreachable for two scrapes
        [12.0, 17.0],  # two single misses in one 10 s period: flapping
        [19.0, 20.0],  # two in a row across a period boundary
    ],
)
def test_two_missed_scrapes_in_one_period_warn(missing):
    (gap,) = gap_check(missing)
    assert gap.status is Status.WARN, gap.reason
    assert "the target was down or unreachable" in gap.reason
    assert gap.observed["most_missed_in_a_period"] == 2
    assert gap.details["finding"] == gap.reason


def test_a_missed_scrape_shared_by_a_routes_series_counts_once():
    # two status codes of one route share each scrape: one missed scrape is still one
    ends = np.arange(START + 1.1, END - 1.0, 0.25)
    streams = [stream(), Stream("GET /", ends[::7], np.full(len(ends[::7]), 0.03), status="500")]
    times = np.arange(START - 3.0, END + 3.0, 1.0)
    prom = prometheus_series(streams, Scrapes(times[times != START + 14.0]), born=False)
    assert len(prom["count"]) == 2
    (gap,) = scrape_gaps(prom["count"], ["GET /"], WINDOW, SAMPLING)
    assert gap.status is Status.PASS, gap.reason


def replica_counts(missing_per_replica: list[list[float]]) -> SeriesSet:
    """``_count`` of one route served by replicas (one target each) that lost the scrapes
    at ``missing``: each replica's series carries its own instance in its name."""
    parts = []
    for n, missing in enumerate(missing_per_replica):
        counts = prometheus_series([stream()], scrapes_missing(missing), born=False)["count"]
        labels = counts.labels.assign(series=counts.labels.series + f",instance=replica-{n}")
        parts.append(SeriesSet(labels, counts.offsets, counts.timestamps, counts.values))
    return SeriesSet.concat(parts)


def test_replicas_each_missing_one_scrape_in_one_period_pass():
    # two targets, each one scrape timeout in the same period: not an outage of either
    counts = replica_counts([[12.0], [17.0]])
    assert len(counts) == 2
    (gap,) = scrape_gaps(counts, ["GET /"], WINDOW, SAMPLING)
    assert gap.status is Status.PASS, gap.reason
    assert gap.observed["most_missed_in_a_period"] == 1


def test_one_replica_missing_two_scrapes_in_a_period_warns_beside_a_full_one():
    counts = replica_counts([[12.0, 17.0], []])
    (gap,) = scrape_gaps(counts, ["GET /"], WINDOW, SAMPLING)
    assert gap.status is Status.WARN, gap.reason
    assert gap.observed["most_missed_in_a_period"] == 2


def test_unmapped_series_and_born_series_are_not_gaps():
    ends = np.arange(START + 50.0, END - 1.0, 0.5)
    late = Stream("GET /", ends, np.full(len(ends), 0.02))
    other = Stream("GET /other", np.array([START + 5.0]), np.array([0.01]))
    scrapes = Scrapes(np.arange(START - 3.0, START + 60.0, 1.0))  # /other's target lost too
    prom = prometheus_series([late, other], scrapes, born=True)
    full = prometheus_series([late], Scrapes(np.arange(START - 3.0, END + 3.0, 1.0)), born=True)
    assert scrape_gaps(full["count"], ["GET /"], WINDOW, SAMPLING) == []
    (lost,) = scrape_gaps(prom["count"], ["GET /"], WINDOW, SAMPLING)
    assert lost.subject == "GET /"
    assert scrape_gaps(SeriesSet.empty(), ["GET /"], WINDOW, SAMPLING) == []


def test_a_window_neither_side_has_data_for_is_an_error_not_a_pass():
    checks, listed = judged(END + 3.0, streams=[])
    check = checks["count[GET /]"]
    assert check.status is Status.ERROR and "no data" in check.reason
    assert not [c for c in listed if c.status is Status.PASS]
    assert verdict(listed) is Status.ERROR


@pytest.mark.parametrize(("cw", "prom"), [(1.0, 0.0), (0.0, 1.0)])
def test_one_side_with_data_is_judged_and_fails(cw, prom):
    from tests.unit.test_judge import aligned

    checks = {c.id: c for c in judge_run(aligned(cw_count=cw, prom_count=prom), None, CONFIG)}
    assert checks["count[GET /]"].status is Status.FAIL


def test_a_run_that_judged_no_mapped_route_is_an_error():
    from cwparity.results import CheckResult
    from cwparity.run import nothing_judged

    def check(subject, status):
        return CheckResult(f"x[{subject}]", "x", subject, status, "why")

    skipped = [check("GET /", Status.SKIP), check("coverage", Status.PASS)]
    (error,) = nothing_judged(skipped, ["GET /"])
    assert error.status is Status.ERROR and verdict([*skipped, error]) is Status.ERROR
    # a route's scrapes and coverage passing judge none of its parity
    findings = [
        CheckResult(f"{kind}[GET /]", kind, "GET /", Status.PASS, "why")
        for kind in ("scrape_gap", "coverage")
    ]
    (error,) = nothing_judged([*skipped, *findings], ["GET /"])
    assert error.status is Status.ERROR
    assert nothing_judged([*skipped, check("GET /", Status.PASS)], ["GET /"]) == []
    assert nothing_judged([*skipped, check("GET /", Status.FAIL)], ["GET /"]) == []
    assert nothing_judged([*skipped, check("settle", Status.ERROR)], ["GET /"]) == []
