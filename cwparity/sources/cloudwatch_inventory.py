"""What else lives in CloudWatch around the metric: alarms, dashboards, log groups, API usage.

Read for ``cwparity discover`` and the cost estimate, every call paged as AWS documents it.
Nothing here is judged; each reader returns plain values, or raises ``SourceError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cwparity.alarms.model import AlarmSpec, Kind
from cwparity.sources.alarms import read_alarms
from cwparity.sources.cloudwatch import _paged_results, _source_error
from cwparity.window import Window

#: the AWS/Usage metric CloudWatch publishes per API (docs: "CloudWatch usage metrics")
USAGE_NAMESPACE = "AWS/Usage"


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    try:
        return [
            item
            for page in client.get_paginator(operation).paginate(**kwargs)
            for item in page.get(key, [])
        ]
    except (ClientError, BotoCoreError) as err:
        raise _source_error(client, err) from None


def alarms_on(client: Any, namespace: str) -> list[AlarmSpec]:
    """The metric alarms that read a metric of ``namespace``, a metric-math one through any
    of its metrics: alarm parity's DescribeAlarms reader (``sources.alarms.read_alarms``, all
    pages), filtered. Composite alarms read alarms, not metrics, and are left out."""
    prefix = f"{namespace}/"
    return [
        alarm
        for alarm in read_alarms(client, None, None)
        if alarm.kind is not Kind.COMPOSITE
        and (alarm.namespace == namespace or any(r.startswith(prefix) for r in alarm.reads))
    ]


def dashboards(client: Any) -> list[str]:
    """The account's CloudWatch dashboards in the region (ListDashboards, all pages)."""
    return [
        entry["DashboardName"] for entry in _pages(client, "list_dashboards", "DashboardEntries")
    ]


@dataclass(frozen=True)
class LogGroup:
    name: str
    stored_bytes: int
    retention_days: int | None


def log_groups(logs_client: Any, prefix: str | None = None) -> list[LogGroup]:
    """CloudWatch Logs groups (DescribeLogGroups, all pages), with the bytes they store."""
    kwargs = {"logGroupNamePrefix": prefix} if prefix else {}
    return [
        LogGroup(g["logGroupName"], int(g.get("storedBytes") or 0), g.get("retentionInDays"))
        for g in _pages(logs_client, "describe_log_groups", "logGroups", **kwargs)
    ]


def api_call_counts(client: Any, operations: tuple[str, ...], window: Window) -> dict[str, float]:
    """Calls per CloudWatch API in the window from AWS/Usage ``CallCount`` (per-minute data).

    Only operations CloudWatch reported are returned: an endpoint without usage metrics (moto,
    or an account that made no such call) leaves the figure unknown rather than zero.
    """
    queries, meaning = [], {}
    for index, operation in enumerate(operations):
        dimensions = {
            "Service": "CloudWatch",
            "Type": "API",
            "Resource": operation,
            "Class": "None",
        }
        metric = {
            "Namespace": USAGE_NAMESPACE,
            "MetricName": "CallCount",
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        }
        meaning[f"u{index}"] = operation
        queries.append(
            {
                "Id": f"u{index}",
                "MetricStat": {"Metric": metric, "Period": window.period, "Stat": "Sum"},
                "ReturnData": True,
            }
        )
    counts: dict[str, float] = {}
    for result in _paged_results(client, queries, window):
        if result["Values"]:
            operation = meaning[result["Id"]]
            counts[operation] = counts.get(operation, 0.0) + float(sum(result["Values"]))
    return counts
