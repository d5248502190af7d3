"""Discovery's CloudWatch reads on real CloudWatch's paging, through botocore's Stubber (moto
neither pages nor deduplicates ListMetrics)."""

from datetime import timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cwparity.alarms.model import Kind
from cwparity.sources import cloudwatch, cloudwatch_inventory

from .test_sources import T0, WINDOW, expect, result


@pytest.fixture
def client():
    return boto3.client(
        "cloudwatch", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def metric(endpoint, method="GET", name="EndpointLatency"):
    dims = [{"Name": "Method", "Value": method}, {"Name": "Endpoint", "Value": endpoint}]
    return {"Namespace": "FlaskApp", "MetricName": name, "Dimensions": dims}


def test_list_metrics_follows_every_page_and_lists_each_metric_once(client):
    with Stubber(client) as stubber:
        page1 = {"Metrics": [metric("/"), metric("/health")], "NextToken": "n1"}
        stubber.add_response("list_metrics", page1, {"Namespace": "FlaskApp"})
        page2 = {"Metrics": [metric("/"), metric("/x", name="Other")]}
        stubber.add_response("list_metrics", page2, {"Namespace": "FlaskApp", "NextToken": "n1"})
        found = cloudwatch.list_metrics(client, "FlaskApp")
    assert found == [
        ("EndpointLatency", (("Endpoint", "/"), ("Method", "GET"))),
        ("EndpointLatency", (("Endpoint", "/health"), ("Method", "GET"))),
        ("Other", (("Endpoint", "/x"), ("Method", "GET"))),
    ]


def test_dimension_counts_ask_each_set_over_the_window_across_pages(client):
    sets = [(("Endpoint", "/"), ("Method", "GET")), (("Endpoint", "/health"), ("Method", "GET"))]
    with Stubber(client) as stubber:
        expect(stubber, [result("d0", [0], [5.0], "PartialData")], next_token="t1")
        expect(stubber, [result("d0", [1, 2], [6.0, 7.0]), result("d1", [2], [3.0])], token_in="t1")
        counts = cloudwatch.dimension_counts(client, "FlaskApp", "EndpointLatency", sets, WINDOW)
    assert counts == {sets[0]: 18.0, sets[1]: 3.0}


def test_a_set_without_data_in_the_window_counts_zero(client):
    sets = [(("Endpoint", "/old"), ("Method", "GET"))]
    with Stubber(client) as stubber:
        expect(stubber, [result("d0", [], [])])
        assert cloudwatch.dimension_counts(client, "FlaskApp", "EndpointLatency", sets, WINDOW) == {
            sets[0]: 0.0
        }


def alarm(name, namespace="FlaskApp", period=60, metrics=None):
    data = {
        "AlarmName": name,
        "StateValue": "OK",
        "Threshold": 1.0,
        "Period": period,
        "Statistic": "Average",
    }
    if metrics is None:
        data |= {"Namespace": namespace, "MetricName": "EndpointLatency", "Dimensions": []}
    else:
        data["Metrics"] = metrics
    return data


#: one DescribeAlarms reader for discover, the cost estimate and alarm parity (sources/alarms)
TYPES = ["MetricAlarm", "CompositeAlarm"]


def test_alarms_on_the_namespace_across_pages_including_metric_math(client):
    math_alarm = alarm(
        "ratio",
        metrics=[{"Id": "m1", "MetricStat": {"Metric": metric("/"), "Period": 10, "Stat": "Sum"}}],
    )
    del math_alarm["Period"]
    with Stubber(client) as stubber:
        first = {"MetricAlarms": [alarm("slow"), alarm("cpu", "AWS/EC2")], "NextToken": "a1"}
        stubber.add_response("describe_alarms", first, {"AlarmTypes": TYPES})
        composite = {"AlarmName": "both", "AlarmRule": 'ALARM("slow")', "StateValue": "OK"}
        second = {
            "MetricAlarms": [alarm("fast", period=10), math_alarm],
            "CompositeAlarms": [composite],  # reads alarms, not the namespace's metrics
        }
        stubber.add_response("describe_alarms", second, {"AlarmTypes": TYPES, "NextToken": "a1"})
        found = cloudwatch_inventory.alarms_on(client, "FlaskApp")
    assert [a.name for a in found] == ["slow", "fast", "ratio"]
    assert found[1].period == 10 and found[2].kind is Kind.MATH


def test_api_usage_is_unknown_when_cloudwatch_reports_none(client):
    minutes = WINDOW
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_metric_data",
            {"MetricDataResults": [result("u0", [0, 1], [30.0, 12.0])], "Messages": []},
            {
                "MetricDataQueries": ANY,
                "StartTime": T0,
                "EndTime": T0 + timedelta(minutes=3),
                "ScanBy": ANY,
            },
        )
        assert cloudwatch_inventory.api_call_counts(
            client, ("PutMetricData", "ListMetrics"), minutes
        ) == {"PutMetricData": 42.0}
