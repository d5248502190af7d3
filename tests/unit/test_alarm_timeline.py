"""The alarm ↔ rule comparison: each verdict, and its twin on bad data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cwparity.alarms.evaluator import Evaluated
from cwparity.alarms.model import AlarmSpec, State
from cwparity.alarms.timeline import (
    Episode,
    Lag,
    Subject,
    alarm_episodes,
    firing_episodes,
    judge,
    marginal_periods,
)
from cwparity.results import Status

T0 = datetime(2026, 1, 1, tzinfo=UTC)
P = 10
SPEC = AlarmSpec(
    name="latency",
    statistic="Average",
    period=P,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    comparison="GreaterThanThreshold",
    threshold=0.5,
)
GRID = Lag.derive(1.0, P, 0.0, grid_aligned=True)


def history(states: str, values=None) -> list[Evaluated]:
    """``"..AA."``: the state after each period (A = ALARM)."""
    values = values or [0.9 if s == "A" else 0.1 for s in states]
    return [
        Evaluated(
            T0 + timedelta(seconds=P * (i + 1)),
            v,
            SPEC.breaches(v),
            State.ALARM if s == "A" else State.OK,
        )
        for i, (s, v) in enumerate(zip(states, values, strict=True))
    ]


def stamps(start: float, stop: float, step: float = 1.0) -> list[float]:
    base = T0.timestamp()
    out, at = [], base + start
    while at < base + stop:
        out.append(round(at, 3))
        at += step
    return out


def verdict(states, firing, lag=GRID, marginal=()):
    subject = Subject(SPEC, "alarm[latency]", "LatencyHigh", "expr", 0.0, "test")
    rule = firing_episodes(firing, 1.0, T0.timestamp() + P * len(states) + 3)
    return judge(subject, history(states), rule, lag, marginal)


def test_lag_bound_is_derived_from_how_the_rule_runs():
    assert GRID.high == 2.0 and GRID.low == 0.0
    rounded = Lag.derive(1.5, P, 10.0, grid_aligned=True)
    assert rounded.high == 4.5 and "rounded up" in rounded.detail
    sliding = Lag.derive(1.0, P, 0.0, grid_aligned=False)
    assert (sliding.low, sliding.high) == (-10, 12) and "slides" in sliding.detail


def test_episodes_from_states_and_from_evaluations():
    assert alarm_episodes(history("..AA.")) == [Episode(T0.timestamp() + 30, T0.timestamp() + 50)]
    assert alarm_episodes(history("...AA"))[0].stop is None
    run = firing_episodes([1.0, 2.0, 3.0, 10.0, 11.0], 1.0, 100.0)
    assert run == [Episode(1.0, 4.0), Episode(10.0, 12.0)]
    assert firing_episodes([98.0, 99.0], 1.0, 100.0) == [Episode(98.0, None)]


def test_skipped_evaluations_are_not_a_resolve_but_a_real_one_is():
    # for: 5s, every 1 s: a resolve and a new fire leave at least 2 + 5 s between firing samples
    skipped = [1.0, 2.0, 4.0, 5.0, 8.0, 9.0]  # evaluations at 3, 6 and 7 skipped by a busy host
    assert firing_episodes(skipped, 1.0, 100.0, for_seconds=5.0) == [Episode(1.0, 10.0)]
    refired = [1.0, 2.0, 9.0, 10.0]  # resolved at 3, pending from 4, firing again at 9
    assert firing_episodes(refired, 1.0, 100.0, for_seconds=5.0) == [
        Episode(1.0, 3.0),
        Episode(9.0, 11.0),
    ]
    # without for, a resolve and a new fire can be two evaluations apart: a gap of two splits
    assert firing_episodes([1.0, 3.0], 1.0, 100.0) == [Episode(1.0, 2.0), Episode(3.0, 4.0)]


def test_the_same_periods_pass_within_the_bound():
    check = verdict("..AA.", stamps(30.4, 50.4))
    assert check.status is Status.PASS, check.reason
    assert "fired with the alarm" in check.reason
    assert check.observed["cloudwatch_alarm"] == "00:00:30–00:00:50"
    assert check.observed["prometheus_firing"] == "00:00:30–00:00:50"
    assert check.tolerance.bound == 2.0 and check.tolerance.origin.value == "derived"


def test_neither_firing_passes_and_says_the_window_did_not_exercise_the_alarm():
    check = verdict(".....", [])
    assert check.status is Status.PASS and "neither fired" in check.reason


def test_firing_a_period_late_fails():
    check = verdict("..AA.", stamps(40.4, 50.4))
    assert check.status is Status.FAIL
    assert "fired 1 period late (10.4 s): CloudWatch at 00:00:30" in check.reason


def test_resolving_a_period_early_fails():
    check = verdict("..AAA.", stamps(30.4, 50.4))
    assert check.status is Status.FAIL
    assert "resolved 1 period early (9.6 s)" in check.reason


def test_never_firing_fails_and_names_the_stretch():
    check = verdict("..AA.", [])
    assert check.status is Status.FAIL
    assert (
        "never fired while CloudWatch was in ALARM from 00:00:30 to 00:00:50, 2 periods"
        in check.reason
    )


def test_firing_without_the_alarm_fails():
    check = verdict(".....", stamps(20.3, 25.3))
    assert check.status is Status.FAIL
    assert "fired without the alarm from 00:00:20 to 00:00:25" in check.reason


def test_a_difference_next_to_a_marginal_period_is_a_warning_not_a_failure():
    marginal = [T0.timestamp() + 30]
    check = verdict("..AA.", stamps(40.4, 50.4), marginal=marginal)
    assert check.status is Status.WARN
    assert "both sides of the threshold" in check.reason
    # the twin: the same difference far from any marginal period fails
    far = verdict("..AA.", stamps(40.4, 50.4), marginal=[T0.timestamp() + 200])
    assert far.status is Status.FAIL


def test_marginal_periods_are_where_the_backends_straddle_the_threshold():
    evaluated = history("....", [0.52, 0.9, 0.1, 0.49])
    ends = [e.end.timestamp() for e in evaluated]
    statistic = {ends[0]: 0.48, ends[1]: 0.95, ends[2]: 0.12, ends[3]: 0.51}
    assert marginal_periods(SPEC, evaluated, statistic, 0.5) == [ends[0], ends[3]]


def test_a_period_prometheus_has_no_value_for_is_marginal_when_cloudwatch_breached():
    evaluated = history("...", [0.9, 0.1, 0.9])
    ends = [e.end.timestamp() for e in evaluated]
    # the series began in the first period: one scrape, no increase(); NaN is no value either
    statistic = {ends[1]: 0.12, ends[2]: float("nan")}
    assert marginal_periods(SPEC, evaluated, statistic, 0.5) == [ends[0], ends[2]]
    # with TreatMissingData breaching, Prometheus's rule reads no data as breaching too
    from dataclasses import replace

    breaching = replace(SPEC, treat_missing_data="breaching")
    assert marginal_periods(breaching, evaluated, statistic, 0.5) == []


def test_a_sliding_rule_gets_a_period_of_slack_either_way():
    sliding = Lag.derive(1.0, P, 0.0, grid_aligned=False)
    early = verdict("..AA.", stamps(25.0, 45.0), lag=sliding)
    assert early.status is Status.PASS, early.reason
    # the twin: more than a period off fails even for a sliding rule
    late = verdict("..AA.", stamps(45.0, 65.0), lag=sliding)
    assert late.status is Status.FAIL


@pytest.mark.parametrize("fired", [[], [T0.timestamp() + 31]])
def test_the_reason_names_how_prometheus_was_evaluated(fired):
    check = verdict("..AA.", fired)
    assert check.reason.endswith("(test)")
