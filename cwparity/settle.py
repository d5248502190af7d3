"""Settle, don't sleep: poll a source until two polls in a row agree, or a deadline passes.

CloudWatch data arrives late (minutes on real AWS); Prometheus needs a scrape after the window.
A window still moving at the deadline is reported as not settled, never judged as if complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cwparity.progress import countdown, settle_text, working

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Settled(Generic[T]):
    value: T
    settled: bool
    polls: int
    waited: float


def settle(
    fetch: Callable[[], T],
    same: Callable[[T, T], bool],
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Settled[T]:
    started = clock()
    with working(settle_text(1, 0.0, timeout)):
        previous = fetch()
    polls = 1
    while True:
        waited = clock() - started
        if waited + poll > timeout:
            log.warning("data still changing after %.0fs and %d polls", waited, polls)
            return Settled(previous, False, polls, waited)
        countdown(poll, f"settle: poll {polls} done, next poll", sleep)
        with working(settle_text(polls + 1, clock() - started, timeout)):
            current = fetch()
        polls += 1
        log.info(
            "settle: poll %d after %.0fs: %s",
            polls,
            clock() - started,
            "unchanged" if same(previous, current) else "still changing",
        )
        if same(previous, current):
            return Settled(current, True, polls, clock() - started)
        previous = current


def wait_until(moment: float, what: str, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep until wall-clock ``moment`` (unix seconds), saying why."""
    remaining = moment - time.time()
    if remaining > 0:
        log.info("waiting %.0fs for %s", remaining, what)
        countdown(remaining, f"waiting for {what}", sleep)
