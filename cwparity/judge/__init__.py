"""Judging: aligned frames and ground truth in, ``CheckResult`` values out.

Imports none of pytest, locust, boto3 or requests: everything here is tested on synthetic data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cwparity.align import Aligned
from cwparity.config import RunConfig, merge_set_fields
from cwparity.judge.count_grid import period_counts_all
from cwparity.judge.counts import judge_counts
from cwparity.judge.latency import judge_mean_latency_all
from cwparity.judge.paired import judge_paired_bias, judge_paired_distribution, paired_evidence
from cwparity.judge.percentiles import judge_client_percentiles, judge_cloudwatch_percentiles
from cwparity.judge.periods import KEEP_ALL
from cwparity.judge.side_by_side import judge_route_side_by_side
from cwparity.results import CheckResult
from cwparity.truth import GroundTruth


def route_views(aligned: Aligned):
    """Each route's own view of the aligned data: its periods only (filtering all of them per
    route is quadratic in the number of routes), as array rows when align gave a grid."""
    whole = aligned.grid
    if whole is not None:
        row = {route: i for i, route in enumerate(aligned.routes)}

        def from_grid(route: str) -> Aligned:
            i = row[route]
            grid = {name: cells[i : i + 1] for name, cells in whole.items()}
            return Aligned(aligned.window, None, aligned.totals, grid, (route,))

        return from_grid
    periods = dict(tuple(aligned.periods.groupby("route", sort=False)))
    return lambda route: Aligned(
        aligned.window, periods.get(route, aligned.periods.iloc[0:0]), aligned.totals
    )


@dataclass(frozen=True)
class PercentileInputs:
    """Prometheus bucket increases, and CloudWatch's pNN values (None: it could not answer)."""

    buckets: pd.DataFrame
    cloudwatch: pd.DataFrame | None
    unavailable: str | None = None


def route_configs(config: RunConfig) -> dict[str, RunConfig]:
    """Each route's config, resolved once (``config.for_route`` searches the routes: calling
    it per route is quadratic). Routes without overrides share ``config`` itself."""
    resolved = {}
    for route in config.routes:
        if route.tolerances is None:
            resolved[route.key] = config
        else:
            merged = merge_set_fields(config.tolerances, route.tolerances)
            resolved[route.key] = config.model_copy(update={"tolerances": merged})
    return resolved


def judge_run(
    aligned: Aligned,
    truth: GroundTruth | None,
    config: RunConfig,
    percentiles: PercentileInputs | None = None,
    verdicts: list | None = None,
) -> list[CheckResult]:
    """Every parity check for every mapped route, whole window first, then per period.

    Judges that work on all routes' periods at once append their verdicts (frames, or
    ``VerdictGrid``s: judge/periods.py) to ``verdicts`` and return only the checks a reader
    must see."""
    checks: list[CheckResult] = []
    own = route_views(aligned)
    buckets = (
        dict(tuple(percentiles.buckets.groupby("route", sort=False)))
        if percentiles is not None and not percentiles.buckets.empty
        else {}
    )
    configs = route_configs(config)
    paired = _paired_groups(config, configs)
    latency = paired_latency(aligned, paired, verdicts)
    counted = period_counts(aligned, paired, verdicts)
    for route in config.routes:
        judged = configs[route.key]
        mine = own(route.key)
        if judged.side_by_side:
            checks += judge_route_side_by_side(mine, route, truth, judged)
            route_truth = (
                truth.for_route(route.key, judged.target_url("prometheus")) if truth else None
            )
            compared = len(route.sides) == 2
        else:
            route_truth = truth.for_route(route.key) if truth else None
            periods = counted.get(route.key, []) if counted is not None else None
            checks += judge_counts(mine, route.key, route_truth, judged, periods)
            checks += latency[route.key]
            compared = True
        route_buckets = (
            buckets.get(route.key, percentiles.buckets.iloc[0:0]) if percentiles else None
        )
        if percentiles is not None and compared:
            checks += judge_cloudwatch_percentiles(
                route_buckets,
                percentiles.cloudwatch,
                percentiles.unavailable,
                route.key,
                judged,
            )
        if percentiles is not None and "prometheus" in route.sides:
            checks += judge_client_percentiles(route_buckets, route_truth, route.key)
    return checks


def _paired_groups(
    config: RunConfig, configs: dict[str, RunConfig]
) -> list[tuple[RunConfig, list[str]]]:
    """The paired routes (both backends timed the same requests: not side by side), grouped
    by their config: routes with their own tolerances are judged with them, apart."""
    groups: dict[int, tuple[RunConfig, list[str]]] = {}
    for route in config.routes:
        judged = configs[route.key]
        if not judged.side_by_side:
            groups.setdefault(id(judged), (judged, []))[1].append(route.key)
    return list(groups.values())


def period_counts(
    aligned: Aligned, groups: list[tuple[RunConfig, list[str]]], verdicts: list | None
) -> dict[str, list[CheckResult]] | None:
    """Every paired route's period count checks judged at once when the window is long
    enough to table (None: judged one period at a time, every check kept)."""
    grid = aligned.grid
    if verdicts is None or grid is None or grid["cw_count"].shape[1] <= KEEP_ALL:
        return None
    found: dict[str, list[CheckResult]] = {}
    for judged, routes in groups:
        found.update(period_counts_all(aligned, routes, judged, verdicts))
    return found


def paired_latency(
    aligned: Aligned, groups: list[tuple[RunConfig, list[str]]], verdicts: list | None
) -> dict[str, list[CheckResult]]:
    """Mean latency, bias and distribution of every paired route, judged as arrays over all
    of them at once, one group of routes sharing a config at a time."""
    found: dict[str, list[CheckResult]] = {}
    for judged, routes in groups:
        means = judge_mean_latency_all(aligned, routes, judged, verdicts)
        evidence = paired_evidence(aligned, routes, judged)
        for key in routes:
            found[key] = [
                *means[key],
                judge_paired_bias(evidence[key], judged),
                judge_paired_distribution(evidence[key], judged),
            ]
    return found
