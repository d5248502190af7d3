"""A GetMetricData that behaves as the CloudWatch API reference documents, inside the client.

For counting calls on a window moto cannot serve the way AWS does (moto never pages and has no
percentiles). Hooked on botocore's ``before-call`` event, as botocore's own Stubber is, so every
other hook (cwparity's CallLog) sees the calls exactly as against AWS:

- at most 500 queries a call, else ``ValidationError``;
- at most ``MaxDatapoints`` (default 100,800) datapoints a response, over all queries; the rest
  follows behind ``NextToken``, queries cut short say ``PartialData``;
- timestamps in the order ``ScanBy`` asks, every period of the window answered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse

MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800


class FakeGetMetricData:
    """Answers from ``value(dimensions, stat, period_start) -> float``."""

    def __init__(self, value: Callable[[dict[str, str], str, datetime], float]) -> None:
        self.value = value
        self._params: dict[str, Any] = {}

    def attach(self, client: Any) -> FakeGetMetricData:
        # the API parameters come with before-parameter-build; before-call sees them serialized
        client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", self._keep)
        client.meta.events.register("before-call.cloudwatch.GetMetricData", self._answer)
        return self

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        self._params = dict(params)

    def _answer(self, **_: Any):
        params = self._params
        queries = params["MetricDataQueries"]
        if len(queries) > MAX_QUERIES:
            return _error("ValidationError", "The collection MetricDataQueries must not exceed 500")
        budget = int(params.get("MaxDatapoints", MAX_DATAPOINTS))
        query_at, point_at = map(int, (params.get("NextToken") or "0:0").split(":"))
        results, token = [], None
        for index in range(query_at, len(queries)):
            stamps = _periods(queries[index], params["StartTime"], params["EndTime"])
            begin = point_at if index == query_at else 0
            taken = stamps[begin : begin + budget]
            budget -= len(taken)
            complete = begin + len(taken) == len(stamps)
            results.append(self._result(queries[index], taken, complete))
            if not complete:
                token = f"{index}:{begin + len(taken)}"
                break
            if budget == 0 and index + 1 < len(queries):
                token = f"{index + 1}:0"
                break
        parsed: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
        if token:
            parsed["NextToken"] = token
        return AWSResponse("https://monitoring.invalid", 200, {}, None), parsed

    def _result(self, query: dict[str, Any], stamps: list[datetime], complete: bool):
        stat = query["MetricStat"]
        dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        return {
            "Id": query["Id"],
            "Label": query["Id"],
            "StatusCode": "Complete" if complete else "PartialData",
            "Timestamps": stamps,
            "Values": [self.value(dimensions, stat["Stat"], t) for t in stamps],
        }


def _periods(query: dict[str, Any], start: datetime, end: datetime) -> list[datetime]:
    period = query["MetricStat"]["Period"]
    first = datetime.fromtimestamp(start.timestamp() // period * period, UTC)
    count = int((end - first).total_seconds() // period)
    return [first + timedelta(seconds=i * period) for i in range(count)]


def _error(code: str, message: str):
    parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
    return AWSResponse("https://monitoring.invalid", 400, {}, None), parsed
