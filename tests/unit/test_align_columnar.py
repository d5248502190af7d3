"""The columnar engine against the per-route one it replaced (tests/unit/reference_align.py).

Generated data covers what the fast path must not get wrong: series born inside the range,
restarts (resets, with and without a gap), several statuses and instances per route (shared and
separate scrape timelines), a clock skew that puts scrapes near boundaries, missed scrapes,
targets that stop before the window ends (NaN after the last scrape) and unmapped routes.
"""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwparity.align import Sampling, align, bucket_increases
from cwparity.counters import grouped_counters
from cwparity.samples import SeriesSet, StatGrid
from cwparity.synthetic import Scrapes, Stream, cloudwatch_frame, prometheus_series
from cwparity.window import Window
from tests.unit import reference_align

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
ROUTES = ["GET /", "GET /long-request", "POST /items"]


@st.composite
def targets(draw):
    """A window, and per scrape target (instance) its streams and its scrapes."""
    period = draw(st.sampled_from([5, 10, 60]))
    periods = draw(st.integers(2, 7))
    scrape = draw(st.sampled_from([1.0, 2.0, 5.0, 15.0]))
    skew = draw(st.sampled_from([0.0, 0.25, 1.0]))
    window = Window(
        datetime.fromtimestamp(BASE, UTC),
        datetime.fromtimestamp(BASE + period * periods, UTC),
        period,
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    instances = []
    for _ in range(draw(st.integers(1, 3))):
        phase = draw(st.floats(0, scrape, exclude_max=True))
        times = np.arange(BASE - 4 * scrape + phase, BASE + window.seconds + 3 * scrape, scrape)
        if draw(st.booleans()):  # missed scrapes
            times = times[rng.uniform(size=len(times)) > 0.15]
        if draw(st.booleans()):  # the target went away before the window ended
            times = times[: max(1, int(len(times) * rng.uniform(0.3, 1.0)))]
        restarts = ()
        if draw(st.booleans()) and len(times) > 4:
            restarts = (float(rng.uniform(times[1], times[-1])),)
            if draw(st.booleans()):  # down for a while: a gap in the samples
                gap = (times > restarts[0] - 3 * scrape) & (times < restarts[0])
                times = times[~gap]
        streams = []
        for route in [*ROUTES, "GET /unmapped"]:
            for status in draw(st.lists(st.sampled_from(["200", "404", "500"]), unique=True)):
                count = draw(st.integers(0, 120))
                ends = np.sort(rng.uniform(BASE - 2 * scrape, BASE + window.seconds, count))
                streams.append(Stream(route, ends, rng.exponential(0.05, count), status))
        instances.append((streams, Scrapes(times, restarts)))
    sampling = Sampling(scrape, skew, BASE - 4 * scrape)
    return window, instances, sampling, draw(st.booleans())


def series_of(instances, born):
    """Each instance's series, labelled with its instance so that they stay apart."""
    per_kind: dict[str, list[SeriesSet]] = {"count": [], "sum": [], "bucket": []}
    for number, (streams, scrapes) in enumerate(instances):
        for kind, found in prometheus_series(streams, scrapes, born=born).items():
            labels = found.labels.assign(series=found.labels.series + f",instance={number}")
            per_kind[kind].append(SeriesSet(labels, found.offsets, found.timestamps, found.values))
    return {kind: SeriesSet.concat(parts) for kind, parts in per_kind.items()}


def cloudwatch_of(instances, window):
    frames = [cloudwatch_frame(streams, window) for streams, _ in instances]
    frame = pd.concat(frames, ignore_index=True)
    return frame.groupby(["route", "period_start", "stat"], as_index=False)["value"].sum()


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_frames_match(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(mine.columns) == list(theirs.columns)
    assert len(mine) == len(theirs)
    for column in mine.columns:
        a, b = mine[column].to_numpy(), theirs[column].to_numpy()
        if mine[column].dtype.kind == "f":
            np.testing.assert_allclose(a, b.astype(float), rtol=1e-9, atol=1e-9, err_msg=column)
        else:
            assert list(a) == list(b), column


@SETTINGS
@given(targets())
def test_columnar_alignment_equals_the_per_route_reference(case):
    window, instances, sampling, born = case
    series = series_of(instances, born)
    cw = cloudwatch_of(instances, window)
    reference = reference_align.align(
        cw, series["count"].to_frame(), series["sum"].to_frame(), ROUTES, window, sampling
    )
    mine = align(
        StatGrid.from_frame(cw, ROUTES, window),
        series["count"],
        series["sum"],
        ROUTES,
        window,
        sampling,
    )
    assert_frames_match(mine.periods, reference.periods)
    assert_frames_match(mine.totals.reset_index(), reference.totals.reset_index())


@SETTINGS
@given(targets())
def test_columnar_bucket_increases_equal_the_reference(case):
    window, instances, sampling, born = case
    buckets = series_of(instances, born)["bucket"]
    reference = reference_align.bucket_increases(buckets.to_frame(), ROUTES, window, sampling)
    mine = bucket_increases(buckets, ROUTES, window, sampling)
    assert_frames_match(
        mine.reset_index(drop=True).astype({"route": object}),
        reference.reset_index(drop=True).astype({"route": object}),
    )


def test_every_series_on_one_timeline_is_read_at_once_and_exactly():
    # two series on one timeline, one with a reset (per-series path), one born late
    stamps = BASE + np.arange(10.0)
    sets = SeriesSet.from_arrays(
        [
            {"series": "a", "path": "/", "method": "GET", "le": ""},
            {"series": "b", "path": "/", "method": "GET", "le": ""},
            {"series": "c", "path": "/", "method": "GET", "le": ""},
            {"series": "d", "path": "/", "method": "GET", "le": ""},
        ],
        [stamps, stamps, stamps, stamps[5:]],
        [np.arange(10.0), 2 * np.arange(10.0), np.r_[0, 1, 2, 3, 0, 1, 2, 3, 4, 5.0], np.ones(5)],
    )
    points = BASE + np.array([0.5, 4.5, 9.0])
    sampling = Sampling(1.0, 0.0, BASE - 3)
    at, u = grouped_counters(sets, np.zeros(4, dtype=np.int64), 1, points, sampling)
    expected_at, expected_u = np.zeros(3), np.zeros(3)
    for index in range(4):
        one = slice(sets.offsets[index], sets.offsets[index + 1])
        a, b = reference_align.counter_at(sets.timestamps[one], sets.values[one], points, sampling)
        expected_at, expected_u = expected_at + a, expected_u + b
    assert at[0] == pytest.approx(expected_at)
    assert u[0] == pytest.approx(expected_u)
