"""A time window and its CloudWatch period grid.

CloudWatch rounds StartTime down to the period grid (moto does not: it starts periods exactly at
StartTime), so the harness only ever asks for windows whose edges are already on the grid. Then
both services, and Prometheus, agree on where every period starts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^now(?:-(\d+)([smhd]))?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def align_down(moment: datetime, period: int) -> datetime:
    stamp = moment.timestamp()
    return datetime.fromtimestamp(math.floor(stamp / period) * period, tz=UTC)


def align_up(moment: datetime, period: int) -> datetime:
    stamp = moment.timestamp()
    return datetime.fromtimestamp(math.ceil(stamp / period) * period, tz=UTC)


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, both on the grid of ``period`` seconds."""

    start: datetime
    end: datetime
    period: int

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window edges must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        for edge in (self.start, self.end):
            if edge.timestamp() % self.period:
                raise ValueError(
                    f"window edge {edge.isoformat()} is not on the {self.period}s grid"
                )

    @classmethod
    def covering(cls, first: datetime, last: datetime, period: int, margin: float = 0.0) -> Window:
        """The smallest grid-aligned window holding [first - margin, last + margin]."""
        pad = timedelta(seconds=margin)
        return cls(align_down(first - pad, period), align_up(last + pad, period), period)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def period_starts(self) -> list[datetime]:
        count = int(self.seconds // self.period)
        return [self.start + timedelta(seconds=i * self.period) for i in range(count)]

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "period": self.period}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Window:
        return cls(
            parse_time(str(data["start"])), parse_time(str(data["end"])), int(str(data["period"]))
        )


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 time, unix seconds, or ``now`` / ``now-15m``; always timezone-aware UTC."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        base = now or datetime.now(UTC)
        amount, unit = relative.groups()
        return base - timedelta(seconds=int(amount or 0) * _SECONDS.get(unit or "s", 1))
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
