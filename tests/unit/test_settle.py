"""The settle rule against a simulated CloudWatch that makes data readable late and in batches.

The simulation is the bursty test CloudWatch's rule (cwparity.stack.bursty_moto) on a fake
clock: a datum put at ``s`` is readable from the next multiple of ``batch`` seconds after ``s``,
optionally plus a fixed lag. Reads count what is readable at the fake clock's "now".
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cwparity.settle import SettleRule, settle, shortfall_trend

PERIOD = 5.0


class FakeCloudWatch:
    """Requests at ``puts`` (unix seconds) in a window of periods; some publishes dropped."""

    def __init__(self, start, periods, puts, batch, lag=0.0, dropped=()):
        self.now = 0.0
        self.ends = start + PERIOD * np.arange(1, periods + 1)
        self.period_of = ((np.asarray(puts) - start) // PERIOD).astype(int)
        kept = np.ones(len(puts), dtype=bool)
        kept[list(dropped)] = False
        self.kept = kept
        self.readable_at = np.floor(np.asarray(puts) / batch + 1) * batch + lag
        self.prometheus = np.bincount(self.period_of, minlength=periods).astype(float)
        self.reads: list[int] = []

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)

    def clock(self) -> float:
        return self.now

    def readable(self) -> np.ndarray:
        shown = self.kept & (self.readable_at <= self.now)
        return np.bincount(self.period_of[shown], minlength=len(self.ends)).astype(float)

    def read(self, first_open: int, previous):
        self.reads.append(first_open)
        fresh = self.readable()
        if previous is None:
            return fresh
        merged = previous.copy()
        merged[first_open:] = fresh[first_open:]
        return merged

    def run(self, rule: SettleRule, pad: float = 2.25):
        self.now = self.ends[-1] + pad  # the run waits for Prometheus to scrape past the window
        return settle(
            self.read,
            lambda before, after: before != after,
            lambda counts: float(self.prometheus.sum() - counts.sum()),
            self.ends,
            rule,
            sleep=self.sleep,
            clock=self.clock,
        )


def steady_load(start: float, periods: int, rate: float = 10.0) -> np.ndarray:
    return start + np.arange(0, periods * PERIOD, 1 / rate) + 0.01


DEMO = SettleRule(quiet=20, min_age=10, timeout=90, min_spacing=2)


def test_batches_20s_apart_settle_with_every_datum_and_say_it_was_lag():
    start = 1_000_000.0 + 3  # the window's end is not on the batches' grid
    cw = FakeCloudWatch(start, 12, steady_load(start, 12), batch=20)
    result = cw.run(DEMO)
    assert result.settled
    np.testing.assert_array_equal(result.value, cw.prometheus)
    record = result.record
    assert record["shortfall"][0] > 0 and record["shortfall"][-1] == 0
    assert record["shortfall_trend"] == "caught up"
    assert "lag, caught up" in record["why"]
    assert record["ended"] == "quiet" and record["quiet_for_s"] >= DEMO.quiet


def test_two_equal_reads_inside_a_batch_gap_do_not_settle_the_window():
    """The old rule stopped after two equal polls 5 s apart; this one waits out the gap."""
    start = 1_000_000.0 + 3
    cw = FakeCloudWatch(start, 12, steady_load(start, 12), batch=20)
    cw.now = cw.ends[-1] + 2.25
    first, five_s_later = cw.readable(), (cw.sleep(5), cw.readable())[1]
    assert np.array_equal(first, five_s_later) and first.sum() < cw.prometheus.sum()
    assert np.array_equal(cw.run(DEMO).value, cw.prometheus)


@settings(max_examples=60, deadline=None)
@given(
    phase=st.floats(0, 60, allow_nan=False),
    batch=st.sampled_from([1.0, 5.0, 10.0, 20.0, 30.0]),
    periods=st.integers(1, 30),
    pad=st.floats(0, 10),
)
def test_any_batching_within_min_age_plus_quiet_settles_on_all_the_data(phase, batch, periods, pad):
    start = 1_000_000.0 + round(phase / PERIOD) * PERIOD
    cw = FakeCloudWatch(start, periods, steady_load(start, periods, rate=3), batch=batch)
    result = cw.run(DEMO, pad=pad)
    assert result.settled
    np.testing.assert_array_equal(result.value, cw.prometheus)


def test_a_lost_publish_settles_and_stays_short_not_lag():
    start = 1_000_000.0 + 3
    puts = steady_load(start, 12)
    dropped = range(0, len(puts), 50)  # 2 %
    cw = FakeCloudWatch(start, 12, puts, batch=20, dropped=dropped)
    result = cw.run(DEMO)
    assert result.settled
    assert result.record["shortfall"][-1] == len(dropped)
    assert result.record["shortfall_trend"] == "steady"
    assert "not lag" in result.record["why"]


def test_still_arriving_at_the_deadline_is_not_settled_and_called_lag():
    start = 1_000_000.0
    # 25 s late on top of 20 s batches, and a deadline 40 s after the first read
    cw = FakeCloudWatch(start, 24, steady_load(start, 24), batch=20, lag=25)
    rule = SettleRule(quiet=20, min_age=10, timeout=40, min_spacing=2)
    result = cw.run(rule)
    assert not result.settled
    assert result.record["ended"] == "deadline"
    assert result.record["shortfall_trend"] == "shrinking"
    assert "still shrinking: lag, not loss" in result.record["why"]
    assert result.waited <= rule.timeout + 1e-6
    # the last poll was at the deadline: what arrived by then is in the record
    assert result.record["reads"][-1]["at_s"] == pytest.approx(rule.timeout)


def test_nothing_arriving_at_all_is_judged_as_it_stands():
    """A CloudWatch with no data that stays without data over the quiet span on old enough
    data is not lag the rule can see: the window is judged (and its counts fail)."""
    start = 1_000_000.0
    cw = FakeCloudWatch(start, 12, steady_load(start, 12), batch=20, dropped=range(600))
    result = cw.run(DEMO)
    assert result.settled and result.record["shortfall"][-1] == 600
    assert result.record["shortfall_trend"] == "steady"


def test_an_old_window_is_final_at_the_first_read():
    start = 1_000_000.0
    cw = FakeCloudWatch(start, 12, steady_load(start, 12), batch=20)
    result = cw.run(DEMO, pad=3600)
    assert result.settled and result.polls == 1 and cw.reads == [0]
    assert result.record["ended"] == "final at the first read"


def test_later_polls_read_only_periods_not_yet_final():
    start = 1_000_000.0
    periods = 60  # five minutes: most periods are old at the first read
    cw = FakeCloudWatch(start, periods, steady_load(start, periods), batch=20)
    result = cw.run(DEMO)
    assert result.settled
    assert cw.reads[0] == 0 and all(first > 0 for first in cw.reads[1:])
    # the first read already trusted the periods older than min age + quiet
    old = np.sum(cw.ends[-1] + 2.25 - cw.ends >= DEMO.min_age + DEMO.quiet)
    assert cw.reads[1] == old
    assert result.read_from == tuple(cw.reads)


def test_a_quiet_fresh_window_takes_exactly_two_polls():
    """No lag at all: the first read, and one a quiet span later on old enough data."""
    start = 1_000_000.0
    cw = FakeCloudWatch(start, 12, steady_load(start, 12), batch=1e-9)
    result = cw.run(DEMO)
    assert result.settled and result.polls == 2
    assert result.record["shortfall_trend"] == "none"
    gap = result.record["reads"][1]["at_s"] - result.record["reads"][0]["at_s"]
    assert gap >= DEMO.quiet


def test_data_later_than_the_minimum_age_raises_the_age_used():
    start = 1_000_000.0
    # every datum 25 s late on top of 20 s batches: older than min_age at the first read
    cw = FakeCloudWatch(start, 24, steady_load(start, 24), batch=20, lag=25)
    rule = SettleRule(quiet=20, min_age=10, timeout=300, min_spacing=2)
    result = cw.run(rule)
    assert result.settled
    np.testing.assert_array_equal(result.value, cw.prometheus)
    assert result.record["min_data_age_used_s"] > rule.min_age


@pytest.mark.parametrize(
    ("shortfalls", "trend"),
    [
        ([0, 0], "none"),
        ([449, 12, 0, 0], "caught up"),
        ([449, 12], "shrinking"),
        ([30, 6, 6], "steady"),
        ([5, 5], "steady"),
        ([0, -3], "growing"),
        ([None, None], "unknown"),
    ],
)
def test_shortfall_trend_in_words(shortfalls, trend):
    assert shortfall_trend(shortfalls) == trend


def test_no_sleep_is_shorter_than_the_minimum_spacing():
    start = 1_000_000.0
    cw = FakeCloudWatch(start, 2, steady_load(start, 2), batch=1e-9)
    rule = SettleRule(quiet=0, min_age=0, timeout=30, min_spacing=7)
    result = cw.run(rule)
    at = [r["at_s"] for r in result.record["reads"]]
    assert all(b - a >= 7 - 1e-9 for a, b in itertools.pairwise(at))
    assert math.isfinite(result.waited)


def test_a_run_s_reads_differ_in_the_periods_whose_statistics_changed():
    from datetime import UTC, datetime

    from cwparity.run import Fetched
    from cwparity.samples import SeriesSet, StatGrid
    from cwparity.window import Window

    window = Window(
        datetime(2026, 11, 25, 12, tzinfo=UTC), datetime(2026, 11, 25, 12, 1, tzinfo=UTC), 20
    )
    before = StatGrid.empty_for(["GET /", "GET /x"], window, ["count", "sum"])
    before.stats["count"][0] = [5.0, np.nan, np.nan]
    after = StatGrid(before.routes, window, {k: v.copy() for k, v in before.stats.items()})
    after.stats["count"][1, 2] = 3.0  # a datum arrived for the second route's last period
    empty = SeriesSet.empty()
    first, second = Fetched(before, empty, empty, empty), Fetched(after, empty, empty, empty)
    assert list(first.moved_periods(second)) == [False, False, True]
    assert not first.moved_periods(first).any()  # NaN (no datum) equals NaN
    # Prometheus's samples are not per period: a change there moves every period
    scraped = SeriesSet.from_arrays(
        [{"series": "s", "path": "/", "method": "GET", "le": ""}], [np.array([1.0])], [[1.0]]
    )
    assert Fetched(before, scraped, empty, empty).moved_periods(first).all()
