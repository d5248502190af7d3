"""The paired latency statistics computed for all routes at once equal scipy's route by route,
and the columnar blocks equal a greedy one-route-at-a-time merge."""

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cwparity.judge.blocks import RESOLUTION, Blocks, blocks
from cwparity.judge.latency import boundary_shift
from cwparity.judge.paired import (
    EXACT_SPEARMAN,
    _least_squares,
    _spearman,
    block_statistics,
    signed_rank,
)


def padded(rows):
    matrix = np.full((len(rows), max(map(len, rows))), np.nan)
    for i, row in enumerate(rows):
        matrix[i, : len(row)] = row
    return matrix, np.sum(~np.isnan(matrix), axis=1).astype(float)


def test_route_statistics_at_once_equal_scipys_one_by_one():
    rng = np.random.default_rng(0)
    rows = [rng.normal(0.1, 1, int(rng.integers(51, 200))).round(1) for _ in range(5)]
    rows += [rng.normal(0.3, 1, 20), rng.normal(-2, 0.5, 8), np.array([1.0, 2.0, 3.0, 5.0])]
    diffs, n = padded(rows)
    times, _ = padded([np.arange(len(r), dtype=float) * 60 for r in rows])
    p_value, median = signed_rank(diffs, n)
    slope, slope_error = _least_squares(times, diffs, n)
    rho, rho_p = _spearman(times, diffs, n)
    for i, row in enumerate(rows):
        _, tied = np.unique(np.abs(row[row != 0]), return_counts=True)
        method = "approx" if len(row) > 50 or (tied > 1).any() else "exact"
        reference = stats.wilcoxon(row, method=method, correction=False).pvalue
        assert math.isclose(p_value[i], reference, rel_tol=1e-9)
        assert median[i] == np.median(row)
        fit = stats.linregress(times[i, : len(row)], row)
        assert math.isclose(slope[i], fit.slope, rel_tol=1e-9)
        assert math.isclose(slope_error[i], fit.stderr, rel_tol=1e-9)
        ranked = stats.spearmanr(times[i, : len(row)], row)
        assert math.isclose(rho[i], ranked.statistic, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(rho_p[i], spearman_reference(times[i, : len(row)], row), rel_tol=1e-6)


def spearman_reference(x, y):
    """scipy's Spearman p-value: exact (every pairing) for few blocks, else its t approximation."""
    if len(x) > EXACT_SPEARMAN:
        return stats.spearmanr(x, y).pvalue
    exact = stats.permutation_test(
        (x,),
        lambda xs: stats.spearmanr(xs, y).statistic,
        permutation_type="pairings",
        n_resamples=np.inf,
    )
    return exact.pvalue


def load_blocks(requests, diff_ms):
    """Blocks of one period each whose paired difference is ``diff_ms`` at ``requests``."""
    size = len(requests)
    cw = np.full(size, 10.0)
    return Blocks(
        np.arange(size), np.ones(size, dtype=int), cw, cw + diff_ms, np.zeros(size), requests
    )


def grows_with_load(requests, diff_ms, slack_ms=1.0):
    found = [load_blocks(np.asarray(requests, float), np.asarray(diff_ms, float))]
    starts = np.arange(len(requests), dtype=float) * 10
    offset = np.array([float(np.mean(diff_ms))])
    table = block_statistics(found, starts, offset, np.array([slack_ms]), 0.95)
    return bool(table["grows_with_load"][0])


def test_an_offset_that_grows_with_load_beyond_the_slack_is_named():
    requests = np.arange(12) * 10.0 + 50
    assert grows_with_load(requests, 2.0 + requests / 40)  # 3.25 → 6 ms
    assert grows_with_load(requests, -2.0 - requests / 40)


def test_a_growth_within_the_slack_or_over_too_few_blocks_is_a_constant_offset():
    requests = np.arange(12) * 10.0 + 50
    # ranked perfectly with load in the offset's direction, but 7 µs from the quietest block
    # to the busiest (both timers share one CPU)
    assert not grows_with_load(requests, -2.04 - requests * 6e-5)
    # an offset that shrinks as load grows is not queueing in the offset's direction
    assert not grows_with_load(requests, 6.0 - requests / 40)
    # four blocks: even a perfect ranking happens by chance once in 12 (exact p 0.083)
    assert not grows_with_load(requests[:4], 2.0 + requests[:4] / 4)


def greedy_blocks(frame: pd.DataFrame, tolerance_ms: float) -> list[tuple[int, int]]:
    """The definition: extend a block period by period until its outer boundaries' shift is
    within RESOLUTION × the tolerance; returns (first, periods) of the usable blocks."""
    found, begin = [], 0
    for end in range(len(frame)):
        part = frame.iloc[begin : end + 1]
        count_u = part.prom_count_u_start.iloc[0] + part.prom_count_u_end.iloc[-1]
        sum_u = part.prom_sum_u_start.iloc[0] + part.prom_sum_u_end.iloc[-1]
        shift = boundary_shift(part.prom_count.sum(), count_u, part.prom_sum.sum(), sum_u)
        if part.cw_count.sum() and shift * 1000 <= RESOLUTION * tolerance_ms:
            if part.prom_count.sum() > count_u:
                found.append((begin, end - begin + 1))
            begin = end + 1
    return found


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 25), st.floats(0.1, 50), st.integers(0, 2**32 - 1))
def test_columnar_blocks_equal_the_greedy_definition(periods, tolerance_ms, seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 50, periods).astype(float)
    edge_counts = rng.integers(0, 5, periods + 1).astype(float)
    edge_sums = edge_counts * rng.uniform(0, 0.2, periods + 1)
    frame = pd.DataFrame(
        {
            "route": "r",
            "period_start": pd.date_range("2026-01-01", periods=periods, freq="10s", tz="UTC"),
            "cw_count": counts,
            "cw_sum": counts * rng.uniform(0.01, 0.2, periods),
            "prom_count": counts,
            "prom_sum": counts * 0.1,
            "prom_count_u_start": edge_counts[:-1],
            "prom_count_u_end": edge_counts[1:],
            "prom_sum_u_start": edge_sums[:-1],
            "prom_sum_u_end": edge_sums[1:],
        }
    )
    found = blocks(frame, "r", tolerance_ms)
    starts = list(frame.period_start)
    expected = greedy_blocks(frame, tolerance_ms)
    assert [
        (starts.index(s), int(p)) for s, p in zip(found.start, found.periods, strict=True)
    ] == expected
