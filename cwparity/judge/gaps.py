"""Scrape gaps: where Prometheus's samples of a mapped route skip scrapes or stop early.

A target that was unreachable for a while leaves a gap in every series it exposes; one lost
before the window ends leaves series that stop. The count checks already carry what that costs
(a wider boundary uncertainty, or ERROR at a boundary after the last scrape); this finding names
the gap itself, so a reader sees why. It is a WARN: the checks give the verdict.

A gap is a step between two samples longer than one missed scrape plus the clock skew (the
same allowance align uses before it calls a boundary unknown). A series born inside the range
(its label set created on its first request) is not a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from cwparity.align import Sampling, route_codes
from cwparity.results import CheckResult, Status
from cwparity.samples import SeriesSet
from cwparity.window import Window


def _clock(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%H:%M:%SZ")


def _allowance(sampling: Sampling) -> float:
    return 1.5 * sampling.scrape_interval + sampling.skew


def _gaps(series: SeriesSet, codes: np.ndarray, allowance: float) -> pd.DataFrame:
    """Every step between two samples of one mapped series longer than ``allowance``."""
    lengths = series.lengths()
    owner = np.repeat(np.arange(len(series)), lengths)
    steps = np.diff(series.timestamps)
    inside = owner[1:] == owner[:-1]  # not the step from one series to the next
    at = np.flatnonzero(inside & (steps > allowance) & (codes[owner[1:]] >= 0))
    return pd.DataFrame(
        {
            "route": codes[owner[at + 1]],
            "start": series.timestamps[at],
            "end": series.timestamps[at + 1],
        }
    )


def _stops(series: SeriesSet, codes: np.ndarray, window: Window, allowance: float) -> pd.Series:
    """Per route, the earliest last sample of a series that stops before the window's end."""
    lengths = series.lengths()
    have = np.flatnonzero((lengths > 0) & (codes >= 0))
    last = series.timestamps[series.offsets[have + 1] - 1]
    lost = last + allowance < window.end.timestamp()
    return pd.Series(last[lost]).groupby(codes[have][lost]).min()


def scrape_gaps(
    series: SeriesSet, routes: Sequence[str], window: Window, sampling: Sampling
) -> list[CheckResult]:
    """One WARN per mapped route whose samples skip scrapes or stop before the window ends."""
    if not len(series):
        return []
    codes = route_codes(series, routes)
    allowance = _allowance(sampling)
    gaps = _gaps(series, codes, allowance)
    stops = _stops(series, codes, window, allowance)
    checks = []
    for code, route in enumerate(routes):
        mine = gaps[gaps.route == code]
        stop = stops.get(code)
        if mine.empty and stop is None:
            continue
        checks.append(_finding(route, mine, stop, window, sampling.scrape_interval))
    return checks


def _finding(
    route: str, gaps: pd.DataFrame, stop: float | None, window: Window, interval: float
) -> CheckResult:
    parts, observed = [], {}
    if stop is not None:
        before = window.end.timestamp() - stop
        parts.append(
            f"Prometheus's samples of {route} stop at {_clock(stop)}, {before:.0f}s before the "
            "window's end: the target was lost, and the periods after its last scrape cannot "
            "be judged"
        )
        observed["stopped_at"] = float(stop)
        observed["stopped_before_end_s"] = float(before)
    if not gaps.empty:
        longest = gaps.loc[(gaps.end - gaps.start).idxmax()]
        span = float(longest.end - longest.start)
        parts.append(
            f"{len(gaps.drop_duplicates(['start', 'end']))} gap(s) in its scrapes, the longest "
            f"{span:.0f}s from {_clock(longest.start)} to {_clock(longest.end)} "
            f"(about {max(span / interval - 1, 1):.0f} scrapes missed): the target was down or "
            "unreachable, and the counts around it carry that uncertainty"
        )
        observed["longest_gap_s"] = span
    reason = "; ".join(parts)
    return CheckResult(
        f"scrape_gap[{route}]",
        "scrape_gap",
        route,
        Status.WARN,
        reason,
        observed=observed,
        details={"finding": reason},
    )
