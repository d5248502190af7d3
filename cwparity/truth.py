"""Ground truth: what the load actually sent, per target and route, as Locust recorded it.

Latencies are kept as a histogram, not request by request, so that a run of a week (or of many
Locust workers, merged) stays a few kilobytes per route. Counts stay exact: only each latency's
value is known to within one bucket, a factor ``base`` wide (1 % by default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cwparity.redact import public_url

#: bucket i > 0 holds latencies in (floor·base^(i-1), floor·base^i] ms; bucket 0 holds (0, floor]
HISTOGRAM_BASE = 1.01
HISTOGRAM_FLOOR_MS = 0.001
#: a latency at a bucket's exact edge may land in its neighbour through float rounding of the log
_EDGE = 1e-9


@dataclass(frozen=True)
class LatencyHistogram:
    """Client-side latencies in log-spaced buckets: exact counts, values within a factor ``base``.

    Written by the Locust profile (load/locustfile.py), which cannot import cwparity on a remote
    worker: the two share only this format, ``{base, floor_ms, counts: {index: requests}}``.
    """

    counts: tuple[tuple[int, int], ...] = ()  # (bucket index, requests), ascending index
    base: float = HISTOGRAM_BASE
    floor_ms: float = HISTOGRAM_FLOOR_MS

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def resolution(self) -> float:
        """How far, relatively, a value may lie from either edge of its bucket."""
        return self.base - 1.0

    def bounds(self, index: int) -> tuple[float, float]:
        """The latencies (ms) bucket ``index`` can hold, widened by float rounding's reach."""
        upper = self.floor_ms * self.base**index
        lower = 0.0 if index <= 0 else upper / self.base
        return lower * (1 - _EDGE), upper * (1 + _EDGE)

    def nearest_rank(self, q: float) -> tuple[float, float] | None:
        """Where the nearest-rank q-quantile (the ⌈q·n⌉-th fastest request) lies, in ms."""
        total = self.total
        if total == 0:
            return None
        rank, seen = max(1, math.ceil(q * total)), 0
        for index, n in self.counts:
            seen += n
            if seen >= rank:
                return self.bounds(index)
        return self.bounds(self.counts[-1][0])  # unreachable: seen ends at total

    def merged(self, other: LatencyHistogram) -> LatencyHistogram:
        if not other.counts:
            return self
        if not self.counts:
            return other
        if (self.base, self.floor_ms) != (other.base, other.floor_ms):
            raise ValueError("latency histograms with different buckets cannot be merged exactly")
        summed = dict(self.counts)
        for index, n in other.counts:
            summed[index] = summed.get(index, 0) + n
        return LatencyHistogram(tuple(sorted(summed.items())), self.base, self.floor_ms)

    @classmethod
    def of(cls, values_ms: Iterable[float]) -> LatencyHistogram:
        """From single latencies (a run.json written before histograms, or a test)."""
        counts: dict[int, int] = {}
        for value in values_ms:
            index = bucket_index(float(value))
            counts[index] = counts.get(index, 0) + 1
        return cls(tuple(sorted(counts.items())))

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "floor_ms": self.floor_ms,
            "counts": {str(index): n for index, n in self.counts},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        counts = sorted((int(k), int(v)) for k, v in (data.get("counts") or {}).items())
        base, floor_ms = float(data["base"]), float(data["floor_ms"])
        if not (base > 1.0 and floor_ms > 0.0) or any(n < 0 for _, n in counts):
            raise ValueError(f"not a latency histogram: base {base}, floor_ms {floor_ms}")
        return cls(tuple((i, n) for i, n in counts if n), base, floor_ms)


def bucket_index(value_ms: float) -> int:
    """The bucket of one latency (the same formula as the Locust profile's)."""
    if value_ms <= HISTOGRAM_FLOOR_MS:
        return 0
    return math.ceil(math.log(value_ms / HISTOGRAM_FLOOR_MS) / math.log(HISTOGRAM_BASE))


@dataclass(frozen=True)
class RouteTruth:
    target: str
    route: str
    by_status: dict[str, int]
    failures: int
    latency: LatencyHistogram = LatencyHistogram()

    @property
    def answered(self) -> int:
        """Requests that got an HTTP response of any status: the app saw each of them."""
        return sum(self.by_status.values())

    def merged(self, other: RouteTruth) -> RouteTruth:
        statuses = dict(self.by_status)
        for status, count in other.by_status.items():
            statuses[status] = statuses.get(status, 0) + count
        return RouteTruth(
            self.target,
            self.route,
            statuses,
            self.failures + other.failures,
            self.latency.merged(other.latency),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "route": self.route,
            "by_status": self.by_status,
            "failures": self.failures,
            "latency_ms": self.latency.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteTruth:
        if "latency_ms" in data:
            latency = LatencyHistogram.from_dict(data["latency_ms"])
        else:  # written before histograms: every latency, one by one
            latency = LatencyHistogram.of(data.get("latencies_ms", ()))
        return cls(
            target=data["target"],
            route=data["route"],
            by_status={str(k): int(v) for k, v in data["by_status"].items()},
            failures=int(data["failures"]),
            latency=latency,
        )


@dataclass(frozen=True)
class GroundTruth:
    first_start: datetime
    last_end: datetime
    routes: tuple[RouteTruth, ...]
    locust_stats: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: Locust workers whose truths were merged into this one: ``{id, requests}``; empty when
    #: Locust ran in one process
    workers: tuple[dict[str, Any], ...] = ()

    def merged(self, other: GroundTruth) -> GroundTruth:
        """Two loads' truths as one (e.g. before and after an app restart, in one window)."""
        routes: dict[tuple[str, str], RouteTruth] = {}
        for truth in (*self.routes, *other.routes):
            slot = (truth.target, truth.route)
            seen = routes.get(slot)
            routes[slot] = truth if seen is None else seen.merged(truth)
        return GroundTruth(
            min(self.first_start, other.first_start),
            max(self.last_end, other.last_end),
            tuple(routes.values()),
            self.locust_stats + other.locust_stats,
            self.workers + other.workers,
        )

    def for_route(self, route: str, target: str | None = None) -> RouteTruth | None:
        """The truth of ``route`` (at ``target``, a base URL from the config: the profile records
        it without its credentials, so the two compare without them)."""
        wanted = public_url(target) if target is not None else None
        for truth in self.routes:
            if truth.route == route and (wanted is None or public_url(truth.target) == wanted):
                return truth
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_start": self.first_start.isoformat(),
            "last_end": self.last_end.isoformat(),
            "routes": [r.to_dict() for r in self.routes],
            "locust_stats": list(self.locust_stats),
            "workers": list(self.workers),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        return cls(
            first_start=_time(data["first_start"]),
            last_end=_time(data["last_end"]),
            routes=tuple(RouteTruth.from_dict(r) for r in data["routes"]),
            locust_stats=tuple(data.get("locust_stats", ())),
            workers=tuple(_merged_workers(data.get("workers"))),
        )


def _merged_workers(workers: Any) -> list[dict[str, Any]]:
    """The list itself (run.json), or the profile's ``{merged: [...], ...}`` summary."""
    if isinstance(workers, dict):
        workers = workers.get("merged")
    return [dict(w) for w in workers or () if isinstance(w, dict)]


def _time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value))
