"""Property tests: synthetic request streams with known truth, judged by the real engine.

The harness's worst bug is a false verdict, so: exact data is never FAILed, a loss larger than
the derived bound is always FAILed, CloudWatch's true percentile is never FAILed, and paired
timers that differ by a constant hook overhead within the acceptance are never FAILed while a
constant offset beyond it always is, whichever side is higher.
"""

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cwparity.align import Sampling, align, bucket_increases
from cwparity.config import parse_config
from cwparity.judge import PercentileInputs, judge_run
from cwparity.judge.latency import CLOCK_RATE_ALLOWANCE, HOOK_ALLOWANCE_MS
from cwparity.judge.percentiles import QUANTILES
from cwparity.results import Status
from cwparity.samples import StatGrid
from cwparity.synthetic import Scrapes, Stream, cloudwatch_frame, prometheus_series
from cwparity.window import Window

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
ROUTES = ["GET /", "GET /long-request"]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def scenarios(draw):
    period = draw(st.sampled_from([5, 10, 60]))
    periods = draw(st.integers(3, 8))
    scrape = draw(st.sampled_from([1.0, 2.0, 5.0, 15.0]))
    phase = draw(st.floats(0, scrape, exclude_max=True))
    window = Window(
        datetime.fromtimestamp(BASE, UTC),
        datetime.fromtimestamp(BASE + period * periods, UTC),
        period,
    )
    # the harness keeps a quiet edge of two scrapes around the load inside the window
    margin = 2 * scrape
    assume(window.seconds > 2 * margin + 1)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    streams = []
    for route in ROUTES:
        count = draw(st.integers(0, 400))
        mean = draw(st.sampled_from([0.0005, 0.004, 0.08, 0.6, 2.0]))
        ends = np.sort(rng.uniform(BASE + margin, BASE + window.seconds - margin, count))
        streams.append(Stream(route, ends, rng.exponential(mean, count)))
    scrapes = Scrapes(
        np.arange(BASE - 4 * scrape + phase, BASE + window.seconds + 3 * scrape, scrape)
    )
    sampling = Sampling(scrape, 0.0, BASE - 4 * scrape)
    return window, streams, scrapes, sampling


def true_percentiles(streams, window):
    """CloudWatch's pNN per period: the nearest-rank value of the requests filed under it."""
    rows = []
    for stream in streams:
        index = np.floor((stream.ends - BASE) / window.period).astype(int)
        for i, start in enumerate(window.period_starts()):
            values = np.sort(stream.latencies[index == i])
            for stat, q in QUANTILES.items():
                if len(values):
                    rank = max(1, math.ceil(q * len(values)))
                    rows.append((stream.route, pd.Timestamp(start), stat, float(values[rank - 1])))
    return pd.DataFrame(rows, columns=["route", "period_start", "stat", "value"])


def judged(window, streams, scrapes, sampling, cw=None, percentiles=True):
    prom = prometheus_series(streams, scrapes)
    cw = cloudwatch_frame(streams, window) if cw is None else cw
    grid = StatGrid.from_frame(cw, ROUTES, window)
    aligned = align(grid, prom["count"], prom["sum"], ROUTES, window, sampling)
    inputs = None
    if percentiles:
        buckets = bucket_increases(prom["bucket"], ROUTES, window, sampling)
        inputs = PercentileInputs(buckets, true_percentiles(streams, window))
    config = parse_config(
        {"routes": [{"path": "/"}, {"path": "/long-request"}], "window": {"period": window.period}}
    )
    return {c.id: c for c in judge_run(aligned, None, config, inputs)}


@SETTINGS
@given(scenarios())
def test_exact_data_is_never_failed(scenario):
    checks = judged(*scenario)
    _, streams, _, _ = scenario
    silent = {s.route for s in streams if not len(s.ends)}
    bad = [
        f"{c.id}: {c.reason}"
        for c in checks.values()
        if c.status in (Status.FAIL, Status.ERROR) and c.subject not in silent
    ]
    assert not bad
    # a route no request reached has nothing to compare: no data, an ERROR, never a PASS
    for route in silent:
        assert checks[f"count[{route}]"].status is Status.ERROR
        assert not [c for c in checks.values() if c.subject == route and c.status is Status.PASS]


@SETTINGS
@given(scenarios(), st.data())
def test_a_loss_beyond_the_derived_bound_is_always_failed(scenario, data):
    window, streams, scrapes, sampling = scenario
    stream = data.draw(st.sampled_from(streams))
    assume(len(stream.ends) >= 1)
    lost = data.draw(st.integers(1, len(stream.ends)))
    dropped = data.draw(st.permutations(range(len(stream.ends)))).__getitem__(slice(0, lost))
    cw = cloudwatch_frame(streams, window, drop={stream.route: np.array(dropped)})
    checks = judged(window, streams, scrapes, sampling, cw=cw, percentiles=False)
    # the window's edges are quiet: its bound is 0, so any loss fails
    window_check = checks[f"count[{stream.route}]"]
    assert window_check.tolerance.bound == 0
    assert window_check.status is Status.FAIL
    # a period's bound is how far Prometheus's own estimate can be off, in either direction:
    # a loss the estimate's error cannot hide (more than twice the bound) always fails there
    index = np.floor((stream.ends[dropped] - BASE) / window.period).astype(int)
    for i, start in enumerate(window.period_starts()):
        period_check = checks[f"count[{stream.route}]@{start.strftime('%Y-%m-%dT%H:%M:%SZ')}"]
        if (index == i).sum() > 2 * period_check.tolerance.bound:
            assert period_check.status is Status.FAIL


@SETTINGS
@given(scenarios())
def test_cloudwatchs_true_percentile_is_never_failed(scenario):
    checks = judged(*scenario)
    percentile_checks = [c for c in checks.values() if c.kind == "percentile"]
    assert not [c.reason for c in percentile_checks if c.status in (Status.FAIL, Status.ERROR)]
    # not judged only when the boundaries leave the period without a bucket range
    for check in percentile_checks:
        if check.status is Status.SKIP:
            assert "may belong to a neighbour" in check.reason


def paired_judged(scenario, offset_s):
    """Exact data, but CloudWatch's timer reads ``offset_s`` more (or less) for every request."""
    window, streams, scrapes, sampling = scenario
    cw = cloudwatch_frame(streams, window, offset=offset_s)
    return judged(window, streams, scrapes, sampling, cw=cw, percentiles=False)


@SETTINGS
@given(scenarios(), st.floats(-1.0, 1.0))
def test_a_constant_hook_overhead_within_the_acceptance_is_never_failed(scenario, share):
    """The exporter's hook pair inside CloudWatch's timer (or the reverse), up to the default
    acceptance: no latency check fails, whichever side is higher."""
    checks = paired_judged(scenario, share * HOOK_ALLOWANCE_MS / 1000.0)
    bad = [
        f"{c.id}: {c.reason}"
        for c in checks.values()
        if c.kind in ("mean_latency", "bias", "distribution")
        and c.status in (Status.FAIL, Status.ERROR)
    ]
    assert not bad


@SETTINGS
@given(scenarios(), st.floats(1.01, 40.0), st.booleans())
def test_a_constant_offset_beyond_the_acceptance_is_always_failed(scenario, times, cw_higher):
    """An offset beyond the derived bound fails mean latency, bias and distribution on every
    route with requests, sub-millisecond and slow alike, whichever side is higher."""
    _, streams, _, _ = scenario
    offset_ms = times * HOOK_ALLOWANCE_MS
    checks = paired_judged(scenario, (offset_ms if cw_higher else -offset_ms) / 1000.0)
    for stream in streams:
        if not len(stream.ends):
            continue
        route = stream.route
        mean = checks[f"mean_latency[{route}]"]
        accepted = max(
            HOOK_ALLOWANCE_MS, CLOCK_RATE_ALLOWANCE * abs(mean.observed["cloudwatch_ms"])
        )
        # the window's edges are quiet: its derived part is value precision only (µs)
        assert mean.tolerance.bound - accepted < 0.001
        assume(offset_ms > accepted * 1.01)
        assert mean.status is Status.FAIL, mean.reason
        bias = checks[f"bias[{route}]"]
        assert bias.status is Status.FAIL, bias.reason
        higher = "CloudWatch higher" if cw_higher else "Prometheus higher"
        assert higher in bias.reason
        assert checks[f"distribution[{route}]"].status is Status.FAIL
