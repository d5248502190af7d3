"""The CloudWatch evaluator against AWS's documented examples, one test case per table row.

Source: AWS, "Using Amazon CloudWatch alarms" → "How alarm state is evaluated when data is
missing" (both tables: 3 of 3 and 2 of 3, evaluation range 5, most recent datapoint on the
right; 0 not breaching, X breaching, - missing). The rows the page carried in an earlier
revision (awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md) are kept as
well: AWS changed the rows it shows, not the behaviour, and every one still holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cwparity.alarms.evaluator import Rules, evaluate, timeline
from cwparity.alarms.model import AlarmSpec, Point, State

RETAIN = "retain"
MODES = ("missing", "ignore", "breaching", "notBreaching")

# (M, N, data points, MISSING, IGNORE, BREACHING, NOT BREACHING)
TABLE = [
    # 3 of 3, the page's first table
    (3, 3, "0 - X - X", "OK", "OK", "OK", "OK"),
    (3, 3, "0 - - - -", "OK", "OK", "OK", "OK"),
    (3, 3, "- - - - -", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
    (3, 3, "0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (3, 3, "- - X - -", "ALARM", RETAIN, "ALARM", "OK"),
    # 2 of 3, the page's second table
    (2, 3, "0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (2, 3, "0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    (2, 3, "0 - X - -", "OK", "OK", "ALARM", "OK"),
    (2, 3, "- - - - 0", "OK", "OK", "ALARM", "OK"),
    (2, 3, "- - - X -", "ALARM", RETAIN, "ALARM", "OK"),
    # rows of the earlier revision of the same tables
    (3, 3, "- - - - X", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
    (3, 3, "X - - - -", "ALARM", RETAIN, "ALARM", "OK"),
    (2, 3, "- - - - X", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
]


def slots(pattern: str) -> list[bool | None]:
    return [{"0": False, "X": True, "-": None}[c] for c in pattern.split()]


CASES = [
    pytest.param(m, n, pattern, mode, expected, id=f"{m}of{n} [{pattern}] {mode}")
    for m, n, pattern, *states in TABLE
    for mode, expected in zip(MODES, states, strict=True)
]


@pytest.mark.parametrize(("m", "n", "pattern", "mode", "expected"), CASES)
def test_documented_row(m, n, pattern, mode, expected):
    rules = Rules(m, n, mode, evaluation_range=5)
    if expected == RETAIN:
        # "Retain current state": whatever the alarm was, it stays
        for previous in State:
            assert evaluate(slots(pattern), rules, previous) is previous
    else:
        for previous in State:
            assert evaluate(slots(pattern), rules, previous) is State(expected)


def test_each_mode_is_covered_by_every_row():
    assert len(CASES) == 4 * len(TABLE)


def test_default_evaluation_range_is_the_pages_example():
    assert Rules(2, 3).range == 5


def test_datapoints_older_than_the_range_are_not_evaluated():
    # 3 of 3 with breaches 6 periods back: outside a range of 5, so no real data at all
    rules = Rules(3, 3, "missing", evaluation_range=5)
    assert evaluate(slots("X X X - - - - -"), rules, State.OK) is State.INSUFFICIENT_DATA
    wider = Rules(3, 3, "missing", evaluation_range=8)
    assert evaluate(slots("X X X - - - - -"), wider, State.OK) is State.ALARM


T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATENCY = AlarmSpec(
    name="latency",
    namespace="FlaskApp",
    metric_name="EndpointLatency",
    statistic="Average",
    period=10,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison="GreaterThanThreshold",
    threshold=0.5,
)


def periods(values: list[float | None]) -> tuple[list[Point], list[datetime]]:
    starts = [T0 + timedelta(seconds=10 * i) for i in range(len(values))]
    return [Point(s, v) for s, v in zip(starts, values, strict=True) if v is not None], starts


def test_timeline_states_per_period():
    points, starts = periods([0.1, 0.9, 0.2, 0.8, 0.7, 0.1, 0.2, 0.1])
    evaluated = timeline(LATENCY, points, starts)
    # windows of the 3 most recent real datapoints: (0) (0 X) (0 X 0) (X 0 X) (0 X X)
    # (X X 0) (X 0 0) (0 0 0)
    assert [e.state for e in evaluated] == [
        State.OK,
        State.OK,
        State.OK,
        State.ALARM,
        State.ALARM,
        State.ALARM,
        State.OK,
        State.OK,
    ]
    assert evaluated[0].end == T0 + timedelta(seconds=10)
    assert [e.breaching for e in evaluated][:4] == [False, True, False, True]


def test_timeline_looks_back_past_the_first_period_judged():
    points, starts = periods([0.9, 0.9, 0.1])
    # judging only the last period: the two breaches before it are in its evaluation range
    assert timeline(LATENCY, points, starts[2:])[0].state is State.ALARM
