"""Judging: aligned frames and ground truth in, ``CheckResult`` values out.

Imports none of pytest, locust, boto3 or requests: everything here is tested on synthetic data.
"""

from __future__ import annotations

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.counts import judge_counts
from cwparity.judge.latency import judge_mean_latency
from cwparity.results import CheckResult
from cwparity.truth import GroundTruth


def judge_run(aligned: Aligned, truth: GroundTruth | None, config: RunConfig) -> list[CheckResult]:
    """Every parity check for every mapped route, whole window first, then per period."""
    checks: list[CheckResult] = []
    for route in config.routes:
        route_truth = truth.for_route(route.key) if truth else None
        checks += judge_counts(aligned, route.key, route_truth, config)
        checks += judge_mean_latency(aligned, route.key, config)
    return checks
