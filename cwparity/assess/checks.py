"""The assessment checks every run makes: coverage per route and the job's cardinality."""

from __future__ import annotations

import logging
from typing import Any

from cwparity.align import Sampling
from cwparity.assess.inventory import MAX_ASKED_ROUTES, Inventory, take_inventory
from cwparity.config import RunConfig
from cwparity.errors import SourceError
from cwparity.judge.cardinality import judge_cardinality
from cwparity.judge.coverage import coverage_rows, judge_coverage, judge_unasked
from cwparity.results import CheckResult, Status
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

log = logging.getLogger(__name__)


def assessment_checks(
    client: Any,
    prometheus: PrometheusSource,
    config: RunConfig,
    window: Window,
    sampling: Sampling,
) -> tuple[list[CheckResult], Inventory | None]:
    """Coverage and cardinality for the window; a source failure is one ERROR, not a crash."""
    if not config.coverage.enabled:
        reason = "coverage.enabled is false"
        return [CheckResult("coverage[window]", "coverage", "window", Status.SKIP, reason)], None
    try:
        inventory = take_inventory(client, prometheus, config, window, sampling)
    except SourceError as err:
        log.error("coverage not judged: %s", err)
        reason = f"could not read both sides' routes: {err}"
        return [CheckResult("coverage[window]", "coverage", "window", Status.ERROR, reason)], None
    return judge_inventory(inventory, config), inventory


def judge_inventory(inventory: Inventory, config: RunConfig) -> list[CheckResult]:
    prom = config.prometheus
    rows = coverage_rows(inventory.cloudwatch, inventory.prometheus, config.coverage.ignore)
    routes = inventory.route_series
    checks = judge_coverage(rows, config, {r.route: r.series for r in routes})
    checks += judge_unasked(inventory.unasked, MAX_ASKED_ROUTES)
    checks.append(
        judge_cardinality(prom.job, inventory.job_series, routes, inventory.paths, prom.path_label)
    )
    return checks
