"""Request-count parity of every route's periods at once: CloudWatch against Prometheus.

The rule is ``counts.within``'s, applied to routes × periods arrays: a period passes when
|CloudWatch − Prometheus| is within the requests in the scrapes straddling its boundaries plus
the configured slack; a side with no sample at a boundary (NaN) cannot be judged (error). Every
verdict goes to the period table as a ``VerdictGrid``; only the failures (up to KEPT_FAILURES
per route), the pass closest to its bound and a summary become ``CheckResult``s, each built by
the per-period path itself, so a listed check says word for word what it always said.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.counts import backends_period
from cwparity.judge.periods import KEPT_FAILURES, summary
from cwparity.judge.tolerance import period_label
from cwparity.judge.verdict_grid import ERROR, FAIL, PASS, VerdictGrid
from cwparity.results import CheckResult, Status

_EPSILON = 1e-9


def seen_anything(aligned: Aligned, routes: Sequence[str]) -> np.ndarray:
    """Per route: did either side see a request in the window (``counts.nothing_seen``)."""
    totals = aligned.totals.loc[list(routes)]
    columns = ("cw_count", "prom_count", "prom_count_u")
    return ~np.all([totals[name].to_numpy(float) == 0 for name in columns], axis=0)


def period_counts_all(
    aligned: Aligned, routes: Sequence[str], config: RunConfig, verdicts: list
) -> dict[str, list[CheckResult]]:
    """Every period of ``routes`` (one tolerance config) judged as arrays; per route that saw
    anything, the period checks a reader must see. Routes that saw nothing get none here
    (their window check is a no-data ERROR) and no rows in the table."""
    assert aligned.grid is not None
    keys = np.asarray(list(routes), dtype=object)[seen_anything(aligned, routes)]
    if not len(keys):
        return {}
    row_of = {route: i for i, route in enumerate(aligned.routes)}
    rows = np.array([row_of[k] for k in keys])
    grid = aligned.grid
    cw, prom = grid["cw_count"][rows], grid["prom_count"][rows]
    bound = grid["prom_count_u"][rows] + float(config.tolerances.count.slack)
    difference = cw - prom
    distance = np.abs(np.nan_to_num(difference))
    unknown = np.isnan(cw) | np.isnan(prom)
    passed = ~unknown & (distance <= bound + _EPSILON)
    status = np.where(unknown, ERROR, np.where(passed, PASS, FAIL)).astype(np.int8)
    starts = aligned.window.period_starts()
    labels = np.asarray([period_label(t) for t in starts], dtype=object)
    observed = {"cloudwatch": cw, "prometheus": prom, "difference": difference}
    verdicts.append(VerdictGrid("count", keys, labels, status, bound, "requests", observed))
    closest = np.argmax(np.where(passed, distance / np.maximum(bound, 1e-12), -1), axis=1)
    any_pass = passed.any(axis=1)
    troubled = ~passed.all(axis=1)
    found = {}
    for j, route in enumerate(keys):
        shown = np.flatnonzero(~passed[j])[:KEPT_FAILURES].tolist() if troubled[j] else []
        if any_pass[j]:
            shown.append(int(closest[j]))
        cells = _Cells(grid, int(rows[j]))
        checks = [backends_period(route, cells.at(i, starts[i]), config) for i in shown]
        worst = checks[-1] if any_pass[j] else None
        found[route] = [*checks, _summary(route, status[j], labels, worst)]
    return found


def _summary(route: str, codes: np.ndarray, labels: np.ndarray, worst) -> CheckResult:
    counts = {
        Status.PASS: int(np.count_nonzero(codes == PASS)),
        Status.FAIL: int(np.count_nonzero(codes == FAIL)),
        Status.ERROR: int(np.count_nonzero(codes == ERROR)),
    }
    failed = labels[codes == FAIL].tolist() if counts[Status.FAIL] else []
    errors = labels[codes == ERROR].tolist() if counts[Status.ERROR] else []
    return summary("count", route, counts, failed, errors, worst)


class _Cells:
    """One route's periods in the all-routes grid, read like rows of the periods frame."""

    def __init__(self, grid: dict[str, np.ndarray], row: int) -> None:
        self.grid, self.row = grid, row

    def at(self, index: int, start) -> _Period:
        return _Period(self.grid, self.row, index, start)


class _Period:
    def __init__(self, grid: dict[str, np.ndarray], row: int, index: int, start) -> None:
        self.period_start = pd.Timestamp(start)
        self._grid, self._row, self._index = grid, row, index

    def __getattr__(self, name: str) -> float:
        return float(self._grid[name][self._row, self._index])
