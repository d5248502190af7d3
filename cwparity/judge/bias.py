"""Bias side by side: the systematic offset between two deployments' latency series.

Two processes time different executions, so no difference measures a timer: the offset is the
difference of the two window means, its confidence interval and classification come from
*blocks* of consecutive periods (judge/blocks.py) whose boundary effect is a small share of the
tolerance: the median block difference with a bootstrap CI, and a drift test (Theil–Sen slope
whose CI excludes 0, and a change between the first and second half larger than the
tolerance). Classified as equal (the whole CI within the tolerance), constant offset (the whole
CI beyond it), inconclusive (WARN) or drift. One app seen by both backends is judged as paired
data instead (judge/paired.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwparity.config import RunConfig
from cwparity.judge.blocks import blocks
from cwparity.judge.latency import higher_by, latency_tolerance
from cwparity.results import CheckResult, Status, Tolerance

BOOTSTRAP_SAMPLES = 2000


def window_means_ms(periods: pd.DataFrame, route: str) -> tuple[float, float]:
    """CloudWatch's and Prometheus's mean over all the route's periods (the window's means)."""
    mine = periods[periods.route == route]
    cw, prom = float(mine.cw_count.sum()), float(mine.prom_count.sum())
    cw_ms = float(mine.cw_sum.sum()) / cw * 1000.0 if cw else np.nan
    prom_ms = float(mine.prom_sum.sum()) / prom * 1000.0 if prom else np.nan
    return cw_ms, prom_ms


def route_blocks(
    periods: pd.DataFrame, route: str, config: RunConfig
) -> tuple[pd.DataFrame, Tolerance]:
    """The route's blocks, at the resolution its mean-latency tolerance asks for."""
    cw_ms, _ = window_means_ms(periods, route)
    tolerance = latency_tolerance((0.0 if np.isnan(cw_ms) else cw_ms) / 1000.0, 0.0, config)
    return blocks(periods, route, tolerance.bound), tolerance


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
    half = len(diffs) // 2
    change = float(np.mean(diffs[-half:]) - np.mean(diffs[:half])) if half else 0.0
    if (slope_low > 0 or slope_high < 0) and abs(change) > tolerance_ms:
        kind = "drift"
    elif -tolerance_ms <= low and high <= tolerance_ms:
        kind = "equal"
    elif low > tolerance_ms or high < -tolerance_ms:
        kind = "constant offset"
    else:
        kind = "inconclusive"
    return {
        "classification": kind,
        "block_median_ms": median,
        "ci_ms": [low, high],
        "slope_ms_per_s": float(slope),
        "change_ms": change,
        "tolerance_ms": tolerance_ms,
    }


def likely_cause(kind: str, offset_ms: float) -> str:
    """Side by side: two deployments time different executions of each request."""
    if kind == "equal":
        return "the two deployments' latencies agree within the bound"
    if kind == "inconclusive":
        return "the blocks' interval reaches past the bound: more traffic or a longer window"
    if kind == "drift":
        return (
            "the gap changes over the window: one deployment slows down (or speeds up) "
            "under the same load: warm-up, a leak, a slowing dependency"
        )
    slower = "Prometheus" if offset_ms > 0 else "CloudWatch"
    return (
        f"the {slower} app serves the route slower: different code, hardware, dependencies, or "
        "instrumentation that encloses more work in that deployment"
    )


STATUS = {
    "equal": Status.PASS,
    "inconclusive": Status.WARN,
    "constant offset": Status.FAIL,
    "drift": Status.FAIL,
}


def judge_bias(periods: pd.DataFrame, route: str, config: RunConfig) -> list[CheckResult]:
    section = config.tolerances.bias
    found, tolerance = route_blocks(periods, route, config)
    check_id = f"bias[{route}]"
    if len(found) < section.min_periods:
        return [
            CheckResult(
                check_id,
                "bias",
                route,
                Status.SKIP,
                f"{len(found)} blocks of periods resolve this route's boundaries to a quarter of the "
                f"±{tolerance.bound:.3g} ms tolerance; bias needs {section.min_periods} "
                "(more traffic, a longer window or a shorter scrape interval)",
            )
        ]
    times = found.start.map(lambda t: t.timestamp()).to_numpy(float)
    finding = classify(found.diff_ms.to_numpy(float), times, tolerance.bound, section.confidence)
    cw_ms, prom_ms = window_means_ms(periods, route)
    offset = prom_ms - cw_ms
    finding |= {"offset_ms": offset, "blocks": len(found), "cause": ""}
    kind = finding["classification"]
    finding["cause"] = likely_cause(kind, offset)
    return [
        CheckResult(
            check_id,
            "bias",
            route,
            STATUS[kind],
            f"{_summary(finding, confidence=section.confidence)}; likely cause: {finding['cause']}",
            observed={
                "offset_ms": offset,
                "ci_low_ms": finding["ci_ms"][0],
                "ci_high_ms": finding["ci_ms"][1],
                "blocks": float(len(found)),
            },
            tolerance=tolerance,
            details={"finding": finding},
        )
    ]


def _summary(finding: dict, confidence: float) -> str:
    offset, (low, high) = finding["offset_ms"], finding["ci_ms"]
    gap = higher_by(offset, decimals=2)
    text = (
        f"{finding['classification']}: {gap} over the window (median of "
        f"{finding['blocks']} blocks {finding['block_median_ms']:+.2f} ms, "
        f"{confidence:.0%} CI {low:+.2f} to {high:+.2f} ms)"
    )
    if finding["classification"] == "drift":
        text += f", changing {finding['change_ms']:+.2f} ms from the first half to the second"
    return text
