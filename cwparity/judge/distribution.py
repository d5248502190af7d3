"""A Kayenta-style statistical judgement of the two per-period latency series.

Mann–Whitney U on the per-period means (CloudWatch vs Prometheus, the latter moved only by what
the period's boundary scrapes cannot explain), with the Hodges–Lehmann
shift as effect size. A shift that is significant *and* larger than the allowed effect is High
or Low; otherwise Pass; too few periods is NoData. A drift that hides inside each period's wide
boundary tolerance but leans the same way in every period is caught here.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from cwparity.config import RunConfig
from cwparity.judge.bias import per_period_means
from cwparity.judge.latency import latency_tolerance
from cwparity.results import CheckResult, Status

CLASS_STATUS = {"Pass": Status.PASS, "High": Status.FAIL, "Low": Status.FAIL, "NoData": Status.SKIP}


def hodges_lehmann(baseline: np.ndarray, candidate: np.ndarray) -> float:
    """The median of all pairwise differences candidate − baseline: a robust location shift."""
    return float(np.median(np.subtract.outer(candidate, baseline)))


def mann_whitney(
    baseline: np.ndarray, candidate: np.ndarray, alpha: float, effect: float, min_samples: int
) -> dict:
    """Kayenta's classification of candidate against baseline."""
    if len(baseline) < min_samples or len(candidate) < min_samples:
        return {"classification": "NoData", "p_value": None, "shift": None}
    p_value = float(stats.mannwhitneyu(candidate, baseline, alternative="two-sided").pvalue)
    shift = hodges_lehmann(baseline, candidate)
    significant = p_value < alpha
    if significant and shift > effect:
        label = "High"
    elif significant and shift < -effect:
        label = "Low"
    else:
        label = "Pass"
    return {"classification": label, "p_value": p_value, "shift": shift}


def judge_distribution(periods, route: str, config: RunConfig) -> list[CheckResult]:
    section = config.tolerances.distribution
    means = per_period_means(periods, route)
    # Prometheus's means moved by no more than the boundaries allow are taken as CloudWatch's
    baseline = means.cw_ms.to_numpy(float)
    candidate = baseline + means.excess_ms.to_numpy(float)
    median_cw = float(np.median(baseline)) / 1000.0 if len(baseline) else 0.0
    tolerance = latency_tolerance(median_cw, 0.0, config)
    result = mann_whitney(baseline, candidate, section.alpha, tolerance.bound, section.min_periods)
    label = result["classification"]
    if label == "NoData":
        reason = f"NoData: {len(means)} periods with data on both sides, need {section.min_periods}"
    else:
        reason = (
            f"{label}: Prometheus per-period means shifted {result['shift']:+.2f} ms from "
            f"CloudWatch's (Hodges–Lehmann), Mann–Whitney p={result['p_value']:.3g}; "
            f"High/Low need p<{section.alpha:g} and |shift| > {tolerance.bound:.3g} ms"
        )
    observed = {"periods": float(len(means))}
    if result["shift"] is not None:
        observed |= {"shift_ms": result["shift"], "p_value": result["p_value"]}
    return [
        CheckResult(
            f"distribution[{route}]",
            "distribution",
            route,
            CLASS_STATUS[label],
            reason,
            observed=observed,
            tolerance=tolerance,
            details={"finding": result},
        )
    ]
