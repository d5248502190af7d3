"""A Kayenta-style statistical judgement of the two per-period latency series, side by side.

(One app seen by both backends is paired data: judge/paired.py tests its paired differences.)

Mann–Whitney U on the block means (CloudWatch vs Prometheus; blocks of periods whose boundaries
barely move their means, judge/blocks.py), with the Hodges–Lehmann
shift as effect size. A shift that is significant *and* larger than the allowed effect is High
or Low; otherwise Pass; too few periods is NoData. A drift that hides inside each period's wide
boundary tolerance but leans the same way in every period is caught here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from cwparity.config import RunConfig
from cwparity.judge.bias import route_blocks
from cwparity.results import CheckResult, Status

CLASS_STATUS = {"Pass": Status.PASS, "High": Status.FAIL, "Low": Status.FAIL, "NoData": Status.SKIP}


def hodges_lehmann(baseline: np.ndarray, candidate: np.ndarray) -> float:
    """The median of all pairwise differences candidate − baseline: a robust location shift."""
    return float(np.median(np.subtract.outer(candidate, baseline)))


def smallest_p(n_baseline: int, n_candidate: int) -> float:
    """The smallest two-sided p-value Mann–Whitney can reach with these sample sizes."""
    return 2.0 / math.comb(n_baseline + n_candidate, n_baseline)


def mann_whitney(
    baseline: np.ndarray, candidate: np.ndarray, alpha: float, effect: float, min_samples: int
) -> dict:
    """Kayenta's classification of candidate against baseline.

    NoData also when the samples are too few for any result to reach ``alpha``: a test that
    cannot reject would otherwise report Pass for any data.
    """
    n_base, n_cand = len(baseline), len(candidate)
    if min(n_base, n_cand) < min_samples or smallest_p(n_base, n_cand) >= alpha:
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
    found, tolerance = route_blocks(periods, route, config)
    baseline, candidate = found.cw_ms.to_numpy(float), found.prom_ms.to_numpy(float)
    result = mann_whitney(baseline, candidate, section.alpha, tolerance.bound, section.min_periods)
    label = result["classification"]
    if label == "NoData":
        reason = (
            f"NoData: {len(found)} blocks of periods (each within a quarter of the "
            f"tolerance at its boundaries) are too few for Mann–Whitney at "
            f"alpha {section.alpha:g}"
        )
    else:
        reason = (
            f"{label}: Prometheus block means shifted {result['shift']:+.2f} ms from "
            f"CloudWatch's (Hodges–Lehmann), Mann–Whitney p={result['p_value']:.3g}; "
            f"High/Low need p<{section.alpha:g} and |shift| > {tolerance.bound:.3g} ms"
        )
    observed = {"blocks": float(len(found))}
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
