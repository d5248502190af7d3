"""The report's coverage and cost sections, as plain values read from results.json.

Both read defensively (a run without them, or an older results.json, renders without them).
"""

from __future__ import annotations

import math
from typing import Any

STATE_TEXT = {
    "both": "both sides",
    "templated": "both (templated)",
    "cloudwatch_only": "CloudWatch only",
    "prometheus_only": "Prometheus only",
    "ignored": "ignored",
}
_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def coverage_view(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per route seen in the window: each side's requests, series, and the verdict."""
    rows = []
    for check in checks:
        if not isinstance(check, dict) or check.get("kind") != "coverage":
            continue
        observed = _mapping(check.get("observed"))
        details = _mapping(check.get("details"))
        state = str(details.get("state", ""))
        rows.append(
            {
                "route": check.get("subject"),
                "status": check.get("status"),
                "state": STATE_TEXT.get(state, state or "–"),
                "cloudwatch": observed.get("cloudwatch_requests"),
                "prometheus": observed.get("prometheus_requests"),
                "series": observed.get("prometheus_series"),
                "reason": check.get("reason"),
            }
        )
    return rows


def human(value: Any, unit: str) -> str:
    """A figure in words a stakeholder reads: bytes in kB/MB/GB, seconds in days."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "unknown"
    if unit == "bytes":
        scaled, index = float(value), 0
        while scaled >= 1000 and index < len(_BYTE_UNITS) - 1:
            scaled, index = scaled / 1000, index + 1
        return f"{scaled:.3g} {_BYTE_UNITS[index]}"
    if unit == "s" and value >= 86400:
        return f"{value / 86400:.3g} days"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.3g} million {unit}"
    return f"{value:,.4g} {unit}"


def cost_view(cost: Any) -> dict[str, Any] | None:
    """``run.cost`` for the template; None when the run has none."""
    if not isinstance(cost, dict):
        return None
    cloudwatch, prometheus = _mapping(cost.get("cloudwatch")), _mapping(cost.get("prometheus"))
    lines = [
        {**line, "quantity_text": human(line.get("quantity"), str(line.get("unit", "")))}
        for line in cloudwatch.get("lines") or []
        if isinstance(line, dict)
    ]
    figures = [
        {**f, "value_text": human(f.get("value"), str(f.get("unit", "")))}
        for f in prometheus.get("figures") or []
        if isinstance(f, dict)
    ]
    return {
        "label": cost.get("label") or "Estimate.",
        "error": cost.get("error") or cost.get("skipped"),
        "table": _mapping(cost.get("price_table")),
        "lines": lines,
        "total": cloudwatch.get("monthly_usd"),
        "unknown": cloudwatch.get("unknown") or [],
        "figures": figures,
        "notes": [str(n) for n in cost.get("notes") or []],
    }
