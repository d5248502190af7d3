"""A synthetic results document in the shape of results.json (schema v1), with no stack behind it.

The report's tests build their documents here (browser, HTML, JUnit, history), and it previews
the report's layout: ``python -m cwparity.report.sample OUT_DIR``. Routes, periods and checks
are made up; one route's path is hostile on purpose (``/<script>alert(1)</script>``) so the
tests can prove every label is escaped.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cwparity.truth import LatencyHistogram

HOSTILE_PATH = "/<script>alert(1)</script>"
START = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
PERIOD = 60


def _check(check_id: str, kind: str, subject: str, status: str, reason: str, **extra: Any) -> dict:
    return {
        "id": check_id,
        "kind": kind,
        "subject": subject,
        "status": status,
        "reason": reason,
        "scope": extra.pop("scope", "window"),
        "observed": extra.pop("observed", {}),
        "tolerance": extra.pop("tolerance", None),
        "details": extra.pop("details", {}),
    }


def _tolerance(bound: float, unit: str, origin: str = "derived") -> dict[str, Any]:
    return {"bound": bound, "unit": unit, "origin": origin, "detail": f"{origin} bound {bound:g}"}


def _periods(route: str, base: float, drop: int) -> tuple[list[dict], list[dict]]:
    """Six periods of a route: the series rows and their count / mean-latency checks."""
    rows, checks = [], []
    for i in range(6):
        start = START + timedelta(seconds=PERIOD * i)
        scope = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        prom = base + 20 * i
        cw = prom - (drop if i == 3 else 0)
        u = 3.0
        rows.append(
            {
                "route": route,
                "period_start": start.isoformat(),
                "cw_count": cw,
                "cw_sum": cw * 0.120,
                "prom_count": prom,
                "prom_count_u": u,
                "prom_sum": prom * 0.118,
                "prom_sum_u": u * 0.12,
            }
        )
        status = "fail" if abs(cw - prom) > u else "pass"
        checks.append(
            _check(
                f"count[{route}]@{scope}",
                "count",
                route,
                status,
                f"CloudWatch {cw:g} vs Prometheus {prom:g}: "
                + ("beyond" if status == "fail" else "within")
                + f" ±{u:g}",
                scope=scope,
                observed={"cloudwatch": cw, "prometheus": prom, "difference": cw - prom},
                tolerance=_tolerance(u, "requests"),
            )
        )
        checks.append(
            _check(
                f"mean_latency[{route}]@{scope}",
                "mean_latency",
                route,
                "pass",
                "mean latency CloudWatch 120 ms, Prometheus 118 ms: within ±10 ms",
                scope=scope,
                observed={"cloudwatch_ms": 120.0, "prometheus_ms": 118.0, "difference_ms": -2.0},
                tolerance=_tolerance(10.0, "ms", "default"),
            )
        )
    return rows, checks


def _percentile_checks(route: str) -> list[dict[str, Any]]:
    """CloudWatch's p99 per period in the histogram's bucket range, and Locust's percentiles."""
    checks = []
    for i in range(6):
        scope = (START + timedelta(seconds=PERIOD * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        checks.append(
            _check(
                f"percentile.p99[{route}]@{scope}",
                "percentile",
                route,
                "pass",
                "CloudWatch p99 180 ms is inside the histogram's range [100, 250] ms",
                scope=scope,
                observed={"cloudwatch_ms": 170.0 + 5 * i, "bucket_lower_ms": 100.0,
                          "bucket_upper_ms": 250.0, "histogram_quantile_ms": 160.0 + 4 * i},
                tolerance=_tolerance(150.0, "ms"),
            )
        )  # fmt: skip
    for stat, client, low, high in (
        ("p50", 120, 100, 250),
        ("p90", 150, 100, 250),
        ("p99", 171, 100, 250),
    ):
        checks.append(
            _check(
                f"percentile_client.{stat}[{route}]",
                "percentile_client",
                route,
                "pass",
                f"Locust's {stat} {client} ms is not below the server histogram's lowest {low} ms",
                observed={"locust_ms": float(client), "bucket_lower_ms": float(low),
                          "bucket_upper_ms": float(high), "histogram_quantile_ms": client - 5.0},
                tolerance=_tolerance(0.0, "ms"),
            )
        )  # fmt: skip
    return checks


def _window_checks(route: str, failing: bool) -> list[dict[str, Any]]:
    status = "fail" if failing else "pass"
    return [
        _check(
            f"count[{route}]",
            "count",
            route,
            status,
            "CloudWatch counted 30 fewer requests than Prometheus: beyond the ±0 bound"
            if failing
            else "CloudWatch 1200 vs Prometheus 1200: within ±0",
            observed={"cloudwatch": 1170.0 if failing else 1200.0, "prometheus": 1200.0},
            tolerance=_tolerance(0.0, "requests", "default"),
        ),
        _check(
            f"mean_latency[{route}]",
            "mean_latency",
            route,
            "pass",
            "mean latency CloudWatch 120 ms, Prometheus 118 ms: within ±6 ms",
            observed={"cloudwatch_ms": 120.0, "prometheus_ms": 118.0},
            tolerance=_tolerance(6.0, "ms", "configured"),
        ),
    ]


def _extra_checks(hosts: bool) -> list[dict[str, Any]]:
    checks = [
        _check(
            "bias[GET /]",
            "bias",
            "GET /",
            "pass",
            "Prometheus reads 2 ms lower than CloudWatch, steadily",
            details={
                "finding": "A constant offset of about 2 ms: the two clocks start at "
                "different points of the request. Harmless for alerts with a 50 ms margin."
            },
        ),
        _check("lint[queries]", "lint", "dashboards", "warn", "a panel divides _sum by _count"),
        _check(
            "novel[thing]",
            "novel_kind",
            "something new",
            "pass",
            "a kind this report has never heard of",
            observed=[1, 2, 3],  # not a mapping: must still render
            details={"finding": "Rendered generically.", "extra": {"nested": True}},
        ),
    ]
    if hosts:
        checks += [
            _check("host[prometheus.service]", "host", "monitoring host", "skip", "no systemd"),
            _check("grafana[datasource]", "grafana", "Grafana", "pass", "datasource is healthy"),
            _check("security[basic_auth]", "security", "Prometheus", "pass", "401 without auth"),
        ]
    return checks


def sample_document(failing: bool = True, hosts: bool = True) -> dict[str, Any]:
    """A complete results document; ``failing`` makes the hostile route's counts FAIL."""
    periods, checks = [], []
    for route, base, drop in (("GET /", 100, 0), (f"GET {HOSTILE_PATH}", 40, 30 if failing else 0)):
        rows, per_period = _periods(route, base, drop)
        periods += rows
        checks += _window_checks(route, failing and route != "GET /") + per_period
    checks += _percentile_checks("GET /") + _extra_checks(hosts)
    summary = {
        s: sum(1 for c in checks if c["status"] == s)
        for s in ("pass", "fail", "skip", "error", "warn")
    }
    verdict = "fail" if summary["fail"] else "pass"
    end = START + timedelta(seconds=PERIOD * 6)
    return {
        "schema": "cwparity/results",
        "schema_version": 3,
        "tool": {"name": "cwparity", "version": "0.1.0"},
        "verdict": verdict,
        "exit_code": 1 if failing else 0,
        "summary": summary,
        "run": {
            "name": "sample",
            "mode": "demo",
            "started_at": START.isoformat(),
            "finished_at": end.isoformat(),
            "window": {"start": START.isoformat(), "end": end.isoformat(), "period": PERIOD},
            "config_digest": "0123456789ab",
            "config": {"load": {"profile": "steady", "users": 4, "spawn_rate": 4.0, "duration": 300.0,
                                "wait_min": 0.05, "wait_max": 0.2, "stop_timeout": 5.0},
                       "tolerances": {"count": {"slack": 0, "window_slack": 0}},
                       "prometheus": {"url": "http://prometheus:9090", "basic_auth": {"username": "u", "password": "***"}}},
            "versions": {"cwparity": "0.1.0", "prometheus": "2.42.0"},
            "settle": {"settled": True, "ended": "quiet", "polls": 3, "waited_s": 10.2,
                       "quiet_span_s": 20.0, "quiet_for_s": 20.0, "min_data_age_s": 10.0,
                       "min_data_age_used_s": 10.0, "deadline_s": 90.0, "shortfall": [12.0, 0.0, 0.0],
                       "shortfall_trend": "caught up",
                       "why": "no new data for 20 s (quiet span 20 s) on data at least 10 s old"},
            "load_stats": [{"name": f"GET {HOSTILE_PATH}", "method": "GET", "num_requests": 240,
                            "num_failures": 0, "min_response_time": 90.0, "max_response_time": 180.0,
                            "total_response_time": 28800.0, "p50_ms": 120.0, "p90_ms": 150.0, "p99_ms": 170.0}],
            "truth": {"first_start": START.isoformat(), "last_end": end.isoformat(),
                      "routes": [{"route": f"GET {HOSTILE_PATH}", "target": "http://app:8080",
                                  "by_status": {"200": 240}, "failures": 0,
                                  "latency_ms": LatencyHistogram.of([100.0, 120.0, 170.0] * 80).to_dict()}]},
            "periods": periods,
            "meta": {"mode": "demo", "note": HOSTILE_PATH},
        },
        "checks": checks,
    }  # fmt: skip


if __name__ == "__main__":  # a preview of the layout: python -m cwparity.report.sample OUT_DIR
    from cwparity.report import write_all

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "sample-report") / "sample-run"
    out.mkdir(parents=True, exist_ok=True)
    print(write_all(out, sample_document())["html"])
