"""The report's Alarms section: per alarm, both timelines on one chart, its rules and verdicts.

Pure geometry from ``run.alarms`` in results.json (what ``alarms.replay`` recorded): the
datapoints CloudWatch's alarm compared (and Prometheus's statistic for the same periods) against
the threshold above, and below them one strip per side — CloudWatch's state after each period,
each rule's firing stretches. Drawn by the template as inline SVG; every label is autoescaped.
Reads defensively: a record of another version renders what it can.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from cwparity.report.charts import _fmt_tick, _instant, _num, nice_step

WIDTH, PLOT_H, STRIP_H, STRIP_GAP = 760, 150, 16, 6
LEFT, RIGHT, TOP, AXIS = 200, 34, 12, 22
LABEL_CHARS = 30
STATE_CSS = {"ALARM": "alarm", "OK": "ok", "INSUFFICIENT_DATA": "nodata"}


def _clock(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%H:%M:%S")


def alarm_views(run: dict[str, Any]) -> list[dict[str, Any]]:
    records = run.get("alarms")
    if not isinstance(records, list):
        return []
    return [_view(r) for r in records if isinstance(r, dict)]


def _view(record: dict[str, Any]) -> dict[str, Any]:
    rules = [r for r in record.get("rules") or [] if isinstance(r, dict)]
    view = {
        "name": str(record.get("alarm") or "(unnamed alarm)"),
        "describe": str(record.get("describe") or ""),
        "skip": record.get("skip"),
        "rules": [_rule_row(r) for r in rules],
        "marginal": ", ".join(str(m) for m in record.get("marginal") or []),
        "chart": None,
    }
    if not record.get("skip"):
        view["chart"] = chart(record, rules)
    return view


def _rule_row(rule: dict[str, Any]) -> dict[str, Any]:
    status = str(rule.get("status") or "unknown")
    return {
        "alert": str(rule.get("alert") or ""),
        "source": str(rule.get("source") or ""),
        "file": str(rule.get("file") or ""),
        "expr": str(rule.get("expr") or ""),
        "for": str(rule.get("for") or ""),
        "status": status,
        "status_class": status
        if status in ("pass", "fail", "error", "skip", "warn")
        else "unknown",
        "reason": str(rule.get("reason") or ""),
        "check_id": str(rule.get("check_id") or ""),
        "notes": [str(n) for n in rule.get("notes") or []],
    }


def chart(record: dict[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Geometry of one alarm's chart: values above, state and firing strips below."""
    window = record.get("window") or {}
    start, end = _instant(window.get("start")), _instant(window.get("end"))
    if start is None or end is None or end <= start:
        return None
    points = [p for p in record.get("cloudwatch") or [] if isinstance(p, dict)]
    prom = [p for p in record.get("prometheus") or [] if isinstance(p, dict)]
    threshold = _num(record.get("threshold"))
    plot_w = WIDTH - LEFT - RIGHT
    strips = 1 + len(rules)
    height = TOP + PLOT_H + AXIS + strips * (STRIP_H + STRIP_GAP) + 6

    def x_at(stamp: float) -> float:
        return round(LEFT + plot_w * (min(max(stamp, start), end) - start) / (end - start), 1)

    values = [v for p in [*points, *prom] if (v := _num(p.get("value"))) is not None]
    top = max([*values, threshold or 0.0, 0.0]) or 1.0
    step = nice_step(top)
    y_max = step * math.ceil(top / step * 1.1)

    def y_at(value: float) -> float:
        return round(TOP + PLOT_H * (1 - max(0.0, min(value, y_max)) / y_max), 1)

    unit = str(record.get("unit") or "")
    return {
        "width": WIDTH,
        "height": height,
        "plot": {"x": LEFT, "y": TOP, "w": plot_w, "h": PLOT_H, "bottom": TOP + PLOT_H},
        "unit": unit,
        "title": f"{record.get('statistic') or 'value'} per {record.get('period')} s period",
        "y_ticks": [
            {"y": y_at(k * step), "label": _fmt_tick(k * step)}
            for k in range(round(y_max / step) + 1)
        ],
        "x_ticks": _x_ticks(start, end, x_at),
        "threshold": None
        if threshold is None
        else {"y": y_at(threshold), "label": f"threshold {threshold:g} {unit}"},
        "series": [
            _series("CloudWatch datapoint", "cw", points, x_at, y_at, unit),
            _series("Prometheus, same period", "prom", prom, x_at, y_at, unit),
        ],
        "strips": [_state_strip(points, start, end, x_at, 0), *_rule_strips(rules, end, x_at)],
    }


def _x_ticks(start: float, end: float, x_at: Any) -> list[dict[str, Any]]:
    step = nice_step(end - start, 6)
    first = math.ceil(start / step) * step
    ticks, at = [], first
    while at <= end + 1e-9:
        ticks.append({"x": x_at(at), "label": _clock(at)})
        at += step
    return ticks


def _series(
    name: str, css: str, points: list[dict[str, Any]], x_at: Any, y_at: Any, unit: str
) -> dict[str, Any]:
    """Each value at its period's end: the moment the alarm compares it."""
    segments: list[str] = []
    current: list[str] = []
    markers: list[dict[str, Any]] = []
    for point in points:
        end, value = _instant(point.get("end")), _num(point.get("value"))
        if end is None or value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x, y = x_at(end), y_at(value)
        current.append(f"{x},{y}")
        markers.append({"x": x, "y": y, "label": f"{_clock(end)} {name}: {value:.4g} {unit}"})
    if current:
        segments.append(" ".join(current))
    return {"name": name, "css": css, "segments": segments, "markers": markers}


def _strip_y(row: int) -> float:
    return TOP + PLOT_H + AXIS + row * (STRIP_H + STRIP_GAP)


def _state_strip(
    points: list[dict[str, Any]], start: float, end: float, x_at: Any, row: int
) -> dict[str, Any]:
    """CloudWatch's state from each period's end until the next evaluation."""
    ends = [(_instant(p.get("end")), str(p.get("state") or "")) for p in points]
    known = [(t, s) for t, s in ends if t is not None]
    blocks = []
    for (at, state), following in zip(known, [*known[1:], (end, "")], strict=True):
        stop = following[0] if following[0] is not None else end
        blocks.append(
            {
                "x": x_at(at),
                "w": max(0.8, round(x_at(stop) - x_at(at), 1)),
                "css": STATE_CSS.get(state, "nodata"),
                "label": f"CloudWatch {state} from {_clock(at)}",
            }
        )
    return {
        "y": _strip_y(row),
        "h": STRIP_H,
        "label": "CloudWatch state",
        "status": "",
        "blocks": blocks,
    }


def _rule_strips(rules: list[dict[str, Any]], end: float, x_at: Any) -> list[dict[str, Any]]:
    strips = []
    for row, rule in enumerate(rules, start=1):
        blocks = []
        for episode in rule.get("firing") or []:
            if not isinstance(episode, list | tuple) or len(episode) != 2:
                continue
            begin, stop = _num(episode[0]), _num(episode[1])
            if begin is None:
                continue
            stop = end if stop is None else stop
            blocks.append(
                {
                    "x": x_at(begin),
                    "w": max(0.8, round(x_at(stop) - x_at(begin), 1)),
                    "css": "firing",
                    "label": f"{rule.get('alert')} firing {_clock(begin)}–{_clock(stop)}",
                }
            )
        strips.append(
            {
                "y": _strip_y(row),
                "h": STRIP_H,
                "label": _short(str(rule.get("alert") or "rule")),
                "status": str(rule.get("status") or ""),
                "blocks": blocks,
            }
        )
    return strips


def _short(text: str) -> str:
    """A strip label that fits left of the plot (the full name is in the table below)."""
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
