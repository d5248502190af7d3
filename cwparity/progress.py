"""Terminal progress for a run's long steps: load, waiting for scrapes, settle polls and fetches.

One status line on stderr, redrawn in place and cleared when its step ends, so the log lines
around it stay intact. Nothing at all is drawn when stderr is not a terminal (CI logs, pipes,
pytest's capture): there the log lines say enough. A plain value module: it imports nothing
of cwparity, and load.py and settle.py call it.
"""

from __future__ import annotations

import csv
import math
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

TICK = 0.5  # seconds between redraws


class StatusLine:
    """A single self-overwriting line on a terminal; silent when ``stream`` is not a TTY."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.shown = False

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()


class Child(Protocol):
    def poll(self) -> int | None: ...


def locust_counts(stats_csv: Path) -> tuple[int, int] | None:
    """Requests and failures so far, from the ``Aggregated`` row of Locust's ``--csv`` stats."""
    try:
        with stats_csv.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    return int(row["Request Count"]), int(row["Failure Count"])
    except (OSError, KeyError, ValueError):  # not written yet, or caught mid-write
        return None
    return None


def load_text(
    elapsed: float, duration: float, counts: tuple[int, int] | None, workers: int = 0
) -> str:
    if elapsed < duration:
        phase = f"{elapsed:.0f}s of {duration:.0f}s, {duration - elapsed:.0f}s left"
    else:
        phase = f"{duration:.0f}s sent, letting users finish their requests"
    sent = "" if counts is None else f", {counts[0]} requests sent ({counts[1]} failed)"
    by = f" by {workers} Locust workers" if workers else ""
    return f"cwparity: load: {phase}{sent}{by}"


def watch_load(
    child: Child,
    duration: float,
    limit: float,
    stats_csv: Path,
    status: StatusLine | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    workers: int = 0,
) -> int | None:
    """Wait for Locust's process (the master, with workers), showing elapsed / remaining time
    and requests sent so far (a master's CSV sums its workers').

    Returns its exit code, or None once ``limit`` seconds have passed (the caller stops it).
    """
    started = clock()
    with status or StatusLine() as line:
        while (code := child.poll()) is None:
            elapsed = clock() - started
            if elapsed > limit:
                return None
            line.show(load_text(elapsed, duration, locust_counts(stats_csv), workers))
            sleep(TICK)
    return code


def countdown(
    seconds: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    status: StatusLine | None = None,
) -> None:
    """Sleep ``seconds`` in total, showing what is awaited and how long is left.

    Counts its own ticks rather than reading a clock, so an injected ``sleep`` (tests) always
    ends; when nothing is drawn it is exactly one ``sleep(seconds)``.
    """
    line = status or StatusLine()
    if not line.enabled or seconds <= 0:
        sleep(seconds)
        return
    ticks = math.ceil(seconds / TICK)
    with line:
        for tick in range(ticks):
            left = seconds - tick * TICK
            line.show(f"cwparity: {what}: {left:.0f}s left")
            sleep(min(TICK, left))


@contextmanager
def working(text: str, status: StatusLine | None = None) -> Iterator[StatusLine]:
    """Show ``text`` while a blocking call (a fetch) runs; cleared when it returns."""
    with status or StatusLine() as line:
        line.show(text)
        yield line


def settle_text(poll: int, waited: float, timeout: float) -> str:
    return (
        f"cwparity: settle: fetching (poll {poll}, {waited:.0f}s of at most {timeout:.0f}s, "
        f"{max(0.0, timeout - waited):.0f}s before the deadline)"
    )
