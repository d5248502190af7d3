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

import pandas as pd

from cwparity import __version__
from cwparity.align import Aligned, Sampling, align, bucket_increases
from cwparity.config import RunConfig, load_config
from cwparity.errors import HarnessError, SourceError
from cwparity.judge import PercentileInputs, judge_run
from cwparity.judge.resolution import period_findings
from cwparity.lint import lint_checks
from cwparity.results import CheckResult, Status
from cwparity.settle import settle, wait_until
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


def connect(config: RunConfig) -> Sources:
    """Both sources, checked with one cheap call each so a bad endpoint fails in one line."""
    prometheus = PrometheusSource(config.prometheus)
    info = prometheus.build_info()
    client = cloudwatch.make_client(config.cloudwatch)
    cloudwatch.preflight(client, config.cloudwatch)
    versions = {
        "cwparity": __version__,
        "prometheus": str(info.get("version", "?")),
        "cloudwatch_endpoint": cloudwatch.describe_endpoint(client),
        **client_versions(),
    }
    return Sources(client, prometheus, versions)


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
    cloudwatch: pd.DataFrame
    prom_count: pd.DataFrame
    prom_sum: pd.DataFrame
    prom_bucket: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "cloudwatch": self.cloudwatch,
            "prometheus-count": self.prom_count,
            "prometheus-sum": self.prom_sum,
            "prometheus-bucket": self.prom_bucket,
        }

    def same_as(self, other: Fetched) -> bool:
        theirs = other.frames()
        return all(
            frame.reset_index(drop=True).equals(theirs[name].reset_index(drop=True))
            for name, frame in self.frames().items()
        )

    def save(self, run_dir: Path) -> None:
        for name, frame in self.frames().items():
            frame.to_csv(run_dir / f"{name}.csv", index=False)


def fetch(sources: Sources, config: RunConfig, window: Window, sampling: Sampling) -> Fetched:
    lookback = window.start.timestamp() - sampling.range_start
    pad = 2 * sampling.scrape_interval + sampling.skew
    samples = sources.prometheus.raw_samples
    return Fetched(
        cloudwatch=cloudwatch.fetch_stats(
            sources.cloudwatch, config.cloudwatch, config.routes, window
        ),
        prom_count=samples("count", window, lookback, pad),
        prom_sum=samples("sum", window, lookback, pad),
        prom_bucket=samples("bucket", window, lookback, pad),
    )


def fetch_percentiles(
    sources: Sources, config: RunConfig, window: Window, buckets: pd.DataFrame
) -> PercentileInputs:
    """CloudWatch's pNN in a call of its own: a service that cannot answer (moto) costs only
    the percentile checks, which then SKIP with the service's own words."""
    if not config.cloudwatch.percentiles:
        return PercentileInputs(buckets, None, "cloudwatch.percentiles is false")
    try:
        frame = cloudwatch.fetch_stats(
            sources.cloudwatch,
            config.cloudwatch,
            config.routes,
            window,
            cloudwatch.PERCENTILE_STATS,
        )
    except SourceError as err:
        log.info("CloudWatch percentiles unavailable: %s", err)
        return PercentileInputs(buckets, None, str(err))
    return PercentileInputs(buckets, frame)


@dataclass
class Evaluation:
    checks: list[CheckResult]
    aligned: Aligned | None
    info: dict[str, Any]


def evaluate(plan: RunPlan, config: RunConfig) -> Evaluation:
    """Settle, fetch, align and judge the plan's window. Source failures raise HarnessError."""
    sources = connect(config)
    scrape_interval = sources.prometheus.scrape_interval()
    # PromQL lint and the period's resolution: judged before anything is fetched
    lint = lint_checks(config, scrape_interval)
    lint += period_findings(config.window.period, sources.versions["cloudwatch_endpoint"])
    sampling = sampling_for(config, plan.window, scrape_interval)
    pad = 2 * scrape_interval + sampling.skew
    wait_until(plan.window.end.timestamp() + pad, "Prometheus to scrape past the window")
    result = settle(
        lambda: fetch(sources, config, plan.window, sampling),
        Fetched.same_as,
        timeout=config.window.settle_timeout,
        poll=config.window.settle_poll,
    )
    result.value.save(plan.run_dir)
    aligned = align(
        result.value.cloudwatch,
        result.value.prom_count,
        result.value.prom_sum,
        [route.key for route in config.routes],
        plan.window,
        sampling,
    )
    aligned.periods.to_csv(plan.run_dir / "aligned-periods.csv", index=False)
    routes = [route.key for route in config.routes]
    buckets = bucket_increases(result.value.prom_bucket, routes, plan.window, sampling)
    percentiles = fetch_percentiles(sources, config, plan.window, buckets)
    checks = judge_run(aligned, plan.truth, config, percentiles)
    info = {
        "versions": sources.versions,
        "scrape_interval": scrape_interval,
        "settle": {
            "settled": result.settled,
            "polls": result.polls,
            "waited_s": round(result.waited, 1),
        },
    }
    if not result.settled:
        checks = not_settled(checks, result.polls, result.waited)
    return Evaluation([*lint, *checks], aligned, info)


def not_settled(checks: list[CheckResult], polls: int, waited: float) -> list[CheckResult]:
    """A window still moving is not judged: verdicts become SKIP, and one ERROR says why."""
    from dataclasses import replace

    why = f"data still changing after {waited:.0f}s and {polls} polls"
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
        f"{why}: raise window.settle_timeout or judge later with --no-load",
    )
    return [settle_check, *downgraded]


def error_check(err: HarnessError) -> CheckResult:
    """A run that could not be judged still gets a result that says why."""
    return CheckResult("run[evaluate]", "run", "run", Status.ERROR, str(err))


def timestamp_slug() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
