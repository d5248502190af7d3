"""One parity run's data path: plan → connect → settle + fetch → align → judge.

The CLI prepares a run folder (``run.json``: config file, window, ground truth); the pytest
plugin evaluates it once per session; the report step writes what was judged. Each step lives
in its own module; this one only strings them together.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cwparity import __version__, phases
from cwparity.alarms.replay import alarm_checks
from cwparity.align import Aligned, Sampling, align, bucket_increases
from cwparity.assess.capacity import cost_block
from cwparity.assess.checks import assessment_checks
from cwparity.config import RunConfig, load_config
from cwparity.errors import HarnessError
from cwparity.judge import PercentileInputs, judge_run
from cwparity.judge.gaps import scrape_gaps
from cwparity.judge.periods import PeriodVerdicts, collapse
from cwparity.judge.resolution import period_findings
from cwparity.judge.verdict_grid import VerdictGrid
from cwparity.lint import lint_checks
from cwparity.results import CheckResult, Status
from cwparity.samples import SeriesSet, StatGrid
from cwparity.settle import Settled, SettleRule, settle, wait_until
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.truth import GroundTruth
from cwparity.window import Window

log = logging.getLogger(__name__)


@dataclass
class RunPlan:
    """What a run folder holds before judging: enough to judge it again later."""

    config_path: Path
    window: Window
    run_dir: Path
    truth: GroundTruth | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "run.json"
        data = {
            "config_path": str(self.config_path),
            "window": self.window.to_dict(),
            "truth": self.truth.to_dict() if self.truth else None,
            "meta": self.meta,
        }
        path.write_text(json.dumps(data, indent=2))
        return path

    @classmethod
    def load(cls, run_dir: Path) -> RunPlan:
        data = json.loads((run_dir / "run.json").read_text())
        truth = GroundTruth.from_dict(data["truth"]) if data.get("truth") else None
        return cls(
            Path(data["config_path"]),
            Window.from_dict(data["window"]),
            run_dir,
            truth,
            data.get("meta", {}),
        )

    def config(self) -> RunConfig:
        return load_config(self.config_path)


@dataclass
class Sources:
    cloudwatch: Any
    prometheus: PrometheusSource
    versions: dict[str, str]
    #: every CloudWatch API call this run made (botocore event hooks)
    calls: cloudwatch.CallLog = field(default_factory=cloudwatch.CallLog)


def connect(config: RunConfig) -> Sources:
    """Both sources, checked with one cheap call each so a bad endpoint fails in one line."""
    prometheus = PrometheusSource(config.prometheus)
    info = prometheus.build_info()
    client = cloudwatch.make_client(config.cloudwatch)
    calls = cloudwatch.CallLog().attach(client)
    cloudwatch.preflight(client, config.cloudwatch)
    versions = {
        "cwparity": __version__,
        "prometheus": str(info.get("version", "?")),
        "cloudwatch_endpoint": cloudwatch.describe_endpoint(client),
        **client_versions(),
    }
    return Sources(client, prometheus, versions, calls)


def client_versions() -> dict[str, str]:
    """The libraries a verdict rests on, read from package metadata (nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("boto3", "prometheus-api-client", "locust", "pandas", "moto"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def sampling_for(config: RunConfig, window: Window, scrape_interval: float) -> Sampling:
    lookback = 3 * scrape_interval + config.window.clock_skew
    return Sampling(scrape_interval, config.window.clock_skew, window.start.timestamp() - lookback)


def window_for_load(truth: GroundTruth, config: RunConfig, scrape_interval: float) -> Window:
    """The grid-aligned window around the load, with a quiet edge on both sides of it."""
    margin = 2 * scrape_interval + config.window.clock_skew
    return Window.covering(truth.first_start, truth.last_end, config.window.period, margin)


@dataclass
class Fetched:
    """One read of the window from both sources, as arrays."""

    cloudwatch: StatGrid
    prom_count: SeriesSet
    prom_sum: SeriesSet
    prom_bucket: SeriesSet
    #: why CloudWatch's percentiles are missing (None: it answered them)
    percentiles_missing: str | None = None

    def series(self) -> dict[str, SeriesSet]:
        return {
            "prometheus-count": self.prom_count,
            "prometheus-sum": self.prom_sum,
            "prometheus-bucket": self.prom_bucket,
        }

    def same_as(self, other: Fetched) -> bool:
        return self.cloudwatch.same_as(other.cloudwatch) and self.same_prometheus(other)

    def same_prometheus(self, other: Fetched) -> bool:
        theirs = other.series()
        return all(mine.same_as(theirs[name]) for name, mine in self.series().items())

    def moved_periods(self, after: Fetched) -> np.ndarray:
        """Which periods changed from this read to ``after``: any CloudWatch statistic of any
        route; every period when Prometheus's samples changed (they are not per period)."""
        shape = self.cloudwatch.stats["count"].shape
        moved = np.zeros(shape[1], dtype=bool)
        for name in self.cloudwatch.stats.keys() | after.cloudwatch.stats.keys():
            mine = self.cloudwatch.stats.get(name, np.full(shape, np.nan))
            theirs = after.cloudwatch.stats.get(name, np.full(shape, np.nan))
            same = (mine == theirs) | (np.isnan(mine) & np.isnan(theirs))
            moved |= ~same.all(axis=0)
        if not self.same_prometheus(after):
            moved[:] = True
        return moved

    def save(self, run_dir: Path) -> None:
        self.cloudwatch.to_frame().to_csv(run_dir / "cloudwatch.csv", index=False)
        for name, series in self.series().items():
            series.save(run_dir / name)


@dataclass
class FetchState:
    """What one poll tells the next: the service refused percentiles (do not ask again)."""

    percentiles_refused: str | None = None


def fetch(
    sources: Sources,
    config: RunConfig,
    window: Window,
    sampling: Sampling,
    state: FetchState | None = None,
    buckets: bool = True,
    previous: Fetched | None = None,
    first_open: int = 0,
) -> Fetched:
    """Both sources' data for the window; bucket series only when percentiles are judged.

    With ``previous``, CloudWatch is asked only for periods ``first_open:`` (the settle's
    periods not yet final); the earlier ones are kept from ``previous``."""
    state = state or FetchState()
    lookback = window.start.timestamp() - sampling.range_start
    pad = 2 * sampling.scrape_interval + sampling.skew
    if previous is None:
        grid, missing = cloudwatch.fetch_with_percentiles(
            sources.cloudwatch, config.cloudwatch, config.routes, window, state.percentiles_refused
        )
    else:
        grid, missing = cloudwatch.reread_open_periods(
            sources.cloudwatch,
            config.cloudwatch,
            config.routes,
            previous.cloudwatch,
            first_open,
            state.percentiles_refused,
        )
    if missing and config.cloudwatch.percentiles:
        state.percentiles_refused = missing

    mapped = [(route.method, route.path) for route in config.routes]

    def samples(suffix: str) -> SeriesSet:  # the mapped routes' series only
        return sources.prometheus.raw_samples(
            suffix, window, lookback, pad, sampling.scrape_interval, mapped
        )

    return Fetched(
        cloudwatch=grid,
        prom_count=samples("count"),
        prom_sum=samples("sum"),
        prom_bucket=samples("bucket") if buckets else SeriesSet.empty(),
        percentiles_missing=missing,
    )


def percentiles_judged(config: RunConfig, truth: GroundTruth | None) -> bool:
    """Whether any percentile check can be judged: CloudWatch's, or Locust's client side."""
    if config.cloudwatch.percentiles:
        return True
    return truth is not None and any(r.latency.total for r in truth.routes)


def percentile_inputs(fetched: Fetched, buckets: pd.DataFrame) -> PercentileInputs:
    """CloudWatch's pNN when it answered them; otherwise the percentile checks SKIP with the
    service's own words (a percentile-less endpoint such as moto costs only those checks)."""
    if fetched.percentiles_missing is not None:
        return PercentileInputs(buckets, None, fetched.percentiles_missing)
    stats = list(cloudwatch.PERCENTILE_STATS.values())
    return PercentileInputs(buckets, fetched.cloudwatch.to_frame(stats))


def cloudwatch_cost(
    sources: Sources, config: RunConfig, fetched: Fetched, read_from: tuple[int, ...] = (0,)
) -> dict[str, Any]:
    """The run's CloudWatch calls next to the minimum for the settle's reads.

    The minimum: for each poll the settle rule needed (the first read of the whole window, one
    that proves the quiet span, one more for each poll that still saw data arrive), the fewest
    calls carrying the periods that poll had to read (``read_from[i]:``, the ones not yet final),
    packed within GetMetricData's limits. How many polls a window needs is the rule's (reported
    in ``run.settle``), not something a cheaper read could avoid."""
    stats = len(cloudwatch.BASE_STATS)
    if fetched.percentiles_missing is None:
        stats += len(cloudwatch.PERCENTILE_STATS)
    queries = stats * len(config.routes)
    periods = len(fetched.cloudwatch.window.period_starts())
    minimum = sum(cloudwatch.minimum_calls(queries, periods - first) for first in read_from)
    return sources.calls.summary(minimum, queries * len(read_from))


def settle_rule(config: RunConfig) -> SettleRule:
    window = config.window
    return SettleRule(
        window.settle_quiet, window.settle_min_age, window.settle_timeout, window.settle_poll
    )


def cloudwatch_shortfall(fetched: Fetched, routes: list[str], window: Window, sampling) -> float:
    """How many requests CloudWatch counted fewer than Prometheus over the window (negative:
    more): what shrinks while CloudWatch's data is still arriving."""
    aligned = align(
        fetched.cloudwatch, fetched.prom_count, fetched.prom_sum, routes, window, sampling
    )
    assert aligned.grid is not None
    return round(float(aligned.grid["prom_count"].sum() - aligned.grid["cw_count"].sum()), 1)


def settle_window(
    sources: Sources, config: RunConfig, plan: RunPlan, sampling: Sampling, buckets: bool
) -> Settled[Fetched]:
    """Poll both sources until every period of the window is final (cwparity.settle)."""
    state, window = FetchState(), plan.window
    routes = [route.key for route in config.routes]
    ends = np.array([start.timestamp() + window.period for start in window.period_starts()])

    def read(first_open: int, previous: Fetched | None) -> Fetched:
        with phases.phase("fetch"):
            fetched = fetch(sources, config, window, sampling, state, buckets, previous, first_open)
        phases.reached("settle")  # between two polls: the test switch's point for settle
        return fetched

    return settle(
        read,
        Fetched.moved_periods,
        lambda fetched: cloudwatch_shortfall(fetched, routes, window, sampling),
        ends,
        settle_rule(config),
    )


@dataclass
class Evaluation:
    checks: list[CheckResult]
    aligned: Aligned | None
    info: dict[str, Any]
    #: every per-period verdict (the checks keep only the failures, the worst pass, summaries)
    verdicts: PeriodVerdicts | None = None


def evaluate(plan: RunPlan, config: RunConfig) -> Evaluation:
    """Settle, fetch, align and judge the plan's window. Source failures raise HarnessError."""
    sources = connect(config)
    scrape_interval = sources.prometheus.scrape_interval()
    # PromQL lint and the period's resolution: judged before anything is fetched
    lint = lint_checks(config, scrape_interval)
    lint += period_findings(config.window.period, sources.versions["cloudwatch_endpoint"])
    sampling = sampling_for(config, plan.window, scrape_interval)
    pad = 2 * scrape_interval + sampling.skew
    with phases.phase("scrape_wait"):
        wait_until(plan.window.end.timestamp() + pad, "Prometheus to scrape past the window")
    with phases.phase("settle", checkpoint=False):
        result = settle_window(
            sources, config, plan, sampling, percentiles_judged(config, plan.truth)
        )
    phases.enter("judging")
    fetched = result.value
    fetched.save(plan.run_dir)
    routes = [route.key for route in config.routes]
    aligned = align(
        fetched.cloudwatch, fetched.prom_count, fetched.prom_sum, routes, plan.window, sampling
    )
    aligned.periods.to_csv(plan.run_dir / "aligned-periods.csv", index=False)
    buckets = bucket_increases(fetched.prom_bucket, routes, plan.window, sampling)
    percentiles = percentile_inputs(fetched, buckets)
    tabled: list[pd.DataFrame | VerdictGrid] = []
    checks = judge_run(aligned, plan.truth, config, percentiles, tabled)
    gaps = scrape_gaps(fetched.prom_count, routes, plan.window, sampling)
    checks += gaps
    calls = cloudwatch_cost(sources, config, fetched, result.read_from)  # before coverage's
    # coverage (every route either side saw) and the job's cardinality, then the cost estimate
    assessed, inventory = assessment_checks(
        sources.cloudwatch, sources.prometheus, config, plan.window, sampling
    )
    checks += lost_target_coverage(assessed, gaps)
    requested = sources.calls.summary(0, 0)["metrics_requested"]  # every read of this run
    alarms = alarm_checks(plan, config, sources.cloudwatch, sources.prometheus, scrape_interval)
    checks += alarms.checks
    info = {
        "versions": sources.versions,
        "scrape_interval": scrape_interval,
        "settle": result.record,
        "cloudwatch_calls": calls,
        "cost": cost_block(sources.cloudwatch, sources.prometheus, config, inventory, requested),
        "alarms": alarms.records,
    }
    if not result.settled:
        checks = not_settled(checks, result.record["why"])
        for table in tabled:  # the table says the same as the checks: not judged
            if isinstance(table, VerdictGrid):
                table.skip_all()
            else:
                table["status"] = Status.SKIP.value
    checks, verdicts = collapse(checks, tabled)
    verdicts.save(plan.run_dir / "period-verdicts.csv")
    checks += nothing_judged(checks, routes)
    return Evaluation([*lint, *checks], aligned, info, verdicts)


#: checks about a mapped route that judge none of its parity: its scrapes, that both sides have
#: it, its series count. Passing, they must not make a run whose parity was all SKIP a PASS.
NOT_PARITY = frozenset({"scrape_gap", "coverage", "cardinality"})


def nothing_judged(checks: list[CheckResult], routes: list[str]) -> list[CheckResult]:
    """A parity run that judged no mapped route is ERROR: the host, lint or coverage checks
    that PASS beside it must not make it a PASS (an ERROR already there says why)."""
    mapped = set(routes)
    if any(c.status is Status.ERROR for c in checks) or any(
        c.status in (Status.PASS, Status.FAIL)
        for c in checks
        if c.subject in mapped and c.kind not in NOT_PARITY
    ):
        return []
    return [
        CheckResult(
            "run[judged]",
            "run",
            "run",
            Status.ERROR,
            "no parity check of a mapped route could be judged (each one SKIPped: see why)",
        )
    ]


def lost_target_coverage(assessed: list[CheckResult], gaps: list[CheckResult]) -> list[CheckResult]:
    """Coverage reads a route's series over the whole window; one whose target was lost before
    the end reads as "not instrumented". Not judged instead: its count checks say why."""
    from dataclasses import replace

    lost = {gap.subject for gap in gaps if "stopped_at" in gap.observed}
    return [
        replace(
            check,
            status=Status.SKIP,
            reason=f"not judged (the route's target was lost before the window's end, see "
            f"scrape_gap[{check.subject}]); would be: {check.reason}",
        )
        if check.kind == "coverage" and check.subject in lost and check.status is Status.FAIL
        else check
        for check in assessed
    ]


def not_settled(checks: list[CheckResult], why: str) -> list[CheckResult]:
    """A window still moving is not judged: verdicts become SKIP, and one ERROR says why."""
    from dataclasses import replace

    downgraded = [
        replace(c, status=Status.SKIP, reason=f"not judged ({why}); would be: {c.reason}")
        if c.status in (Status.PASS, Status.FAIL)
        else c
        for c in checks
    ]
    settle_check = CheckResult(
        "settle[window]",
        "settle",
        "window",
        Status.ERROR,
        f"{why}; raise window.settle_timeout or judge later with --no-load",
    )
    return [settle_check, *downgraded]


def interruption() -> dict[str, str]:
    """What the record says about an interruption: the phase it cut short and the signal."""
    return {"phase": phases.current(), "signal": phases.last_signal()}


def interrupted_check(where: dict[str, str]) -> CheckResult:
    """The ERROR an interrupted run carries: it is a partial record, never a verdict."""
    return CheckResult(
        "run[interrupted]",
        "run",
        "run",
        Status.ERROR,
        f"interrupted by {where['signal']} during {where['phase']}: what that phase and the "
        "ones after it would have judged is missing, so this run is not a verdict",
        details={"finding": f"run interrupted during {where['phase']}"},
    )


def error_check(err: HarnessError) -> CheckResult:
    """A run that could not be judged still gets a result that says why."""
    return CheckResult("run[evaluate]", "run", "run", Status.ERROR, str(err))


def timestamp_slug() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
