"""CloudWatch: GetMetricData per mapped route into a frame, nothing else.

Written for real CloudWatch (pagination, PartialData, the period grid, percentiles) and tested
against moto, which lacks percentiles: those are asked for in a call of their own, so a service
that cannot answer them costs the percentile checks only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import boto3
import pandas as pd
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from cwparity.config import CloudWatchConfig, Route, redact_url
from cwparity.errors import ConfigError, SourceError
from cwparity.window import Window

log = logging.getLogger(__name__)

BASE_STATS = {"SampleCount": "count", "Sum": "sum", "Average": "avg"}
PERCENTILE_STATS = {"p50": "p50", "p90": "p90", "p99": "p99"}
_UNIT_TO_SECONDS = {"Seconds": 1.0, "Milliseconds": 0.001, "Microseconds": 0.000001}
COLUMNS = ["route", "period_start", "stat", "value"]


def make_client(config: CloudWatchConfig) -> Any:
    """A CloudWatch client from boto3's standard chain; retries are botocore's, not ours."""
    try:
        session = boto3.Session(profile_name=config.profile, region_name=config.region)
        return session.client(
            "cloudwatch",
            endpoint_url=config.endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
    except NoRegionError:
        raise ConfigError(
            "cloudwatch.region: no AWS region set (config, AWS_REGION or the profile)"
        ) from None
    except BotoCoreError as err:
        raise ConfigError(f"cloudwatch: {err}") from None


def describe_endpoint(client: Any) -> str:
    return redact_url(str(client.meta.endpoint_url))


def preflight(client: Any, config: CloudWatchConfig) -> None:
    """One cheap call, so an unreachable endpoint or missing credentials fail before any load."""
    _call(client, "list_metrics", Namespace=config.namespace, MetricName=config.metric_name)


def metric_queries(
    config: CloudWatchConfig, routes: Sequence[Route], period: int, stats: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
    """GetMetricData queries, and for each query id the (route, stat) it answers."""
    queries, meaning = [], {}
    for index, route in enumerate(routes):
        dimensions = [
            {"Name": config.endpoint_dimension, "Value": route.path},
            {"Name": config.method_dimension, "Value": route.method},
            *({"Name": k, "Value": v} for k, v in config.extra_dimensions.items()),
        ]
        metric = {
            "Namespace": config.namespace,
            "MetricName": config.metric_name,
            "Dimensions": dimensions,
        }
        for stat, column in stats.items():
            query_id = f"r{index}_{column}"
            meaning[query_id] = (route.key, column)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {"Metric": metric, "Period": period, "Stat": stat},
                    "ReturnData": True,
                }
            )
    return queries, meaning


def fetch_stats(
    client: Any,
    config: CloudWatchConfig,
    routes: Sequence[Route],
    window: Window,
    stats: dict[str, str] = BASE_STATS,
) -> pd.DataFrame:
    """Long frame (route, period_start, stat, value); latency values in seconds."""
    queries, meaning = metric_queries(config, routes, window.period, stats)
    rows: list[tuple[str, pd.Timestamp, str, float]] = []
    # GetMetricData takes at most 500 queries per call
    for chunk_start in range(0, len(queries), 500):
        chunk = queries[chunk_start : chunk_start + 500]
        for result in _paged_results(client, chunk, window):
            route, column = meaning[result["Id"]]
            scale = 1.0 if column == "count" else _UNIT_TO_SECONDS[config.unit]
            for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                rows.append((route, pd.Timestamp(stamp).tz_convert("UTC"), column, value * scale))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return _on_grid(frame, window)


def _paged_results(client: Any, queries: list[dict[str, Any]], window: Window):
    paginator = client.get_paginator("get_metric_data")
    pages = paginator.paginate(
        MetricDataQueries=queries,
        StartTime=window.start,
        EndTime=window.end,
        ScanBy="TimestampAscending",
    )
    try:
        for page in pages:
            for message in page.get("Messages", []):
                log.warning("CloudWatch: %s", message.get("Value"))
            for result in page["MetricDataResults"]:
                if result.get("StatusCode") == "InternalError":
                    raise SourceError(f"CloudWatch query {result['Id']}: InternalError")
                # PartialData means more pages follow; the paginator fetches them
                yield result
    except (ClientError, BotoCoreError) as err:
        raise _source_error(client, err) from None


def _on_grid(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Keep periods inside the window; a start off the grid means the service did not align."""
    if frame.empty:
        return frame
    inside = (frame.period_start >= window.start) & (frame.period_start < window.end)
    off_grid = frame.period_start.map(lambda t: t.timestamp() % window.period != 0)
    if off_grid.any():
        raise SourceError(
            f"CloudWatch returned periods off the {window.period}s grid "
            f"(first: {frame.period_start[off_grid].iloc[0].isoformat()})"
        )
    return frame[inside].reset_index(drop=True)


def _call(client: Any, operation: str, **kwargs: Any) -> Any:
    try:
        return getattr(client, operation)(**kwargs)
    except (ClientError, BotoCoreError) as err:
        raise _source_error(client, err) from None


def _source_error(client: Any, err: Exception) -> SourceError:
    where = describe_endpoint(client)
    if isinstance(err, NoCredentialsError):
        return SourceError(
            f"CloudWatch {where}: no AWS credentials (environment, profile or instance role)"
        )
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "?")
        message = " ".join(str(err.response.get("Error", {}).get("Message", "")).split())
        if message.startswith("<"):  # an HTML error page, not an AWS error: say only its status
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
            return SourceError(f"CloudWatch {where}: HTTP {status} from the endpoint")
        return SourceError(f"CloudWatch {where}: {code}: {message[:200]}".rstrip(": "))
    return SourceError(f"CloudWatch {where}: {redact_url(str(err))}")
