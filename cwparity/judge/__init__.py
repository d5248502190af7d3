"""Judging: aligned frames and ground truth in, ``CheckResult`` values out.

Imports none of pytest, locust, boto3 or requests: everything here is tested on synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cwparity.align import Aligned
from cwparity.config import RunConfig
from cwparity.judge.bias import judge_bias
from cwparity.judge.counts import judge_counts
from cwparity.judge.distribution import judge_distribution
from cwparity.judge.latency import judge_mean_latency
from cwparity.judge.percentiles import judge_client_percentiles, judge_cloudwatch_percentiles
from cwparity.judge.side_by_side import judge_route_side_by_side
from cwparity.results import CheckResult
from cwparity.truth import GroundTruth


@dataclass(frozen=True)
class PercentileInputs:
    """Prometheus bucket increases, and CloudWatch's pNN values (None: it could not answer)."""

    buckets: pd.DataFrame
    cloudwatch: pd.DataFrame | None
    unavailable: str | None = None


def judge_run(
    aligned: Aligned,
    truth: GroundTruth | None,
    config: RunConfig,
    percentiles: PercentileInputs | None = None,
) -> list[CheckResult]:
    """Every parity check for every mapped route, whole window first, then per period."""
    checks: list[CheckResult] = []
    for route in config.routes:
        judged = config.for_route(route.key)
        if judged.side_by_side:
            checks += judge_route_side_by_side(aligned, route, truth, judged)
            route_truth = (
                truth.for_route(route.key, judged.target_url("prometheus")) if truth else None
            )
            compared = len(route.sides) == 2
        else:
            route_truth = truth.for_route(route.key) if truth else None
            checks += judge_counts(aligned, route.key, route_truth, judged)
            checks += judge_mean_latency(aligned, route.key, judged)
            checks += judge_bias(aligned.periods, route.key, judged)
            checks += judge_distribution(aligned.periods, route.key, judged)
            compared = True
        if percentiles is not None and compared:
            checks += judge_cloudwatch_percentiles(
                percentiles.buckets,
                percentiles.cloudwatch,
                percentiles.unavailable,
                route.key,
                judged,
            )
        if percentiles is not None and "prometheus" in route.sides:
            checks += judge_client_percentiles(percentiles.buckets, route_truth, route.key)
    return checks
