"""Chart geometry for the report: per route, CloudWatch and Prometheus overlaid period by period.

Pure Python: this module turns the aligned per-period series (``run.periods`` in results.json)
into numbers — points, tick positions, tolerance boxes — and the template draws them as inline
SVG. No chart library and no script, so the report renders offline and as an email attachment;
every label goes through Jinja2's autoescaping.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 14, 40


@dataclass
class Series:
    name: str
    css: str
    values: list[float | None]
    segments: list[str] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    unit: str
    labels: list[str]
    series: list[Series]
    bands: list[tuple[float, float] | None]
    band_note: str = ""
    failed: list[dict[str, Any]] = field(default_factory=list)
    x_title: str = "period start (UTC)"
    width: int = WIDTH
    height: int = HEIGHT
    x_ticks: list[dict[str, Any]] = field(default_factory=list)
    y_ticks: list[dict[str, Any]] = field(default_factory=list)
    boxes: list[dict[str, Any]] = field(default_factory=list)
    plot: dict[str, float] = field(default_factory=dict)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _instant(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


def _label(text: Any, binned: bool = False) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    # a bin of periods on a long window: the date matters more than the seconds
    return moment.strftime("%m-%d %H:%M" if binned else "%H:%M:%S")


def _labels(rows: list[dict[str, Any]]) -> list[str]:
    binned = any(_num(r.get("periods")) for r in rows)
    return [_label(r.get("period_start"), binned) for r in rows]


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^n) that splits ``span`` into about ``ticks``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _fmt_tick(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"


def layout(chart: Chart) -> Chart:
    """Fill in the pixel geometry of ``chart`` from its values and bands."""
    plot_w, plot_h = chart.width - LEFT - RIGHT, chart.height - TOP - BOTTOM
    values = [v for s in chart.series for v in s.values if v is not None]
    values += [edge for band in chart.bands if band for edge in band]
    top = max([*values, 0.0]) or 1.0
    step = nice_step(top)
    y_max = step * math.ceil(top / step * 1.05) if top > 0 else 1.0
    count = max(1, len(chart.labels))
    slot = plot_w / count

    def x_at(i: int) -> float:
        return round(LEFT + slot * (i + 0.5), 1)

    def y_at(v: float) -> float:
        return round(TOP + plot_h * (1 - max(0.0, min(v, y_max)) / y_max), 1)

    chart.plot = {"x": LEFT, "y": TOP, "w": plot_w, "h": plot_h, "bottom": TOP + plot_h}
    every = max(1, math.ceil(count / 8))
    chart.x_ticks = [
        {"x": x_at(i), "label": label}
        for i, label in enumerate(chart.labels)
        if i % every == 0 or i == count - 1
    ]
    ticks = round(y_max / step)
    chart.y_ticks = [{"y": y_at(k * step), "label": _fmt_tick(k * step)} for k in range(ticks + 1)]
    box_w = round(min(slot * 0.6, 40), 1)
    for i, band in enumerate(chart.bands):
        if band is not None:
            low, high = y_at(band[1]), y_at(band[0])
            allowed = f"allowed {_fmt_tick(band[0])} – {_fmt_tick(band[1])} {chart.unit}"
            chart.boxes.append(
                {
                    "x": round(x_at(i) - box_w / 2, 1),
                    "y": low,
                    "w": box_w,
                    "h": round(high - low, 1),
                    "label": f"{chart.labels[i]}: {allowed}",
                }
            )
    for series in chart.series:
        _draw_series(series, chart, x_at, y_at)
    for mark in chart.failed:
        mark["x"], mark["w"] = round(x_at(mark["index"]) - slot / 2, 1), round(slot, 1)
    return chart


def _draw_series(series: Series, chart: Chart, x_at: Any, y_at: Any) -> None:
    """Polyline segments (broken where a value is missing) and one marker per value."""
    current: list[str] = []
    for i, value in enumerate(series.values):
        if value is None:
            if current:
                series.segments.append(" ".join(current))
            current = []
            continue
        x, y = x_at(i), y_at(value)
        current.append(f"{x},{y}")
        series.markers.append(
            {"x": x, "y": y, "label": f"{chart.labels[i]} {series.name}: {value:.4g} {chart.unit}"}
        )
    if current:
        series.segments.append(" ".join(current))


def _check_index(checks: list[dict[str, Any]]) -> dict[tuple[str, str, float], dict[str, Any]]:
    """Per-period checks by (kind, route, period start as unix time)."""
    index = {}
    for check in checks:
        scope = check.get("scope")
        instant = _instant(scope) if scope and scope != "window" else None
        if instant is not None:
            index[(str(check.get("kind")), str(check.get("subject")), instant)] = check
    return index


def _ratio_ms(total: Any, count: Any) -> float | None:
    total, count = _num(total), _num(count)
    if total is None or not count:
        return None
    return total / count * 1000.0


def _bound(check: dict[str, Any] | None) -> float | None:
    tolerance = (check or {}).get("tolerance") or {}
    return _num(tolerance.get("bound")) if isinstance(tolerance, dict) else None


def _failed(
    checks: list[dict[str, Any] | None], rows: list[dict[str, Any]] | None = None, kind: str = ""
) -> list[dict[str, Any]]:
    """Shaded slots: a failed check's period, or a bin of periods holding failed ones."""
    marks = [
        {"index": i, "label": f"{c.get('id')}: {c.get('reason')}"}
        for i, c in enumerate(checks)
        if c and c.get("status") in ("fail", "error")
    ]
    shaded = {m["index"] for m in marks}
    for i, row in enumerate(rows or []):
        count = _num(row.get(f"{kind}_failed"))
        if count and i not in shaded:
            label = f"{kind}: {count:g} of {_num(row.get('periods')) or 1:g} periods failed"
            marks.append({"index": i, "label": f"{row.get('period_start')} {label}"})
    return marks


def count_chart(route: str, rows: list[dict[str, Any]], checks: list, slack: float) -> Chart:
    """Requests per period; the box is Prometheus ± the period check's bound (CloudWatch must
    land in it). Without a check, the bound is the derived ``prom_count_u`` + ``slack``."""
    cw = [_num(r.get("cw_count")) for r in rows]
    prom = [_num(r.get("prom_count")) for r in rows]
    bounds = []
    for row, check in zip(rows, checks, strict=True):
        bound = _bound(check)
        if bound is None and _num(row.get("prom_count_u")) is not None:
            bound = float(row["prom_count_u"]) + slack
        bounds.append(bound)
    return Chart(
        title=f"Requests per period — {route}",
        unit="requests",
        labels=_labels(rows),
        series=[Series("CloudWatch", "cw", cw), Series("Prometheus", "prom", prom)],
        bands=_bands(prom, bounds),
        band_note="box: Prometheus ± the period's bound (CloudWatch must fall inside)",
        failed=_failed(checks, rows, "count"),
    )


def _bands(
    centres: list[float | None], bounds: list[float | None]
) -> list[tuple[float, float] | None]:
    """A tolerance box around each centre value, where both are known (never below zero)."""
    return [
        None if centre is None or bound is None else (max(0.0, centre - bound), centre + bound)
        for centre, bound in zip(centres, bounds, strict=True)
    ]


def latency_chart(route: str, rows: list[dict[str, Any]], checks: list) -> Chart:
    """Mean latency per period (Δsum / Δcount); the box is CloudWatch's mean ± the check's bound."""
    cw = [_ratio_ms(r.get("cw_sum"), r.get("cw_count")) for r in rows]
    prom = [_ratio_ms(r.get("prom_sum"), r.get("prom_count")) for r in rows]
    return Chart(
        title=f"Mean latency per period — {route}",
        unit="ms",
        labels=_labels(rows),
        series=[Series("CloudWatch", "cw", cw), Series("Prometheus", "prom", prom)],
        bands=_bands(cw, [_bound(check) for check in checks]),
        band_note="box: CloudWatch mean ± the mean-latency tolerance (Prometheus must fall inside)",
        failed=_failed(checks, rows, "mean_latency"),
    )


def extra_charts(route: str, rows: list[dict[str, Any]]) -> list[Chart]:
    """Any further ``cw_X`` / ``prom_X`` pair in the series (e.g. percentiles), drawn as is."""
    known = {"count", "count_u", "sum", "sum_u"}
    keys = sorted({k[3:] for r in rows for k in r if k.startswith("cw_")} - known)
    charts = []
    for key in keys:
        if not any(f"prom_{key}" in r for r in rows):
            continue
        charts.append(
            Chart(
                title=f"{key} per period — {route}",
                unit="",
                labels=[_label(r.get("period_start")) for r in rows],
                series=[
                    Series("CloudWatch", "cw", [_num(r.get(f"cw_{key}")) for r in rows]),
                    Series("Prometheus", "prom", [_num(r.get(f"prom_{key}")) for r in rows]),
                ],
                bands=[None] * len(rows),
            )
        )
    return charts


def _observed(check: dict[str, Any] | None) -> dict[str, Any]:
    observed = (check or {}).get("observed")
    return observed if isinstance(observed, dict) else {}


def _ranges(seen: list[dict[str, Any]]) -> list[tuple[float, float] | None]:
    """The histogram's bucket range per point, where the check observed one."""
    ranges: list[tuple[float, float] | None] = []
    for observed in seen:
        low, high = _num(observed.get("bucket_lower_ms")), _num(observed.get("bucket_upper_ms"))
        ranges.append((low, high) if low is not None and high is not None else None)
    return ranges


def _stat(check: dict[str, Any], kind: str) -> str | None:
    match = re.match(rf"^{re.escape(kind)}\.([^\[]+)\[", str(check.get("id")))
    return match.group(1) if match else None


def percentile_charts(route: str, rows: list[dict[str, Any]], checks: list) -> list[Chart]:
    """Per percentile: CloudWatch's pNN per period, histogram_quantile's estimate, and the box
    the percentile checks allow (the bucket range holding the rank). Only where CloudWatch
    answered percentiles (real CloudWatch; moto cannot)."""
    by_stat: dict[str, dict[float, dict[str, Any]]] = {}
    for check in checks:
        stat, instant = _stat(check, "percentile"), _instant(check.get("scope"))
        if check.get("kind") == "percentile" and check.get("subject") == route and stat and instant:
            by_stat.setdefault(stat, {})[instant] = check
    instants = [_instant(r.get("period_start")) for r in rows]
    charts = []
    for stat in sorted(by_stat):
        found = [by_stat[stat].get(t) if t is not None else None for t in instants]
        seen = [_observed(c) for c in found]
        charts.append(
            Chart(
                title=f"{stat} latency per period — {route}",
                unit="ms",
                labels=[_label(r.get("period_start")) for r in rows],
                series=[
                    Series("CloudWatch", "cw", [_num(o.get("cloudwatch_ms")) for o in seen]),
                    Series(
                        "Prometheus histogram_quantile",
                        "prom",
                        [_num(o.get("histogram_quantile_ms")) for o in seen],
                    ),
                ],
                bands=_ranges(seen),
                band_note="box: the histogram buckets that hold the rank (CloudWatch must fall inside)",
                failed=_failed(found),
            )
        )
    return charts


def client_percentile_chart(route: str, checks: list) -> Chart | None:
    """Locust's client-side p50/p90/p99 against what the server histogram allows for them."""
    found = [
        c
        for c in checks
        if c.get("kind") == "percentile_client"
        and c.get("subject") == route
        and _stat(c, "percentile_client")
    ]
    if not found:
        return None
    seen = [_observed(c) for c in found]
    return Chart(
        title=f"Client and server percentiles — {route}",
        unit="ms",
        labels=[str(_stat(c, "percentile_client")) for c in found],
        series=[
            Series("Locust (client)", "client", [_num(o.get("locust_ms")) for o in seen]),
            Series(
                "Prometheus histogram_quantile",
                "prom",
                [_num(o.get("histogram_quantile_ms")) for o in seen],
            ),
        ],
        bands=_ranges(seen),
        band_note="box: the server histogram's range; the client (which also times the network) must not be below it",
        failed=_failed(found),
        x_title="percentile (whole window)",
    )


def route_charts(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per route (in the order the series list them): its charts, laid out."""
    run = document.get("run") or {}
    periods = [r for r in run.get("periods") or [] if isinstance(r, dict)]
    checks = [c for c in document.get("checks") or [] if isinstance(c, dict)]
    index = _check_index(checks)
    tolerances = ((run.get("config") or {}).get("tolerances") or {}).get("count") or {}
    slack = _num(tolerances.get("slack")) or 0.0
    routes: dict[str, list[dict[str, Any]]] = {}
    for row in periods:
        routes.setdefault(str(row.get("route")), []).append(row)
    skipped = _not_compared(run)
    result: list[dict[str, Any]] = []
    for route, rows in routes.items():
        if route in skipped:
            result.append({"route": route, "charts": [], "note": skipped[route]})
            continue
        rows = sorted(rows, key=lambda r: str(r.get("period_start")))
        instants = [_instant(r.get("period_start")) for r in rows]
        counts = [index.get(("count", route, t)) if t else None for t in instants]
        means = [index.get(("mean_latency", route, t)) if t else None for t in instants]
        charts = [count_chart(route, rows, counts, slack), latency_chart(route, rows, means)]
        charts += percentile_charts(route, rows, checks) + extra_charts(route, rows)
        client = client_percentile_chart(route, checks)
        charts += [client] if client else []
        result.append({"route": route, "charts": [layout(c) for c in charts]})
    return result


def _not_compared(run: dict[str, Any]) -> dict[str, str]:
    """Routes the run did not compare (side by side, one side only): no charts, the reason."""
    comparison = run.get("comparison")
    routes = comparison.get("routes") if isinstance(comparison, dict) else None
    return {
        str(r.get("route")): f"Not compared: {r.get('why', '')}."
        for r in routes or []
        if isinstance(r, dict) and r.get("compared") is False
    }
