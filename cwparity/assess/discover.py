"""``cwparity discover``: read what exists on both sides and propose the mapping.

CloudWatch: ListMetrics (paged) for the namespace with every dimension set, each set's
SampleCount over the window, the unit the metric is published in, the alarms reading the
namespace and the log groups. Prometheus: the job's targets, the histogram's series and their
label values (path, method, status, instance). The mapping proposed: which dimension holds the
path and which the method, which labels match them, and the units on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cwparity.alarms.model import AlarmSpec
from cwparity.align import Sampling
from cwparity.assess.inventory import Inventory, take_inventory
from cwparity.config import RunConfig
from cwparity.errors import HarnessError
from cwparity.judge.coverage import CoverageRow, coverage_rows
from cwparity.sources import cloudwatch, cloudwatch_inventory
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

log = logging.getLogger(__name__)
T = TypeVar("T")

UNITS = ("Seconds", "Milliseconds", "Microseconds")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class Discovery:
    config: RunConfig
    inventory: Inventory
    rows: list[CoverageRow]
    targets: list[dict[str, Any]]
    label_values: dict[str, list[str]]
    cloudwatch_unit: str | None
    alarms: list[AlarmSpec] = field(default_factory=list)
    log_groups: list[cloudwatch_inventory.LogGroup] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def both_sides(self) -> list[CoverageRow]:
        return [r for r in self.rows if r.state in ("both", "templated")]

    def app_url(self) -> str | None:
        """Where the app is: the job's first target, as Prometheus scrapes it."""
        for target in self.targets:
            url = str(target.get("scrapeUrl", ""))
            if url:
                return url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        return None


def published_unit(
    client: Any, config: RunConfig, rows: list[CoverageRow], window: Window
) -> str | None:
    """The unit CloudWatch stored the metric in: GetMetricData filtered by each unit in turn."""
    busiest = max((r for r in rows if r.cloudwatch > 0), key=lambda r: r.cloudwatch, default=None)
    if busiest is None:
        return None
    cw = config.cloudwatch
    dims = [
        {"Name": cw.endpoint_dimension, "Value": busiest.path},
        {"Name": cw.method_dimension, "Value": busiest.method},
        *({"Name": k, "Value": v} for k, v in cw.extra_dimensions.items()),
    ]
    metric = {"Namespace": cw.namespace, "MetricName": cw.metric_name, "Dimensions": dims}
    queries = [
        {
            "Id": f"unit{i}",
            "MetricStat": {
                "Metric": metric,
                "Period": window.period,
                "Stat": "SampleCount",
                "Unit": unit,
            },
            "ReturnData": True,
        }
        for i, unit in enumerate(UNITS)
    ]
    for result in cloudwatch._paged_results(client, queries, window):
        if result["Values"]:
            return UNITS[int(result["Id"].removeprefix("unit"))]
    return None


def _read(found: Discovery, name: str, read: Callable[[], T], default: T) -> T:
    """One reading; a failure is a problem line in the output, not a stop."""
    try:
        return read()
    except HarnessError as err:
        found.problems.append(f"{name}: {err}")
        return default


def _side_readings(
    client: Any, prometheus: PrometheusSource, config: RunConfig, found: Discovery
) -> None:
    """Alarms, log groups, targets and label values around the inventory."""
    start, end = found.inventory.window.start.timestamp(), found.inventory.window.end.timestamp()
    histogram = f'{{__name__="{config.prometheus.histogram}_count",{prometheus.selector()[1:]}'
    labels = (config.prometheus.path_label, config.prometheus.method_label, "status", "instance")
    found.alarms = _read(
        found,
        "alarms",
        lambda: cloudwatch_inventory.alarms_on(client, config.cloudwatch.namespace),
        [],
    )
    found.log_groups = _read(
        found,
        "log groups",
        lambda: cloudwatch_inventory.log_groups(
            cloudwatch.make_client(config.cloudwatch, "logs"), config.cost.log_group_prefix
        ),
        [],
    )
    found.targets = _read(found, "targets", prometheus.job_targets, [])
    found.label_values = _read(
        found,
        "label values",
        lambda: {label: prometheus.label_values(label, histogram, start, end) for label in labels},
        {},
    )


def discover(
    client: Any, prometheus: PrometheusSource, config: RunConfig, window: Window, sampling: Sampling
) -> Discovery:
    inventory = take_inventory(client, prometheus, config, window, sampling)
    rows = coverage_rows(inventory.cloudwatch, inventory.prometheus, config.coverage.ignore)
    found = Discovery(config, inventory, rows, [], {}, published_unit(client, config, rows, window))
    _side_readings(client, prometheus, config, found)
    found.problems += mapping_problems(found)
    return found


def mapping_problems(found: Discovery) -> list[str]:
    """What the proposed mapping cannot vouch for, in words (each one line)."""
    config, problems = found.config, []
    if not found.inventory.cloudwatch:
        problems.append(
            f"CloudWatch: no {config.cloudwatch.metric_name} with dimensions "
            f"{config.cloudwatch.endpoint_dimension} + {config.cloudwatch.method_dimension} in "
            f"{config.cloudwatch.namespace} had data in the window"
        )
    if not found.inventory.prometheus:
        problems.append(
            f"Prometheus: no {config.prometheus.histogram}_count series for job "
            f"{config.prometheus.job} in the window"
        )
    methods = found.label_values.get(config.prometheus.method_label, [])
    if methods and not {m.upper() for m in methods} <= HTTP_METHODS:
        problems.append(
            f"label {config.prometheus.method_label!r} holds {methods[:5]}: not HTTP methods"
        )
    if found.cloudwatch_unit and found.cloudwatch_unit != config.cloudwatch.unit:
        problems.append(
            f"CloudWatch stores the metric in {found.cloudwatch_unit}; the config says "
            f"{config.cloudwatch.unit} (the starter config uses {found.cloudwatch_unit})"
        )
    return problems
