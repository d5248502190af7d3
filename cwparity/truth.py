"""Ground truth: what the load actually sent, per target and route, as Locust recorded it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class RouteTruth:
    target: str
    route: str
    by_status: dict[str, int]
    failures: int
    latencies_ms: tuple[float, ...] = ()

    @property
    def answered(self) -> int:
        """Requests that got an HTTP response of any status: the app saw each of them."""
        return sum(self.by_status.values())


@dataclass(frozen=True)
class GroundTruth:
    first_start: datetime
    last_end: datetime
    routes: tuple[RouteTruth, ...]
    locust_stats: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def merged(self, other: GroundTruth) -> GroundTruth:
        """Two loads' truths as one (e.g. before and after an app restart, in one window)."""
        routes: dict[tuple[str, str], RouteTruth] = {}
        for truth in (*self.routes, *other.routes):
            slot = (truth.target, truth.route)
            seen = routes.get(slot)
            if seen is None:
                routes[slot] = truth
                continue
            statuses = dict(seen.by_status)
            for status, count in truth.by_status.items():
                statuses[status] = statuses.get(status, 0) + count
            routes[slot] = RouteTruth(
                truth.target,
                truth.route,
                statuses,
                seen.failures + truth.failures,
                seen.latencies_ms + truth.latencies_ms,
            )
        return GroundTruth(
            min(self.first_start, other.first_start),
            max(self.last_end, other.last_end),
            tuple(routes.values()),
            self.locust_stats + other.locust_stats,
        )

    def for_route(self, route: str, target: str | None = None) -> RouteTruth | None:
        for truth in self.routes:
            if truth.route == route and (target is None or truth.target == target):
                return truth
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_start": self.first_start.isoformat(),
            "last_end": self.last_end.isoformat(),
            "routes": [
                {
                    "target": r.target,
                    "route": r.route,
                    "by_status": r.by_status,
                    "failures": r.failures,
                    "latencies_ms": list(r.latencies_ms),
                }
                for r in self.routes
            ],
            "locust_stats": list(self.locust_stats),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundTruth:
        return cls(
            first_start=_time(data["first_start"]),
            last_end=_time(data["last_end"]),
            routes=tuple(
                RouteTruth(
                    target=r["target"],
                    route=r["route"],
                    by_status={str(k): int(v) for k, v in r["by_status"].items()},
                    failures=int(r["failures"]),
                    latencies_ms=tuple(float(x) for x in r.get("latencies_ms", ())),
                )
                for r in data["routes"]
            ),
            locust_stats=tuple(data.get("locust_stats", ())),
        )


def _time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value))
