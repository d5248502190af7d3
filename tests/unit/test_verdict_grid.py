"""The columnar period verdicts (judge/count_grid.py, judge/latency.py's grid, VerdictGrid) equal
a straightforward scalar re-derivation and the per-check path, period by period, on generated
runs with counter resets, series born inside the window, CloudWatch losing requests (beyond the
bound too), a target lost before the window ends (NaN boundaries) and several statuses per
route; and the fast CSV writer writes exactly what pandas writes for the same rows."""

import io
import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwparity.align import Sampling, align
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.judge.periods import KEEP_ALL, KEPT_FAILURES, LETTERS, collapse
from cwparity.results import Status
from cwparity.samples import SeriesSet
from cwparity.synthetic import Scrapes, Stream, cloudwatch_grid, prometheus_series
from cwparity.window import Window

BASE = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
ROUTES = ["GET /", "GET /a", "POST /b,c"]  # a comma: the CSV must quote it


@st.composite
def messy_runs(draw):
    period = draw(st.sampled_from([5, 10]))
    periods = draw(st.integers(KEEP_ALL + 1, KEEP_ALL + 30))
    scrape = draw(st.sampled_from([1.0, 2.0, 5.0]))
    seconds = period * periods
    window = Window(
        datetime.fromtimestamp(BASE, UTC), datetime.fromtimestamp(BASE + seconds, UTC), period
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    streams = []
    for route in ROUTES:
        for status in draw(st.sampled_from([("200",), ("200", "500")])):
            born = draw(st.floats(0.0, 0.5))  # the first request may come late: born inside
            count = draw(st.integers(0, 1500))
            ends = np.sort(rng.uniform(BASE + born * seconds, BASE + seconds - scrape, count))
            streams.append(Stream(route, ends, rng.exponential(0.01, count), status))
    lost = {}  # cloudwatch_grid drops the same positions from each of a route's streams
    for route in ROUTES:
        fewest = min(len(s.ends) for s in streams if s.route == route)
        share = draw(st.sampled_from([0.0, 0.01, 0.3]))  # 30 %: beyond any bound
        lost[route] = rng.choice(fewest, size=int(share * fewest), replace=False)
    restarts = tuple(BASE + r * seconds for r in draw(st.lists(st.floats(0.1, 0.9), max_size=2)))
    phase = draw(st.floats(0, scrape, exclude_max=True))
    times = np.arange(BASE - 4 * scrape + phase, BASE + seconds + 3 * scrape, scrape)
    cut = draw(st.sampled_from([None, 0.8]))  # the target lost for the window's last fifth
    slack = draw(st.integers(0, 2))
    return window, streams, lost, Scrapes(times, restarts), cut, scrape, slack


def _cut(series: SeriesSet, before: float) -> SeriesSet:
    """Every series' samples up to ``before`` (a target lost then)."""
    keep = series.timestamps < before
    owner = np.repeat(np.arange(len(series)), series.lengths())
    lengths = np.bincount(owner[keep], minlength=len(series))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return SeriesSet(series.labels, offsets, series.timestamps[keep], series.values[keep])


def _aligned(run):
    window, streams, lost, scrapes, cut, scrape, slack = run
    prom = prometheus_series(streams, scrapes)
    if cut is not None:
        prom = {k: _cut(v, BASE + cut * window.seconds) for k, v in prom.items()}
    sampling = Sampling(scrape, 0.0, BASE - 4 * scrape)
    cloudwatch = cloudwatch_grid(streams, window, drop=lost)
    aligned = align(cloudwatch, prom["count"], prom["sum"], ROUTES, window, sampling)
    config = parse_config(
        {
            "routes": [{"path": "/"}, {"path": "/a"}, {"path": "/b,c", "method": "POST"}],
            "window": {"period": window.period},
            "tolerances": {"count": {"slack": slack}},
        }
    )
    return aligned, config, slack


def _scalar_count(row, slack: float) -> str:
    """The count rule, one period at a time, from the aligned frame's row."""
    if math.isnan(row.cw_count) or math.isnan(row.prom_count):
        return "error"
    within = abs(row.cw_count - row.prom_count) <= row.prom_count_u + slack + 1e-9
    return "pass" if within else "fail"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_runs())
def test_columnar_verdicts_equal_the_scalar_and_per_check_ones(run):
    aligned, config, slack = _aligned(run)
    tabled: list = []
    shown = judge_run(aligned, None, config, None, tabled)
    every = judge_run(aligned, None, config)  # no table: one check per period, as before
    kept, verdicts = collapse(shown, tabled)
    table = verdicts.table.set_index(["kind", "route", "period_start"])
    periods = aligned.periods
    totals = aligned.totals[["cw_count", "prom_count", "prom_count_u"]]
    silent = set(totals.index[(totals == 0).all(axis=1)])
    for row in periods.itertuples():
        label = row.period_start.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = ("count", row.route, label)
        if row.route in silent:
            assert key not in table.index  # nothing seen: one no-data ERROR, no periods
            continue
        assert table.loc[key, "status"] == _scalar_count(row, slack)
        bound, expected = table.loc[key, "bound"], row.prom_count_u + slack
        assert bound == expected or (math.isnan(bound) and math.isnan(expected))
    per_check = {c.id: c for c in every if c.scope not in ("window", "periods")}
    listed = {c.id: c for c in kept}
    bad: dict[tuple[str, str], int] = {}
    for check in sorted(per_check.values(), key=lambda c: c.scope):
        row = table.loc[(check.kind, check.subject, check.scope)]
        assert row.status == check.status.value
        _same_observed(check, row.observed)
        if check.status in (Status.FAIL, Status.ERROR):
            # the first KEPT_FAILURES of a route and kind are listed, word for word
            bad[check.kind, check.subject] = bad.get((check.kind, check.subject), 0) + 1
            if bad[check.kind, check.subject] <= KEPT_FAILURES:
                assert listed[check.id].reason == check.reason
                assert listed[check.id].status is check.status
    assert len(verdicts) == sum(1 for c in every if c.scope not in ("window", "periods"))
    _letters_match(verdicts, aligned.window)
    _csv_matches(verdicts)


def _same_observed(check, text: str) -> None:
    """The table's observed JSON says what the check observed (mean latency: the difference
    only, to 0.1 µs; both means are in the aligned data)."""
    observed = json.loads(text.replace("nan", "NaN"))
    expected = dict(check.observed)
    if check.kind == "mean_latency":
        expected = {"difference_ms": round(expected.get("difference_ms", math.nan), 4)}
    if check.status is Status.ERROR:  # a side without samples: no difference to state
        assert math.isnan(observed.pop("difference", math.nan))
    assert observed.keys() == expected.keys()
    for name, value in expected.items():
        assert observed[name] == value or (math.isnan(observed[name]) and math.isnan(value))


def _letters_match(verdicts, window):
    block = verdicts.block(window.period_starts())
    table = verdicts.table
    for (kind, route), rows in table.groupby(["kind", "route"]):
        expected = "".join(LETTERS[Status(s)] for s in rows["status"])
        assert block["kinds"][kind][route] == expected


def _csv_matches(verdicts):
    """The fast writer's text is what pandas writes for the long table."""
    with io.StringIO() as expected:
        verdicts.table.to_csv(expected, index=False, lineterminator="\n")
        wanted = expected.getvalue()
    with tempfile.TemporaryDirectory() as folder:
        path = verdicts.save(Path(folder) / "period-verdicts.csv")
        assert path.read_text(encoding="utf-8") == wanted
        assert len(pd.read_csv(path, keep_default_na=False)) == len(verdicts)
