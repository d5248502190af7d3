"""Bias and distribution when both backends timed the same requests (one app, or its replicas).

The window's difference of means (Prometheus − CloudWatch) is a measurement of the two timers'
offset over every request of the window, resolved to what its edges and value precision cannot
say (about zero on quiet edges). Blocks of periods (judge/blocks.py) add what one number cannot:
the interval of the offset from their spread, whether it is constant, drifts over time or grows
with load, and a signed-rank test of the paired block differences. Each check says which
evidence decided it:

* the **window's paired difference** decides alone when its interval lies wholly outside the
  acceptance (an offset, FAIL), so a short window at 60 s periods is judged, not skipped;
* **equal** (PASS) needs the window's interval inside the acceptance and, when there are blocks
  enough, their confidence interval inside it too (widened by the blocks' boundary resolution);
* otherwise the check is inconclusive (WARN), never a PASS.

Everything is computed once per route from arrays; the tests are O(blocks · log blocks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.blocks import blocks_grid
from cwparity.judge.latency import (
    Acceptance,
    acceptance,
    grid_columns,
    latency_cells,
    window_columns,
)
from cwparity.results import CheckResult, Status, Tolerance

#: a ratio of the two means this close to 1000 (either way) is a units mistake, not an offset
UNITS_RATIO = (500.0, 2000.0)


@dataclass(frozen=True)
class PairedEvidence:
    """One route's paired measurement: the window's offset and the blocks' view of it (ms)."""

    route: str
    cw_ms: float
    prom_ms: float
    offset_ms: float
    unresolved_ms: float
    tolerance: Tolerance
    blocks: pd.DataFrame

    @property
    def allowance_ms(self) -> float:
        return self.tolerance.bound

    @property
    def interval(self) -> tuple[float, float]:
        return self.offset_ms - self.unresolved_ms, self.offset_ms + self.unresolved_ms

    @property
    def measured(self) -> bool:
        return math.isfinite(self.offset_ms) and math.isfinite(self.unresolved_ms)

    @property
    def beyond(self) -> bool:
        """The window's interval lies wholly outside the acceptance: an offset, decided."""
        low, high = self.interval
        return self.measured and (low > self.allowance_ms or high < -self.allowance_ms)

    @property
    def inside(self) -> bool:
        low, high = self.interval
        return self.measured and -self.allowance_ms <= low and high <= self.allowance_ms

    @property
    def resolution_ms(self) -> float:
        """The most any block's boundaries can move its difference."""
        return float(self.blocks.shift_ms.max()) if len(self.blocks) else 0.0


def paired_evidence(
    aligned: Aligned, routes: list[str], config: RunConfig
) -> dict[str, PairedEvidence]:
    """Every paired route's evidence, from array operations over all of them at once."""
    accepted = acceptance(config)
    window = latency_cells(window_columns(aligned, routes), accepted)
    columns = grid_columns(aligned, routes)
    found = blocks_grid(columns, aligned.window.period_starts(), window.allowance_ms)
    return {
        route: PairedEvidence(
            route,
            float(window.cw_ms[i]),
            float(window.prom_ms[i]),
            float(window.difference_ms[i]),
            float(window.derived_ms[i]),
            _acceptance_tolerance(float(window.cw_ms[i]), float(window.allowance_ms[i]), accepted),
            found[i],
        )
        for i, route in enumerate(routes)
    }


def _acceptance_tolerance(cw_ms: float, allowance: float, accepted: Acceptance) -> Tolerance:
    origin = accepted.origins[accepted.chosen(cw_ms)]
    return Tolerance(bound=allowance, unit="ms", origin=origin, detail=accepted.words(cw_ms))


def block_findings(evidence: PairedEvidence, confidence: float, min_blocks: int) -> dict:
    """Interval, drift and load growth from the blocks; empty when they are too few."""
    found = evidence.blocks
    if len(found) < min_blocks:
        return {}
    diffs = found.diff_ms.to_numpy(float)
    n = len(diffs)
    t = stats.t.ppf(0.5 + confidence / 2, n - 1)
    mean, error = float(diffs.mean()), float(diffs.std(ddof=1) / math.sqrt(n))
    times = np.array([s.timestamp() for s in found.start], dtype=float)
    trend = stats.linregress(times, diffs) if np.ptp(times) > 0 else None
    half = n // 2
    change = float(diffs[-half:].mean() - diffs[:half].mean()) if half else 0.0
    slack = evidence.allowance_ms + evidence.resolution_ms
    drifting = trend is not None and abs(trend.slope) > t * trend.stderr and abs(change) > slack
    load = found.requests.to_numpy(float)
    grows = False
    if np.ptp(load) > 0 and np.ptp(diffs) > 0:
        rho, p_value = stats.spearmanr(load, diffs)
        grows = bool(p_value < 1 - confidence and np.sign(rho) == np.sign(evidence.offset_ms))
    return {
        "blocks": n,
        "block_mean_ms": mean,
        "ci_ms": [mean - t * error, mean + t * error],
        "slope_ms_per_s": float(trend.slope) if trend is not None else 0.0,
        "change_ms": change,
        "drift": bool(drifting),
        "grows_with_load": grows,
    }


def classify_paired(evidence: PairedEvidence, confidence: float, min_blocks: int) -> dict:
    """The bias finding: its class, the evidence that decided it, the interval and the cause."""
    from_blocks = block_findings(evidence, confidence, min_blocks)
    slack = evidence.allowance_ms + evidence.resolution_ms
    blocks_inside = not from_blocks or (
        -slack <= from_blocks["ci_ms"][0] and from_blocks["ci_ms"][1] <= slack
    )
    if evidence.beyond:
        kind = (
            "offset growing with load" if from_blocks.get("grows_with_load") else "constant offset"
        )
        if from_blocks.get("drift"):
            kind = "drift"
        decided = "the window's paired difference"
    elif from_blocks.get("drift"):
        kind, decided = "drift", f"{from_blocks['blocks']} blocks' trend"
    elif evidence.inside and blocks_inside:
        kind = "equal"
        decided = "the window's paired difference" + (
            f" and {from_blocks['blocks']} blocks' interval" if from_blocks else ""
        )
    else:
        kind, decided = "inconclusive", "neither"
    low, high = evidence.interval
    return {
        "classification": kind,
        "decided_by": decided,
        "offset_ms": evidence.offset_ms,
        "interval_ms": [low, high],
        "ci_ms": from_blocks.get("ci_ms", [low, high]),
        "tolerance_ms": evidence.allowance_ms,
        "blocks": len(evidence.blocks),
        "block_findings": from_blocks,
        "cause": paired_cause(kind, evidence),
    }


def paired_cause(kind: str, evidence: PairedEvidence) -> str:
    """Likely causes, in the direction of the offset."""
    if kind == "equal":
        return "the two timers measure the same work (within the acceptance)"
    if kind == "inconclusive":
        return (
            "the measurement cannot tell: the interval reaches past the acceptance (more "
            "traffic, a longer window or a shorter scrape interval resolve it)"
        )
    ratio = evidence.cw_ms / evidence.prom_ms if evidence.prom_ms else math.inf
    low, high = UNITS_RATIO
    if low <= abs(ratio) <= high or low <= abs(1 / ratio if ratio else math.inf) <= high:
        return (
            f"units: one mean is {abs(ratio) if abs(ratio) > 1 else 1 / abs(ratio):.0f}× the "
            "other: one side records milliseconds where the other records seconds (check the "
            "published Unit and the value the app computes)"
        )
    if kind == "drift":
        return (
            "the gap changes over the window: work inside one timer whose cost grows over "
            "time (a synchronous publish to a slowing endpoint), or clocks drifting apart"
        )
    grows = "; it grows with load: that work queues (a synchronous network call, a lock)"
    extra = grows if kind == "offset growing with load" else ""
    if evidence.offset_ms > 0:
        return (
            "Prometheus's timer encloses work CloudWatch's does not: in the guide's hook order "
            "the synchronous put_metric_data call runs inside prometheus_flask_exporter's timer "
            "(the CloudWatch hook registered after PrometheusMetrics; Flask runs after_request "
            "hooks in reverse order of registration), or another hook or middleware runs inside "
            "it; or per-request work is done outside the CloudWatch timer" + extra
        )
    return (
        "CloudWatch's value includes time the exporter's timer does not: its timer starts "
        "earlier or stops later (other hooks, middleware or response work enclosed), or an "
        "offset is added to the published value (check how the app computes the latency it "
        "publishes)" + extra
    )


def judge_paired_bias(evidence: PairedEvidence, config: RunConfig) -> CheckResult:
    section = config.tolerances.bias
    route = evidence.route
    if not evidence.measured:
        return CheckResult(
            f"bias[{route}]",
            "bias",
            route,
            Status.SKIP,
            "no requests on one side over the window: no paired difference to judge",
        )
    finding = classify_paired(evidence, section.confidence, section.min_periods)
    status = {"equal": Status.PASS, "inconclusive": Status.WARN}.get(
        finding["classification"], Status.FAIL
    )
    return CheckResult(
        f"bias[{route}]",
        "bias",
        route,
        status,
        f"{_bias_words(finding, evidence, section.confidence)}; likely cause: {finding['cause']}",
        observed={
            "offset_ms": evidence.offset_ms,
            "ci_low_ms": finding["ci_ms"][0],
            "ci_high_ms": finding["ci_ms"][1],
            "blocks": float(finding["blocks"]),
        },
        tolerance=evidence.tolerance,
        details={"finding": finding},
    )


def _bias_words(finding: dict, evidence: PairedEvidence, confidence: float) -> str:
    offset, (low, high) = evidence.offset_ms, finding["interval_ms"]
    higher = "Prometheus" if offset > 0 else "CloudWatch"
    gap = f"{higher} higher by {abs(offset):.3f} ms" if abs(offset) >= 0.0005 else "no offset"
    text = (
        f"{finding['classification']}: {gap} over the window "
        f"(the same requests timed by both; interval {low:+.3f} to {high:+.3f} ms, acceptance "
        f"±{evidence.allowance_ms:.3g} ms)"
    )
    blocks = finding["block_findings"]
    if blocks:
        ci = blocks["ci_ms"]
        text += (
            f"; {blocks['blocks']} blocks: mean {blocks['block_mean_ms']:+.3f} ms, "
            f"{confidence:.0%} CI {ci[0]:+.3f} to {ci[1]:+.3f} ms"
        )
        if blocks["drift"]:
            text += f", changing {blocks['change_ms']:+.3f} ms from the first half to the second"
        elif finding["classification"] != "equal":
            text += ", " + (
                "growing with load" if blocks["grows_with_load"] else "not growing with load"
            )
    else:
        text += (
            f"; {finding['blocks']} blocks of periods: too few to test whether it grows with "
            "load or drifts"
        )
    return text + f"; decided by {finding['decided_by']}"


def judge_paired_distribution(evidence: PairedEvidence, config: RunConfig) -> CheckResult:
    """Wilcoxon signed-rank on the paired block differences, or the window's paired difference
    when it already decides; Kayenta's classes High / Low / Pass / NoData."""
    section = config.tolerances.distribution
    route, diffs = evidence.route, evidence.blocks.diff_ms.to_numpy(float)
    effect = evidence.allowance_ms + evidence.resolution_ms
    observed: dict[str, float | str | None] = {"blocks": float(len(diffs))}
    label, decided, words = "NoData", "", ""
    if evidence.beyond:
        label = "High" if evidence.offset_ms > 0 else "Low"
        decided = "the window's paired difference"
    elif len(diffs) >= section.min_periods and np.any(diffs):
        p_value = float(stats.wilcoxon(diffs).pvalue)
        shift = float(np.median(diffs))
        observed |= {"shift_ms": shift, "p_value": p_value}
        significant = p_value < section.alpha
        label = "Pass"
        if significant and abs(shift) > effect:
            label = "High" if shift > 0 else "Low"
        decided = f"Wilcoxon signed-rank on {len(diffs)} paired blocks"
        words = f", median block difference {shift:+.3f} ms, p={p_value:.3g}"
    elif evidence.inside:
        label, decided = "Pass", "the window's paired difference"
    status = {"Pass": Status.PASS, "NoData": Status.SKIP}.get(label, Status.FAIL)
    if label == "NoData":
        reason = (
            f"NoData: the window's paired difference {evidence.offset_ms:+.3f} ms is neither "
            f"inside nor beyond ±{evidence.allowance_ms:.3g} ms, and {len(diffs)} blocks are too "
            "few for a signed-rank test"
        )
    else:
        reason = (
            f"{label}: Prometheus {evidence.offset_ms:+.3f} ms from CloudWatch over the window "
            f"(the same requests timed by both){words}; High/Low need a shift beyond "
            f"±{effect:.3g} ms; decided by {decided}"
        )
    observed["offset_ms"] = evidence.offset_ms
    return CheckResult(
        f"distribution[{route}]",
        "distribution",
        route,
        status,
        reason,
        observed=observed,
        tolerance=evidence.tolerance,
        details={"finding": {"classification": label, "decided_by": decided}},
    )
