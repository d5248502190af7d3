"""A cumulative counter's value at chosen moments, from its raw scrapes, with its uncertainty.

For each moment (a period boundary) the counter is interpolated between the two scrapes around
it, and the requests that arrived between those two scrapes are the moment's *uncertainty*: any
of them could sit on either side. Counter resets (a restarted process) are corrected, a series
born inside the fetched range starts from zero, and a moment after a series' last scrape is
unknown (NaN), never guessed.

Columnar: every series at every moment at once. All series of one scrape target share their
scrape timestamps (a *timeline*), so the scrapes around each moment are searched once per
timeline and every series on it is read at the same sample positions: array gathers, no loop per
series. A series the fast path cannot take as is (a counter reset, a single sample, a timeline
out of order) goes through ``counter_at``, which states the semantics one series at a time; the
two agree exactly (tests/unit/test_align_columnar.py, against the per-route reference).

Pure numpy: no I/O. ``align`` builds the period grid on top of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cwparity.samples import SeriesSet

#: cells (series × boundaries) gathered at once: bounds the working memory of a timeline
CHUNK_CELLS = 1 << 21
#: samples scanned for counter resets at once
SCAN_SAMPLES = 1 << 23


@dataclass(frozen=True)
class Sampling:
    """How Prometheus sampled: its scrape interval, the clock skew allowed between the two
    services' timestamps, and where the fetched samples begin (to tell a series born inside
    the range from one that was already there)."""

    scrape_interval: float
    skew: float
    range_start: float


def reset_corrected(values: np.ndarray) -> np.ndarray:
    """A counter with resets (process restarts) made monotonic, as ``increase()`` does."""
    if len(values) < 2:
        return values.astype(float)
    deltas = np.diff(values)
    deltas = np.where(deltas < 0, values[1:], deltas)
    return np.concatenate([[values[0]], values[0] + np.cumsum(deltas)])


def rebirths(
    stamps: np.ndarray, values: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """Add the zero each (re)born series had one scrape before its first sample.

    Born: the first sample comes well after the fetched range began. Reborn: a reset after a
    gap of more than 1.5 scrapes (the app was down, then its new process created the label set
    on its first request). At the scrape before that sample the series did not exist: zero.
    """
    interval = sampling.scrape_interval
    gap = np.diff(stamps) > 1.5 * interval
    reset = np.diff(values) < 0
    starts = [0] if _born(stamps[0], sampling) else []
    starts += list(np.flatnonzero(gap & reset) + 1)
    if not starts:
        return stamps, values
    index = np.asarray(starts)
    return (
        np.insert(stamps, index, stamps[index] - interval),
        np.insert(values, index, 0.0),
    )


def _born(first_stamp: float, sampling: Sampling) -> bool:
    return bool(first_stamp > sampling.range_start + 1.5 * sampling.scrape_interval)


def _unknown(points: np.ndarray, last_stamp: float, sampling: Sampling) -> np.ndarray:
    """Points after the series' last scrape (beyond the skew).

    No scrape after a point means nothing bounds the requests served between the last scrape
    and it: holding the last value would claim an uncertainty of zero there and turn a lost
    target's unscraped requests into a count FAIL. The fetch reaches two scrape intervals past
    the window and the settle reads it again later, so a live target always has a scrape
    after the window's end; only a lost one has none."""
    return points > last_stamp + sampling.skew


def counter_at(
    stamps: np.ndarray, values: np.ndarray, points: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """One series' counter at ``points``, and how far off that value can be.

    A series whose first sample comes well after the fetched range began was born inside it
    (prometheus_flask_exporter creates a label set on its first request): it was 0 one scrape
    before. So was a series reborn after a restart (a reset across a gap in its samples).
    A point after the series' last scrape is unknown: NaN.
    """
    order = np.argsort(stamps, kind="stable")
    stamps, values = rebirths(stamps[order], values[order].astype(float), sampling)
    cumulative = reset_corrected(values)
    at = np.interp(points, stamps, cumulative)
    low = np.searchsorted(stamps, points - sampling.skew, side="right") - 1
    high = np.searchsorted(stamps, points + sampling.skew, side="left")
    low_value = cumulative[np.clip(low, 0, len(stamps) - 1)]
    high_value = cumulative[np.clip(high, 0, len(stamps) - 1)]
    # the true count at the point lies between the two scrapes around it, so the interpolated
    # value is off by at most the larger of its distances to them
    uncertainty = np.maximum(at - low_value, high_value - at)
    unknown = _unknown(points, stamps[-1], sampling)
    at = np.where(unknown, np.nan, at)
    uncertainty = np.where(unknown, np.nan, uncertainty)
    return at, uncertainty


@dataclass(frozen=True)
class _Timeline:
    """Where the boundaries fall on one shared list of scrape times.

    ``left``/``right``: the scrapes the interpolation stands between, ``weight``: how far
    between; ``low``/``high``: the last scrape at or before point − skew and the first at or
    after point + skew. Positions count the born series' virtual zero as position 0.
    """

    left: np.ndarray
    right: np.ndarray
    weight: np.ndarray
    low: np.ndarray
    high: np.ndarray
    unknown: np.ndarray
    born: bool


def _timeline(stamps: np.ndarray, points: np.ndarray, sampling: Sampling) -> _Timeline:
    born = _born(stamps[0], sampling)
    if born:
        stamps = np.concatenate([[stamps[0] - sampling.scrape_interval], stamps])
    last = len(stamps) - 1
    left = np.clip(np.searchsorted(stamps, points, side="right") - 1, 0, last - 1)
    right = left + 1
    weight = np.clip((points - stamps[left]) / (stamps[right] - stamps[left]), 0.0, 1.0)
    low = np.clip(np.searchsorted(stamps, points - sampling.skew, side="right") - 1, 0, last)
    high = np.clip(np.searchsorted(stamps, points + sampling.skew, side="left"), 0, last)
    unknown = _unknown(points, stamps[-1], sampling)
    return _Timeline(left, right, weight, low, high, unknown, born)


class _Rows:
    """The samples of series on one timeline as rows, read a few columns at a time.

    Series stored back to back (the fetch orders them so) are a 2-D view of the values, with
    no index array to build; others are gathered by index. A born series' virtual position 0
    reads as zero.
    """

    def __init__(self, values: np.ndarray, starts: np.ndarray, length: int, born: bool) -> None:
        self.values, self.starts, self.born = values, starts, born
        self.matrix = None
        if len(starts) == 1 or (len(starts) > 1 and np.all(np.diff(starts) == length)):
            first = int(starts[0])
            self.matrix = values[first : first + len(starts) * length].reshape(-1, length)

    def at(self, positions: np.ndarray) -> np.ndarray:
        shifted = np.maximum(positions - 1, 0) if self.born else positions
        if self.matrix is not None:
            step = _stride(shifted)
            # regular scrapes put the boundaries at evenly spaced samples: a strided view
            picked = (
                self.matrix[:, shifted[0] :: step][:, : len(shifted)]
                if step
                else self.matrix[:, shifted]
            )
        else:
            picked = self.values[self.starts[:, None] + shifted[None, :]]
        if self.born and (positions == 0).any():
            picked = picked.copy()
            picked[:, positions == 0] = 0.0
        return picked

    def at_or(self, have: np.ndarray, have_at: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Columns ``wanted``, reusing ``have`` (read at ``have_at``) where they coincide."""
        differ = wanted != have_at
        if not differ.any():
            return have
        if differ.all():
            return self.at(wanted)
        result = np.array(have, copy=True)
        result[:, differ] = self.at(wanted[differ])
        return result


def _stride(positions: np.ndarray) -> int:
    """The step of an evenly spaced, increasing run of positions; 0 if it is not one."""
    if len(positions) < 2:
        return 0
    steps = np.diff(positions)
    return int(steps[0]) if steps[0] > 0 and np.all(steps == steps[0]) else 0


def _read_chunk(rows: _Rows, firsts: np.ndarray, line: _Timeline):
    """The summed counter and uncertainty of each code's series in ``rows`` (codes sorted).

    Interpolation is linear in the values, so the series are summed at the two scrapes first
    and interpolated once per code. Where those two scrapes are also the ones that bound the
    point within the skew, each series' uncertainty is its rise times the larger of the two
    shares (counters here never decrease), which sums the same way; the other boundaries
    (a scrape within the skew, a point before the first or after the last scrape) are taken
    series by series.
    """
    series_left, series_right = rows.at(line.left), rows.at(line.right)
    left = _summed(series_left, firsts)
    right = _summed(series_right, firsts)
    rise = np.subtract(right, left, out=right)
    at = left + rise * line.weight
    uncertainty = np.multiply(rise, np.maximum(line.weight, 1.0 - line.weight), out=rise)
    odd = (line.low != line.left) | (line.high != line.right)
    if odd.all():  # every boundary on a scrape (the scrapes on the period grid): no copies
        uncertainty = _spread(rows, series_left, series_right, firsts, line, slice(None))
    elif odd.any():
        uncertainty[:, odd] = _spread(rows, series_left, series_right, firsts, line, odd)
    at[:, line.unknown] = np.nan
    uncertainty[:, line.unknown] = np.nan
    return at, uncertainty


def _spread(rows: _Rows, series_left, series_right, firsts, line: _Timeline, odd) -> np.ndarray:
    """Summed per code, each series' larger distance from its interpolated value to the
    scrapes that bound the point within the skew (at the boundaries ``odd`` selects)."""
    own_left, own_right = series_left[:, odd], series_right[:, odd]
    weight = line.weight[odd]
    # on a scrape (weight 0) the value there, read as is
    series_at = own_left + (own_right - own_left) * weight if np.any(weight) else own_left
    low = rows.at_or(own_left, line.left[odd], line.low[odd])
    high = rows.at_or(own_right, line.right[odd], line.high[odd])
    # ``low`` and ``high`` may be views of the fetched samples: never written to
    below = np.subtract(series_at, low)
    np.maximum(below, np.subtract(high, series_at), out=below)
    return _summed(below, firsts)


def _summed(rows: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """The rows added up per code (``firsts``: where each code's rows begin). Codes of equal
    size (every route has the same statuses) add strided slices: about twice as fast as
    ``reduceat`` over a strided view, and exactly the same sums in the same order."""
    size = len(rows) // max(len(firsts), 1)
    even = size * len(firsts) == len(rows) and 1 <= size <= 16
    if even and np.array_equal(firsts, np.arange(0, len(rows), size)):
        total = rows[0::size] + rows[1::size] if size > 1 else np.array(rows, copy=True)
        for member in range(2, size):
            total += rows[member::size]
        return total
    return np.add.reduceat(rows, firsts, axis=0)


def _reset_series(series: SeriesSet) -> np.ndarray:
    """Which series have a counter reset (a sample below the one before it)."""
    values, offsets = series.values, series.offsets
    found: list[np.ndarray] = []
    for begin in range(0, max(len(values) - 1, 0), SCAN_SAMPLES):
        end = min(begin + SCAN_SAMPLES, len(values) - 1)
        found.append(np.flatnonzero(values[begin + 1 : end + 1] < values[begin:end]) + begin)
    positions = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    owner = np.searchsorted(offsets, positions, side="right") - 1
    # a drop from one series' last sample to the next series' first is no reset
    inside = positions + 1 < offsets[owner + 1]
    flagged = np.zeros(len(series), dtype=bool)
    flagged[owner[inside]] = True
    return flagged


def _timelines(series: SeriesSet, candidates: np.ndarray) -> Iterator[np.ndarray]:
    """Groups of ``candidates`` (series indices) whose timestamps are identical, and sorted."""
    offsets, stamps = series.offsets, series.timestamps
    first, last = stamps[offsets[candidates]], stamps[offsets[candidates + 1] - 1]
    lengths = offsets[candidates + 1] - offsets[candidates]
    order = np.lexsort((last, first, lengths))
    keys = np.stack([lengths[order], first[order], last[order]])
    breaks = np.flatnonzero(np.any(keys[:, 1:] != keys[:, :-1], axis=0)) + 1
    for same_key in np.split(candidates[order], breaks):
        pending = list(same_key)
        while pending:
            head = pending[0]
            reference = stamps[offsets[head] : offsets[head + 1]]
            if np.any(np.diff(reference) <= 0):
                pending = pending[1:]  # out of order: the per-series path sorts it
                continue
            group, rest = [head], list[int]()
            for index in pending[1:]:
                mine = stamps[offsets[index] : offsets[index + 1]]
                (group if np.array_equal(mine, reference) else rest).append(index)
            yield np.asarray(group)
            pending = rest


def grouped_counters(
    series: SeriesSet, codes: np.ndarray, groups: int, points: np.ndarray, sampling: Sampling
) -> tuple[np.ndarray, np.ndarray]:
    """Per group (series with the same code; code −1: ignored) the sum over its series of the
    counter at ``points`` and of its uncertainty: ``groups × len(points)`` arrays each."""
    total = np.zeros((groups, len(points)))
    uncertainty = np.zeros((groups, len(points)))
    if not len(series):
        return total, uncertainty
    wanted = codes >= 0
    lengths = series.lengths()
    fast = np.flatnonzero(wanted & (lengths >= 2) & ~_reset_series(series))
    handled = np.zeros(len(series), dtype=bool)
    for members in _timelines(series, fast) if len(fast) else ():
        _add_timeline(series, members, codes, points, sampling, total, uncertainty)
        handled[members] = True
    # resets, single samples, timelines out of order: one series at a time
    for index in np.flatnonzero(wanted & ~handled & (lengths > 0)):
        begin, end = series.offsets[index], series.offsets[index + 1]
        at, u = counter_at(series.timestamps[begin:end], series.values[begin:end], points, sampling)
        total[codes[index]] += at
        uncertainty[codes[index]] += u
    return total, uncertainty


def _add_timeline(series, members, codes, points, sampling, total, uncertainty) -> None:
    """Read every member on its shared timeline, chunk by chunk, into its group's sums."""
    begin, end = series.offsets[members[0]], series.offsets[members[0] + 1]
    line = _timeline(series.timestamps[begin:end], points, sampling)
    members = members[np.argsort(codes[members], kind="stable")]
    step = max(1, CHUNK_CELLS // max(len(points), 1))
    for chunk_start in range(0, len(members), step):
        chunk = members[chunk_start : chunk_start + step]
        chunk_codes = codes[chunk]
        firsts = np.flatnonzero(np.r_[True, chunk_codes[1:] != chunk_codes[:-1]])
        rows = _Rows(series.values, series.offsets[chunk], int(end - begin), line.born)
        at, u = _read_chunk(rows, firsts, line)
        target = chunk_codes[firsts]
        total[target] += at
        uncertainty[target] += u
