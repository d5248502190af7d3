"""Grafana through its documented HTTP API: health, the Prometheus datasource, the latency panel.

Endpoints (grafana.com/docs/grafana/latest/developers/http_api/): ``GET /api/health`` (other.md),
``GET /api/datasources`` and ``GET /api/datasources/uid/:uid/health`` (data_source.md),
``GET /api/dashboards/uid/:uid`` and ``GET /api/search?type=dash-db&query=`` (dashboard.md,
folder_dashboard_search.md), ``POST /api/ds/query`` (data_source.md, "Query a data source").
The latency panels are found by what their queries compute. Each one's queries are run
through Grafana for the run's window and compared twice: series by series with what Prometheus
returns for the same query directly (``/api/v1/query_range``: ``grafana.series``), and point
by point with what CloudWatch showed for the route (``grafana.latency``, hosts/panel_check.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cwparity.config import RunConfig, parse_duration
from cwparity.hosts.common import guarded, result, skip, soften
from cwparity.hosts.http import get_json, grafana_session, post_json
from cwparity.hosts.panel_check import PanelReferences, judge_series, merge, reference_range
from cwparity.hosts.prometheus_host import check_listening, check_service
from cwparity.hosts.series import (
    compare_series,
    frames_to_series,
    grid_of,
    matrix_to_series,
    query_range,
)
from cwparity.judge.panel import LATENCY_KINDS, Shape, interpolate, query_shape
from cwparity.lint import LintContext
from cwparity.redact import public_url
from cwparity.results import CheckResult, Status
from cwparity.window import Window

KIND = "grafana"


def check_health(config: RunConfig) -> CheckResult:
    status, body = get_json(
        grafana_session(config.grafana, with_auth=False), f"{config.grafana.url}/api/health"
    )
    database = (body or {}).get("database")
    observed = {"http_status": status, "database": database, "version": (body or {}).get("version")}
    ok = status == 200 and database == "ok"
    reason = f"/api/health: HTTP {status}, database {database}, version {observed['version']}"
    return result("grafana.health", KIND, "grafana", ok, reason, observed)


def find_datasource(config: RunConfig) -> tuple[dict[str, Any] | None, str]:
    status, body = get_json(
        grafana_session(config.grafana), f"{config.grafana.url}/api/datasources"
    )
    if status != 200:
        return (
            None,
            f"GET /api/datasources answered HTTP {status}: {(body or {}).get('message', '')}",
        )
    name = config.grafana.datasource.name
    match = next((ds for ds in body if ds.get("name") == name), None)
    return (
        match,
        "" if match else f"no datasource named {name!r} (have {[ds.get('name') for ds in body]})",
    )


def check_datasource(config: RunConfig) -> CheckResult:
    name = config.grafana.datasource.name
    cid = f"grafana.datasource[{name}]"
    source, why = find_datasource(config)
    if source is None:
        return result(cid, KIND, name, False, why)
    # compared without credentials: the datasource keeps its own (basicAuth), and a
    # ``user:password@`` in the harness's URL is neither part of the address nor for a report
    wanted = public_url(config.grafana.datasource.url or config.prometheus.url).rstrip("/")
    points_at = public_url(str(source.get("url", ""))).rstrip("/")
    observed = {"type": source.get("type"), "url": points_at, "uid": source.get("uid")}
    if source.get("type") != "prometheus":
        return result(
            cid,
            KIND,
            name,
            False,
            f"{name} is of type {source.get('type')}, not prometheus",
            observed,
        )
    if points_at != wanted:
        return result(
            cid,
            KIND,
            name,
            False,
            f"{name} points at {points_at}, expected {wanted}",
            observed,
        )
    url = f"{config.grafana.url}/api/datasources/uid/{source['uid']}/health"
    status, body = get_json(grafana_session(config.grafana), url)
    health, message = (body or {}).get("status"), (body or {}).get("message", "")
    observed |= {"health_http_status": status, "health": health}
    if status != 200 or health != "OK":
        return result(
            cid,
            KIND,
            name,
            False,
            f"datasource health check failed: HTTP {status} {health}: {message}",
            observed,
        )
    return result(cid, KIND, name, True, f"prometheus at {wanted}, health OK: {message}", observed)


def find_dashboard(config: RunConfig) -> tuple[dict[str, Any] | None, str]:
    expect = config.grafana.dashboard
    assert expect is not None
    session = grafana_session(config.grafana)
    uid = expect.uid
    if uid is None:
        status, hits = get_json(
            session,
            f"{config.grafana.url}/api/search",
            params={"type": "dash-db", "query": expect.title},
        )
        if status != 200:
            return None, f"GET /api/search answered HTTP {status}"
        uid = next((h["uid"] for h in hits if h.get("title") == expect.title), None)
        if uid is None:
            return None, f"no dashboard titled {expect.title!r}"
    status, body = get_json(session, f"{config.grafana.url}/api/dashboards/uid/{uid}")
    if status != 200:
        return (
            None,
            f"dashboard {uid!r} not found (HTTP {status}: {(body or {}).get('message', '')})",
        )
    return body["dashboard"], ""


def all_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Panels, including those inside collapsed rows."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels") or []:
        found.append(panel)
        found.extend(panel.get("panels") or [])
    return found


#: Grafana's Prometheus data source "Scrape interval" default (jsonData.timeInterval)
GRAFANA_DEFAULT_SCRAPE_S = 15.0


def datasource_scrape_interval(config: RunConfig) -> float:
    """The scrape interval Grafana fills ``$__rate_interval`` from: the data source's setting."""
    source, _ = find_datasource(config)
    text = ((source or {}).get("jsonData") or {}).get("timeInterval")
    try:
        return parse_duration(text) if text else GRAFANA_DEFAULT_SCRAPE_S
    except ValueError:
        return GRAFANA_DEFAULT_SCRAPE_S


def prometheus_targets(panel: dict[str, Any]) -> list[dict[str, Any]]:
    """The panel's PromQL targets (a CloudWatch target beside them has no ``expr``)."""
    panel_type = (
        (panel.get("datasource") or {}).get("type")
        if isinstance(panel.get("datasource"), dict)
        else None
    )
    found = []
    for target in panel.get("targets") or []:
        source = target.get("datasource")
        kind = source.get("type") if isinstance(source, dict) else panel_type
        if target.get("expr") and kind in (None, "prometheus"):
            found.append(target)
    return found


@dataclass(frozen=True)
class LatencyPanel:
    panel: dict[str, Any]
    targets: list[tuple[dict[str, Any], Shape]]

    @property
    def title(self) -> str:
        return str(self.panel.get("title"))


def panel_shapes(
    panel: dict[str, Any], config: RunConfig, scrape: float
) -> list[tuple[dict[str, Any], Shape]]:
    context = LintContext.from_config(config, scrape)
    step = config.grafana.step
    return [
        (t, query_shape(interpolate(str(t["expr"]), step, scrape, 3600.0), context))
        for t in prometheus_targets(panel)
    ]


def latency_panels(
    dashboard: dict[str, Any], config: RunConfig, scrape: float
) -> list[LatencyPanel]:
    """The panels that plot latency, by what their queries compute (a ratio of ``_sum`` to
    ``_count``, or a quantile of the buckets), not by the first that names the histogram; with
    ``grafana.dashboard.panel``, only that one."""
    wanted = config.grafana.dashboard.panel if config.grafana.dashboard else None
    found = []
    for panel in all_panels(dashboard):
        if wanted is not None and panel.get("title") != wanted:
            continue
        shapes = [
            (t, shape)
            for t, shape in panel_shapes(panel, config, scrape)
            if shape.kind in LATENCY_KINDS
        ]
        if shapes or (wanted is not None and prometheus_targets(panel)):
            found.append(LatencyPanel(panel, shapes))
    return found


def _what_panels_compute(dashboard: dict[str, Any], config: RunConfig, scrape: float) -> str:
    kinds = [
        f"{p.get('title')!r}: {', '.join(s.kind for _, s in panel_shapes(p, config, scrape)) or 'no PromQL'}"
        for p in all_panels(dashboard)
        if p.get("type") != "row"
    ]
    return "; ".join(kinds) or "no panels"


def check_dashboard(config: RunConfig) -> tuple[CheckResult, list[LatencyPanel]]:
    expect = config.grafana.dashboard
    assert expect is not None
    label = expect.uid or expect.title or ""
    cid = f"grafana.dashboard[{label}]"
    dashboard, why = find_dashboard(config)
    if dashboard is None:
        return result(cid, KIND, label, False, why), []
    scrape = datasource_scrape_interval(config)
    panels = latency_panels(dashboard, config, scrape)
    title = dashboard.get("title")
    if not panels:
        wanted = (
            f"panel {expect.panel!r}"
            if expect.panel
            else (
                f"latency panel (a ratio of {config.prometheus.histogram}_sum to _count, or a "
                "histogram_quantile of its buckets)"
            )
        )
        reason = f"dashboard {title!r} has no {wanted}; its panels: {_what_panels_compute(dashboard, config, scrape)}"
        return result(cid, KIND, label, False, reason), []
    names = [
        f"{p.title!r} ({', '.join(s.kind for _, s in p.targets) or 'not latency'})" for p in panels
    ]
    reason = f"dashboard {title!r}: latency panels {', '.join(names)}"
    details = {
        "panels": [
            {"title": p.title, "exprs": [t.get("expr") for t, _ in p.targets]} for p in panels
        ]
    }
    return result(cid, KIND, label, True, reason, details=details), panels


def ds_query(config: RunConfig, uid: str, target: dict[str, Any], window: Window) -> Any:
    """The target's query through Grafana (``POST /api/ds/query``), range aligned to the step."""
    step = config.grafana.step
    start = window.start.timestamp() // step * step
    end = window.end.timestamp() // step * step
    query = {
        "refId": target.get("refId", "A"),
        "datasource": {"type": "prometheus", "uid": uid},
        "expr": target.get("expr"),
        "range": True,
        "instant": False,
        "intervalMs": int(step * 1000),
        "maxDataPoints": 11000,
    }
    body = {"from": str(int(start * 1000)), "to": str(int(end * 1000)), "queries": [query]}
    url = f"{config.grafana.url}/api/ds/query"
    return post_json(grafana_session(config.grafana), url, json=body), (start, end, step)


def compare_target(
    config: RunConfig, uid: str, target: dict[str, Any], window: Window, scrape: float
) -> tuple[list[str], int]:
    """What differs between Grafana's and Prometheus's answers to one panel query."""
    ref = target.get("refId", "A")
    (status, answer), (start, end, step) = ds_query(config, uid, target, window)
    result_for_ref = (answer or {}).get("results", {}).get(ref, {})
    if status != 200 or result_for_ref.get("error"):
        return [f"/api/ds/query answered HTTP {status}: {result_for_ref.get('error', '')}"], 0
    via_grafana = frames_to_series(result_for_ref.get("frames") or [])
    # ask Prometheus on the grid Grafana used (its step may be raised by the datasource's settings)
    start, end, step = grid_of(via_grafana, (start, end, step))
    # Grafana fills in $__interval, $__rate_interval and $__range before asking Prometheus
    expr = interpolate(str(target["expr"]), step, scrape, end - start)
    direct = matrix_to_series(query_range(config, expr, start, end, step))
    tolerance = (config.grafana.relative_tolerance, config.grafana.absolute_tolerance)
    return compare_series(via_grafana, direct, *tolerance)


def check_panel_series(config: RunConfig, panel: dict[str, Any], window: Window) -> CheckResult:
    """Each of the panel's queries through Grafana equals Prometheus's own answer."""
    title = str(panel.get("title"))
    cid = f"grafana.series[{title}]"
    source, why = find_datasource(config)
    if source is None:
        return result(cid, KIND, title, False, why)
    mismatches, compared = [], 0
    scrape = datasource_scrape_interval(config)
    for target in prometheus_targets(panel):
        problems, points = compare_target(config, source["uid"], target, window, scrape)
        mismatches += [f"{target.get('refId', 'A')}: {p}" for p in problems]
        compared += points
    observed = {"points_compared": compared, "mismatches": len(mismatches)}
    if mismatches:
        reason = f"Grafana and Prometheus differ: {mismatches[0]}"
        return result(cid, KIND, title, False, reason, observed, {"mismatches": mismatches[:20]})
    if compared == 0:
        reason = "the panel's queries returned no data for the window"
        return result(cid, KIND, title, False, reason, observed)
    return result(cid, KIND, title, True, f"{compared} points equal within the tolerance", observed)


def check_panel_latency(config: RunConfig, latency: LatencyPanel, window: Window) -> CheckResult:
    """What the panel shows, point by point, against what CloudWatch showed for its routes."""
    title = latency.title
    cid = f"grafana.latency[{title}]"
    if not latency.targets:
        reason = (
            "the panel's queries compute neither a mean (ratio of _sum to _count) nor a quantile"
        )
        return result(cid, KIND, title, False, reason)
    source, why = find_datasource(config)
    if source is None:
        return result(cid, KIND, title, False, why)
    refs = PanelReferences(
        config, window, reference_range([s for _, s in latency.targets], config.window.period)
    )
    results: list[CheckResult] = []
    for target, shape in latency.targets:
        ref = target.get("refId", "A")
        (status, answer), _ = ds_query(config, source["uid"], target, window)
        answered = (answer or {}).get("results", {}).get(ref, {})
        if status != 200 or answered.get("error"):
            reason = f"/api/ds/query answered HTTP {status}: {answered.get('error', '')}"
            return result(cid, KIND, title, False, reason)
        series = frames_to_series(answered.get("frames") or [])
        results += judge_series(title, series, shape, refs, latency.panel)
    if not results:
        return CheckResult(
            cid,
            KIND,
            title,
            Status.SKIP,
            "the panel's queries returned no data for the window",
            "host",
        )
    return merge(cid, title, results)


def host_checks(config: RunConfig, host: Any | None) -> list[CheckResult]:
    """grafana-server active+enabled and listening (systemd profile, on the monitoring host)."""
    gcfg = config.grafana
    service_id, listen_id = f"grafana.service[{gcfg.service}]", f"grafana.listen[{gcfg.port}]"
    if host is None or config.hosts.profile != "systemd":
        reason = "needs the systemd profile and a host (hosts.enabled)"
        return [skip(service_id, KIND, gcfg.service, reason), skip(listen_id, KIND, "", reason)]
    service = guarded(
        service_id, KIND, gcfg.service, lambda: check_service(host, gcfg.service, KIND)
    )
    listen = guarded(
        listen_id, KIND, str(gcfg.port), lambda: check_listening(host, gcfg.port, KIND)
    )
    return [soften(service, gcfg.strict), listen]


def grafana_checks(config: RunConfig, window: Window | None, host: Any | None) -> list[CheckResult]:
    """Every Grafana check: the service on the host, then the HTTP API."""
    datasource = config.grafana.datasource.name
    checks = host_checks(config, host)
    checks.append(guarded("grafana.health", KIND, "grafana", lambda: check_health(config)))
    checks.append(
        guarded(
            f"grafana.datasource[{datasource}]", KIND, datasource, lambda: check_datasource(config)
        )
    )
    return checks + dashboard_checks(config, window)


def dashboard_checks(config: RunConfig, window: Window | None) -> list[CheckResult]:
    expect = config.grafana.dashboard
    if expect is None:
        reason = "no grafana.dashboard (uid or title) configured"
        return [skip("grafana.dashboard", KIND, "dashboard", reason)]
    label = expect.uid or expect.title or ""
    holder: dict[str, Any] = {"panels": []}

    def dashboard() -> CheckResult:
        check, holder["panels"] = check_dashboard(config)
        return check

    checks = [guarded(f"grafana.dashboard[{label}]", KIND, label, dashboard)]
    panels: list[LatencyPanel] = holder["panels"]
    if not panels:
        return [*checks, skip(f"grafana.series[{label}]", KIND, label, "no latency panel to query")]
    for latency in panels:
        checks += panel_checks(config, latency, window)
    return checks


def panel_checks(
    config: RunConfig, latency: LatencyPanel, window: Window | None
) -> list[CheckResult]:
    """``grafana.series`` (Grafana = Prometheus) and ``grafana.latency`` (= CloudWatch)."""
    title = latency.title
    if window is None:
        return [skip(f"grafana.series[{title}]", KIND, title, "no run window to query")]

    def series() -> CheckResult:
        return check_panel_series(config, latency.panel, window)

    def latency_check() -> CheckResult:
        return check_panel_latency(config, latency, window)

    return [
        guarded(f"grafana.series[{title}]", KIND, title, series),
        guarded(f"grafana.latency[{title}]", KIND, title, latency_check),
    ]
