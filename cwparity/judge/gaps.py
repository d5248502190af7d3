"""Scrape gaps: where Prometheus's samples of a mapped route skip scrapes or stop early.

A target that was unreachable for a while leaves a gap in every series it exposes; one lost
before the window ends leaves series that stop. The count checks already carry what that costs
(a wider boundary uncertainty, or ERROR at a boundary after the last scrape); this finding names
the gap itself, so a reader sees why. It judges no parity: the count checks give the verdict.

A gap is a step between two samples longer than one missed scrape plus the clock skew (the
same allowance align uses before it calls a boundary unknown). A series born inside the range
(its label set created on its first request) is not a gap.

Not every gap is an outage. Prometheus drops a scrape that outruns its timeout, and it caps
``scrape_timeout`` at the scrape interval, so a busy host or target loses one scrape now and
then; the counters are cumulative, so nothing is lost, and the count checks already carry the
wider interpolation. A route's gaps are a WARN when they cost a period more than one scrape
(two missed in a row, or two single misses in one period: the target was down or flapping);
isolated single misses, at most one per period, are a PASS that still names them, so a nightly
job on a loaded runner does not cry wolf over what a scrape timeout explains.
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
            "series": owner[at + 1],
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
    """One check per mapped route whose samples skip scrapes or stop before the window ends:
    WARN for a lost target or an outage, PASS (naming them) for isolated single misses."""
    if not len(series):
        return []
    codes = route_codes(series, routes)
    allowance = _allowance(sampling)
    gaps = _gaps(series, codes, allowance)
    stops = _stops(series, codes, window, allowance)
    gaps["missed"] = _missed_scrapes(gaps, sampling.scrape_interval)
    checks = []
    for code, route in enumerate(routes):
        mine = gaps[gaps.route == code]
        stop = stops.get(code)
        if mine.empty and stop is None:
            continue
        checks.append(_finding(route, mine, stop, window))
    return checks


def _missed_scrapes(gaps: pd.DataFrame, interval: float) -> np.ndarray:
    """Scrapes missed inside each gap: a 2-interval step is one missed scrape."""
    return np.maximum(np.rint((gaps.end - gaps.start) / interval) - 1, 1).astype(int)


def _worst_period_loss(gaps: pd.DataFrame, window: Window) -> int:
    """The most scrapes one series lost in one period (each gap counted in the period it
    starts in). Per series, so that one missed scrape of a target is one, however many of its
    series (status codes, methods) share it, and replicas' misses are not added up."""
    if gaps.empty:
        return 0
    period = np.floor((gaps.start - window.start.timestamp()) / window.period).to_numpy()
    return int(gaps.groupby([gaps.series.to_numpy(), period]).missed.sum().max())


def _finding(route: str, gaps: pd.DataFrame, stop: float | None, window: Window) -> CheckResult:
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
    worst = _worst_period_loss(gaps, window)
    if not gaps.empty:
        parts.append(_gap_text(gaps, outage=worst > 1))
        observed["longest_gap_s"] = float((gaps.end - gaps.start).max())
        observed["most_missed_in_a_period"] = float(worst)
    reason = "; ".join(parts)
    status = Status.WARN if stop is not None or worst > 1 else Status.PASS
    return CheckResult(
        f"scrape_gap[{route}]",
        "scrape_gap",
        route,
        status,
        reason,
        observed=observed,
        details={"finding": reason} if status is Status.WARN else {},
    )


def _gap_text(gaps: pd.DataFrame, outage: bool) -> str:
    longest = gaps.loc[(gaps.end - gaps.start).idxmax()]
    span = float(longest.end - longest.start)
    listed = (
        f"{len(gaps.drop_duplicates(['start', 'end']))} gap(s) in its scrapes, the longest "
        f"{span:.0f}s from {_clock(longest.start)} to {_clock(longest.end)} "
        f"(about {int(longest.missed)} scrapes missed)"
    )
    if outage:
        return (
            f"{listed}: the target was down or unreachable, and the counts around it carry that "
            "uncertainty"
        )
    return (
        f"{listed}, never more than one in a period: single scrapes that outran their timeout "
        "(Prometheus caps scrape_timeout at the scrape interval), as a busy host or target "
        "gives; the counters are cumulative, so no request is lost, and the count checks' "
        "bounds carry the wider interpolation"
    )
