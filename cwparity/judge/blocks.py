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


def _block(rows: pd.DataFrame) -> dict:
    first, last = rows.iloc[0], rows.iloc[-1]
    count, total = float(rows.prom_count.sum()), float(rows.prom_sum.sum())
    count_u = float(first.prom_count_u_start + last.prom_count_u_end)
    sum_u = float(first.prom_sum_u_start + last.prom_sum_u_end)
    cw_count, cw_sum = float(rows.cw_count.sum()), float(rows.cw_sum.sum())
    shift = boundary_shift(count, count_u, total, sum_u) * 1000.0
    return {
        "start": first.period_start,
        "periods": len(rows),
        "cw_ms": cw_sum / cw_count * 1000.0 if cw_count else np.nan,
        "prom_ms": total / count * 1000.0 if count > count_u else np.nan,
        "shift_ms": shift,
        "requests": cw_count,
    }


def blocks(periods: pd.DataFrame, route: str, tolerance_ms: float) -> pd.DataFrame:
    """The route's periods merged into blocks within the resolution; unusable tails dropped."""
    mine = periods[periods.route == route].sort_values("period_start").reset_index(drop=True)
    limit = RESOLUTION * tolerance_ms
    found, begin = [], 0
    for end in range(len(mine)):
        candidate = _block(mine.iloc[begin : end + 1])
        if candidate["requests"] and candidate["shift_ms"] <= limit:
            found.append(candidate)
            begin = end + 1
    frame = pd.DataFrame(
        found, columns=["start", "periods", "cw_ms", "prom_ms", "shift_ms", "requests"]
    )
    frame = frame.dropna(subset=["cw_ms", "prom_ms"]).reset_index(drop=True)
    frame["diff_ms"] = frame.prom_ms - frame.cw_ms
    return frame
