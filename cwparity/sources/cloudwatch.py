"""CloudWatch: GetMetricData per mapped route onto the period grid, nothing else.

Written for real CloudWatch (pagination, PartialData, the period grid, percentiles) and tested
against moto, which lacks percentiles. Read at its minimum cost: one request carries the base
statistics (SampleCount and Sum; the Average is their ratio, so it is not asked for) and the
percentiles together, packed up to the service's limits of 500 queries and 100,800 datapoints a
call. A service that refuses percentiles (moto answers HTTP 500) is asked again for the base
statistics alone, once: it then costs the percentile checks only, which SKIP with its words.
Every API call is recorded (``CallLog``, a botocore event hook) so that a run can report
calls, metrics requested and their cost next to the theoretical minimum.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import boto3
import numpy as np
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from cwparity.config import CloudWatchConfig, Route, redact_url
from cwparity.errors import ConfigError, SourceError
from cwparity.redact import public_url
from cwparity.samples import StatGrid
from cwparity.window import Window

log = logging.getLogger(__name__)

BASE_STATS = {"SampleCount": "count", "Sum": "sum"}
PERCENTILE_STATS = {"p50": "p50", "p90": "p90", "p99": "p99"}
_UNIT_TO_SECONDS = {"Seconds": 1.0, "Milliseconds": 0.001, "Microseconds": 0.000001}
COLUMNS = ["route", "period_start", "stat", "value"]
#: GetMetricData's limits per call (CloudWatch API reference)
MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
#: list prices (us-east-1, CloudWatch pricing page): GetMetricData per metric requested,
#: other API calls per request
USD_PER_METRIC_REQUESTED = 0.01 / 1000
USD_PER_REQUEST = 0.01 / 1000


def make_client(config: CloudWatchConfig, service: str = "cloudwatch") -> Any:
    """A CloudWatch (or CloudWatch Logs: ``service="logs"``) client from boto3's standard chain;
    retries are botocore's, not ours."""
    try:
        session = boto3.Session(profile_name=config.profile, region_name=config.region)
        return session.client(
            service,
            # CloudWatch signs with SigV4: a ``user:password@`` in the URL is never a credential
            endpoint_url=public_url(config.endpoint_url) if config.endpoint_url else None,
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


def queries_per_call(periods: int) -> int:
    """How many queries of ``periods`` datapoints one call can carry."""
    return max(1, min(MAX_QUERIES, MAX_DATAPOINTS // max(periods, 1)))


def minimum_calls(queries: int, periods: int) -> int:
    """The fewest GetMetricData calls that read ``queries`` queries of ``periods`` datapoints:
    packed within both limits, and paged when one query alone holds more than a call can."""
    if not queries:
        return 0
    pages = math.ceil(periods / MAX_DATAPOINTS) if periods > MAX_DATAPOINTS else 1
    return math.ceil(queries / queries_per_call(periods)) * pages


def fetch_stats(
    client: Any,
    config: CloudWatchConfig,
    routes: Sequence[Route],
    window: Window,
    stats: dict[str, str] = BASE_STATS,
) -> StatGrid:
    """``stats`` per route and period on the window's grid; latency values in seconds."""
    queries, meaning = metric_queries(config, routes, window.period, stats)
    keys = [route.key for route in routes]
    grid = StatGrid.empty_for(keys, window, list(stats.values()))
    row_of = {key: i for i, key in enumerate(keys)}
    step = queries_per_call(len(window.period_starts()))
    for chunk_start in range(0, len(queries), step):
        chunk = queries[chunk_start : chunk_start + step]
        for result in _paged_results(client, chunk, window):
            route, column = meaning[result["Id"]]
            scale = 1.0 if column == "count" else _UNIT_TO_SECONDS[config.unit]
            _on_grid(grid.stats[column][row_of[route]], result, window, scale)
    return grid


def fetch_with_percentiles(
    client: Any,
    config: CloudWatchConfig,
    routes: Sequence[Route],
    window: Window,
    refused: str | None = None,
) -> tuple[StatGrid, str | None]:
    """Base and percentile statistics in one read; the reason when percentiles are missing.

    ``refused``: the service already refused percentiles in this run; not asked again.
    """
    if not config.percentiles:
        return fetch_stats(client, config, routes, window), "cloudwatch.percentiles is false"
    if refused:
        return fetch_stats(client, config, routes, window), refused
    try:
        return fetch_stats(client, config, routes, window, {**BASE_STATS, **PERCENTILE_STATS}), None
    except SourceError as err:
        # the base statistics alone: if those fail too, the service is down, not percentile-less
        grid = fetch_stats(client, config, routes, window)
        log.info("CloudWatch percentiles unavailable: %s", err)
        return grid, str(err)


def reread_open_periods(
    client: Any,
    config: CloudWatchConfig,
    routes: Sequence[Route],
    previous: StatGrid,
    first_open: int,
    refused: str | None = None,
) -> tuple[StatGrid, str | None]:
    """``previous`` with its periods ``first_open:`` read again; the earlier ones are final and
    kept as they were. One GetMetricData read of the tail (StartTime at its first period), so a
    settle poll on a week-long window costs what its last minutes cost, not another week."""
    window = previous.window
    starts = window.period_starts()
    if first_open <= 0:
        return fetch_with_percentiles(client, config, routes, window, refused)
    if first_open >= len(starts):
        return previous, refused
    tail = Window(starts[first_open], window.end, window.period)
    fresh, missing = fetch_with_percentiles(client, config, routes, tail, refused)
    merged = {name: cells.copy() for name, cells in previous.stats.items()}
    for name in merged.keys() | fresh.stats.keys():
        cells = merged.setdefault(name, np.full(previous.stats["count"].shape, np.nan))
        cells[:, first_open:] = fresh.stats.get(name, np.nan)
    return StatGrid(previous.routes, window, merged), missing


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


def _on_grid(cells: np.ndarray, result: dict[str, Any], window: Window, scale: float) -> None:
    """Put one result's datapoints in its route's row; keep periods inside the window.

    A start off the grid means the service did not align: refused, never guessed."""
    if not result["Timestamps"]:
        return
    stamps = np.array([t.timestamp() for t in result["Timestamps"]])
    values = np.asarray(result["Values"], dtype=float) * scale
    off_grid = stamps % window.period != 0
    if off_grid.any():
        first = result["Timestamps"][int(np.argmax(off_grid))]
        raise SourceError(
            f"CloudWatch returned periods off the {window.period}s grid "
            f"(first: {first.astimezone(UTC).isoformat()})"
        )
    column = ((stamps - window.start.timestamp()) // window.period).astype(int)
    inside = (column >= 0) & (column < len(cells))
    cells[column[inside]] = values[inside]


@dataclass
class CallLog:
    """Every CloudWatch API call a client made, recorded by botocore's event hooks.

    ``before-parameter-build`` fires once per API call (retries are inside it; each page of
    a paginator is a call), with the request's parameters; ``after-call`` with the parsed
    response, error or not; ``after-call-error`` when no response came at all.
    """

    calls: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, client: Any) -> CallLog:
        client.meta.events.register("before-parameter-build.cloudwatch", self._before)
        client.meta.events.register("after-call.cloudwatch", self._after)
        client.meta.events.register("after-call-error.cloudwatch", self._failed)
        return self

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        metrics = len(params.get("MetricDataQueries") or [])
        self.calls.append({"operation": model.name, "metrics": metrics, "ok": None})

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self.calls and self.calls[-1]["operation"] == model.name:
            status = getattr(http_response, "status_code", 200)
            self.calls[-1]["ok"] = status < 400 and "Error" not in parsed

    def _failed(self, **_: Any) -> None:
        """No response at all (refused, timed out): botocore passes only the exception."""
        if self.calls and self.calls[-1]["ok"] is None:
            self.calls[-1]["ok"] = False

    def summary(self, minimum_calls: int, minimum_metrics: int) -> dict[str, Any]:
        """Calls, metrics requested and cost, next to what the window needs at least."""
        reads = [c for c in self.calls if c["operation"] == "GetMetricData"]
        succeeded = [c for c in reads if c["ok"]]
        metrics = sum(c["metrics"] for c in succeeded)
        others = len(self.calls) - len(reads)
        cost = metrics * USD_PER_METRIC_REQUESTED + others * USD_PER_REQUEST
        return {
            "calls": len(self.calls),
            "get_metric_data_calls": len(reads),
            "failed_calls": sum(1 for c in self.calls if c["ok"] is False),
            "metrics_requested": metrics,
            "other_calls": others,
            "minimum_get_metric_data_calls": minimum_calls,
            "minimum_metrics_requested": minimum_metrics,
            "calls_over_minimum": round(len(succeeded) / minimum_calls, 2)
            if minimum_calls
            else None,
            "cost_usd": round(cost, 6),
            "price_source": "CloudWatch list prices, us-east-1: GetMetricData $0.01 per 1,000 "
            "metrics requested; other API calls $0.01 per 1,000 requests",
        }


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


# --- discovery: what the namespace holds, and what each dimension set carried in a window ---

Dimensions = tuple[tuple[str, str], ...]


def list_metrics(client: Any, namespace: str, metric_name: str | None = None) -> list[Any]:
    """Every (metric name, dimension set) ListMetrics reports for the namespace, all pages.

    ListMetrics lists metrics that had data in the last two weeks, not "in a window": what a
    window saw is :func:`dimension_counts`'s answer. Each metric appears once (moto repeats one
    per datum; AWS does not).
    """
    kwargs: dict[str, Any] = {"Namespace": namespace}
    if metric_name:
        kwargs["MetricName"] = metric_name
    found: dict[tuple[str, Dimensions], None] = {}
    try:
        for page in client.get_paginator("list_metrics").paginate(**kwargs):
            for metric in page.get("Metrics", []):
                found.setdefault((metric["MetricName"], dimension_key(metric)), None)
    except (ClientError, BotoCoreError) as err:
        raise _source_error(client, err) from None
    return list(found)


def dimension_key(metric: dict[str, Any]) -> Dimensions:
    return tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))


def dimension_counts(
    client: Any,
    namespace: str,
    metric_name: str,
    dimension_sets: Sequence[Dimensions],
    window: Window,
) -> dict[Dimensions, float]:
    """SampleCount over the window for each dimension set: what CloudWatch saw in it."""
    queries, meaning = [], {}
    for index, dims in enumerate(dimension_sets):
        metric = {
            "Namespace": namespace,
            "MetricName": metric_name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
        }
        meaning[f"d{index}"] = dims
        queries.append(
            {
                "Id": f"d{index}",
                "MetricStat": {"Metric": metric, "Period": window.period, "Stat": "SampleCount"},
                "ReturnData": True,
            }
        )
    counts = dict.fromkeys(dimension_sets, 0.0)
    step = queries_per_call(len(window.period_starts()))
    for chunk_start in range(0, len(queries), step):
        for result in _paged_results(client, queries[chunk_start : chunk_start + step], window):
            inside = [
                value
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True)
                if window.start <= stamp < window.end
            ]
            counts[meaning[result["Id"]]] += float(sum(inside))
    return counts
