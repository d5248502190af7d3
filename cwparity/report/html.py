"""report.html: one self-contained file for stakeholders (inline CSS and SVG, no script at all).

Rendered with Jinja2 autoescaping from results.json alone (plus the history trend), so every
label value — paths, reasons, config values — is escaped. The page also carries a
Content-Security-Policy that allows no script, so even a value that slipped past escaping could
not run. It must render from any results.json cwparity ever wrote: unknown check kinds and
missing fields render as generic text.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from cwparity.report.alarms import alarm_views
from cwparity.report.assessment import cost_view, coverage_view
from cwparity.report.charts import route_charts
from cwparity.report.history import trend_view
from cwparity.report.view import banner, check_sections, findings
from cwparity.truth import LatencyHistogram

_ENV = Environment(
    loader=PackageLoader("cwparity", "report/templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return str(value)


_ENV.filters["fmt"] = _fmt


def _percentiles(route: dict[str, Any]) -> dict[str, float | None]:
    """p50/p90/p99 (ms) of one route's client latencies: the middle of the histogram bucket that
    holds each (within ±0.5 %), or nearest rank of the single latencies older runs kept."""
    histogram = _histogram(route.get("latency_ms"))
    values = sorted(v for v in route.get("latencies_ms") or [] if isinstance(v, int | float))
    rows: dict[str, float | None] = {}
    for name, q in PERCENTILES.items():
        bucket = histogram.nearest_rank(q) if histogram else None
        if bucket is not None:
            rows[name] = (bucket[0] + bucket[1]) / 2
        else:
            rows[name] = values[max(0, math.ceil(q * len(values)) - 1)] if values else None
    return rows


PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def _histogram(value: Any) -> LatencyHistogram | None:
    if not isinstance(value, dict):
        return None
    try:
        return LatencyHistogram.from_dict(value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def truth_rows(truth: Any) -> list[dict[str, Any]]:
    """Per route and target: what Locust sent and got, with client-side latency percentiles."""
    if not isinstance(truth, dict):
        return []
    rows = []
    for route in truth.get("routes") or []:
        if not isinstance(route, dict):
            continue
        by_status = route.get("by_status") or {}
        rows.append(
            {
                "route": route.get("route"),
                "target": route.get("target"),
                "answered": sum(v for v in by_status.values() if isinstance(v, int)),
                "by_status": ", ".join(f"{k}: {v}" for k, v in by_status.items()) or "–",
                "failures": route.get("failures"),
                **_percentiles(route),
            }
        )
    return rows


def truth_workers(truth: Any) -> list[dict[str, Any]]:
    """The Locust workers whose truths were merged (none when Locust ran in one process)."""
    workers = truth.get("workers") if isinstance(truth, dict) else None
    return [w for w in workers if isinstance(w, dict)] if isinstance(workers, list) else []


def stats_rows(load_stats: Any) -> list[dict[str, Any]]:
    rows = []
    for row in load_stats or []:
        if not isinstance(row, dict):
            continue
        requests = row.get("num_requests") or 0
        total = row.get("total_response_time")
        mean = total / requests if requests and isinstance(total, int | float) else None
        rows.append({**row, "mean_ms": mean})
    return rows


_SECRET_KEY = re.compile(r"password|passwd|secret|token|credential|api_?key|authorization", re.I)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def mask(key: str, value: Any) -> str:
    """Belt and braces: results.json's config is redacted already, but a value under a
    secret-looking key (not ``*_env``, which names a variable) or credentials inside a URL
    never reach the page even from a document that was not."""
    text = _fmt(value)
    leaf = key.rsplit(".", 1)[-1]
    if _SECRET_KEY.search(leaf) and not leaf.endswith("_env") and value not in (None, ""):
        return "*** (masked)" if set(text) != {"*"} else text
    return _URL_USERINFO.sub("***@", text)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested config as ``a.b: value`` rows, secrets masked."""
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows += flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [row for i, v in enumerate(value) for row in flatten(v, f"{prefix}[{i}]")]
    return [(prefix, mask(prefix, value))]


def context(document: dict[str, Any], history: list[dict[str, Any]] | None, run_id: str) -> dict:
    run: dict[str, Any] = document["run"] if isinstance(document.get("run"), dict) else {}
    sections = check_sections(document.get("checks") or [])
    config: dict[str, Any] = run["config"] if isinstance(run.get("config"), dict) else {}
    return {
        "doc": document,
        "run": run,
        "run_id": run_id,
        "summary": document.get("summary") or {},
        "banner": banner(document, sections["problems"]),
        "sections": sections,
        "findings": findings(sections["all"], run),
        "routes": route_charts(document),
        "alarms": alarm_views(run),
        "comparison": run.get("comparison") if isinstance(run.get("comparison"), dict) else None,
        "load": config.get("load") if isinstance(config.get("load"), dict) else None,
        "truth": run.get("truth") if isinstance(run.get("truth"), dict) else None,
        "truth_rows": truth_rows(run.get("truth")),
        "truth_workers": truth_workers(run.get("truth")),
        "stats_rows": stats_rows(run.get("load_stats")),
        "config_rows": flatten(config),
        "meta_rows": flatten(run.get("meta") or {}),
        "trend": trend_view(history, run_id) if history else None,
        "coverage": coverage_view(document.get("checks") or []),
        "cost": cost_view(run.get("cost")),
    }


def render_html(
    document: dict[str, Any], history: list[dict[str, Any]] | None = None, run_id: str = ""
) -> str:
    return _ENV.get_template("report.html.j2").render(**context(document, history, run_id))


def write_html(
    path: Path, document: dict[str, Any], history: list[dict[str, Any]] | None = None
) -> Path:
    path.write_text(render_html(document, history, path.parent.name), encoding="utf-8")
    return path
