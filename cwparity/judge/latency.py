"""Mean-latency parity: CloudWatch's Average against Prometheus' Δsum / Δcount per period.

Not the guide's dashboard ratio ``_sum / _count``: that is the mean since the process started.
The bound is the configured one (the larger of an absolute and a relative part) plus what the
boundary scrapes can move a period's mean: requests that may belong to the next period shift
both the sum and the count (``(sum_u + mean * count_u) / (count - count_u)``).
"""

from __future__ import annotations

import math

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.tolerance import configured_origin, period_label
from cwparity.results import CheckResult, Origin, Status, Tolerance


def judge_mean_latency(aligned: Aligned, route: str, config: RunConfig) -> list[CheckResult]:
    total = aligned.totals.loc[route]
    checks = [_judge(f"mean_latency[{route}]", route, "window", total, config)]
    periods = aligned.periods[aligned.periods.route == route]
    for row in periods.itertuples():
        label = period_label(row.period_start)
        checks.append(_judge(f"mean_latency[{route}]@{label}", route, label, row, config))
    return checks


def boundary_shift(count: float, count_u: float, sums: float, sums_u: float) -> float:
    """The most the straddling requests can move Δsum/Δcount (seconds); inf if they may be all.

    With the true count N and sum S off by at most ``count_u`` and ``sums_u``, the estimate's
    error is at most (sums_u + m · count_u) / count for the true mean m, and m is at most
    (sums + sums_u) / (count − count_u): that largest mean keeps the bound conservative.
    """
    if count_u == 0 and sums_u == 0:
        return 0.0
    if count - count_u <= 0:
        return math.inf
    largest_mean = (sums + sums_u) / (count - count_u)
    return (sums_u + largest_mean * count_u) / (count - count_u)


def latency_tolerance(cw_mean: float, shift: float, config: RunConfig) -> Tolerance:
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


def _judge(check_id: str, route: str, scope: str, row, config: RunConfig) -> CheckResult:
    cw_count, prom_count = float(row.cw_count), float(row.prom_count)
    if not cw_count or not prom_count or math.isnan(prom_count):
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
    cw_mean = float(row.cw_sum) / cw_count
    prom_mean = float(row.prom_sum) / prom_count
    shift = boundary_shift(
        prom_count, float(row.prom_count_u), float(row.prom_sum), float(row.prom_sum_u)
    )
    tolerance = latency_tolerance(cw_mean, shift, config)
    difference_ms = (prom_mean - cw_mean) * 1000.0
    observed = {
        "cloudwatch_ms": cw_mean * 1000.0,
        "prometheus_ms": prom_mean * 1000.0,
        "difference_ms": difference_ms,
    }
    if math.isinf(tolerance.bound):
        return CheckResult(
            check_id,
            "mean_latency",
            route,
            Status.SKIP,
            "every request of this period may belong to a neighbour: no bound",
            scope=scope,
            observed=observed,
            tolerance=tolerance,
        )
    passed = abs(difference_ms) <= tolerance.bound
    relation = "within" if passed else "beyond"
    slower = "Prometheus" if difference_ms > 0 else "CloudWatch"
    reason = (
        f"mean latency CloudWatch {cw_mean * 1000:.2f} ms, Prometheus "
        f"{prom_mean * 1000:.2f} ms: {slower} higher by {abs(difference_ms):.2f} ms, "
        f"{relation} ±{tolerance.bound:.3g} ms"
    )
    return CheckResult(
        check_id,
        "mean_latency",
        route,
        Status.PASS if passed else Status.FAIL,
        reason,
        scope=scope,
        observed=observed,
        tolerance=tolerance,
    )


def _noun(scope: str) -> str:
    return "window" if scope == "window" else "period"
