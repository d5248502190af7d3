"""Raw counter samples from Prometheus at scale: planned in bounded chunks, fetched concurrently,
parsed straight into arrays.

Raw samples (a range-vector instant query), not ``increase()`` or ``rate()``: those extrapolate
to the window's edges, and a parity check needs to know exactly which scrapes it stands on. A
week of thousands of series does not fit one response, so the fetch is planned first: the
series are listed (``/api/v1/series``), grouped by their path label into batches, and each
batch's range is cut into time chunks, so that no response holds more than
``prometheus.max_samples_per_query`` samples nor any series more than 11,000 points (the limit
Prometheus sets a range query's resolution to). Chunks run ``prometheus.max_concurrency`` at a
time. A range selector includes its left edge on Prometheus 2 and excludes it on 3, so every
chunk after the first keeps only samples after its start: each sample is read exactly once.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from cwparity.samples import SeriesSet

#: the most points Prometheus returns per series for a range query (its resolution limit)
POINTS_PER_SERIES = 11_000


@dataclass(frozen=True)
class Chunk:
    """One query: the series whose path is in ``paths`` (None: all), samples in (start, end]."""

    paths: tuple[str, ...] | None
    start: float
    end: float
    first: bool


@dataclass(frozen=True)
class Limits:
    max_samples: int
    concurrency: int
    points_per_series: int = POINTS_PER_SERIES


def plan(
    series_per_path: dict[str, int], start: float, end: float, interval: float, limits: Limits
) -> list[Chunk]:
    """Queries covering [start, end] for every listed series, each within the limits."""
    span = max(end - start, interval)
    batches = _batches(series_per_path, span, interval, limits)
    chunks = []
    for paths, series in batches:
        # points per series in one chunk: within Prometheus's limit and the response bound
        points = min(limits.points_per_series, max(1, limits.max_samples // max(series, 1)))
        length = max(interval, points * interval)
        count = max(1, math.ceil(span / length))
        edges = np.linspace(start, end, count + 1)
        chunks += [
            Chunk(paths, float(a), float(b), i == 0)
            for i, (a, b) in enumerate(itertools.pairwise(edges))
        ]
    return chunks


def _batches(series_per_path: dict[str, int], span: float, interval: float, limits: Limits):
    """Paths grouped so that a batch's samples over the whole span stay within the bound;
    one batch without a path matcher when everything fits."""
    per_series = span / interval + 1
    total = sum(series_per_path.values())
    if total * per_series <= limits.max_samples or not series_per_path:
        return [(None, total)]
    batches: list[tuple[tuple[str, ...] | None, int]] = []
    current: list[str] = []
    size = 0
    for path in sorted(series_per_path):
        count = series_per_path[path]
        if current and (size + count) * per_series > limits.max_samples:
            batches.append((tuple(current), size))
            current, size = [], 0
        current.append(path)
        size += count
    if current:
        batches.append((tuple(current), size))
    return batches


#: RE2's metacharacters, as Go's regexp.QuoteMeta escapes them (Prometheus matches with RE2)
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote_meta(text: str) -> str:
    """``text`` as an RE2 pattern matching exactly itself (Go's ``regexp.QuoteMeta``)."""
    return _RE2_SPECIAL.sub(r"\\\1", text)


def promql_string(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal.

    PromQL strings take Go's escapes; JSON's (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX`` for
    every control character) are a subset of them, so a label value holding quotes,
    backslashes, newlines or control characters cannot end the string or break the query.
    """
    return orjson.dumps(value).decode()


def path_matcher(label: str, paths: Sequence[str]) -> str:
    """A PromQL matcher selecting exactly these label values (RE2, fully anchored)."""
    return f"{label}=~{promql_string('|'.join(quote_meta(p) for p in paths))}"


def route_matchers(
    path_label: str, method_label: str, routes: Sequence[tuple[str, str]]
) -> list[str]:
    """Matchers for the series of these (method, path) routes: their paths, and their methods
    in any case (the exporter's label may say ``get``; routes say ``GET``). A route set with
    several methods also selects the other pairings of its paths and methods: bounded by the
    mapping, and align reads only the mapped pairs."""
    paths = sorted({path for _, path in routes})
    methods = sorted({method.upper() for method, _ in routes})
    method_pattern = "(?i)" + "|".join(quote_meta(m) for m in methods)
    return [path_matcher(path_label, paths), f"{method_label}=~{promql_string(method_pattern)}"]


def parse_matrix(payload: bytes) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    """A query's matrix result as (labels, timestamps, values) per series."""
    data = orjson.loads(payload)
    if data.get("status") != "success":
        raise ValueError(f"{data.get('errorType', 'error')}: {data.get('error', '')}")
    result = data.get("data", {}).get("result", [])
    parsed = []
    for series in result:
        values = series.get("values") or []
        count = len(values)
        stamps = np.fromiter((v[0] for v in values), float, count=count)
        numbers = np.fromiter((float(v[1]) for v in values), float, count=count)
        parsed.append((series.get("metric", {}), stamps, numbers))
    return parsed


def fetch_chunks(
    chunks: Sequence[Chunk],
    run_one: Callable[[Chunk], list[tuple[dict[str, str], np.ndarray, np.ndarray]]],
    concurrency: int,
) -> list[list[tuple[dict[str, str], np.ndarray, np.ndarray]]]:
    """Every chunk's series, in chunk order; at most ``concurrency`` requests in flight."""
    if len(chunks) <= 1 or concurrency <= 1:
        return [run_one(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="prometheus") as pool:
        return list(pool.map(run_one, chunks))


def series_name(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def merge(
    chunks: Sequence[Chunk],
    results: Sequence[list[tuple[dict[str, str], np.ndarray, np.ndarray]]],
    describe: Callable[[dict[str, str]], dict[str, str]],
    scale: float = 1.0,
) -> SeriesSet:
    """The chunks' samples joined per series, in time order, each sample once.

    ``describe`` turns a series' labels into its label row (series, path, method, le). Series
    are ordered by route and name, so that a target's series lie back to back (align reads
    them as one block).
    """
    pieces: dict[str, list[tuple[float, np.ndarray, np.ndarray]]] = {}
    rows: dict[str, dict[str, str]] = {}
    for chunk, result in zip(chunks, results, strict=True):
        for labels, stamps, values in result:
            keep = stamps >= chunk.start if chunk.first else stamps > chunk.start
            keep &= stamps <= chunk.end
            name = series_name(labels)
            rows.setdefault(name, describe(labels))
            pieces.setdefault(name, []).append((chunk.start, stamps[keep], values[keep]))
    order = sorted(rows, key=lambda n: (rows[n]["path"], rows[n]["method"], n))
    stamps_list, values_list, labels_list = [], [], []
    for name in order:
        parts = sorted(pieces[name], key=lambda p: p[0])
        stamps = np.concatenate([p[1] for p in parts])
        if not len(stamps):
            continue
        labels_list.append(rows[name])
        stamps_list.append(stamps)
        values_list.append(np.concatenate([p[2] for p in parts]) * scale)
    return SeriesSet.from_arrays(labels_list, stamps_list, values_list)


def count_by_path(series: Sequence[dict[str, Any]], label: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for labels in series:
        path = str(labels.get(label, ""))
        counts[path] = counts.get(path, 0) + 1
    return counts
