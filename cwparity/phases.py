"""Where a run is, so that an interruption can say what it cut short.

A run goes through ``load``, ``scrape_wait`` (Prometheus scraping past the window), ``settle``
(between the polls of late data), ``fetch`` (a poll reading both sources), ``judging`` (align,
judge, coverage, alarms) and ``report``; ``prepare`` is everything before the load.

Test support: ``CWPARITY_TEST_INTERRUPT=PHASE`` (or ``PHASE:SIGTERM``) makes the process send
itself SIGINT (or SIGTERM) when it reaches that phase, so the interruption tests stop a run in a
named phase deterministically instead of sleeping and hoping. Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

PHASES = ("prepare", "load", "scrape_wait", "settle", "fetch", "judging", "report")
TEST_SWITCH = "CWPARITY_TEST_INTERRUPT"

_state = {"phase": "prepare", "signal": "SIGINT", "fired": ""}


def current() -> str:
    return _state["phase"]


def last_signal() -> str:
    """The signal that interrupted the run (SIGINT unless the CLI saw SIGTERM)."""
    return _state["signal"]


def note_signal(signum: int) -> None:
    _state["signal"] = signal.Signals(signum).name


def enter(name: str, checkpoint: bool = True) -> None:
    """The run is now in ``name`` (one of PHASES)."""
    assert name in PHASES, name
    _state["phase"] = name
    if checkpoint:
        reached(name)


@contextmanager
def phase(name: str, checkpoint: bool = True) -> Iterator[None]:
    """In ``name`` while the block runs; back to the phase before it when the block ends
    normally (an interruption keeps the phase it happened in)."""
    previous = current()
    enter(name, checkpoint)
    yield
    _state["phase"] = previous


def reached(name: str) -> None:
    """The test switch's point for ``name``: interrupt here when the switch names it (once)."""
    wanted = os.environ.get(TEST_SWITCH, "")
    if not wanted or _state["fired"]:
        return
    target, _, signame = wanted.partition(":")
    if target != name:
        return
    _state["fired"] = name
    os.kill(os.getpid(), getattr(signal, signame or "SIGINT"))
    # the handler runs in this thread at the next instruction; the sleep is where it lands
    time.sleep(30)


def reset() -> None:
    """A new run in this process (tests) starts from ``prepare``."""
    _state.update(phase="prepare", signal="SIGINT", fired="")
