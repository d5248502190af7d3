"""Side by side: the old app seen through CloudWatch, the new app seen through Prometheus.

Two processes answer two copies of each logical request, so nothing is equal per request or
per period: counts are judged over the window (each side against what Locust sent *it*, and
the two sides against each other), latency as two distributions (window means with a bound
derived from the per-period spread, plus the engine's bias and Mann–Whitney checks). A route
served by one side only is not compared, and the report says why.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from cwparity.align import Aligned
from cwparity.config import SIDES, Route, RunConfig, Side
from cwparity.judge.bias import judge_bias, route_blocks
from cwparity.judge.counts import against_truth, count_tolerance, within
from cwparity.judge.distribution import judge_distribution
from cwparity.judge.latency import latency_tolerance
from cwparity.results import CheckResult, Origin, Status, Tolerance
from cwparity.truth import GroundTruth, RouteTruth

MODE = "side-by-side"
NAMES = {"cloudwatch": "the CloudWatch app", "prometheus": "the Prometheus app"}


def truths_for(
    truth: GroundTruth | None, route: str, config: RunConfig
) -> dict[Side, RouteTruth | None]:
    if truth is None:
        return {"cloudwatch": None, "prometheus": None}
    return {side: truth.for_route(route, config.target_url(side)) for side in SIDES}


def judge_route_side_by_side(
    aligned: Aligned, route: Route, truth: GroundTruth | None, config: RunConfig
) -> list[CheckResult]:
    truths = truths_for(truth, route.key, config)
    total = aligned.totals.loc[route.key]
    checks = _each_side_against_its_truth(route.key, total, truths, config)
    if len(route.sides) < 2:
        return [*checks, not_comparable(route, truths)]
    checks += status_findings(route.key, truths)
    checks.append(_backend_counts(route.key, total, truths, config))
    checks.append(mean_latency_distributions(aligned, route.key, config))
    for extra in (
        *judge_bias(aligned.periods, route.key, config),
        *judge_distribution(aligned.periods, route.key, config),
    ):
        checks.append(_in_mode(extra))
    return checks


def _in_mode(check: CheckResult) -> CheckResult:
    from dataclasses import replace

    return replace(
        check, reason=f"side by side: {check.reason}", details={**check.details, "mode": MODE}
    )


def _each_side_against_its_truth(route: str, total, truths, config: RunConfig) -> list[CheckResult]:
    checks = []
    seen = {
        "cloudwatch": (float(total.cw_count), 0.0),
        "prometheus": (float(total.prom_count), float(total.prom_count_u)),
    }
    for side, side_truth in truths.items():
        if side_truth is not None and config.load.enabled:
            count, derived = seen[side]
            checks.append(_in_mode(against_truth(route, side, count, derived, side_truth, config)))
    return checks


def not_comparable(route: Route, truths) -> CheckResult:
    """A one-sided route: SKIP, never FAIL, and say what the other side did with its load."""
    only = route.sides[0]
    other = "prometheus" if only == "cloudwatch" else "cloudwatch"
    reason = f"not comparable: only {NAMES[only]} serves {route.key}"
    other_truth = truths.get(other)
    if other_truth is not None and other_truth.answered + other_truth.failures:
        statuses = ", ".join(f"{n}× {code}" for code, n in sorted(other_truth.by_status.items()))
        reason += (
            f"; {NAMES[other]} still got its mirrored load and answered {statuses or 'nothing'}"
        )
        if other == "cloudwatch":
            reason += " (the guide's app publishes an EndpointLatency datum even for a 404)"
    return CheckResult(
        f"comparable[{route.key}]",
        "coverage",
        route.key,
        Status.SKIP,
        reason,
        details={"mode": MODE, "finding": reason, "sides": list(route.sides)},
    )


def status_findings(route: str, truths) -> list[CheckResult]:
    """A route both sides should serve but one answers with errors: a finding, never dropped."""
    errors = {side: _error_share(t) for side, t in truths.items() if t is not None}
    if len(errors) < 2:
        return []
    cw, prom = errors["cloudwatch"], errors["prometheus"]
    if (cw[0] > 0) == (prom[0] > 0):
        return []
    bad = "cloudwatch" if cw[0] > 0 else "prometheus"
    count, total, codes = errors[bad]
    reason = (
        f"{NAMES[bad]} answered {count} of {total} requests with {codes}; the other side "
        "answered them: the two deployments do not serve this route alike"
    )
    return [
        CheckResult(
            f"status[{route}]",
            "status_mismatch",
            route,
            Status.FAIL,
            reason,
            observed={"errors": float(count), "requests": float(total)},
            details={"mode": MODE, "finding": reason},
        )
    ]


def _error_share(truth: RouteTruth) -> tuple[int, int, str]:
    bad = {code: n for code, n in truth.by_status.items() if not code.startswith(("2", "3"))}
    return sum(bad.values()), truth.answered, "/".join(sorted(bad)) or "-"


def _backend_counts(route: str, total, truths, config: RunConfig) -> CheckResult:
    cw, prom = float(total.cw_count), float(total.prom_count)
    observed = {"cloudwatch": cw, "prometheus": prom}
    if all(t is not None for t in truths.values()):
        failures = sum(t.failures for t in truths.values())
        tolerance = count_tolerance(
            float(total.prom_count_u) + failures,
            "edge scrapes; mirrored requests without a response",
            config,
            "window_slack",
        )
        return _in_mode(
            within(
                f"count[{route}]",
                route,
                "window",
                observed,
                "CloudWatch",
                cw,
                "Prometheus",
                prom,
                tolerance,
            )
        )
    return share_scaled_counts(route, cw, prom, config)


def share_scaled_counts(route: str, cw: float, prom: float, config: RunConfig) -> CheckResult:
    """Real traffic split between two deployments: compare counts only through stated shares."""
    targets = config.targets
    assert targets is not None
    shares = (targets.cloudwatch.traffic_share, targets.prometheus.traffic_share)
    if None in shares:
        return CheckResult(
            f"count[{route}]",
            "count",
            route,
            Status.SKIP,
            "side by side on real traffic: counts are compared only when "
            "targets.*.traffic_share states each side's share",
            observed={"cloudwatch": cw, "prometheus": prom},
            details={"mode": MODE},
        )
    cw_share, prom_share = float(shares[0]), float(shares[1])  # type: ignore[arg-type]
    cw_total, prom_total = cw / cw_share, prom / prom_share
    z = stats.norm.ppf(0.5 + config.tolerances.side_by_side.confidence / 2)
    # a random split: each side's count is binomial around its share of the whole
    spread = z * math.sqrt(
        max(cw_total, prom_total) * ((1 - cw_share) / cw_share + (1 - prom_share) / prom_share)
    )
    tolerance = count_tolerance(
        spread, "binomial spread of the stated traffic shares", config, "window_slack"
    )
    observed = {"cloudwatch_total": cw_total, "prometheus_total": prom_total}
    return _in_mode(
        within(
            f"count[{route}]",
            route,
            "window",
            observed,
            "CloudWatch (scaled by its share)",
            cw_total,
            "Prometheus (scaled by its share)",
            prom_total,
            tolerance,
        )
    )


def mean_latency_distributions(aligned: Aligned, route: str, config: RunConfig) -> CheckResult:
    """Window means of the two deployments, bounded by the spread of their block means (periods
    merged until boundaries barely matter, judge/blocks.py) + the mean-latency tolerance."""
    total = aligned.totals.loc[route]
    check_id = f"mean_latency[{route}]"
    if not total.cw_count or not total.prom_count:
        return CheckResult(
            check_id,
            "mean_latency",
            route,
            Status.SKIP,
            "side by side: a side saw no requests for this route",
            details={"mode": MODE},
        )
    cw_ms = float(total.cw_sum / total.cw_count) * 1000.0
    prom_ms = float(total.prom_sum / total.prom_count) * 1000.0
    means, _ = route_blocks(aligned.periods, route, config)
    spread_ms = _spread(means, config)
    configured = latency_tolerance(cw_ms / 1000.0, 0.0, config)
    tolerance = Tolerance(
        bound=configured.bound + spread_ms,
        unit="ms",
        origin=Origin.DERIVED if spread_ms > configured.bound else configured.origin,
        detail=f"derived {spread_ms:.3g} ms (spread of both deployments' block means, "
        f"{config.tolerances.side_by_side.confidence:.0%}) + {configured.detail}",
    )
    difference = prom_ms - cw_ms
    passed = abs(difference) <= tolerance.bound
    higher = "the Prometheus app" if difference > 0 else "the CloudWatch app"
    reason = (
        f"side by side (two processes, different executions): mean latency CloudWatch app "
        f"{cw_ms:.2f} ms, Prometheus app {prom_ms:.2f} ms: {higher} slower by "
        f"{abs(difference):.2f} ms, {'within' if passed else 'beyond'} "
        f"±{tolerance.bound:.3g} ms"
    )
    return CheckResult(
        check_id,
        "mean_latency",
        route,
        Status.PASS if passed else Status.FAIL,
        reason,
        observed={"cloudwatch_ms": cw_ms, "prometheus_ms": prom_ms, "difference_ms": difference},
        tolerance=tolerance,
        details={"mode": MODE, "blocks": len(means)},
    )


def _spread(means, config: RunConfig) -> float:
    """z × the standard error of the difference of the two means, from the block means."""
    if len(means) < 2:
        return 0.0
    z = stats.norm.ppf(0.5 + config.tolerances.side_by_side.confidence / 2)
    variance = (np.var(means.cw_ms, ddof=1) + np.var(means.prom_ms, ddof=1)) / len(means)
    return float(z * math.sqrt(variance))
