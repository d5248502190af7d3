"""Dashboard as code: a Grafana dashboard generated from the mapping, CloudWatch beside Prometheus.

Built with Grafana's own typed builders (grafana-foundation-sdk), so the JSON follows Grafana's
dashboard model. One row per route: on the left the route's ``EndpointLatency`` Average through
Grafana's CloudWatch data source, on the right its Prometheus equivalent, the per-period mean
the PromQL lint recommends (``sum by (path, method) (rate(x_sum[5m])) / sum by (path, method)
(rate(x_count[5m]))``, never the guide's cumulative ratio). Data sources are dashboard variables
(``${prometheus}``, ``${cloudwatch}``), so the file loads through Grafana's file provisioning in
any Grafana. cwparity's Grafana checks find the Prometheus panels as latency panels.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import cloudwatch as cw_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom_builders
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import cloudwatch as cw_models
from grafana_foundation_sdk.models.dashboard import DataSourceRef, GridPos

from cwparity.config import RunConfig
from cwparity.lint import LintContext, suggested_ratio

#: Grafana's unit ids (fieldConfig.defaults.unit) for CloudWatch's units and the histogram's
GRAFANA_UNITS = {"Seconds": "s", "Milliseconds": "ms", "Microseconds": "µs"}
PROMETHEUS_UNITS = {"seconds": "s", "milliseconds": "ms"}
PROMETHEUS_DS = DataSourceRef(type_val="prometheus", uid="${prometheus}")
CLOUDWATCH_DS = DataSourceRef(type_val="cloudwatch", uid="${cloudwatch}")
WIDTH, HEIGHT = 12, 8


def route_query(config: RunConfig, method: str, path: str, scrape_interval: float | None) -> str:
    """The lint's recommended per-period mean latency, for one route."""
    import promql_parser as pp

    prom = config.prometheus
    matchers = f'{prom.path_label}="{_escape(path)}",{prom.method_label}="{method}"'
    selector = pp.parse(f"{prom.histogram}_count{{{matchers}}}")
    assert isinstance(selector, pp.VectorSelector)
    context = LintContext.from_config(config, scrape_interval)
    return suggested_ratio(prom.histogram, context, selector.matchers.matchers)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _cloudwatch_panel(config: RunConfig, method: str, path: str, y: int) -> Any:
    cw = config.cloudwatch
    dimensions: dict[str, str | list[str]] = {
        cw.endpoint_dimension: path,
        cw.method_dimension: method,
        **cw.extra_dimensions,
    }
    query = (
        cw_builders.CloudWatchMetricsQuery()
        .ref_id("A")
        .datasource(CLOUDWATCH_DS)
        .query_mode(cw_models.CloudWatchQueryMode.METRICS)
        .metric_query_type(cw_models.MetricQueryType.SEARCH)
        .metric_editor_mode(cw_models.MetricEditorMode.BUILDER)
        .region(cw.region or "default")
        .namespace(cw.namespace)
        .metric_name(cw.metric_name)
        .dimensions(dimensions)
        .statistic("Average")
        .period(str(config.window.period))
        .match_exact(True)
    )
    return (
        timeseries.Panel()
        .title(f"{method} {path} — CloudWatch {cw.metric_name} (Average)")
        .datasource(CLOUDWATCH_DS)
        .with_target(query)
        .unit(GRAFANA_UNITS[cw.unit])
        .grid_pos(_grid(0, y, WIDTH, HEIGHT))
    )


def _grid(x: int, y: int, w: int, h: int) -> GridPos:
    return GridPos(h=h, w=w, x=x, y=y)


def _prometheus_panel(
    config: RunConfig, method: str, path: str, y: int, scrape: float | None
) -> Any:
    expr = route_query(config, method, path, scrape)
    query = (
        prom_builders.Dataquery()
        .ref_id("A")
        .datasource(PROMETHEUS_DS)
        .expr(expr)
        .range()
        .legend_format(
            f"{{{{{config.prometheus.method_label}}}}} {{{{{config.prometheus.path_label}}}}}"
        )
    )
    return (
        timeseries.Panel()
        .title(f"{method} {path} — Prometheus mean latency")
        .datasource(PROMETHEUS_DS)
        .with_target(query)
        .unit(PROMETHEUS_UNITS[config.prometheus.unit])
        .grid_pos(_grid(WIDTH, y, WIDTH, HEIGHT))
    )


def uid_for(config: RunConfig) -> str:
    """A stable uid (Grafana: 8-40 characters of letters, digits, - and _)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", f"cwparity-{config.name}").strip("-")
    return slug[:40]


def build_dashboard(
    config: RunConfig, routes: Sequence[tuple[str, str]], scrape_interval: float | None = None
) -> dict[str, Any]:
    """The dashboard's JSON model (what Grafana's file provisioning reads)."""
    board = (
        dash.Dashboard(f"cwparity: {config.cloudwatch.metric_name}, CloudWatch and Prometheus")
        .uid(uid_for(config))
        .tags(["cwparity", "migration"])
        .time("now-1h", "now")
        .refresh("1m")
        .with_variable(dash.DatasourceVariable("prometheus").label("Prometheus").type("prometheus"))
        .with_variable(dash.DatasourceVariable("cloudwatch").label("CloudWatch").type("cloudwatch"))
    )
    for index, (method, path) in enumerate(routes):
        y, first_id = index * (HEIGHT + 1), 3 * index + 1
        row = dash.Row(f"{method} {path}").id(first_id).grid_pos(_grid(0, y, 2 * WIDTH, 1))
        board = board.with_row(row)
        board = board.with_panel(_cloudwatch_panel(config, method, path, y + 1).id(first_id + 1))
        prometheus = _prometheus_panel(config, method, path, y + 1, scrape_interval)
        board = board.with_panel(prometheus.id(first_id + 2))
    return _without_nulls(json.loads(json.dumps(board.build(), cls=JSONEncoder)))


def _without_nulls(value: Any) -> Any:
    """The SDK writes unset optional fields as null; Grafana's own exports leave them out."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def write_dashboard(config: RunConfig, routes: Sequence[tuple[str, str]], path: Path) -> Path:
    model = build_dashboard(config, routes, config.prometheus.scrape_interval)
    path.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
