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

import contextlib
import functools
import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.blocks import Blocks, blocks_grid
from cwparity.judge.latency import (
    Acceptance,
    acceptance,
    grid_columns,
    higher_by,
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
    blocks: Blocks
    #: what the blocks say (block_statistics), empty when they are too few
    from_blocks: dict

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
        return float(np.max(self.blocks.shift_ms)) if len(self.blocks) else 0.0


def paired_evidence(
    aligned: Aligned, routes: list[str], config: RunConfig
) -> dict[str, PairedEvidence]:
    """Every paired route's evidence, from array operations over all of them at once."""
    accepted = acceptance(config)
    window = latency_cells(window_columns(aligned, routes), accepted)
    columns = grid_columns(aligned, routes)
    found = blocks_grid(columns, window.allowance_ms)
    starts = np.array([t.timestamp() for t in aligned.window.period_starts()], dtype=float)
    section = config.tolerances.bias
    slack = window.allowance_ms + np.array([np.max(b.shift_ms) if len(b) else 0.0 for b in found])
    table = block_statistics(found, starts, window.difference_ms, slack, section.confidence)
    return {
        route: PairedEvidence(
            route,
            float(window.cw_ms[i]),
            float(window.prom_ms[i]),
            float(window.difference_ms[i]),
            float(window.derived_ms[i]),
            _acceptance_tolerance(float(window.cw_ms[i]), float(window.allowance_ms[i]), accepted),
            found[i],
            _row(table, i) if len(found[i]) >= section.min_periods else {},
        )
        for i, route in enumerate(routes)
    }


def _acceptance_tolerance(cw_ms: float, allowance: float, accepted: Acceptance) -> Tolerance:
    origin = accepted.origins[accepted.chosen(cw_ms)]
    return Tolerance(bound=allowance, unit="ms", origin=origin, detail=accepted.words(cw_ms))


def _padded(found: list[Blocks], values) -> np.ndarray:
    """routes × most blocks, NaN past each route's own blocks."""
    width = max((len(b) for b in found), default=0)
    matrix = np.full((len(found), max(width, 1)), np.nan)
    for row, (blocks, value) in enumerate(zip(found, values, strict=True)):
        matrix[row, : len(blocks)] = value
    return matrix


def block_statistics(
    found: list[Blocks],
    starts: np.ndarray,
    offsets: np.ndarray,
    slack: np.ndarray,
    confidence: float,
) -> dict[str, np.ndarray]:
    """Per route, from its blocks, as array operations over all routes at once: the t-interval
    of the mean block difference, a drift test (least-squares slope whose t-interval excludes 0,
    and a change between the halves beyond the acceptance and the blocks' resolution), whether
    the difference grows with load (Spearman on requests per block, in the offset's
    direction, and by more than the slack across the load the blocks saw), and a Wilcoxon
    signed-rank test of the paired differences."""
    diffs = _padded(found, (b.diff_ms for b in found))
    times = _padded(found, (starts[b.first] for b in found))
    load = _padded(found, (b.requests for b in found))
    n = np.sum(~np.isnan(diffs), axis=1).astype(float)
    with _quiet():
        mean = np.nanmean(diffs, axis=1)
        error = np.nanstd(diffs, axis=1, ddof=1) / np.sqrt(n)
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        slope, slope_error = _least_squares(times, diffs, n)
        t_slope = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 2, 1))
        change = _halves_change(diffs, n)
        rho, rho_p = _spearman(load, diffs, n)
        growth = _growth_over_load(load, diffs, n)
    drift = (np.abs(slope) > t_slope * slope_error) & (np.abs(change) > slack) & (n >= 3)
    # correlated is not enough: a few microseconds that rank with load (both timers share the
    # CPU) are no queueing; like drift, the growth must exceed what the acceptance allows
    grows = (
        (rho_p < 1 - confidence)
        & (np.sign(rho) == np.sign(offsets))
        & (np.abs(growth) > slack)
        & (np.sign(growth) == np.sign(offsets))
    )
    p_value, median = signed_rank(diffs, n)
    return {
        "blocks": n,
        "block_mean_ms": mean,
        "ci_low": mean - t * error,
        "ci_high": mean + t * error,
        "slope_ms_per_s": np.nan_to_num(slope),
        "change_ms": change,
        "drift": drift,
        "grows_with_load": grows,
        "p_value": p_value,
        "median_ms": median,
    }


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Routes with fewer blocks than a statistic needs give NaN, not warnings."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _least_squares(x: np.ndarray, y: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = x - np.nanmean(x, axis=1, keepdims=True)
    dy = y - np.nanmean(y, axis=1, keepdims=True)
    sxx = np.nansum(dx * dx, axis=1)
    slope = np.nansum(dx * dy, axis=1) / sxx
    residual = dy - slope[:, None] * dx
    error = np.sqrt(np.nansum(residual * residual, axis=1) / (n - 2) / sxx)
    return np.where(sxx > 0, slope, 0.0), np.where((sxx > 0) & (n > 2), error, np.inf)


def _growth_over_load(load: np.ndarray, diffs: np.ndarray, n: np.ndarray) -> np.ndarray:
    """How much the fitted difference changes from the quietest block to the busiest (ms)."""
    slope, _ = _least_squares(load, diffs, n)
    with _quiet():
        spread = np.nanmax(load, axis=1) - np.nanmin(load, axis=1)
    return np.nan_to_num(slope * spread)


def _halves_change(diffs: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean of the last n//2 blocks minus the mean of the first n//2."""
    column = np.arange(diffs.shape[1])[None, :]
    half = (n // 2)[:, None]
    first = np.where(column < half, diffs, np.nan)
    last = np.where((column >= n[:, None] - half) & (column < n[:, None]), diffs, np.nan)
    return np.nan_to_num(np.nanmean(last, axis=1) - np.nanmean(first, axis=1))


#: up to this many blocks the Spearman p-value is exact (every ordering of the ranks); above,
#: the t approximation, which for fewer blocks calls a perfect ranking of 3 or 4 "certain"
EXACT_SPEARMAN = 8


def _spearman(a: np.ndarray, b: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ra = stats.rankdata(a, axis=1, nan_policy="omit")
    rb = stats.rankdata(b, axis=1, nan_policy="omit")
    da = ra - np.nanmean(ra, axis=1, keepdims=True)
    db = rb - np.nanmean(rb, axis=1, keepdims=True)
    rho = np.nansum(da * db, axis=1) / np.sqrt(
        np.nansum(da * da, axis=1) * np.nansum(db * db, axis=1)
    )
    t = rho * np.sqrt((n - 2) / np.maximum(1 - rho * rho, 1e-300))
    p_value = 2 * stats.t.sf(np.abs(t), np.maximum(n - 2, 1))
    for size in range(3, EXACT_SPEARMAN + 1):
        rows = (n == size) & np.isfinite(rho)
        if rows.any():
            null = _spearman_null(size)
            # the share of orderings at least as extreme (two-sided; a tolerance for rounding)
            below = np.searchsorted(null, np.abs(rho[rows]) - 1e-9, side="left")
            p_value[rows] = (len(null) - below) / len(null)
    usable = np.isfinite(rho) & (n > 2)
    return np.where(usable, rho, 0.0), np.where(usable, p_value, 1.0)


@functools.cache
def _spearman_null(size: int) -> np.ndarray:
    """|rho| of every ordering of ``size`` distinct ranks, sorted: the exact null distribution
    (tied ranks are read against it too: for so few blocks a close approximation)."""
    orderings = np.array(list(itertools.permutations(range(size))), dtype=float)
    squared = np.sum((orderings - np.arange(size)) ** 2, axis=1)
    return np.sort(np.abs(1 - 6 * squared / (size * (size * size - 1))))


#: up to this many blocks (without ties) the signed-rank test is scipy's exact one
EXACT_SIGNED_RANK = 50


def signed_rank(diffs: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilcoxon signed-rank p-values and median differences per route (NaN: no test).

    Zero differences are dropped (Wilcoxon's method). Small samples without ties: scipy's exact
    test; the others: the normal approximation with the tie correction, for all routes at once
    (scipy would fall back to a permutation test for small tied samples: seconds per route)."""
    nonzero = np.where(diffs == 0, np.nan, diffs)
    count = np.sum(~np.isnan(nonzero), axis=1)
    p_value = np.full(len(diffs), np.nan)
    with _quiet():
        median = np.nanmedian(diffs, axis=1) if diffs.size else np.zeros(len(diffs))
        ranks = stats.rankdata(np.abs(nonzero), axis=1, nan_policy="omit")
        positive = np.nansum(np.where(nonzero > 0, ranks, 0.0), axis=1)
        mean = count * (count + 1) / 4
        ties = np.array([_tie_term(row) for row in ranks]) if len(ranks) else np.zeros(0)
        variance = count * (count + 1) * (2 * count + 1) / 24 - ties / 48
        z = (positive - mean) / np.sqrt(variance)
        exact = (count >= 1) & (count <= EXACT_SIGNED_RANK) & (ties == 0)
        approximate = ~exact & (variance > 0)
        p_value[approximate] = 2 * stats.norm.sf(np.abs(z[approximate]))
    for row in np.flatnonzero(exact):
        values = nonzero[row][~np.isnan(nonzero[row])]
        p_value[row] = float(stats.wilcoxon(values, method="exact").pvalue)
    return p_value, median


def _tie_term(ranks: np.ndarray) -> float:
    """Σ (t³ − t) over groups of tied |differences| (their ranks are equal)."""
    _, sizes = np.unique(ranks[~np.isnan(ranks)], return_counts=True)
    return float(np.sum(sizes.astype(float) ** 3 - sizes))


def _row(table: dict[str, np.ndarray], i: int) -> dict:
    return {
        "blocks": int(table["blocks"][i]),
        "block_mean_ms": float(table["block_mean_ms"][i]),
        "ci_ms": [float(table["ci_low"][i]), float(table["ci_high"][i])],
        "slope_ms_per_s": float(table["slope_ms_per_s"][i]),
        "change_ms": float(table["change_ms"][i]),
        "drift": bool(table["drift"][i]),
        "grows_with_load": bool(table["grows_with_load"][i]),
        "p_value": float(table["p_value"][i]),
        "median_ms": float(table["median_ms"][i]),
    }


def classify_paired(evidence: PairedEvidence) -> dict:
    """The bias finding: its class, the evidence that decided it, the interval and the cause."""
    from_blocks = evidence.from_blocks
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
    finding = classify_paired(evidence)
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
    gap = higher_by(offset, decimals=3)
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
    route, blocks = evidence.route, evidence.from_blocks
    effect = evidence.allowance_ms + evidence.resolution_ms
    n_blocks = len(evidence.blocks)
    observed: dict[str, float | str | None] = {"blocks": float(n_blocks)}
    label, decided, words = "NoData", "", ""
    testable = n_blocks >= section.min_periods and blocks and math.isfinite(blocks["p_value"])
    if evidence.beyond:
        label = "High" if evidence.offset_ms > 0 else "Low"
        decided = "the window's paired difference"
    elif testable:
        p_value, shift = blocks["p_value"], blocks["median_ms"]
        observed |= {"shift_ms": shift, "p_value": p_value}
        label = "Pass"
        if p_value < section.alpha and abs(shift) > effect:
            label = "High" if shift > 0 else "Low"
        decided = f"Wilcoxon signed-rank on {n_blocks} paired blocks"
        words = f", median block difference {shift:+.3f} ms, p={p_value:.3g}"
    elif evidence.inside:
        label, decided = "Pass", "the window's paired difference"
    status = {"Pass": Status.PASS, "NoData": Status.SKIP}.get(label, Status.FAIL)
    if label == "NoData":
        reason = (
            f"NoData: the window's paired difference {evidence.offset_ms:+.3f} ms is neither "
            f"inside nor beyond ±{evidence.allowance_ms:.3g} ms, and {n_blocks} blocks are too "
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
