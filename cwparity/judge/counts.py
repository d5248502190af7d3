"""Request-count parity: Locust sent = CloudWatch SampleCount = Prometheus counter increase.

Whole window: both edges lie outside the load, so the only derived uncertainty is what the
window's edge scrapes carry (zero on a quiet edge) and Locust's requests that got no response.
Per period: CloudWatch against Prometheus, within the requests that fell in the scrapes
straddling the period's two boundaries.
"""

from __future__ import annotations

import math

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.tolerance import combined, configured_origin, period_label
from cwparity.results import CheckResult, Status, Tolerance
from cwparity.truth import RouteTruth

STRADDLE = "requests in the scrapes straddling the boundaries"
NO_ANSWER = "Locust requests that got no response"


def judge_counts(
    aligned: Aligned,
    route: str,
    truth: RouteTruth | None,
    config: RunConfig,
    periods: list[CheckResult] | None = None,
) -> list[CheckResult]:
    """The route's window checks and its period checks: ``periods`` when they were judged
    with every route at once (judge/count_grid.py), else one check per period."""
    total = aligned.totals.loc[route]
    truth_checks = []
    if config.load.enabled and truth is not None:
        truth_checks.append(against_truth(route, "cloudwatch", total.cw_count, 0.0, truth, config))
        truth_checks.append(
            against_truth(route, "prometheus", total.prom_count, total.prom_count_u, truth, config)
        )
    if nothing_seen(total):
        return [no_data(route, total), *truth_checks]
    checks = [_backends_window(route, total, config), *truth_checks]
    if periods is not None:
        return checks + periods
    rows = aligned.periods[aligned.periods.route == route]
    checks += [backends_period(route, row, config) for row in rows.itertuples()]
    return checks


def nothing_seen(total) -> bool:
    """Neither side saw a request of the route in the window: 0 = 0 compares nothing."""
    values = (float(total.cw_count), float(total.prom_count), float(total.prom_count_u))
    return all(value == 0 for value in values)


def no_data(route: str, total) -> CheckResult:
    """NoData is not parity: a window before the app existed, or shifted by a time-zone
    mistake, or a route mapped wrong would otherwise pass on 0 = 0."""
    return CheckResult(
        f"count[{route}]",
        "count",
        route,
        Status.ERROR,
        f"no data: neither CloudWatch nor Prometheus saw a request of {route} in this window, "
        "so nothing was compared (was the app serving it then? is the window in UTC? does the "
        "mapping name the route both sides use?)",
        observed={"cloudwatch": float(total.cw_count), "prometheus": float(total.prom_count)},
        details={"finding": f"no data for {route} on either side in the window"},
    )


def count_tolerance(derived: float, why: str, config: RunConfig, key: str) -> Tolerance:
    section = config.tolerances.count
    slack = float(getattr(section, key))
    return combined(derived, why, slack, configured_origin(section, key), "requests", key)


def within(
    check_id: str,
    route: str,
    scope: str,
    observed: dict,
    a_name: str,
    a: float,
    b_name: str,
    b: float,
    tolerance: Tolerance,
    kind: str = "count",
) -> CheckResult:
    """PASS when |a - b| is within the bound; the reason names who saw fewer and by how much."""
    if math.isnan(b) or math.isnan(a):
        return CheckResult(
            check_id,
            kind,
            route,
            Status.ERROR,
            f"{b_name if math.isnan(b) else a_name} has no samples at this window's edge "
            "(not scraped yet, or the target was down)",
            scope=scope,
            observed=observed,
            tolerance=tolerance,
        )
    difference = a - b
    observed = {**observed, "difference": difference}
    if abs(difference) <= tolerance.bound + 1e-9:
        reason = f"{a_name} {a:g} vs {b_name} {b:g}: within ±{tolerance.bound:g}"
        status = Status.PASS
    else:
        fewer, more = (a_name, b_name) if difference < 0 else (b_name, a_name)
        share = abs(difference) / max(a, b) * 100 if max(a, b) else 0.0
        reason = (
            f"{fewer} counted {abs(difference):g} fewer requests than {more} "
            f"({a_name} {a:g}, {b_name} {b:g}, {share:.1f} %): beyond the ±{tolerance.bound:g} bound"
        )
        status = Status.FAIL
    return CheckResult(
        check_id, kind, route, status, reason, scope=scope, observed=observed, tolerance=tolerance
    )


def _backends_window(route: str, total, config: RunConfig) -> CheckResult:
    tolerance = count_tolerance(float(total.prom_count_u), STRADDLE, config, "window_slack")
    observed = {"cloudwatch": float(total.cw_count), "prometheus": float(total.prom_count)}
    return within(
        f"count[{route}]",
        route,
        "window",
        observed,
        "CloudWatch",
        float(total.cw_count),
        "Prometheus",
        float(total.prom_count),
        tolerance,
    )


def against_truth(
    route: str, side: str, seen: float, derived: float, truth: RouteTruth, config: RunConfig
) -> CheckResult:
    why = f"{STRADDLE}; {truth.failures} {NO_ANSWER}" if derived else NO_ANSWER
    tolerance = count_tolerance(float(derived) + truth.failures, why, config, "window_slack")
    name = "CloudWatch" if side == "cloudwatch" else "Prometheus"
    observed = {"locust": float(truth.answered), side: float(seen)}
    if not config.load.exclusive:
        return at_least(route, side, name, seen, truth, tolerance, observed)
    return within(
        f"count.{side}[{route}]",
        route,
        "window",
        observed,
        name,
        float(seen),
        "Locust",
        float(truth.answered),
        tolerance,
        kind="count_truth",
    )


def at_least(
    route: str,
    side: str,
    name: str,
    seen: float,
    truth: RouteTruth,
    tolerance: Tolerance,
    observed: dict,
) -> CheckResult:
    """Other traffic shares the app (load.exclusive false): a backend must count at least
    what Locust got answers for; more is other traffic, fewer is loss."""
    missing = truth.answered - seen
    passed = missing <= tolerance.bound + 1e-9
    reason = (
        f"{name} counted {seen:g}, at least the {truth.answered} Locust requests answered"
        if passed
        else f"{name} counted {missing:g} fewer requests than Locust sent it ({seen:g} < "
        f"{truth.answered}), beyond ±{tolerance.bound:g}, although other traffic may add to it"
    )
    return CheckResult(
        f"count.{side}[{route}]",
        "count_truth",
        route,
        Status.PASS if passed else Status.FAIL,
        reason + " (load.exclusive is false: other traffic is allowed)",
        observed={**observed, "difference": seen - truth.answered},
        tolerance=tolerance,
    )


def backends_period(route: str, row, config: RunConfig) -> CheckResult:
    label = period_label(row.period_start)
    tolerance = count_tolerance(float(row.prom_count_u), STRADDLE, config, "slack")
    observed = {"cloudwatch": float(row.cw_count), "prometheus": float(row.prom_count)}
    return within(
        f"count[{route}]@{label}",
        route,
        label,
        observed,
        "CloudWatch",
        float(row.cw_count),
        "Prometheus",
        float(row.prom_count),
        tolerance,
    )
