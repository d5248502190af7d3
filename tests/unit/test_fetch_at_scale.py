"""Reading a large window within the services' limits: Prometheus chunks, CloudWatch packing."""

import itertools
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from cwparity.config import CloudWatchConfig, Route
from cwparity.errors import SourceError
from cwparity.sources import cloudwatch
from cwparity.sources import prometheus_raw as raw

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.integers(1, 400), min_size=1, max_size=30),
    st.floats(60, 14 * 86400),
    st.sampled_from([15.0, 30.0, 60.0]),
    st.integers(50_000, 2_000_000),
)
def test_every_planned_query_stays_within_the_limits_and_the_plan_covers_the_range(
    per_path, span, interval, max_samples
):
    limits = raw.Limits(max_samples, concurrency=4)
    chunks = raw.plan(per_path, 1000.0, 1000.0 + span, interval, limits)
    batches: dict = {}
    for chunk in chunks:
        batches.setdefault(chunk.paths, []).append(chunk)
    every_path = set()
    for paths, parts in batches.items():
        series = sum(per_path.values()) if paths is None else sum(per_path[p] for p in paths)
        every_path |= set(per_path) if paths is None else set(paths)
        parts.sort(key=lambda c: c.start)
        assert parts[0].start == 1000.0 and parts[0].first and parts[-1].end == 1000.0 + span
        assert all(a.end == b.start and not b.first for a, b in itertools.pairwise(parts))
        for chunk in parts:
            points = (chunk.end - chunk.start) / interval + 1
            assert points <= raw.POINTS_PER_SERIES + 1
            # a single path may hold more series than the bound allows even for one scrape
            if series * 2 <= max_samples:
                assert series * points <= max_samples + series
    assert every_path == set(per_path)


def test_a_sample_on_a_chunk_edge_is_read_once():
    chunks = [raw.Chunk(None, 0.0, 10.0, True), raw.Chunk(None, 10.0, 20.0, False)]
    labels = {"__name__": "x_count", "path": "/", "method": "get"}
    results = [
        [(labels, np.array([0.0, 5.0, 10.0]), np.array([1.0, 2.0, 3.0]))],
        # Prometheus 2 includes the left edge of a range selector: 10.0 again
        [(labels, np.array([10.0, 15.0, 20.0]), np.array([3.0, 4.0, 5.0]))],
    ]
    row = {"series": "s", "path": "/", "method": "GET", "le": ""}
    merged = raw.merge(chunks, results, lambda _: row)
    assert list(merged.timestamps) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert list(merged.values) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_path_matcher_escapes_regex_and_promql_quoting():
    matcher = raw.path_matcher("path", ["/a.b", '/q"x'])
    assert matcher == 'path=~"/a\\\\.b|/q\\"x"'


@pytest.fixture
def client():
    return boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def week_window():
    from cwparity.window import Window

    return Window(T0, T0 + timedelta(days=7), 300)


def answer(queries, minutes=(0,)):
    return {
        "MetricDataResults": [
            {
                "Id": q["Id"],
                "Label": q["Id"],
                "StatusCode": "Complete",
                "Timestamps": [T0 + timedelta(minutes=m) for m in minutes],
                "Values": [1.0 for _ in minutes],
            }
            for q in queries
        ],
        "Messages": [],
    }


def test_base_and_percentile_statistics_share_calls_packed_to_the_limits(client):
    routes = [Route(path=f"/r{i}") for i in range(250)]
    window = week_window()
    periods = len(window.period_starts())
    queries, _ = cloudwatch.metric_queries(
        CloudWatchConfig(), routes, 300, {**cloudwatch.BASE_STATS, **cloudwatch.PERCENTILE_STATS}
    )
    per_call = cloudwatch.MAX_DATAPOINTS // periods
    log = cloudwatch.CallLog().attach(client)
    with Stubber(client) as stubber:
        for start in range(0, len(queries), per_call):
            stubber.add_response("get_metric_data", answer(queries[start : start + per_call]))
        grid, missing = cloudwatch.fetch_with_percentiles(
            client, CloudWatchConfig(), routes, window
        )
        stubber.assert_no_pending_responses()
    assert missing is None and set(grid.stats) == {"count", "sum", "p50", "p90", "p99"}
    summary = log.summary(cloudwatch.minimum_calls(len(queries), periods), len(queries))
    assert summary["get_metric_data_calls"] == summary["minimum_get_metric_data_calls"] == 25
    assert summary["calls_over_minimum"] == 1.0
    assert summary["metrics_requested"] == 1250
    assert summary["cost_usd"] == pytest.approx(1250 * 0.01 / 1000)


def test_a_service_refusing_percentiles_is_asked_for_base_statistics_once(client):
    routes = [Route(path="/")]
    window = week_window()
    log = cloudwatch.CallLog().attach(client)
    base_queries, _ = cloudwatch.metric_queries(
        CloudWatchConfig(), routes, 300, cloudwatch.BASE_STATS
    )
    with Stubber(client) as stubber:
        stubber.add_client_error("get_metric_data", "InternalFailure", "pNN not supported", 500)
        stubber.add_response(
            "get_metric_data",
            answer(base_queries),
            {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": ANY},
        )
        grid, missing = cloudwatch.fetch_with_percentiles(
            client, CloudWatchConfig(), routes, window
        )
        # the next poll knows: base statistics only, no second refusal
        stubber.add_response("get_metric_data", answer(base_queries))
        cloudwatch.fetch_with_percentiles(client, CloudWatchConfig(), routes, window, missing)
        stubber.assert_no_pending_responses()
    assert "pNN not supported" in missing
    assert set(grid.stats) == {"count", "sum"} and grid.stats["count"][0, 0] == 1.0
    assert [c["ok"] for c in log.calls] == [False, True, True]
    assert log.summary(1, 2)["failed_calls"] == 1


def test_minimum_calls_follow_both_limits():
    assert cloudwatch.minimum_calls(1250, 2016) == 25  # 50 queries of 2,016 points a call
    assert cloudwatch.minimum_calls(1000, 60) == 2  # 500 queries a call
    assert cloudwatch.minimum_calls(2, 120_960) == 4  # one query pages twice
    assert cloudwatch.minimum_calls(0, 60) == 0


def test_a_call_that_got_no_response_is_recorded_as_failed():
    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    log = cloudwatch.CallLog().attach(client)
    with pytest.raises(SourceError):
        cloudwatch.preflight(client, CloudWatchConfig())
    assert log.calls == [{"operation": "ListMetrics", "metrics": 0, "ok": False}]
