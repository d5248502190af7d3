"""Blocks of consecutive periods, long enough that their boundaries barely move their means.

A request near a period boundary may be counted by Prometheus on either side of it, which moves
a short period's Prometheus mean by up to ``boundary_shift``. Inside a run of periods those
moves cancel: only the run's two outer boundaries count. So periods are merged, in order, until
a block's boundary shift is at most ``RESOLUTION`` × the latency tolerance. Statistics on block
means (bias, Mann–Whitney) then see a real offset almost whole, and exact data can never move a
block's difference by more than that small share of the tolerance: it is never judged biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwparity.judge.latency import boundary_shift

#: the share of the latency tolerance a block's boundary effect may take at most
RESOLUTION = 0.25


_SUMMED = ("cw_count", "cw_sum", "prom_count", "prom_sum")


def _block(
    sums: dict[str, np.ndarray], edges: dict[str, np.ndarray], begin: int, end: int, start
) -> dict:
    """Periods begin..end (inclusive) as one block, from prefix sums: O(1) per candidate."""
    total = {name: float(sums[name][end + 1] - sums[name][begin]) for name in _SUMMED}
    count_u = float(edges["prom_count_u_start"][begin] + edges["prom_count_u_end"][end])
    sum_u = float(edges["prom_sum_u_start"][begin] + edges["prom_sum_u_end"][end])
    count, cw_count = total["prom_count"], total["cw_count"]
    return {
        "start": start,
        "periods": end - begin + 1,
        "cw_ms": total["cw_sum"] / cw_count * 1000.0 if cw_count else np.nan,
        "prom_ms": total["prom_sum"] / count * 1000.0 if count > count_u else np.nan,
        "shift_ms": boundary_shift(count, count_u, total["prom_sum"], sum_u) * 1000.0,
        "requests": cw_count,
    }


def blocks(periods: pd.DataFrame, route: str, tolerance_ms: float) -> pd.DataFrame:
    """The route's periods merged into blocks within the resolution; unusable tails dropped."""
    mine = periods[periods.route == route].sort_values("period_start")
    sums = {n: np.concatenate([[0.0], np.cumsum(mine[n].to_numpy(float))]) for n in _SUMMED}
    edges = {
        n: mine[n].to_numpy(float)
        for n in ("prom_count_u_start", "prom_count_u_end", "prom_sum_u_start", "prom_sum_u_end")
    }
    starts = list(mine.period_start)
    limit = RESOLUTION * tolerance_ms
    found, begin = [], 0
    for end in range(len(mine)):
        candidate = _block(sums, edges, begin, end, starts[begin])
        if candidate["requests"] and candidate["shift_ms"] <= limit:
            found.append(candidate)
            begin = end + 1
    frame = pd.DataFrame(
        found, columns=["start", "periods", "cw_ms", "prom_ms", "shift_ms", "requests"]
    )
    frame = frame.dropna(subset=["cw_ms", "prom_ms"]).reset_index(drop=True)
    frame["diff_ms"] = frame.prom_ms - frame.cw_ms
    return frame
