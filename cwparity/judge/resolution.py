"""Is the chosen period one real CloudWatch can answer for the app's metric?

Metrics published without ``StorageResolution=1`` (the guide's ``put_metric_data``) are
standard resolution: CloudWatch keeps them per minute, so periods under 60 s cannot show what
the harness compares. moto serves any period; real CloudWatch does not.
"""

from __future__ import annotations

from cwparity.results import CheckResult, Status


def real_cloudwatch(endpoint: str) -> bool:
    return "amazonaws.com" in endpoint


def period_findings(period: int, endpoint: str) -> list[CheckResult]:
    if period >= 60 or not real_cloudwatch(endpoint):
        return []
    reason = (
        f"window.period {period} s against real CloudWatch: the guide's metric is standard "
        "resolution (kept per minute), so periods under 60 s only work if the app publishes "
        "with StorageResolution=1; otherwise use window.period: 60"
    )
    return [
        CheckResult(
            "setup.period[window]",
            "setup",
            "window",
            Status.WARN,
            reason,
            observed={"period_s": float(period)},
            details={"finding": reason},
        )
    ]
