"""Settle, don't sleep: judge a window only once its data is old and has stopped arriving.

CloudWatch does not publish a stream: data becomes readable late (minutes on a bad day) and in
batches, with nothing new for a while and then a chunk. Two equal reads a few seconds apart
prove nothing inside such a gap. So a period of the window is *final* only when

- its end is older than the minimum data age plus the quiet span (data younger than the
  minimum age is never trusted: Mimir's query-tee skips the newest 2 minutes for the same
  reason, racing ingestion), and
- nothing new arrived for it over the last quiet span (longer than the gaps between ingestion
  batches). CloudWatch's counts only grow as data arrives, so two reads a quiet span apart that
  agree prove nothing arrived between them: polls in between would only cost calls.

Data that arrives late teaches the settle: a period that changed although its end was already
A seconds old at the previous read shows data can be A seconds late, so the minimum age used
from then on is at least A. A CloudWatch shortfall against Prometheus that is still shrinking is
lag, not loss: the settle keeps polling until the deadline and, if the data is still arriving
then, the window is reported as not settled, never judged as if complete. Never shortened: the
window judged is the window planned.

Final periods are never read again: each poll reads only the periods from the first one not yet
final to the window's end (``read(first_open, previous)``), so a week-long window costs one read
of the week and then reads of its tail. Polls are scheduled for the moment every open period can
become final (never sooner than ``min_spacing`` after the last one): the fewest polls the rule
allows, which is how the run's "calls / minimum" can be 1.00 with the settle polls included.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from cwparity.progress import countdown, settle_text, working

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SettleRule:
    """The config's ``window.settle_*`` keys, in seconds."""

    #: data unchanged this long is final: longer than CloudWatch's gaps between ingestion batches
    quiet: float
    #: data younger than this is never trusted
    min_age: float
    #: the longest the settle polls, from its first read
    timeout: float
    #: the shortest wait between two polls
    min_spacing: float = 0.0


@dataclass(frozen=True)
class Settled(Generic[T]):
    value: T
    settled: bool
    polls: int
    waited: float
    #: how the wait ended and why, for results.json and the report
    record: dict[str, Any] = field(default_factory=dict)
    #: the periods each poll read, counted from the window's first period
    read_from: tuple[int, ...] = ()


@dataclass
class _State:
    ends: np.ndarray
    rule: SettleRule
    started: float
    final: int = 0
    min_age: float = 0.0
    #: per period: the moment of the read that last saw it change, that last read it, and
    #: the one that made it final
    last_change: np.ndarray = field(default_factory=lambda: np.zeros(0))
    last_read: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reads: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.min_age = self.rule.min_age
        self.last_change = np.full(len(self.ends), -np.inf)
        self.last_read = np.full(len(self.ends), np.nan)
        self.final_at = np.full(len(self.ends), np.nan)

    def observe(self, moment: float, moved: np.ndarray | None, shortfall: float | None) -> None:
        """One poll's result (the read at ``moment``): learn from what moved, then advance
        the final prefix."""
        read = np.zeros(len(self.ends), dtype=bool)
        read[self.reads[-1]["read_from"] :] = True
        changed = 0
        if moved is not None:
            moved = moved & read  # the others were not read again
            changed = int(moved.sum())
            if changed:
                self.last_change[moved] = moment
                # not there at its previous read: CloudWatch's data can be at least this late
                late = float((self.last_read[moved] - self.ends[moved]).max())
                if late > self.min_age:
                    self.min_age = late
                    self._reopen()
        self.last_read[read] = moment
        self.reads[-1].update(changed=changed, shortfall=shortfall)
        self._advance()

    def _advance(self) -> None:
        quiet, age = self.rule.quiet, self.min_age
        while self.final < len(self.ends):
            at = self.last_read[self.final]
            if not (
                at - self.ends[self.final] >= age + quiet
                and at - self.last_change[self.final] >= quiet
            ):
                break
            self.final_at[self.final] = at
            self.final += 1

    def _reopen(self) -> None:
        """Data later than the age a period was trusted at: periods made final on too young
        data are read again."""
        young = (
            self.final_at[: self.final] - self.ends[: self.final] < self.min_age + self.rule.quiet
        )
        if young.any():
            self.final = int(np.argmax(young))
            self.final_at[self.final :] = np.nan

    def next_poll(self, moment: float) -> float:
        """When every open period can be final, if nothing more arrives."""
        open_ = slice(self.final, None)
        ready = max(
            float(self.ends[-1]) + self.min_age + self.rule.quiet,
            float(self.last_change[open_].max()) + self.rule.quiet,
        )
        return max(ready, moment + self.rule.min_spacing)


def settle(
    read: Callable[[int, T | None], T],
    moved: Callable[[T, T], np.ndarray],
    shortfall: Callable[[T], float | None],
    period_ends: np.ndarray,
    rule: SettleRule,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Settled[T]:
    """Poll until every period of the window is final, or the deadline passes.

    ``read(first_open, previous)``: the window's data with periods ``first_open:`` read again
    (the earlier ones kept from ``previous``); ``moved(before, after)``: which periods changed;
    ``shortfall``: CloudWatch's count short of Prometheus's over the window (None: unknown);
    ``period_ends``: each period's end, unix seconds. ``clock`` is the wall clock: ages are.
    """
    state = _State(np.asarray(period_ends, dtype=float), rule, clock())
    deadline = state.started + rule.timeout
    value, moment = _poll(read, None, state, clock)
    state.observe(moment, None, shortfall(value))
    while state.final < len(state.ends) and (now := clock()) < deadline:
        # the last poll is at the deadline: what arrived by then is what the record shows
        at = min(state.next_poll(now), deadline)
        countdown(at - now, f"settle: poll {len(state.reads)} done, next poll", sleep)
        previous = value
        value, moment = _poll(read, previous, state, clock)
        state.observe(moment, moved(previous, value), shortfall(value))
        log.info("settle: %s", state.reads[-1])
    waited = clock() - state.started
    record = settle_record(state, waited, clock())
    if not record["settled"]:
        log.warning("settle: %s", record["why"])
    read_from = tuple(r["read_from"] for r in state.reads)
    return Settled(value, record["settled"], len(state.reads), waited, record, read_from)


def _poll(
    read: Callable[[int, T | None], T], previous: T | None, state: _State, clock
) -> tuple[T, float]:
    """One read of the periods not yet final; its moment is when it began (ages are lower
    bounds then: what it returns was there at least that late)."""
    first_open = state.final
    moment = clock()
    at = moment - state.started
    with working(settle_text(len(state.reads) + 1, at, state.rule.timeout)):
        value = read(first_open, previous)
    periods = len(state.ends) - first_open
    state.reads.append({"at_s": round(at, 1), "read_from": first_open, "periods": periods})
    return value, moment


def settle_record(state: _State, waited: float, now: float) -> dict[str, Any]:
    """How the wait ended and why, in numbers and one sentence."""
    settled = state.final >= len(state.ends)
    changes = state.last_change[np.isfinite(state.last_change)]
    quiet_for = now - (float(changes.max()) if len(changes) else state.started)
    shortfalls = [r["shortfall"] for r in state.reads]
    trend = shortfall_trend(shortfalls, settled)
    record = {
        "settled": settled,
        "ended": ("final at the first read" if len(state.reads) == 1 else "quiet")
        if settled
        else "deadline",
        "polls": len(state.reads),
        "waited_s": round(waited, 1),
        "quiet_span_s": state.rule.quiet,
        "quiet_for_s": round(quiet_for, 1),
        "changes_seen": int(sum(r.get("changed", 0) > 0 for r in state.reads)),
        "min_data_age_s": state.rule.min_age,
        "min_data_age_used_s": round(state.min_age, 1),
        "deadline_s": state.rule.timeout,
        "shortfall": shortfalls,
        "shortfall_trend": trend,
        "reads": state.reads,
    }
    record["why"] = settle_why(record, len(state.ends) - state.final)
    return record


def shortfall_trend(shortfalls: list[float | None], settled: bool = True) -> str:
    """In words: none (never short), caught up (short, then zero), shrinking (its last move
    was down), steady (short by the same since its last move), growing.

    A settled window's shortfall has not moved over the quiet span: it is steady or caught up.
    One still moving at the deadline is judged by its last move."""
    known = [s for s in shortfalls if s is not None]
    if not known:
        return "unknown"
    if all(s == 0 for s in known):
        return "none"
    moves = [(a, b) for a, b in itertools.pairwise(known) if a != b]
    if known[-1] == known[-2 if len(known) > 1 else -1] and (settled or not moves):
        return "caught up" if known[-1] == 0 else "steady"
    if not moves:
        return "steady"
    before, last = moves[-1]
    return "shrinking" if abs(last) < abs(before) else "growing"


def settle_why(record: dict[str, Any], still_open: int) -> str:
    age, quiet = record["min_data_age_used_s"], record["quiet_span_s"]
    shortfall = " → ".join("?" if s is None else f"{s:g}" for s in record["shortfall"])
    trend = {
        "none": "CloudWatch was never short of Prometheus",
        "caught up": f"CloudWatch's shortfall against Prometheus went {shortfall}: lag, caught up",
        "shrinking": f"CloudWatch's shortfall against Prometheus went {shortfall}",
        "growing": f"CloudWatch's count against Prometheus's went {shortfall}",
        "steady": f"CloudWatch's shortfall against Prometheus went {shortfall} and stayed "
        "over the quiet span: what is still missing is not lag",
        "unknown": "CloudWatch's shortfall against Prometheus is unknown",
    }[record["shortfall_trend"]]
    if record["ended"] == "final at the first read":
        return (
            f"every period was older than the minimum data age plus the quiet span "
            f"({age:g} s + {quiet:g} s) at the first read: final, read once; {trend}"
        )
    if record["settled"] and not record["changes_seen"]:
        return (
            f"nothing new arrived after the first read, and every period was older than the "
            f"minimum data age plus the quiet span ({age:g} s + {quiet:g} s) at its last read, "
            f"after {record['polls']} polls; {trend}"
        )
    if record["settled"]:
        return (
            f"no new data for {record['quiet_for_s']:g} s (quiet span {quiet:g} s) on data at "
            f"least {age:g} s old, after {record['polls']} polls; {trend}"
        )
    if record["shortfall_trend"] == "shrinking":
        trend = f"CloudWatch's shortfall went {shortfall}, still shrinking: lag, not loss"
    return (
        f"at the {record['deadline_s']:g} s deadline {still_open} period(s) were not final "
        f"(quiet for {record['quiet_for_s']:g} s of the {quiet:g} s needed, on data at least "
        f"{age:g} s old); {trend}"
    )


def wait_until(moment: float, what: str, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep until wall-clock ``moment`` (unix seconds), saying why."""
    remaining = moment - time.time()
    if remaining > 0:
        log.info("waiting %.0fs for %s", remaining, what)
        countdown(remaining, f"waiting for {what}", sleep)
