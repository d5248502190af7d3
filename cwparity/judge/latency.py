"""Mean-latency parity, paired: CloudWatch's Average against Prometheus' Δsum / Δcount.

Not the guide's dashboard ratio ``_sum / _count``: that is the mean since the process started.
When one app (or its replicas) publishes every request to both backends, the two means of a
period are the same requests timed by two timers: their difference *is* a measurement of how
the timers differ, not of the app. So the bound is not a guess at how far two latencies may
wander apart; it is

* the **acceptance**: how far the team accepts the two timers to differ (the configured
  ``tolerances.mean_latency``, origin ``configured``; by default a hook pair's cost and two
  clocks' rate difference, origin ``default``: see ``Acceptance``), plus
* what the **measurement** cannot resolve (derived): requests in the scrapes straddling the
  period's boundaries may belong to a neighbour, moving both Δsum and Δcount
  (``boundary_shift``), and both services' value precision (``precision_s``).

On the window (quiet edges) the derived part is about zero, so a constant offset beyond the
acceptance fails on a sub-millisecond route and on a slow one alike. Everything is computed as
arrays over all routes × periods at once; only what a reader must see becomes a ``CheckResult``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.periods import KEEP_ALL, KEPT_FAILURES, summary
from cwparity.judge.tolerance import configured_origin, period_label
from cwparity.judge.verdict_grid import FAIL, PASS, SKIP, STATUSES, VerdictGrid
from cwparity.results import CheckResult, Origin, Status, Tolerance

#: default acceptance between the two timers of one request (ms). prometheus_flask_exporter's
#: before/after hook pair (two default_timer() reads, a label lookup, a histogram observe and a
#: counter inc) runs inside the guide's CloudWatch timer and costs tens of µs in CPython: the
#: clean demo shows CloudWatch higher by 0.06–0.08 ms on a busy 2-core machine. 1 ms allows
#: more than ten times that (slower hosts, more threads contending for the GIL), while a network
#: call inside one timer (the guide's hook order: a put_metric_data round trip) or an added
#: offset of a couple of milliseconds is beyond it.
HOOK_ALLOWANCE_MS = 1.0
#: default relative acceptance: two clocks may run at rates up to 500 ppm apart (the most the
#: Linux kernel slews a clock, adjtimex(2) MAXFREQ), which matters for requests of seconds.
CLOCK_RATE_ALLOWANCE = 0.0005
#: one ulp of time.time() from 2004 to 2038 (2^30..2^31 s): the guide's CloudWatch timer
#: subtracts two such readings; perf_counter, the exporter's, is finer
TIMER_RESOLUTION_S = 2.0**-22
#: float64 rounding: CloudWatch keeps values as doubles, Prometheus its ``_sum`` as a float64
FLOAT_EPSILON = 2.0**-53
_EPS_MS = 1e-9


@dataclass(frozen=True)
class Acceptance:
    """How far the team accepts the two timers of one request to differ: max(absolute, relative ×
    CloudWatch mean), each part configured (``tolerances.mean_latency``) or the stated default."""

    absolute_ms: float
    relative: float
    origins: dict[str, Origin]

    def allowance_ms(self, cw_ms: np.ndarray) -> np.ndarray:
        return np.maximum(self.absolute_ms, self.relative * np.abs(np.nan_to_num(cw_ms)))

    def chosen(self, cw_ms: float) -> str:
        relative = self.relative * abs(cw_ms) if math.isfinite(cw_ms) else 0.0
        return "absolute_ms" if self.absolute_ms >= relative else "relative"

    def words(self, cw_ms: float) -> str:
        def said(key: str) -> str:
            origin = self.origins[key]
            if origin is Origin.CONFIGURED:
                return "configured"
            return "default: a hook pair's cost" if key == "absolute_ms" else "default: clock slew"

        allowance = float(self.allowance_ms(np.array([cw_ms]))[0])
        return (
            f"accepted max(absolute {self.absolute_ms:g} ms [{said('absolute_ms')}], relative "
            f"{self.relative:g} × CloudWatch mean [{said('relative')}]) = {allowance:.3g} ms"
        )


def higher_by(offset_ms: float, decimals: int) -> str:
    """Which backend's mean latency is higher, in words, to ``decimals`` places of a ms
    (``offset_ms`` > 0: Prometheus's is); "no offset" when it rounds to zero there."""
    if abs(offset_ms) < 0.5 * 10.0**-decimals:
        return "no offset"
    higher = "Prometheus" if offset_ms > 0 else "CloudWatch"
    return f"{higher} higher by {abs(offset_ms):.{decimals}f} ms"


def acceptance(config: RunConfig) -> Acceptance:
    """The paired acceptance: what the config states, the documented defaults for the rest.

    The section's own field defaults (5 ms, 5 %) are for two processes (side by side, panels);
    between two timers of the same request they would swallow a real instrumentation offset."""
    section = config.tolerances.mean_latency
    stated = section.model_fields_set
    return Acceptance(
        absolute_ms=section.absolute_ms if "absolute_ms" in stated else HOOK_ALLOWANCE_MS,
        relative=section.relative if "relative" in stated else CLOCK_RATE_ALLOWANCE,
        origins={key: configured_origin(section, key) for key in ("absolute_ms", "relative")},
    )


def boundary_shift(count, count_u, sums, sums_u):
    """The most the straddling requests can move Δsum/Δcount (seconds); inf if they may be all.

    With the true count N and sum S off by at most ``count_u`` and ``sums_u``, the estimate's
    error is at most (sums_u + m · count_u) / count for the true mean m, and m is at most
    (sums + sums_u) / (count − count_u): that largest mean keeps the bound conservative.
    Works on floats and on arrays alike.
    """
    count, count_u, sums, sums_u = (
        np.asarray(v, dtype=float) for v in (count, count_u, sums, sums_u)
    )
    rest = count - count_u
    with np.errstate(divide="ignore", invalid="ignore"):
        largest_mean = (sums + sums_u) / rest
        shift = (sums_u + largest_mean * count_u) / rest
    shift = np.where(rest <= 0, math.inf, shift)
    shift = np.where((count_u == 0) & (sums_u == 0), 0.0, shift)
    return float(shift) if shift.ndim == 0 else shift


def precision_s(cw_count, cw_sum, prom_count, prom_sum):
    """How far value precision alone can move the difference of the two means (seconds).

    One timer resolution per request (the mean of differences of two readings), and float64
    rounding of both sums: a sum of N doubles is off by at most about N·ε of its magnitude."""
    counts = np.maximum(np.asarray(cw_count, float), np.asarray(prom_count, float))
    rounding = FLOAT_EPSILON * counts * (np.abs(cw_sum) + np.abs(prom_sum)) / np.maximum(counts, 1)
    return TIMER_RESOLUTION_S + 2.0 * np.nan_to_num(rounding)


@dataclass(frozen=True)
class LatencyCells:
    """The paired judgement of many cells (routes, or routes × periods) at once; ms."""

    cw_ms: np.ndarray
    prom_ms: np.ndarray
    difference_ms: np.ndarray
    allowance_ms: np.ndarray
    boundary_ms: np.ndarray
    precision_ms: np.ndarray
    cw_count: np.ndarray
    prom_count: np.ndarray

    @functools.cached_property
    def derived_ms(self) -> np.ndarray:
        return self.boundary_ms + self.precision_ms

    @functools.cached_property
    def bound_ms(self) -> np.ndarray:
        return self.allowance_ms + self.derived_ms

    @functools.cached_property
    def empty(self) -> np.ndarray:
        return (self.cw_count == 0) | (self.prom_count == 0) | np.isnan(self.prom_count)

    @functools.cached_property
    def codes(self) -> np.ndarray:
        """verdict_grid codes: SKIP without requests or without a bound, else PASS / FAIL."""
        unbounded = ~np.isfinite(self.boundary_ms)
        passed = np.abs(np.nan_to_num(self.difference_ms)) <= self.bound_ms + _EPS_MS
        verdict = np.where(passed, PASS, FAIL)
        return np.where(self.empty | unbounded, SKIP, verdict).astype(np.int8)

    @property
    def status(self) -> np.ndarray:
        """ "skip" without requests or without a bound, else "pass" / "fail"."""
        return np.array([s.value for s in STATUSES], dtype=object)[self.codes]


def latency_cells(columns: dict[str, np.ndarray], accepted: Acceptance) -> LatencyCells:
    """``columns``: cw_count, cw_sum, prom_count, prom_count_u, prom_sum, prom_sum_u arrays."""
    cw_count, prom_count = columns["cw_count"], columns["prom_count"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cw_ms = columns["cw_sum"] / cw_count * 1000.0
        prom_ms = columns["prom_sum"] / prom_count * 1000.0
    shift = boundary_shift(
        prom_count, columns["prom_count_u"], columns["prom_sum"], columns["prom_sum_u"]
    )
    precision = precision_s(cw_count, columns["cw_sum"], prom_count, columns["prom_sum"])
    return LatencyCells(
        cw_ms=cw_ms,
        prom_ms=prom_ms,
        difference_ms=prom_ms - cw_ms,
        allowance_ms=accepted.allowance_ms(cw_ms),
        boundary_ms=np.asarray(shift, float) * 1000.0,
        precision_ms=np.asarray(precision, float) * 1000.0,
        cw_count=np.asarray(cw_count, float),
        prom_count=np.asarray(prom_count, float),
    )


def cell_tolerance(cells: LatencyCells, at, accepted: Acceptance) -> Tolerance:
    """One cell's bound in words: the acceptance and what the measurement cannot resolve."""
    cw_ms = float(cells.cw_ms[at])
    allowance, boundary = float(cells.allowance_ms[at]), float(cells.boundary_ms[at])
    precision = float(cells.precision_ms[at])
    origin = accepted.origins[accepted.chosen(cw_ms)]
    derived = boundary + precision
    if derived > allowance:
        origin = Origin.DERIVED
    detail = (
        f"{accepted.words(cw_ms)} + derived {derived:.3g} ms (requests in the scrapes "
        f"straddling the boundaries {boundary:.3g} ms, value precision {precision:.2g} ms)"
    )
    return Tolerance(bound=allowance + derived, unit="ms", origin=origin, detail=detail)


def cell_check(
    check_id: str, route: str, scope: str, cells: LatencyCells, at, accepted: Acceptance
) -> CheckResult:
    """One cell's CheckResult, with exactly the verdict ``LatencyCells.status`` gave it."""
    cw_count, prom_count = float(cells.cw_count[at]), float(cells.prom_count[at])
    if bool(cells.empty[at]):
        missing = "CloudWatch" if not cw_count else "Prometheus"
        if not cw_count and not prom_count:
            missing = "either side"
        return CheckResult(
            check_id,
            "mean_latency",
            route,
            Status.SKIP,
            f"no requests in {missing} for this {_noun(scope)}: nothing to compare",
            scope=scope,
            observed={"cloudwatch_count": cw_count, "prometheus_count": prom_count},
        )
    cw_ms, prom_ms = float(cells.cw_ms[at]), float(cells.prom_ms[at])
    difference = float(cells.difference_ms[at])
    tolerance = cell_tolerance(cells, at, accepted)
    observed = {"cloudwatch_ms": cw_ms, "prometheus_ms": prom_ms, "difference_ms": difference}
    if math.isinf(tolerance.bound):
        reason = "every request of this period may belong to a neighbour: no bound"
        return CheckResult(
            check_id, "mean_latency", route, Status.SKIP, reason, scope, observed, tolerance
        )
    status = STATUSES[int(cells.codes[at])]
    relation = "within" if status is Status.PASS else "beyond"
    higher = "Prometheus" if difference > 0 else "CloudWatch"
    reason = (
        f"mean latency CloudWatch {cw_ms:.2f} ms, Prometheus {prom_ms:.2f} ms: {higher} higher "
        f"by {abs(difference):.3f} ms, {relation} ±{tolerance.bound:.3g} ms (the same requests "
        "timed by both)"
    )
    return CheckResult(check_id, "mean_latency", route, status, reason, scope, observed, tolerance)


def _noun(scope: str) -> str:
    return "window" if scope == "window" else "period"


_COLUMNS = ("cw_count", "cw_sum", "prom_count", "prom_count_u", "prom_sum", "prom_sum_u")


def grid_columns(aligned: Aligned, routes: list[str]) -> dict[str, np.ndarray]:
    """routes × periods arrays of the columns the latency judges read, from the grid when
    align made one, else pivoted from the long frame (hand-made test data)."""
    if aligned.grid is not None:
        if tuple(routes) == aligned.routes:  # every route: the grid itself, no copy
            return {name: aligned.grid[name] for name in (*_COLUMNS, *_EDGES)}
        position = {route: i for i, route in enumerate(aligned.routes)}
        rows = [position[route] for route in routes]
        return {name: aligned.grid[name][rows] for name in (*_COLUMNS, *_EDGES)}
    frame = aligned.periods
    starts = pd.DatetimeIndex(aligned.window.period_starts())
    result = {}
    for name in (*_COLUMNS, *_EDGES):
        table = frame.pivot_table(index="route", columns="period_start", values=name, aggfunc="sum")
        result[name] = table.reindex(index=routes, columns=starts).to_numpy(float)
    return result


_EDGES = ("prom_count_u_start", "prom_count_u_end", "prom_sum_u_start", "prom_sum_u_end")


def window_columns(aligned: Aligned, routes: list[str]) -> dict[str, np.ndarray]:
    totals = aligned.totals.loc[routes]
    return {name: totals[name].to_numpy(float) for name in _COLUMNS}


def judge_mean_latency_all(
    aligned: Aligned,
    routes: list[str],
    config: RunConfig,
    verdicts: list[pd.DataFrame] | None = None,
) -> dict[str, list[CheckResult]]:
    """Every paired route's window and periods judged at once; per route, the checks to show.

    A window of more than KEEP_ALL periods appends every period's verdict to ``verdicts`` (the
    period table) and shows only the failures, the closest pass and a summary."""
    accepted = acceptance(config)
    window = latency_cells(window_columns(aligned, routes), accepted)
    cells = latency_cells(grid_columns(aligned, routes), accepted)
    starts = aligned.window.period_starts()
    labels = [period_label(t) for t in starts]
    tabled = verdicts is not None and len(starts) > KEEP_ALL
    codes = cells.codes
    if tabled and verdicts is not None:
        verdicts.append(_grid(cells, routes, labels))
    closest = _closest_pass(cells, codes) if tabled else None
    found: dict[str, list[CheckResult]] = {}
    for row, route in enumerate(routes):
        check_id = f"mean_latency[{route}]"
        checks = [cell_check(check_id, route, "window", window, row, accepted)]
        shown = _shown(codes, closest, row) if closest is not None else range(len(starts))
        period_checks = [
            cell_check(f"{check_id}@{labels[i]}", route, labels[i], cells, (row, i), accepted)
            for i in shown
        ]
        if tabled:
            period_checks.append(_summary(route, codes[row], labels, period_checks))
        found[route] = checks + period_checks
    return found


def _closest_pass(cells: LatencyCells, codes: np.ndarray) -> np.ndarray:
    """Per route, the period that passed closest to its bound (−1: none passed)."""
    passed = codes == PASS
    bound = np.maximum(cells.bound_ms, 1e-12)
    closeness = np.where(passed, np.abs(np.nan_to_num(cells.difference_ms)) / bound, -1)
    return np.where(passed.any(axis=1), np.argmax(closeness, axis=1), -1)


def _shown(codes: np.ndarray, closest: np.ndarray, row: int) -> list[int]:
    """The failed periods (capped) and the pass closest to its bound, in that order."""
    mine = codes[row]
    shown = np.flatnonzero(mine == FAIL)[:KEPT_FAILURES].tolist() if (mine == FAIL).any() else []
    if closest[row] >= 0:
        shown.append(int(closest[row]))
    return shown


def _summary(route: str, codes: np.ndarray, labels, shown: list[CheckResult]) -> CheckResult:
    counts = {
        s: int(np.count_nonzero(codes == STATUSES.index(s)))
        for s in (Status.PASS, Status.FAIL, Status.SKIP)
    }
    failed = [labels[i] for i in np.flatnonzero(codes == FAIL)] if counts[Status.FAIL] else []
    worst = shown[-1] if shown and shown[-1].status is Status.PASS else None
    return summary("mean_latency", route, counts, failed, [], worst)


def _grid(cells: LatencyCells, routes: list[str], labels: list[str]) -> VerdictGrid:
    """Every period's verdict for the period table (judge/periods.py): the difference only,
    rounded to 0.1 µs (finer than the timers); both means are in the aligned data."""
    return VerdictGrid(
        "mean_latency",
        np.asarray(routes, dtype=object),
        np.asarray(labels, dtype=object),
        cells.codes,
        cells.bound_ms,
        "ms",
        # a side without requests has no mean: no difference (a stray sum over a zero count
        # would read as an infinite one), as the per-period check states none
        {"difference_ms": np.where(cells.empty, np.nan, np.round(cells.difference_ms, 4))},
    )


def latency_tolerance(cw_mean: float, shift: float, config: RunConfig) -> Tolerance:
    """Side by side's acceptance (two processes time different executions): the section's
    values as they stand, defaults included (5 ms, 5 %), plus a derived part in seconds."""
    section = config.tolerances.mean_latency
    absolute, relative = section.absolute_ms, section.relative * cw_mean * 1000.0
    chosen = "absolute_ms" if absolute >= relative else "relative"
    origin = configured_origin(section, chosen)
    configured = max(absolute, relative)
    derived = shift * 1000.0
    detail = (
        f"max(absolute {absolute:g} ms, relative {section.relative:g} × CloudWatch mean) = "
        f"{configured:.3g} ms ({origin.value})"
    )
    if derived:
        detail += f" + derived {derived:.3g} ms (requests in the scrapes straddling the boundaries)"
        origin = Origin.DERIVED if derived > configured else origin
    return Tolerance(bound=configured + derived, unit="ms", origin=origin, detail=detail)
