"""Per-period verdicts judged all at once equal the per-check ones, and a long window's checks
collapse to what a reader must see while its table keeps every verdict."""

from datetime import UTC, datetime

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cwparity.align import Sampling, align
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.judge.periods import KEEP_ALL, KEPT_FAILURES, collapse
from cwparity.results import Status
from cwparity.synthetic import Scrapes, Stream, cloudwatch_grid, prometheus_series
from cwparity.window import Window

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
ROUTES = ["GET /", "GET /long-request"]


@st.composite
def long_runs(draw):
    """More periods than KEEP_ALL, random scrape phases, and CloudWatch losing some data."""
    period = draw(st.sampled_from([5, 10]))
    periods = draw(st.integers(KEEP_ALL + 1, KEEP_ALL + 40))
    scrape = draw(st.sampled_from([1.0, 2.0, 5.0]))
    window = Window(
        datetime.fromtimestamp(BASE, UTC),
        datetime.fromtimestamp(BASE + period * periods, UTC),
        period,
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    streams = []
    for route in ROUTES:
        count = draw(st.integers(0, 3000))
        ends = np.sort(rng.uniform(BASE + 2 * scrape, BASE + window.seconds - 2 * scrape, count))
        streams.append(Stream(route, ends, rng.exponential(0.01, count)))
    lost = {
        s.route: rng.choice(
            len(s.ends), size=min(len(s.ends), draw(st.integers(0, 40))), replace=False
        )
        for s in streams
    }
    phase = draw(st.floats(0, scrape, exclude_max=True))
    scrapes = Scrapes(
        np.arange(BASE - 4 * scrape + phase, BASE + window.seconds + 3 * scrape, scrape)
    )
    slack = draw(st.integers(0, 2))
    return window, streams, lost, scrapes, Sampling(scrape, 0.0, BASE - 4 * scrape), slack


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_runs())
def test_columnar_period_verdicts_equal_the_per_check_ones(run):
    window, streams, lost, scrapes, sampling, slack = run
    prom = prometheus_series(streams, scrapes)
    aligned = align(
        cloudwatch_grid(streams, window, drop=lost),
        prom["count"],
        prom["sum"],
        ROUTES,
        window,
        sampling,
    )
    config = parse_config(
        {
            "routes": [{"path": "/"}, {"path": "/long-request"}],
            "window": {"period": window.period},
            "tolerances": {"count": {"slack": slack}},
        }
    )
    every = judge_run(aligned, None, config)
    tabled = []
    shown_checks = judge_run(aligned, None, config, None, tabled)
    # a route no request reached is one no-data ERROR, with no period count verdicts
    silent = {s.route for s in streams if not len(s.ends)}
    counted = {c.id: c for c in every if c.kind == "count"}
    assert all(counted[f"count[{r}]"].status is Status.ERROR for r in silent)
    assume(len(silent) < len(ROUTES))
    for kind in ("count", "mean_latency"):
        judged = [r for r in ROUTES if kind != "count" or r not in silent]
        one_by_one = {c.id: c for c in every if c.kind == kind}
        at_once = {c.id: c for c in shown_checks if c.kind == kind}
        whole = collapse([], tabled)[1].table  # the grids as the long table
        table = whole[whole.kind == kind].set_index(["route", "period_start"])
        assert len(table) == len(judged) * len(window.period_starts())
        for check in one_by_one.values():
            if check.scope == "window":
                assert at_once[check.id] == check
                continue
            row = table.loc[(check.subject, check.scope)]
            assert row.status == check.status.value
            if check.tolerance is not None and check.status is not Status.SKIP:
                assert row.bound == check.tolerance.bound
            if check.status not in (Status.PASS, Status.SKIP):
                assert at_once[check.id] == check  # listed, word for word
        assert_summaries(kind, judged, one_by_one, at_once)


def assert_summaries(kind, routes, one_by_one, at_once):
    for route in routes:
        summary = at_once[f"{kind}[{route}]@periods"]
        mine = [c for c in one_by_one.values() if c.subject == route and c.scope != "window"]
        failed = sum(c.status is Status.FAIL for c in mine)
        assert summary.observed["failed"] == failed
        passed = any(c.status is Status.PASS for c in mine)
        assert summary.status is (Status.FAIL if failed else Status.PASS if passed else Status.SKIP)
        shown = [c for c in at_once.values() if c.subject == route and "@2" in c.id]
        assert len(shown) <= KEPT_FAILURES + 1


def test_a_long_window_keeps_failures_the_closest_pass_and_a_summary():
    from cwparity.results import CheckResult, Origin, Tolerance

    def period(i, status, difference):
        scope = f"2026-11-25T12:{i // 60:02d}:{i % 60:02d}Z"
        return CheckResult(
            f"mean_latency[GET /]@{scope}",
            "mean_latency",
            "GET /",
            status,
            f"period {i}",
            scope=scope,
            observed={"difference_ms": difference},
            tolerance=Tolerance(1.0, "ms", Origin.DERIVED, ""),
        )

    checks = [period(i, Status.PASS, i / 1000) for i in range(200)]
    checks[7] = period(7, Status.FAIL, 3.0)
    window = CheckResult("mean_latency[GET /]", "mean_latency", "GET /", Status.PASS, "w")
    kept, verdicts = collapse([window, *checks])
    ids = [c.id for c in kept]
    assert ids[0] == "mean_latency[GET /]"
    assert checks[7].id in ids and checks[199].id in ids  # the failure, the closest pass
    summary = kept[-1]
    assert summary.id == "mean_latency[GET /]@periods" and summary.status is Status.FAIL
    assert "1 failed (first 2026-11-25T12:00:07Z" in summary.reason
    assert len(kept) == 4 and len(verdicts.table) == 200
    block = verdicts.block(
        [datetime(2026, 11, 25, 12, i // 60, i % 60, tzinfo=UTC) for i in range(200)]
    )
    letters = block["kinds"]["mean_latency"]["GET /"]
    assert letters[7] == "f" and letters.count("p") == 199


def test_a_short_window_keeps_every_period_check():
    from cwparity.results import CheckResult

    checks = [
        CheckResult(
            f"count[GET /]@{i}",
            "count",
            "GET /",
            Status.PASS,
            "",
            scope=f"2026-11-25T12:00:{i:02d}Z",
        )
        for i in range(KEEP_ALL)
    ]
    kept, verdicts = collapse(checks)
    assert kept == checks and len(verdicts.table) == KEEP_ALL


def test_the_period_table_states_no_latency_difference_where_a_side_has_no_requests():
    # requests in the first half only; in one quiet period CloudWatch has a request Prometheus
    # has not, and Prometheus a stray sum over its zero count (float residue): the period
    # is skipped, and the table must not state an infinite difference for it
    period, periods = 5, KEEP_ALL + 10
    window = Window(
        datetime.fromtimestamp(BASE, UTC),
        datetime.fromtimestamp(BASE + period * periods, UTC),
        period,
    )
    ends = np.arange(BASE + 2.1, BASE + window.seconds / 2, 0.5)
    stream = Stream("GET /", ends, np.full(len(ends), 0.02))
    prom = prometheus_series([stream], Scrapes(np.arange(BASE - 4, BASE + window.seconds + 3)))
    sampling = Sampling(1.0, 0.0, BASE - 4)
    aligned = align(
        cloudwatch_grid([stream], window), prom["count"], prom["sum"], ["GET /"], window, sampling
    )
    quiet = periods - 3
    assert aligned.grid is not None and aligned.grid["prom_count"][0, quiet] == 0
    aligned.grid["prom_sum"][0, quiet] = 1e-12
    aligned.grid["cw_count"][0, quiet], aligned.grid["cw_sum"][0, quiet] = 1.0, 0.02
    config = parse_config({"routes": [{"path": "/"}], "window": {"period": period}})
    tabled: list = []
    judge_run(aligned, None, config, None, tabled)
    table = collapse([], tabled)[1].table
    rows = table[(table.kind == "mean_latency") & (table.status == "skip")]
    assert len(rows) == periods - periods // 2  # the second half: a side without requests
    assert not rows.observed.str.contains("inf", case=False).any(), rows.observed.tolist()
    judged = table[(table.kind == "mean_latency") & (table.status == "pass")]
    assert len(judged) and not judged.observed.str.contains("nan", case=False).any()
