"""CloudWatch's alarm timeline against the Prometheus rule's, transition by transition.

Pure. CloudWatch's side is the state at the end of each period (``evaluator.timeline``);
Prometheus's side is the rule's own evaluations that found it firing (``ALERTS`` samples, whose
timestamps are the evaluation times). Each entry into ALARM must be matched by the rule starting
to fire, and each exit by it resolving, within a lag bound derived from how the rule runs:

- one evaluation interval ``e``: the rule runs at most ``e`` after a period ends;
- one more ``e``: the last scrape of a period may still be being written at that evaluation,
  and the next evaluation (which re-reads the period) sees it;
- one more ``e`` when ``for`` is not a multiple of ``e`` (pending → firing is rounded up);
- for a rule that slides (reads the last Period at every evaluation instead of CloudWatch's
  grid), one Period either way: its window crosses a change up to a period before or after the
  grid period that holds it.

A period is *marginal* when CloudWatch's datapoint and Prometheus's statistic for it (the
faithful translation's, whatever rule is judged) fall on both sides of the threshold: the two
backends measured that period differently, which the metric checks judge. A difference that
only marginal periods explain is a WARN, named; any other is a FAIL, named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cwparity.alarms.evaluator import Evaluated
from cwparity.alarms.model import AlarmSpec, State
from cwparity.results import CheckResult, Origin, Status, Tolerance

KIND = "alarm"


@dataclass(frozen=True)
class Lag:
    """How much later (or earlier, when negative) than CloudWatch a rule may change state."""

    low: float
    high: float
    detail: str

    @classmethod
    def derive(
        cls, evaluation_interval: float, period: int, for_seconds: float, grid_aligned: bool
    ) -> Lag:
        e = evaluation_interval
        parts = [
            f"{e:g} s: the rule runs up to one evaluation interval after a period ends",
            f"{e:g} s: a period's last scrape may land one evaluation later",
        ]
        high = 2 * e
        if for_seconds and not _multiple(for_seconds, e):
            high += e
            parts.append(f"{e:g} s: for {for_seconds:g} s is rounded up to an evaluation")
        low = 0.0
        if not grid_aligned:
            high += period
            low = -float(period)
            parts.append(
                f"{period} s either way: the rule's window slides instead of reading "
                "CloudWatch's period grid"
            )
        return cls(low, high, "; ".join(parts))


def _multiple(value: float, step: float) -> bool:
    ratio = value / step
    return math.isclose(ratio, round(ratio), abs_tol=1e-6)


@dataclass(frozen=True)
class Episode:
    """One stretch in ALARM (CloudWatch) or firing (Prometheus): [start, stop)."""

    start: float
    stop: float | None  # None: still on at the end of what was read


def alarm_episodes(timeline: Sequence[Evaluated]) -> list[Episode]:
    """CloudWatch's stretches in ALARM, from the period end that entered to the one that left."""
    episodes, start = [], None
    for point in timeline:
        stamp = point.end.timestamp()
        if point.state is State.ALARM and start is None:
            start = stamp
        elif point.state is not State.ALARM and start is not None:
            episodes.append(Episode(start, stamp))
            start = None
    if start is not None:
        episodes.append(Episode(start, None))
    return episodes


def firing_episodes(
    stamps: Sequence[float], interval: float, until: float, for_seconds: float = 0.0
) -> list[Episode]:
    """The rule's stretches firing: consecutive evaluations that found it firing; it resolved at
    the evaluation after the last (one interval later). Open when still firing at ``until``.

    A gap is a resolve only when it is long enough to be one. A rule that resolves at an
    evaluation fires again at the earliest ``for`` after the next one, so its firing samples
    are at least ``2 interval + for`` apart. A shorter gap is evaluations Prometheus skipped:
    it drops a group's iteration that cannot start on time (counted in
    prometheus_rule_group_iterations_missed_total), as a busy host does, and a skipped
    evaluation changes no alert's state."""
    episodes: list[Episode] = []
    resolve_gap = for_seconds + 1.5 * interval
    begin = prev = None
    for stamp in sorted(stamps):
        if begin is None:
            begin = prev = stamp
            continue
        assert prev is not None
        if stamp - prev > resolve_gap:
            episodes.append(Episode(begin, prev + interval))
            begin = stamp
        prev = stamp
    if begin is not None and prev is not None:
        still = prev + interval >= until
        episodes.append(Episode(begin, None if still else prev + interval))
    return episodes


@dataclass
class Comparison:
    """The outcome of one alarm ↔ rule comparison, with every difference in words."""

    problems: list[str] = field(default_factory=list)
    marginal_only: list[str] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)


def compare(
    alarm: Sequence[Episode],
    rule: Sequence[Episode],
    lag: Lag,
    period: int,
    marginal: Sequence[float] = (),
) -> Comparison:
    """Match each CloudWatch episode with the rule's, transition by transition."""
    result = Comparison()
    used: set[int] = set()
    for episode in alarm:
        matched = _overlapping(episode, rule, lag, used)
        if matched is None:
            _say(result, _never(episode, period), _near(episode.start, marginal, period))
            continue
        used.add(matched)
        _transitions(result, episode, rule[matched], lag, period, marginal)
    for index, extra in enumerate(rule):
        if index not in used:
            _say(result, _without(extra), _near(extra.start, marginal, period))
    return result


def _overlapping(episode: Episode, rule: Sequence[Episode], lag: Lag, used: set[int]) -> int | None:
    stop = math.inf if episode.stop is None else episode.stop + lag.high
    for index, candidate in enumerate(rule):
        if index in used:
            continue
        c_stop = math.inf if candidate.stop is None else candidate.stop
        if candidate.start < stop and c_stop > episode.start + lag.low:
            return index
    return None


def _transitions(
    result: Comparison,
    alarm: Episode,
    rule: Episode,
    lag: Lag,
    period: int,
    marginal: Sequence[float],
) -> None:
    late = rule.start - alarm.start
    result.lags.append(late)
    if not lag.low - 1e-6 <= late <= lag.high + 1e-6:
        _say(result, _off("fired", late, period, alarm.start), _near(alarm.start, marginal, period))
    if alarm.stop is None and rule.stop is None:
        return
    if alarm.stop is None or rule.stop is None:
        still = "the alarm is still in ALARM" if alarm.stop is None else "the rule still fires"
        at = rule.stop if alarm.stop is None else alarm.stop
        assert at is not None
        _say(
            result,
            f"resolved differently: {still} at the end of the window, the other side "
            f"resolved at {_clock(at)}",
            _near(at, marginal, period),
        )
        return
    late = rule.stop - alarm.stop
    result.lags.append(late)
    if not lag.low - 1e-6 <= late <= lag.high + 1e-6:
        _say(
            result, _off("resolved", late, period, alarm.stop), _near(alarm.stop, marginal, period)
        )


def _say(result: Comparison, text: str, marginal: bool) -> None:
    (result.marginal_only if marginal else result.problems).append(text)


def _near(moment: float, marginal: Sequence[float], period: int) -> bool:
    """A transition within a period of a marginal period's end may have come from it."""
    return any(abs(moment - end) <= period + 1e-6 for end in marginal)


def _off(verb: str, late: float, period: int, at: float) -> str:
    periods = round(abs(late) / period)
    when = "late" if late > 0 else "early"
    size = "less than a period" if periods == 0 else f"{periods} period{'s' if periods > 1 else ''}"
    return f"{verb} {size} {when} ({abs(late):.1f} s): CloudWatch at {_clock(at)}"


def _never(episode: Episode, period: int) -> str:
    stop = "the end of the window" if episode.stop is None else _clock(episode.stop)
    span = (
        ""
        if episode.stop is None
        else f", {round((episode.stop - episode.start) / period)} periods"
    )
    return f"never fired while CloudWatch was in ALARM from {_clock(episode.start)} to {stop}{span}"


def _without(episode: Episode) -> str:
    stop = "the end of the window" if episode.stop is None else _clock(episode.stop)
    return f"fired without the alarm from {_clock(episode.start)} to {stop}"


def _clock(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%H:%M:%S")


def spans(episodes: Sequence[Episode]) -> str:
    """``12:00:30–12:01:10, 12:03:00–end`` (or ``never``)."""
    if not episodes:
        return "never"
    return ", ".join(
        f"{_clock(e.start)}–{'end' if e.stop is None else _clock(e.stop)}" for e in episodes
    )


def marginal_periods(
    spec: AlarmSpec,
    timeline: Sequence[Evaluated],
    statistic: dict[float, float],
    threshold: float,
) -> list[float]:
    """Period ends where CloudWatch's datapoint breaches and Prometheus's statistic for the same
    period (in the histogram's unit, compared with ``threshold``) does not, or the other way
    round — including a period Prometheus has no value for (a series born inside it: its first
    scrape is invisible to ``increase()``), which it reads as TreatMissingData says."""
    from cwparity.alarms.model import compare as compare_values

    found = []
    empty_breaches = spec.treat_missing_data == "breaching"
    for point in timeline:
        if point.breaching is None:
            continue
        value = statistic.get(point.end.timestamp())
        if value is None or math.isnan(value):
            breaching = empty_breaches
        else:
            breaching = compare_values(spec.operator or "", value, threshold)
        if breaching != point.breaching:
            found.append(point.end.timestamp())
    return found


@dataclass(frozen=True)
class Subject:
    """What is judged: the alarm, the rule (name, expr, for) and how it was evaluated."""

    spec: AlarmSpec
    check_id: str
    alert: str
    expr: str
    for_seconds: float
    evaluated_by: str
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def judge(
    subject: Subject,
    timeline: Sequence[Evaluated],
    firing: Sequence[Episode],
    lag: Lag,
    marginal: Sequence[float] = (),
) -> CheckResult:
    """The ``alarm[...]`` check: PASS, WARN (marginal periods only) or FAIL, in words."""
    spec = subject.spec
    episodes = alarm_episodes(timeline)
    outcome = compare(episodes, firing, lag, spec.period, marginal)
    observed: dict[str, Any] = {
        "cloudwatch_alarm": spans(episodes),
        "prometheus_firing": spans(firing),
        "periods": len(timeline),
        "max_lag_s": round(max(abs(x) for x in outcome.lags), 3) if outcome.lags else None,
    }
    tolerance = Tolerance(bound=lag.high, unit="s", origin=Origin.DERIVED, detail=lag.detail)
    details = {
        "alert": subject.alert,
        "expr": subject.expr,
        "for": f"{subject.for_seconds:g}s",
        "evaluated_by": subject.evaluated_by,
        "alarm": spec.describe(),
    }
    if subject.differences:
        details["differences"] = "; ".join(subject.differences)
    status, reason = _verdict(outcome, episodes, firing, subject, len(timeline))
    return CheckResult(
        subject.check_id, KIND, spec.name, status, reason, "window", observed, tolerance, details
    )


def _verdict(
    outcome: Comparison,
    episodes: Sequence[Episode],
    firing: Sequence[Episode],
    subject: Subject,
    periods: int,
) -> tuple[Status, str]:
    by = f" ({subject.evaluated_by})"
    if outcome.problems:
        why = "; ".join(outcome.problems)
        cause = f" — {'; '.join(subject.differences)}" if subject.differences else ""
        return Status.FAIL, f"{why}{cause}{by}"
    if outcome.marginal_only:
        return Status.WARN, (
            f"warning: {'; '.join(outcome.marginal_only)}, only next to periods where "
            "CloudWatch's datapoint and Prometheus's statistic fall on both sides of the "
            "threshold (or Prometheus has none: a series that began in the period): the "
            f"backends measured those periods differently, not the rule{by}"
        )
    if not episodes and not firing:
        return Status.PASS, (
            f"neither fired over {periods} periods: the alarm never reached ALARM and the rule "
            f"never fired (this window did not exercise it){by}"
        )
    most = max((abs(x) for x in outcome.lags), default=0.0)
    return Status.PASS, (
        f"fired with the alarm: ALARM {spans(episodes)}, firing {spans(firing)}; every "
        f"transition within {most:.1f} s of CloudWatch's{by}"
    )


def skipped(spec: AlarmSpec, check_id: str, reason: str) -> CheckResult:
    return CheckResult(check_id, KIND, spec.name, Status.SKIP, reason, "window")


def period_ends(start: datetime, end: datetime, period: int) -> list[datetime]:
    """The starts of the periods in [start, end) on the grid (both edges on it)."""
    count = int((end - start).total_seconds() // period)
    return [start + timedelta(seconds=i * period) for i in range(count)]
