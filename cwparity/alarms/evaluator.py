"""CloudWatch's alarm evaluation, as AWS documents it, over an alarm's own datapoints.

Pure: datapoints in, a state per period out. moto never evaluates alarms, and real CloudWatch's
alarm history is stamped when its evaluator ran, not on the period grid, so the harness computes
the CloudWatch side itself. Every rule below is traceable to AWS's "Using Amazon CloudWatch
alarms" page, sections "Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing
data" (both of its example tables are unit tests, one case per row):

1. CloudWatch retrieves the *evaluation range*: more datapoints than EvaluationPeriods (N).
2. With at least N real datapoints in the range, the N most recent real ones are evaluated and
   TreatMissingData "is not needed and is ignored".
3. With fewer, the missing ones are filled with the TreatMissingData setting "as few times as
   possible": ``breaching`` and ``notBreaching`` fill the N - real slots; ``missing`` and
   ``ignore`` fill nothing.
4. ALARM when at least DatapointsToAlarm (M) of the evaluated datapoints breach, else OK.
5. With ``missing``, no real datapoint at all is INSUFFICIENT_DATA; with ``ignore`` the state is
   kept. Both keep this reading when every real datapoint breaches but fewer than M do, except:
6. "Avoiding premature transitions to alarm state": when every real datapoint in the range
   breaches and the oldest of them is at least M datapoints old, the alarm goes to ALARM even
   with ``missing`` (the tables keep the state with ``ignore``). The page's M-out-of-N sentence
   says "at least as old as Evaluation Periods", but its own 2-of-3 row ``- - - X -`` alarms with
   the breach only 2 old: the tables are followed. Its 2-of-3 row ``0 - X - -`` stays OK, so a
   non-breaching datapoint anywhere in the range turns the rule off.

AWS does not publish how long the evaluation range is (awsdocs/amazon-cloudwatch-user-guide
issue 102); the page's examples use 5 for N = 3, so the default is N + 2 and configurable
(``alarms.extra_range_periods``). The timeline is the alarm's state as of the end of each
period, on the period grid: CloudWatch's own evaluation runs a little later than that, which is
delay, not a different decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cwparity.alarms.model import AlarmSpec, Point, State

#: a slot of the evaluation range: True breaching, False not breaching, None missing
Slot = bool | None


@dataclass(frozen=True)
class Rules:
    """The evaluation settings of one alarm."""

    datapoints_to_alarm: int
    evaluation_periods: int
    treat_missing_data: str = "missing"
    evaluation_range: int | None = None

    @property
    def range(self) -> int:
        return self.evaluation_range or self.evaluation_periods + 2


def evaluate(slots: Sequence[Slot], rules: Rules, previous: State) -> State:
    """The state after one evaluation over the evaluation range (oldest slot first)."""
    m, n = rules.datapoints_to_alarm, rules.evaluation_periods
    recent = list(slots)[-rules.range :]
    real = [slot for slot in recent if slot is not None]
    if len(real) >= n:
        return _threshold(sum(real[-n:]), m)
    breaching = sum(real)
    fill = n - len(real)
    treat = rules.treat_missing_data
    if treat == "breaching":
        return _threshold(breaching + fill, m)
    if treat == "notBreaching" or breaching >= m:
        return _threshold(breaching, m)
    # missing / ignore from here: too few real datapoints to decide on them alone
    keep = previous if treat == "ignore" else State.INSUFFICIENT_DATA
    if not real:
        return keep
    if not all(real):
        return State.OK
    if treat == "missing" and _premature(recent, m):
        return State.ALARM
    return keep


def _threshold(breaching: int, m: int) -> State:
    return State.ALARM if breaching >= m else State.OK


def _premature(recent: list[Slot], m: int) -> bool:
    """The oldest real (breaching) datapoint is at least M datapoints old, newest being 1."""
    oldest = next(i for i, slot in enumerate(recent) if slot is not None)
    return len(recent) - oldest >= m


@dataclass(frozen=True)
class Evaluated:
    """The state as of the end of one period, and the datapoint that period contributed."""

    end: datetime
    value: float | None
    breaching: bool | None
    state: State


def timeline(
    spec: AlarmSpec,
    points: Sequence[Point],
    starts: Sequence[datetime],
    extra_range_periods: int = 2,
    initial: State = State.INSUFFICIENT_DATA,
) -> list[Evaluated]:
    """The alarm's state at the end of each period in ``starts`` (oldest first).

    ``points`` may start earlier than ``starts``: the evaluation range looks back that far.
    """
    rules = Rules(
        spec.datapoints_to_alarm,
        spec.evaluation_periods,
        spec.treat_missing_data,
        spec.evaluation_periods + extra_range_periods,
    )
    values = {p.start: p.value for p in points}
    period = timedelta(seconds=spec.period)
    state, out = initial, []
    for start in starts:
        window = [start - period * back for back in range(rules.range - 1, -1, -1)]
        slots = [_slot(spec, values.get(t)) for t in window]
        state = evaluate(slots, rules, state)
        value = values.get(start)
        out.append(Evaluated(start + period, value, _slot(spec, value), state))
    return out


def _slot(spec: AlarmSpec, value: float | None) -> Slot:
    return None if value is None else spec.breaches(value)
