"""What a run decides: one immutable ``CheckResult`` per check, and the run's verdict.

The HTML report, JUnit XML and results.json are all views of these values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    #: a finding worth reading (a lint warning) that does not change the verdict
    WARN = "warn"


class Origin(StrEnum):
    """Where a tolerance came from, so a reader can tell a measured bound from a chosen one."""

    DERIVED = "derived"
    CONFIGURED = "configured"
    DEFAULT = "default"


@dataclass(frozen=True)
class Tolerance:
    """The bound a check allowed, in ``unit``, and how it was reached."""

    bound: float
    unit: str
    origin: Origin
    detail: str

    def describe(self) -> str:
        return f"±{self.bound:g} {self.unit} ({self.origin.value}: {self.detail})"


@dataclass(frozen=True)
class CheckResult:
    """One judged check. ``id`` reads like a pytest id: ``count[GET /long-request]``."""

    id: str
    kind: str
    subject: str
    status: Status
    reason: str
    scope: str = "window"
    observed: Mapping[str, float | str | None] = field(default_factory=dict)
    tolerance: Tolerance | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        if self.tolerance is not None:
            data["tolerance"]["origin"] = self.tolerance.origin.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        tolerance = data.get("tolerance")
        return cls(
            id=data["id"],
            kind=data["kind"],
            subject=data["subject"],
            status=Status(data["status"]),
            reason=data["reason"],
            scope=data.get("scope", "window"),
            observed=dict(data.get("observed") or {}),
            tolerance=Tolerance(
                bound=tolerance["bound"],
                unit=tolerance["unit"],
                origin=Origin(tolerance["origin"]),
                detail=tolerance["detail"],
            )
            if tolerance
            else None,
            details=dict(data.get("details") or {}),
        )


def verdict(checks: Iterable[CheckResult]) -> Status:
    """FAIL beats ERROR beats PASS; a run with nothing judged is an ERROR, never a PASS.

    WARN does not change the verdict: it is reported, and counts as neither pass nor fail."""
    statuses = {check.status for check in checks}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.ERROR in statuses:
        return Status.ERROR
    if Status.PASS in statuses:
        return Status.PASS
    return Status.ERROR


def exit_code(status: Status) -> int:
    """0 all judged checks pass, 1 a check failed, 2 the run could not judge."""
    return {Status.PASS: 0, Status.FAIL: 1}.get(status, 2)
