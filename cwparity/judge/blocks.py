"""Blocks of consecutive periods, long enough that their boundaries barely move their means.

A request near a period boundary may be counted by Prometheus on either side of it, which moves
a short period's Prometheus mean by up to ``boundary_shift``. Inside a run of periods those
moves cancel: only the run's two outer boundaries count. So periods are merged, in order, until
a block's boundary shift is at most ``RESOLUTION`` × the latency tolerance. Statistics on block
means (bias, Mann–Whitney) then see a real offset almost whole, and exact data can never move a
block's difference by more than that small share of the tolerance: it is never judged biased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwparity.judge.latency import boundary_shift

#: the share of the latency tolerance a block's boundary effect may take at most
RESOLUTION = 0.25


_SUMMED = ("cw_count", "cw_sum", "prom_count", "prom_sum")
_EDGES = ("prom_count_u_start", "prom_count_u_end", "prom_sum_u_start", "prom_sum_u_end")
BLOCK_COLUMNS = ["start", "periods", "cw_ms", "prom_ms", "shift_ms", "requests"]


@dataclass(frozen=True)
class Blocks:
    """One route's blocks as arrays (ms; ``first``: the index of each block's first period)."""

    first: np.ndarray
    periods: np.ndarray
    cw_ms: np.ndarray
    prom_ms: np.ndarray
    shift_ms: np.ndarray
    requests: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    @property
    def diff_ms(self) -> np.ndarray:
        return self.prom_ms - self.cw_ms

    def frame(self, starts) -> pd.DataFrame:
        values = np.asarray(starts, dtype=object)
        frame = pd.DataFrame(
            {
                "start": values[self.first] if len(self) else [],
                "periods": self.periods,
                "cw_ms": self.cw_ms,
                "prom_ms": self.prom_ms,
                "shift_ms": self.shift_ms,
                "requests": self.requests,
            },
            columns=BLOCK_COLUMNS,
        )
        frame["diff_ms"] = frame.prom_ms - frame.cw_ms
        return frame


def blocks(periods: pd.DataFrame, route: str, tolerance_ms: float) -> pd.DataFrame:
    """The route's periods merged into blocks within the resolution; unusable tails dropped."""
    mine = periods[periods.route == route].sort_values("period_start")
    columns = {n: mine[n].to_numpy(float)[None, :] for n in (*_SUMMED, *_EDGES)}
    starts = list(mine.period_start)
    return blocks_grid(columns, np.array([tolerance_ms]))[0].frame(starts)


def blocks_grid(columns: dict[str, np.ndarray], tolerances_ms: np.ndarray) -> list[Blocks]:
    """Every route's blocks at once (routes × periods arrays in, one ``Blocks`` per route out).

    Greedy and in time order, as one route at a time would be, but each step is one array
    operation over all routes: a block ends at the first period that brings its two outer
    boundaries' shift within the route's limit (prefix sums give any candidate in O(1))."""
    n_routes, n_periods = columns["cw_count"].shape
    zero = np.zeros((n_routes, 1))
    sums = {n: np.concatenate([zero, np.cumsum(columns[n], axis=1)], axis=1) for n in _SUMMED}
    limits = RESOLUTION * np.asarray(tolerances_ms, float)
    rows, begin = np.arange(n_routes), np.zeros(n_routes, dtype=int)
    found: list[tuple[np.ndarray, ...]] = []
    for end in range(n_periods):
        total = {n: sums[n][:, end + 1] - sums[n][rows, begin] for n in _SUMMED}
        count_u = columns["prom_count_u_start"][rows, begin] + columns["prom_count_u_end"][:, end]
        sum_u = columns["prom_sum_u_start"][rows, begin] + columns["prom_sum_u_end"][:, end]
        shift_ms = (
            np.asarray(
                boundary_shift(total["prom_count"], count_u, total["prom_sum"], sum_u), float
            )
            * 1000.0
        )
        with np.errstate(invalid="ignore"):
            closed = np.flatnonzero((total["cw_count"] != 0) & (shift_ms <= limits))
        if not len(closed):
            continue
        usable = total["prom_count"][closed] > count_u[closed]
        with np.errstate(divide="ignore", invalid="ignore"):
            cw_ms = total["cw_sum"][closed] / total["cw_count"][closed] * 1000.0
            prom_ms = np.where(
                usable, total["prom_sum"][closed] / total["prom_count"][closed] * 1000.0, np.nan
            )
        periods = end - begin[closed] + 1
        found.append(
            (
                closed,
                begin[closed],
                periods,
                cw_ms,
                prom_ms,
                shift_ms[closed],
                total["cw_count"][closed],
            )
        )
        begin[closed] = end + 1
    return _per_route(found, n_routes)


def _per_route(found: list[tuple[np.ndarray, ...]], n_routes: int) -> list[Blocks]:
    if not found:
        parts = [np.zeros(0, dtype=int)] * 3 + [np.zeros(0)] * 4
    else:
        parts = [np.concatenate(column) for column in zip(*found, strict=True)]
    route, *values = parts
    usable = ~(np.isnan(values[2]) | np.isnan(values[3]))
    order = np.flatnonzero(usable)[np.argsort(route[usable], kind="stable")]
    cut = np.searchsorted(route[order], np.arange(n_routes + 1))
    return [Blocks(*(v[order[cut[r] : cut[r + 1]]] for v in values)) for r in range(n_routes)]
