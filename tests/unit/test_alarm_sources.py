"""DescribeAlarms and the alarm's datapoints as real CloudWatch answers them: pages with
NextToken, composite alarms, 100 names per call, errors — with botocore's Stubber, since moto
neither pages nor stores composite alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cwparity.alarms.model import Kind
from cwparity.errors import SourceError
from cwparity.sources.alarms import NAMES_PER_CALL, fetch_datapoints, read_alarms
from cwparity.window import Window

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DIMS = [{"Name": "Endpoint", "Value": "/long-request"}, {"Name": "Method", "Value": "GET"}]


def client():
    return boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def metric_alarm(name, metric="EndpointLatency", namespace="FlaskApp", **extra):
    return {
        "AlarmName": name,
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": DIMS,
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 3,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 0.5,
        **extra,
    }


MATH = {
    "AlarmName": "latency-ms",
    "Metrics": [
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {"Namespace": "FlaskApp", "MetricName": "EndpointLatency"},
                "Period": 60,
                "Stat": "Average",
            },
            "ReturnData": False,
        },
        {"Id": "e1", "Expression": "m1*1000", "ReturnData": True},
    ],
    "EvaluationPeriods": 1,
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 500,
}


def test_every_page_is_read_and_only_alarms_on_the_mapped_metric_are_kept():
    cw = client()
    with Stubber(cw) as stub:
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [
                    metric_alarm("latency"),
                    metric_alarm("cpu", "CPUUtilization", "AWS/EC2"),
                ],
                "NextToken": "page-2",
            },
            {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
        )
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [MATH],
                "CompositeAlarms": [
                    {"AlarmName": "site-down", "AlarmRule": 'ALARM("latency") OR ALARM(cpu)'},
                    {"AlarmName": "ec2-only", "AlarmRule": "ALARM(cpu)"},
                ],
            },
            {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "NextToken": "page-2"},
        )
        found = read_alarms(cw, "FlaskApp", "EndpointLatency")
        stub.assert_no_pending_responses()
    by_name = {a.name: a for a in found}
    assert set(by_name) == {"latency", "latency-ms", "site-down"}
    assert by_name["latency"].kind is Kind.METRIC
    # DatapointsToAlarm defaults to EvaluationPeriods
    assert by_name["latency"].datapoints_to_alarm == 3
    assert by_name["latency-ms"].kind is Kind.MATH and "m1*1000" in by_name["latency-ms"].expression
    assert by_name["site-down"].kind is Kind.COMPOSITE


def test_named_alarms_are_asked_for_100_at_a_time_and_kept_whatever_they_watch():
    cw = client()
    names = [f"alarm-{i}" for i in range(NAMES_PER_CALL + 5)]
    with Stubber(cw) as stub:
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [metric_alarm("cpu", "CPUUtilization", "AWS/EC2")]},
            {"AlarmTypes": ANY, "AlarmNames": names[:NAMES_PER_CALL]},
        )
        stub.add_response(
            "describe_alarms",
            {"MetricAlarms": [metric_alarm("alarm-104")]},
            {"AlarmTypes": ANY, "AlarmNames": names[NAMES_PER_CALL:]},
        )
        found = read_alarms(cw, "FlaskApp", "EndpointLatency", names=names)
        stub.assert_no_pending_responses()
    # the judge says why an alarm on another metric cannot be judged: it is never dropped
    assert [a.name for a in found] == ["cpu", "alarm-104"]


def test_a_refused_call_is_one_line_naming_the_endpoint():
    cw = client()
    with Stubber(cw) as stub:
        stub.add_client_error(
            "describe_alarms", "AccessDenied", "User is not authorized to cloudwatch:DescribeAlarms"
        )
        with pytest.raises(SourceError) as err:
            read_alarms(cw, "FlaskApp", "EndpointLatency")
    assert "AccessDenied" in str(err.value) and "\n" not in str(err.value)


def datapoints_response(stamps, values, token=None):
    answer = {
        "MetricDataResults": [
            {
                "Id": "alarm",
                "Label": "x",
                "Timestamps": stamps,
                "Values": values,
                "StatusCode": "Complete",
            }
        ]
    }
    if token:
        answer["NextToken"] = token
    return answer


def spec():
    from cwparity.alarms.model import metric_alarm as parse

    return parse(metric_alarm("latency", Unit="Seconds", Period=60))


def test_datapoints_are_read_across_pages_with_the_alarms_statistic_unit_and_period():
    cw = client()
    window = Window(T0, T0 + timedelta(minutes=5), 60)
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_data",
            datapoints_response([T0 + timedelta(minutes=1)], [0.7], token="more"),
            {
                "MetricDataQueries": [
                    {
                        "Id": "alarm",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": "FlaskApp",
                                "MetricName": "EndpointLatency",
                                "Dimensions": DIMS,
                            },
                            "Period": 60,
                            "Stat": "Average",
                            "Unit": "Seconds",
                        },
                        "ReturnData": True,
                    }
                ],
                "StartTime": window.start,
                "EndTime": window.end,
                "ScanBy": "TimestampAscending",
            },
        )
        stub.add_response(
            "get_metric_data", datapoints_response([T0 + timedelta(minutes=3)], [0.2]), None
        )
        points = fetch_datapoints(cw, spec(), window)
        stub.assert_no_pending_responses()
    assert [(p.start, p.value) for p in points] == [
        (T0 + timedelta(minutes=1), 0.7),
        (T0 + timedelta(minutes=3), 0.2),
    ]


def test_datapoints_off_the_period_grid_are_an_error_not_a_silent_shift():
    cw = client()
    window = Window(T0, T0 + timedelta(minutes=5), 60)
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_data", datapoints_response([T0 + timedelta(seconds=90)], [0.7]), None
        )
        with pytest.raises(SourceError, match="off the 60s grid"):
            fetch_datapoints(cw, spec(), window)
