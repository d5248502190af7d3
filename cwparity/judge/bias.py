"""Bias: the systematic offset between the two latency series, and what likely causes it.

Per period, d = Prometheus mean − CloudWatch mean, net of what the period's boundary scrapes can
explain (see ``per_period_means``). The offset is the median of d with a
bootstrap confidence interval; a Theil–Sen slope of d over time tells a constant offset from a
drift. Classified as equal (within the mean-latency tolerance), constant offset, or drift, and
explained in words a migration lead can act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwparity.config import RunConfig
from cwparity.judge.latency import boundary_shift, latency_tolerance
from cwparity.results import CheckResult, Status

BOOTSTRAP_SAMPLES = 2000


def per_period_means(periods: pd.DataFrame, route: str) -> pd.DataFrame:
    """Per period where both sides saw requests: each side's mean, and their difference net of
    what the period's boundary scrapes can explain (``excess_ms``, 0 when fully explained).

    Judging the net difference keeps exact data from ever looking biased, however few requests
    a period holds; a real offset survives it almost whole on a busy route.
    """
    mine = periods[
        (periods.route == route)
        & (periods.cw_count > 0)
        & (periods.prom_count > periods.prom_count_u)
    ]
    cw_ms = mine.cw_sum / mine.cw_count * 1000.0
    prom_ms = mine.prom_sum / mine.prom_count * 1000.0
    shift_ms = [
        boundary_shift(row.prom_count, row.prom_count_u, row.prom_sum, row.prom_sum_u) * 1000.0
        for row in mine.itertuples()
    ]
    diff = (prom_ms - cw_ms).to_numpy()
    excess = np.sign(diff) * np.maximum(0.0, np.abs(diff) - np.asarray(shift_ms, dtype=float))
    return pd.DataFrame(
        {
            "period_start": mine.period_start.to_numpy(),
            "cw_ms": cw_ms.to_numpy(),
            "prom_ms": prom_ms.to_numpy(),
            "shift_ms": shift_ms,
            "excess_ms": excess,
        }
    )


def bootstrap_median_ci(
    values: np.ndarray, confidence: float, seed: int = 0
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    samples = rng.choice(values, size=(BOOTSTRAP_SAMPLES, len(values)), replace=True)
    medians = np.median(samples, axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(medians, tail)), float(np.quantile(medians, 1 - tail))


def classify(diffs: np.ndarray, times: np.ndarray, tolerance_ms: float, confidence: float) -> dict:
    median = float(np.median(diffs))
    low, high = bootstrap_median_ci(diffs, confidence)
    slope, _, slope_low, slope_high = stats.theilslopes(diffs, times, alpha=confidence)
    span = float(times.max() - times.min()) if len(times) > 1 else 0.0
    drifts = (slope_low > 0 or slope_high < 0) and abs(slope) * span > tolerance_ms
    if drifts:
        kind = "drift"
    elif abs(median) <= tolerance_ms:
        kind = "equal"
    else:
        kind = "constant offset"
    return {
        "classification": kind,
        "offset_ms": median,
        "ci_ms": [low, high],
        "slope_ms_per_s": float(slope),
        "drift_over_window_ms": float(slope * span),
        "tolerance_ms": tolerance_ms,
    }


def likely_cause(kind: str, offset_ms: float) -> str:
    if kind == "equal":
        return "the two timers measure the same work"
    if kind == "drift":
        return (
            "the gap changes over the window: suspect work inside one timer whose cost "
            "grows with load (a synchronous publish to a slowing endpoint) or clocks drifting "
            "apart between hosts"
        )
    if offset_ms > 0:
        return (
            "Prometheus's timer includes work CloudWatch's does not: in the guide's app the "
            "synchronous put_metric_data call runs inside prometheus_flask_exporter's timer "
            "when the CloudWatch hook is registered after PrometheusMetrics (Flask runs "
            "after_request hooks in reverse order of registration)"
        )
    return (
        "CloudWatch's value includes time Prometheus's timer does not: a timer started "
        "earlier or stopped later than the exporter's, or an offset added to the published "
        "value (check how the app computes the latency it publishes)"
    )


def judge_bias(periods: pd.DataFrame, route: str, config: RunConfig) -> list[CheckResult]:
    section = config.tolerances.bias
    means = per_period_means(periods, route)
    check_id = f"bias[{route}]"
    if len(means) < section.min_periods:
        return [
            CheckResult(
                check_id,
                "bias",
                route,
                Status.SKIP,
                f"{len(means)} periods with data on both sides; bias needs {section.min_periods}",
            )
        ]
    diffs = means.excess_ms.to_numpy(float)
    times = means.period_start.map(lambda t: t.timestamp()).to_numpy(float)
    tolerance = latency_tolerance(float(np.median(means.cw_ms)) / 1000.0, 0.0, config)
    finding = classify(diffs, times, tolerance.bound, section.confidence)
    kind, offset = finding["classification"], finding["offset_ms"]
    higher = "Prometheus" if offset > 0 else "CloudWatch"
    low, high = finding["ci_ms"]
    summary = (
        f"{kind}: {higher} higher by {abs(offset):.2f} ms (median of {len(diffs)} periods,"
        f" {section.confidence:.0%} CI {low:.2f} to {high:.2f} ms)"
    )
    if kind == "drift":
        summary += f", drifting {finding['drift_over_window_ms']:.2f} ms over the window"
    finding["cause"] = likely_cause(kind, offset)
    status = Status.PASS if kind == "equal" else Status.FAIL
    return [
        CheckResult(
            check_id,
            "bias",
            route,
            status,
            f"{summary}; likely cause: {finding['cause']}",
            observed={
                "offset_ms": offset,
                "ci_low_ms": low,
                "ci_high_ms": high,
                "periods": float(len(diffs)),
            },
            tolerance=tolerance,
            details={"finding": finding},
        )
    ]
