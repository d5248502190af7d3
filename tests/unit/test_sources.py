"""The sources' real-CloudWatch paths that moto cannot serve, through botocore's Stubber."""

from datetime import UTC, datetime, timedelta

import boto3
import orjson
import pytest
from botocore.stub import ANY, Stubber

from cwparity.config import CloudWatchConfig, PrometheusConfig, Route
from cwparity.errors import SourceError
from cwparity.sources import cloudwatch, prometheus_raw
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(minutes=3), 60)
ROUTES = [Route(path="/"), Route(path="/long-request")]


@pytest.fixture
def client():
    return boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def result(query_id, minutes, values, status="Complete"):
    return {
        "Id": query_id,
        "Label": query_id,
        "StatusCode": status,
        "Timestamps": [T0 + timedelta(minutes=m) for m in minutes],
        "Values": values,
    }


def expect(stubber, results, next_token=None, token_in=None):
    params = {
        "MetricDataQueries": ANY,
        "StartTime": T0,
        "EndTime": WINDOW.end,
        "ScanBy": "TimestampAscending",
    }
    if token_in:
        params["NextToken"] = token_in
    response = {"MetricDataResults": results, "Messages": []}
    if next_token:
        response["NextToken"] = next_token
    stubber.add_response("get_metric_data", response, params)


def test_queries_name_the_guides_metric_and_dimensions():
    queries, meaning = cloudwatch.metric_queries(
        CloudWatchConfig(), ROUTES, 60, cloudwatch.BASE_STATS
    )
    metric = queries[0]["MetricStat"]["Metric"]
    assert metric["Namespace"] == "FlaskApp" and metric["MetricName"] == "EndpointLatency"
    assert metric["Dimensions"] == [
        {"Name": "Endpoint", "Value": "/"},
        {"Name": "Method", "Value": "GET"},
    ]
    assert meaning["r1_count"] == ("GET /long-request", "count")
    # no Average: it is Sum / SampleCount, so asking for it would only add cost
    assert {q["MetricStat"]["Stat"] for q in queries} == {"SampleCount", "Sum"}


def test_pages_and_partial_data_are_followed_to_the_end(client):
    with Stubber(client) as stubber:
        expect(stubber, [result("r0_count", [0], [5.0], "PartialData")], next_token="t1")
        expect(stubber, [result("r0_count", [1, 2], [6.0, 7.0])], token_in="t1")
        frame = cloudwatch.fetch_stats(
            client, CloudWatchConfig(), ROUTES[:1], WINDOW, {"SampleCount": "count"}
        )
    assert list(frame.stats["count"][0]) == [5.0, 6.0, 7.0]


def test_milliseconds_are_converted_to_seconds(client):
    with Stubber(client) as stubber:
        expect(stubber, [result("r0_sum", [0], [250.0])])
        frame = cloudwatch.fetch_stats(
            client, CloudWatchConfig(unit="Milliseconds"), ROUTES[:1], WINDOW, {"Sum": "sum"}
        )
    assert frame.stats["sum"][0, 0] == pytest.approx(0.25)


def test_periods_off_the_grid_are_refused(client):
    off = {
        "Id": "r0_count",
        "Label": "x",
        "StatusCode": "Complete",
        "Timestamps": [T0 + timedelta(seconds=7)],
        "Values": [1.0],
    }
    with Stubber(client) as stubber:
        expect(stubber, [off])
        with pytest.raises(SourceError, match="off the 60s grid"):
            cloudwatch.fetch_stats(
                client, CloudWatchConfig(), ROUTES[:1], WINDOW, {"SampleCount": "count"}
            )


def test_internal_error_status_is_a_source_error(client):
    with Stubber(client) as stubber:
        expect(stubber, [result("r0_count", [], [], "InternalError")])
        with pytest.raises(SourceError, match="InternalError"):
            cloudwatch.fetch_stats(
                client, CloudWatchConfig(), ROUTES[:1], WINDOW, {"SampleCount": "count"}
            )


def test_service_errors_become_one_line(client):
    with Stubber(client) as stubber:
        stubber.add_client_error("list_metrics", "AccessDenied", "not allowed", 403)
        with pytest.raises(SourceError) as err:
            cloudwatch.preflight(client, CloudWatchConfig())
    assert "AccessDenied: not allowed" in str(err.value)
    assert "\n" not in str(err.value)


def test_prometheus_series_keep_labels_and_scale_milliseconds():
    source = PrometheusSource(PrometheusConfig(unit="milliseconds"))
    payload = orjson.dumps(
        {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": {
                            "__name__": "x_sum",
                            "path": "/",
                            "method": "get",
                            "status": "200",
                        },
                        "values": [[1.5, "250"], [2.5, "500"]],
                    }
                ],
            },
        }
    )
    chunks = [prometheus_raw.Chunk(None, 1.0, 3.0, True)]
    results = [prometheus_raw.parse_matrix(payload)]
    series = prometheus_raw.merge(chunks, results, source._label_row, scale=0.001)
    assert list(series.values) == [0.25, 0.5]
    assert list(series.timestamps) == [1.5, 2.5]
    assert set(series.labels.method) == {"GET"} and set(series.labels.path) == {"/"}
    assert series.labels.series[0] == "method=get,path=/,status=200"


def test_prometheus_selector_adds_the_job_and_extra_matchers():
    source = PrometheusSource(PrometheusConfig(selector='instance="a:8080"'))
    assert source.selector() == '{job="flask_app",instance="a:8080"}'


def test_unreachable_prometheus_is_one_line_without_credentials():
    source = PrometheusSource(PrometheusConfig(url="http://user:pw@127.0.0.1:1"))
    with pytest.raises(SourceError) as err:
        source.build_info()
    assert "connection refused" in str(err.value)
    assert "pw" not in str(err.value)


def test_a_settle_poll_reads_only_the_periods_not_yet_final(client):
    """The first two periods are final: the re-read asks from the third one's start only,
    and the earlier periods keep the values read before."""
    previous = cloudwatch.StatGrid.empty_for(["GET /"], WINDOW, ["count", "sum"])
    previous.stats["count"][0] = [5.0, 6.0, 1.0]
    previous.stats["sum"][0] = [0.5, 0.6, 0.1]
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    result("r0_count", [2], [7.0]),
                    result("r0_sum", [2], [0.7]),
                ],
                "Messages": [],
            },
            {
                "MetricDataQueries": ANY,
                "StartTime": T0 + timedelta(minutes=2),
                "EndTime": WINDOW.end,
                "ScanBy": "TimestampAscending",
            },
        )
        grid, missing = cloudwatch.reread_open_periods(
            client, CloudWatchConfig(percentiles=False), ROUTES[:1], previous, 2
        )
    assert list(grid.stats["count"][0]) == [5.0, 6.0, 7.0]
    assert list(grid.stats["sum"][0]) == [0.5, 0.6, 0.7]
    assert list(previous.stats["count"][0]) == [5.0, 6.0, 1.0]  # not changed in place
    assert missing == "cloudwatch.percentiles is false"


def test_nothing_open_is_not_read_again(client):
    previous = cloudwatch.StatGrid.empty_for(["GET /"], WINDOW, ["count", "sum"])
    with Stubber(client):  # any call would fail: none is expected
        grid, _ = cloudwatch.reread_open_periods(
            client, CloudWatchConfig(), ROUTES[:1], previous, 3
        )
    assert grid is previous
