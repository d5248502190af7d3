"""Percentile parity: CloudWatch's pNN against what the Prometheus histogram can say about it.

A histogram only knows buckets. The NN-th percentile's rank falls in one bucket (or, when the
counts carry boundary uncertainty, in a run of buckets), so the honest claim is a *range*:
CloudWatch's value must lie inside it. ``histogram_quantile``'s estimate is reported beside it,
with the largest error its linear interpolation can make (the bucket's width).

Locust's client-side latencies are a third reference: each request's client time includes its
server time, so the client's k-th fastest request is no faster than the server's k-th fastest;
the client's pNN can never lie below the histogram's range for pNN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwparity.config import RunConfig
from cwparity.judge.tolerance import period_label
from cwparity.results import CheckResult, Origin, Status, Tolerance
from cwparity.truth import RouteTruth

QUANTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


@dataclass(frozen=True)
class RankRange:
    """Where the q-th percentile can lie (seconds), and histogram_quantile's estimate of it."""

    lower: float
    upper: float
    estimate: float
    max_error: float


def rank_range(
    les: np.ndarray, cumulative: np.ndarray, u: np.ndarray, q: float
) -> RankRange | None:
    """From cumulative bucket counts (``les`` ascending, last +Inf) and their uncertainty;
    None when no rank can be placed (no request, or counts unknown: NaN after a lost target)."""
    if not len(les) or not (np.isfinite(cumulative).all() and np.isfinite(u).all()):
        return None
    total, total_u = float(cumulative[-1]), float(u[-1])
    if total - total_u <= 0:
        return None
    # ranks of any percentile definition (nearest rank, interpolated) lie in [floor, ceil]
    low_rank = max(1.0, math.floor(q * max(total - total_u, 1.0)))
    high_rank = min(total + total_u, math.ceil(q * (total + total_u)))
    # the first bucket that may hold the low rank, the first that surely holds the high rank
    first = int(np.argmax(cumulative + u >= low_rank - 1e-9))
    reaching = cumulative - u >= high_rank - 1e-9
    last = int(np.argmax(reaching)) if reaching.any() else len(les) - 1
    lower = 0.0 if first == 0 else float(les[first - 1])
    upper = float(les[last])
    return RankRange(lower, upper, *histogram_quantile(les, cumulative, q))


def histogram_quantile(les: np.ndarray, cumulative: np.ndarray, q: float) -> tuple[float, float]:
    """Prometheus's estimate (linear inside the bucket) and that bucket's width."""
    rank = q * float(cumulative[-1])
    bucket = int(np.argmax(cumulative >= rank))
    if math.isinf(les[bucket]):
        # Prometheus returns the largest finite bound here; the error is unbounded
        return float(les[bucket - 1]) if bucket else 0.0, math.inf
    lower = 0.0 if bucket == 0 else float(les[bucket - 1])
    below = 0.0 if bucket == 0 else float(cumulative[bucket - 1])
    inside = float(cumulative[bucket]) - below
    fraction = (rank - below) / inside if inside > 0 else 1.0
    return lower + (float(les[bucket]) - lower) * fraction, float(les[bucket]) - lower


def _ranges_for(buckets: pd.DataFrame, q: float) -> RankRange | None:
    ordered = buckets.sort_values("le")
    return rank_range(
        ordered["le"].to_numpy(float),
        ordered["count"].to_numpy(float),
        ordered["u"].to_numpy(float),
        q,
    )


def judge_cloudwatch_percentiles(
    buckets: pd.DataFrame,
    cw: pd.DataFrame | None,
    why_not: str | None,
    route: str,
    config: RunConfig,
) -> list[CheckResult]:
    """One check per period and percentile where CloudWatch has a value; SKIP when it cannot."""
    if cw is None:
        return [
            CheckResult(
                f"percentile[{route}]",
                "percentile",
                route,
                Status.SKIP,
                f"CloudWatch cannot answer percentiles here ({why_not}): not compared",
            )
        ]
    edge = config.tolerances.percentile.edge_relative
    checks = []
    mine = cw[cw.route == route]
    for row in mine.itertuples():
        q = QUANTILES.get(row.stat)
        period = buckets[(buckets.route == route) & (buckets.period_start == row.period_start)]
        ranged = _ranges_for(period, q) if q and not period.empty else None
        label = period_label(row.period_start)
        check_id = f"percentile.{row.stat}[{route}]@{label}"
        if _unknown(period):
            checks.append(_not_scraped(check_id, route, label, row.stat, row.value))
            continue
        if ranged is None:
            checks.append(_no_range(check_id, route, label, row.stat, row.value, period))
            continue
        checks.append(_in_range(check_id, route, label, row.stat, row.value, ranged, edge))
    return checks


def _unknown(buckets: pd.DataFrame) -> bool:
    """Some bucket's count is unknown: a boundary after its series' last scrape."""
    return bool(buckets["count"].isna().any() or buckets["u"].isna().any())


def _not_scraped(
    check_id: str, route: str, scope: str, stat: str, value: float | None = None
) -> CheckResult:
    return CheckResult(
        check_id,
        "percentile" if "@" in check_id else "percentile_client",
        route,
        Status.SKIP,
        f"{stat} not compared: Prometheus has no samples of this route's histogram at a "
        "boundary (after its last scrape: the target was lost or not scraped yet)",
        scope=scope,
        observed={} if value is None else {"cloudwatch_ms": value * 1000},
    )


def _no_range(
    check_id: str, route: str, scope: str, stat: str, value: float, period: pd.DataFrame
) -> CheckResult:
    """No bucket range: FAIL if Prometheus surely saw nothing, SKIP if the boundaries blur it."""
    top = period[period["le"] == math.inf]
    seen, blur = (float(top["count"].iloc[0]), float(top["u"].iloc[0])) if len(top) else (0, 0)
    observed = {"cloudwatch_ms": value * 1000, "prometheus_count": seen, "uncertainty": blur}
    if seen + blur <= 0:
        return CheckResult(
            check_id,
            "percentile",
            route,
            Status.FAIL,
            f"CloudWatch has a {stat} but Prometheus saw no request in this period",
            scope=scope,
            observed=observed,
        )
    return CheckResult(
        check_id,
        "percentile",
        route,
        Status.SKIP,
        "every request of this period may belong to a neighbour: no bucket range",
        scope=scope,
        observed=observed,
    )


def _in_range(
    check_id: str, route: str, scope: str, stat: str, value: float, ranged: RankRange, edge: float
) -> CheckResult:
    low, high = ranged.lower * (1 - edge), ranged.upper * (1 + edge)
    inside = low <= value <= high
    observed = {
        "cloudwatch_ms": value * 1000,
        "bucket_lower_ms": ranged.lower * 1000,
        "bucket_upper_ms": ranged.upper * 1000,
        "histogram_quantile_ms": ranged.estimate * 1000,
        "interpolation_max_error_ms": ranged.max_error * 1000,
    }
    tolerance = Tolerance(
        bound=(ranged.upper - ranged.lower) * 1000,
        unit="ms",
        origin=Origin.DERIVED,
        detail=f"the bucket range holding the {stat} rank, "
        f"[{ranged.lower * 1000:g}, {ranged.upper * 1000:g}] ms, "
        f"± {edge:.0%} at its edges",
    )
    where = "inside" if inside else "outside"
    reason = (
        f"CloudWatch {stat} {value * 1000:.2f} ms is {where} the histogram's range "
        f"[{ranged.lower * 1000:g}, {ranged.upper * 1000:g}] ms "
        f"(histogram_quantile {ranged.estimate * 1000:.2f} ms, ±{ranged.max_error * 1000:g} ms)"
    )
    return CheckResult(
        check_id,
        "percentile",
        route,
        Status.PASS if inside else Status.FAIL,
        reason,
        scope=scope,
        observed=observed,
        tolerance=tolerance,
    )


def judge_client_percentiles(
    buckets: pd.DataFrame, truth: RouteTruth | None, route: str
) -> list[CheckResult]:
    """Locust's client-side pNN must not lie below the histogram's range for pNN.

    Both sides are known only within a range: the server's pNN within its bucket range (boundary
    uncertainty included), Locust's within one bucket of its latency histogram (a factor
    ``base``). Each is taken at its end that favours PASS, so exact data never fails; a client
    pNN below the server's by more than the two resolutions still does.
    """
    window = buckets[(buckets.route == route) & buckets.period_start.isna()]
    if truth is None or not truth.latency.total or window.empty:
        return []
    if _unknown(window):
        return [
            _not_scraped(f"percentile_client.{stat}[{route}]", route, "window", stat)
            for stat in QUANTILES
        ]
    checks = []
    for stat, q in QUANTILES.items():
        ranged = _ranges_for(window, q)
        client = truth.latency.nearest_rank(q)
        if ranged is None or client is None:
            continue
        checks.append(_client_check(route, stat, client, ranged, truth.latency.resolution))
    return checks


def _client_check(
    route: str, stat: str, client_ms: tuple[float, float], ranged: RankRange, resolution: float
) -> CheckResult:
    low, high = client_ms
    server_low = ranged.lower * 1000
    # 1 µs: the histogram's bucket bounds and the client's are floats of different origins
    ok = high >= server_low - 1e-3
    reason = (
        f"Locust's {stat} {low:.2f}–{high:.2f} ms is "
        f"{'not below' if ok else 'below'} the server histogram's lowest possible "
        f"{stat} {server_low:g} ms"
        + ("" if ok else ": the histogram reports slower requests than the client saw")
    )
    return CheckResult(
        f"percentile_client.{stat}[{route}]",
        "percentile_client",
        route,
        Status.PASS if ok else Status.FAIL,
        reason,
        observed={
            "locust_ms": (low + high) / 2,
            "locust_low_ms": low,
            "locust_high_ms": high,
            "bucket_lower_ms": server_low,
            "bucket_upper_ms": ranged.upper * 1000,
            "histogram_quantile_ms": ranged.estimate * 1000,
        },
        tolerance=Tolerance(
            high - low,
            "ms",
            Origin.DERIVED,
            "client time includes server time: client pNN ≥ server pNN. Locust's pNN is known "
            f"within {resolution:.0%} (its latency histogram's buckets): FAIL only when even "
            "its top is below the lowest the server's can be",
        ),
    )
