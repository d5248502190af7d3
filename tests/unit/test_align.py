from datetime import UTC, datetime

import numpy as np
import pytest

from cwparity.align import Sampling, align
from cwparity.counters import counter_at, reset_corrected
from cwparity.synthetic import Scrapes, Stream, cloudwatch_grid, poisson_stream, prometheus_series
from cwparity.window import Window

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
WINDOW = Window(datetime.fromtimestamp(START, UTC), datetime.fromtimestamp(START + 60, UTC), 10)
SAMPLING = Sampling(scrape_interval=1.0, skew=0.0, range_start=START - 5)


def test_reset_corrected_counts_across_a_restart():
    assert list(reset_corrected(np.array([0, 5, 9, 2, 4.0]))) == [0, 5, 9, 11, 13]
    assert list(reset_corrected(np.array([3.0]))) == [3]


def test_counter_interpolates_between_scrapes_and_bounds_its_error():
    stamps = np.array([START, START + 1, START + 2])
    values = np.array([10.0, 20.0, 20.0])
    at, uncertainty = counter_at(stamps, values, np.array([START + 0.5, START + 1.5]), SAMPLING)
    assert list(at) == [15.0, 20.0]
    # the truth at +0.5 lies in [10, 20]: the estimate 15 is off by at most 5; a quiet
    # interval has no uncertainty at all
    assert list(uncertainty) == [5.0, 0.0]


def test_a_series_born_inside_the_range_starts_from_zero():
    stamps = np.array([START + 10, START + 11])
    at, _ = counter_at(stamps, np.array([4.0, 6.0]), np.array([START, START + 11]), SAMPLING)
    assert list(at) == [0.0, 6.0]


def test_points_after_the_last_scrape_are_unknown():
    stamps = np.array([START, START + 1])
    at, uncertainty = counter_at(stamps, np.array([1.0, 2.0]), np.array([START + 30]), SAMPLING)
    assert np.isnan(at[0]) and np.isnan(uncertainty[0])


def synthetic(seed=1, restarts=()):
    rng = np.random.default_rng(seed)
    streams = [
        poisson_stream("GET /", rng, START + 3, START + 55, 20, 0.002),
        poisson_stream("GET /long-request", rng, START + 3, START + 55, 4, 0.15),
    ]
    scrapes = Scrapes(np.arange(START - 5 + 0.37, START + 65, 1.0), restarts)
    return streams, scrapes


def aligned_for(streams, scrapes, **cw_faults):
    prom = prometheus_series(streams, scrapes)
    cw = cloudwatch_grid(streams, WINDOW, **cw_faults)
    return align(cw, prom["count"], prom["sum"], ["GET /", "GET /long-request"], WINDOW, SAMPLING)


def test_exact_data_aligns_exactly_over_the_window():
    streams, scrapes = synthetic()
    aligned = aligned_for(streams, scrapes)
    for stream in streams:
        total = aligned.totals.loc[stream.route]
        assert total.cw_count == total.prom_count == len(stream.ends)
        assert total.prom_count_u == 0
        assert total.prom_sum == pytest.approx(stream.latencies.sum())


def test_every_period_is_within_its_derived_uncertainty():
    streams, scrapes = synthetic(seed=7)
    periods = aligned_for(streams, scrapes).periods
    assert len(periods) == 2 * 6
    assert ((periods.cw_count - periods.prom_count).abs() <= periods.prom_count_u + 1e-9).all()


def test_cloudwatch_periods_without_data_are_zero_requests():
    stream = Stream("GET /", np.array([START + 12.0]), np.array([0.01]))
    scrapes = Scrapes(np.arange(START - 5, START + 65, 1.0))
    prom = prometheus_series([stream], scrapes)
    aligned = align(
        cloudwatch_grid([stream], WINDOW), prom["count"], prom["sum"], ["GET /"], WINDOW, SAMPLING
    )
    assert list(aligned.periods.cw_count) == [0, 1, 0, 0, 0, 0]


def test_a_quiet_restart_loses_nothing():
    streams, _ = synthetic(seed=3)
    # no request ends in the second before the restart, so the last scrape saw everything
    quiet = [
        Stream(
            s.route,
            s.ends[(s.ends < START + 29) | (s.ends > START + 30.5)],
            s.latencies[(s.ends < START + 29) | (s.ends > START + 30.5)],
        )
        for s in streams
    ]
    scrapes = Scrapes(np.arange(START - 5 + 0.37, START + 65, 1.0), restarts=(START + 30.0,))
    aligned = aligned_for(quiet, scrapes)
    for stream in quiet:
        assert aligned.totals.loc[stream.route].prom_count == len(stream.ends)


def test_a_series_reborn_after_a_restart_gap_starts_from_zero():
    # old process: 40 requests; down for 5 s; the new process's label set appears with 6
    stamps = np.array([START, START + 1, START + 7, START + 8])
    values = np.array([40.0, 40.0, 6.0, 9.0])
    points = np.array([START + 3, START + 8])
    at, uncertainty = counter_at(stamps, values, points, SAMPLING)
    # inside the gap, before the new process's first scrape, nothing had happened yet
    assert at[0] == 40.0 and uncertainty[0] == 0.0
    assert at[1] == 49.0
