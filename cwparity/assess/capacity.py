"""The measurements behind the cost estimate, each with where it came from.

CloudWatch: ListMetrics (custom metrics), AWS/Usage ``CallCount`` or the window's datums
(PutMetricData), this run's own GetMetricData queries, DescribeAlarms, ListDashboards,
DescribeLogGroups. Prometheus: the TSDB status API, ``scrape_samples_scraped`` per target with
the targets API's intervals, its own ``/metrics`` (compaction stats, resident memory), its
runtime info (retention). A reading that fails leaves that figure unknown, never the run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from cwparity.assess.inventory import Inventory
from cwparity.config import RunConfig, parse_duration
from cwparity.cost import (
    BYTES_PER_SAMPLE_SOURCE,
    DOCUMENTED_BYTES_PER_SAMPLE,
    CloudWatchUsage,
    Measured,
    PrometheusUsage,
    estimate,
    load_price_table,
)
from cwparity.errors import HarnessError
from cwparity.sources import cloudwatch, cloudwatch_inventory
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

log = logging.getLogger(__name__)

#: Prometheus adds these series to every target it scrapes (docs: "Jobs and instances")
SYNTHETIC_SERIES_PER_TARGET = 5
NIGHTLY_RUNS_PER_MONTH = 30.0
_PROM_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def prometheus_duration(text: str) -> float | None:
    """Seconds of a Prometheus duration (``15d``, ``1w2d``); None when there is none in it."""
    first = text.split(" or ")[0].strip()
    parts = _PROM_DURATION.findall(first)
    if not parts or "".join(a + b for a, b in parts) != first:
        return None
    return float(sum(int(amount) * _PROM_UNITS[unit] for amount, unit in parts))


def _measure(read: Callable[[], Measured]) -> Measured:
    try:
        return read()
    except HarnessError as err:
        return Measured(None, f"unknown: {err}")


def _put_rate(client: Any, inventory: Inventory) -> Measured:
    window = inventory.window
    minutes = Window.covering(window.start, window.end, 60)
    calls = cloudwatch_inventory.api_call_counts(client, ("PutMetricData",), minutes)
    if "PutMetricData" in calls:
        return Measured(
            calls["PutMetricData"] / minutes.seconds,
            f"AWS/Usage CallCount for PutMetricData: {calls['PutMetricData']:.0f} calls in "
            f"{minutes.seconds:.0f} s",
        )
    datums = sum(inventory.cloudwatch.values())
    return Measured(
        datums / window.seconds,
        f"{datums:.0f} datums (SampleCount of every Endpoint/Method set) in the {window.seconds:.0f} s "
        "window, one PutMetricData request each as the guide's app publishes (an app that batches "
        "makes fewer); AWS/Usage reported no CallCount here",
    )


def cloudwatch_usage(
    client: Any, logs_client: Any, config: RunConfig, inventory: Inventory, own_requested: int
) -> CloudWatchUsage:
    namespace = config.cloudwatch.namespace
    alarms = _measure_alarms(client, namespace)
    prefix = config.cost.log_group_prefix

    def logs() -> Measured:
        groups = cloudwatch_inventory.log_groups(logs_client, prefix)
        which = f"starting {prefix!r}" if prefix else "in the region (set cost.log_group_prefix)"
        stored = sum(g.stored_bytes for g in groups)
        return Measured(stored, f"DescribeLogGroups storedBytes of {len(groups)} groups {which}")

    def boards() -> Measured:
        names = cloudwatch_inventory.dashboards(client)
        return Measured(
            len(names), f"ListDashboards: {len(names)} in the region (all, not only this app's)"
        )

    return CloudWatchUsage(
        custom_metrics=Measured(
            len(inventory.metrics),
            f"ListMetrics on {namespace}: every unique name + dimension set with data in the "
            "last two weeks",
        ),
        put_requests_per_s=_measure(lambda: _put_rate(client, inventory)),
        own_metrics_requested_per_run=Measured(
            own_requested,
            f"this run's GetMetricData calls requested {own_requested} metrics (botocore's "
            "call log, before the cost readings)",
        ),
        runs_per_month=NIGHTLY_RUNS_PER_MONTH,
        alarms_standard=alarms[0],
        alarms_high_resolution=alarms[1],
        dashboards=_measure(boards),
        logs_stored_bytes=_measure(logs),
    )


def _measure_alarms(client: Any, namespace: str) -> tuple[Measured, Measured]:
    try:
        alarms = cloudwatch_inventory.alarms_on(client, namespace)
    except HarnessError as err:
        unknown = Measured(None, f"unknown: {err}")
        return unknown, unknown
    # a metric-math alarm's period is in its metrics (0 here): counted as standard resolution
    fast = [a for a in alarms if 0 < a.period < 60]
    where = f"DescribeAlarms: alarms reading {namespace}"
    return (
        Measured(len(alarms) - len(fast), f"{where}, period >= 60 s"),
        Measured(len(fast), f"{where}, period < 60 s"),
    )


def _samples_per_s(prometheus: PrometheusSource) -> tuple[Measured, Measured]:
    """(all jobs, the app's job): samples each scrape brings, divided by its interval."""
    targets = prometheus.api_get("/api/v1/targets", state="active") or {}
    interval = {
        (t["labels"].get("job"), t["labels"].get("instance")): parse_duration(t["scrapeInterval"])
        for t in targets.get("activeTargets", [])
        if t.get("scrapeInterval")
    }
    total = job = 0.0
    for item in prometheus.instant("scrape_samples_scraped"):
        key = (item["metric"].get("job"), item["metric"].get("instance"))
        if key not in interval:
            continue
        rate = (float(item["value"][1]) + SYNTHETIC_SERIES_PER_TARGET) / interval[key]
        total += rate
        job += rate if key[0] == prometheus.config.job else 0.0
    source = (
        "scrape_samples_scraped per target + the 5 series Prometheus adds to each, ÷ its scrape "
        "interval (targets API)"
    )
    return Measured(total, source), Measured(job, f"{source}, job {prometheus.config.job}")


def _bytes_per_sample(own: dict[str, float]) -> Measured:
    samples = own.get("prometheus_tsdb_compaction_chunk_samples_sum", 0.0)
    if samples > 0:
        size = own.get("prometheus_tsdb_compaction_chunk_size_bytes_sum", 0.0)
        return Measured(
            size / samples,
            "Prometheus's own metrics: prometheus_tsdb_compaction_chunk_size_bytes_sum ÷ "
            "prometheus_tsdb_compaction_chunk_samples_sum",
        )
    return Measured(DOCUMENTED_BYTES_PER_SAMPLE, BYTES_PER_SAMPLE_SOURCE)


def _retention(prometheus: PrometheusSource, config: RunConfig) -> Measured:
    if config.cost.retention:
        return Measured(config.cost.retention, "cost.retention in the config")
    text = str(prometheus.runtime_info().get("storageRetention", ""))
    seconds = prometheus_duration(text)
    if seconds is None:
        return Measured(None, f"unknown: runtimeinfo storageRetention is {text!r} (no time limit)")
    return Measured(seconds, f"/api/v1/status/runtimeinfo storageRetention {text!r}")


def prometheus_usage(
    prometheus: PrometheusSource, config: RunConfig, inventory: Inventory | None
) -> PrometheusUsage:
    own_names = (
        "prometheus_tsdb_compaction_chunk_size_bytes_sum",
        "prometheus_tsdb_compaction_chunk_samples_sum",
        "process_resident_memory_bytes",
    )
    try:
        own = prometheus.own_metrics(own_names)
    except HarnessError as err:
        log.info("Prometheus's own metrics unavailable: %s", err)
        own = {}
    try:
        samples, job_samples = _samples_per_s(prometheus)
    except HarnessError as err:
        samples = job_samples = Measured(None, f"unknown: {err}")
    resident = own.get("process_resident_memory_bytes")
    return PrometheusUsage(
        head_series=_measure(
            lambda: Measured(
                prometheus.tsdb_status().get("headStats", {}).get("numSeries"),
                "/api/v1/status/tsdb headStats.numSeries",
            )
        ),
        job_series=Measured(
            inventory.job_series if inventory else None,
            f"scrape_samples_post_metric_relabeling of job {config.prometheus.job}'s targets "
            "(their largest in the window, summed)",
        ),
        samples_per_s=samples,
        job_samples_per_s=job_samples,
        bytes_per_sample=_bytes_per_sample(own),
        retention_s=_measure(lambda: _retention(prometheus, config)),
        resident_bytes=Measured(resident, "Prometheus's own process_resident_memory_bytes"),
    )


def cost_block(
    client: Any,
    prometheus: PrometheusSource,
    config: RunConfig,
    inventory: Inventory | None,
    own_requested: int,
) -> dict[str, Any]:
    """``run.cost``: the estimate, or why it could not be made (never a failed run)."""
    if not config.cost.enabled:
        return {"estimate": True, "skipped": "cost.enabled is false"}
    try:
        table = load_price_table(config.cost.price_table)
        if inventory is None:
            return {"estimate": True, "error": "no inventory of the window (see coverage)"}
        logs_client = cloudwatch.make_client(config.cloudwatch, "logs")
        usage = cloudwatch_usage(client, logs_client, config, inventory, own_requested)
        notes = _notes(config, table.region)
        return estimate(usage, prometheus_usage(prometheus, config, inventory), table, notes)
    except HarnessError as err:
        return {"estimate": True, "error": str(err)}


def _notes(config: RunConfig, table_region: str) -> list[str]:
    notes = [
        "Monthly figures extrapolate the rates of this run's window to 730 hours: a load test's "
        "window is not a month of production traffic.",
        "Prometheus and Grafana need a host of their own (the guide: a Linode 8 GB): compare its "
        "price with the CloudWatch total, and add object storage for long-term retention.",
    ]
    region = config.cloudwatch.region
    if region and region != table_region:
        notes.append(
            f"The price table is for {table_region}, the metrics are in {region}: set "
            "cost.price_table to that region's prices."
        )
    return notes
