"""Series as Grafana's data frames and Prometheus's matrices carry them, and their comparison.

A series is keyed by its labels (without ``__name__``, which Grafana may drop) and maps a
timestamp in milliseconds to a value (``nan`` for a missing or NaN point).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from cwparity.config import RunConfig
from cwparity.hosts.http import get_json, prometheus_session

Key = tuple[tuple[str, str], ...]
Series = dict[Key, dict[int, float]]


def _key(labels: dict[str, Any] | None) -> Key:
    return tuple(sorted((k, str(v)) for k, v in (labels or {}).items() if k != "__name__"))


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def frames_to_series(frames: list[dict[str, Any]]) -> Series:
    """Grafana data frames (``schema.fields`` + ``data.values`` columns) as series."""
    series: Series = {}
    for frame in frames:
        fields = frame.get("schema", {}).get("fields", [])
        columns = frame.get("data", {}).get("values", [])
        times = next((columns[i] for i, f in enumerate(fields) if f.get("type") == "time"), None)
        if times is None:
            continue
        for index, field in enumerate(fields):
            if field.get("type") != "number" or index >= len(columns):
                continue
            points = series.setdefault(_key(field.get("labels")), {})
            for stamp, value in zip(times, columns[index], strict=False):
                points[int(stamp)] = _number(value)
    return series


def matrix_to_series(matrix: list[dict[str, Any]]) -> Series:
    """Prometheus's ``resultType: matrix`` as series."""
    return {
        _key(item.get("metric")): {
            round(float(t) * 1000): _number(v) for t, v in item.get("values", [])
        }
        for item in matrix
    }


def query_range(
    config: RunConfig, expr: str, start: float, end: float, step: float
) -> list[dict[str, Any]]:
    session = prometheus_session(config.prometheus)
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    status, body = get_json(session, f"{config.prometheus.url}/api/v1/query_range", params=params)
    if status != 200:
        raise RuntimeError(
            f"Prometheus query_range answered HTTP {status}: {(body or {}).get('error', '')}"
        )
    return list(body["data"]["result"])


def _close(a: float, b: float, relative: float, absolute: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= absolute + relative * abs(b)


def _label(key: Key) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in key) + "}"


def compare_series(
    grafana: Series, prometheus: Series, relative: float, absolute: float
) -> tuple[list[str], int]:
    """(what differs, one line each; how many points were compared)."""
    problems: list[str] = []
    for key in sorted(set(prometheus) - set(grafana)):
        problems.append(f"series {_label(key)} missing in Grafana")
    for key in sorted(set(grafana) - set(prometheus)):
        problems.append(f"series {_label(key)} only in Grafana")
    compared = 0
    for key in sorted(set(grafana) & set(prometheus)):
        ours, theirs = grafana[key], prometheus[key]
        if set(ours) != set(theirs):
            problems.append(
                f"{_label(key)}: {len(ours)} points in Grafana, {len(theirs)} in Prometheus"
            )
            continue
        for stamp in sorted(theirs):
            compared += 1
            if not _close(ours[stamp], theirs[stamp], relative, absolute):
                problems.append(
                    f"{_label(key)} at {stamp} ms: Grafana {ours[stamp]:g}, Prometheus {theirs[stamp]:g}"
                )
                break
    return problems, compared


def grid_of(series: Series, default: tuple[float, float, float]) -> tuple[float, float, float]:
    """(start, end, step) in seconds of the timestamps in ``series``; ``default`` when too few."""
    stamps = sorted({stamp for points in series.values() for stamp in points})
    if len(stamps) < 2:
        return default
    step = min(b - a for a, b in pairwise(stamps)) / 1000
    return stamps[0] / 1000, stamps[-1] / 1000, step
