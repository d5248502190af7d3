"""The CLI's commands as functions: prepare a run folder, judge it with the suites, say where.

``demo`` and ``run`` differ only in where the stack comes from (embedded or the user's own) and
whether load is sent; ``hosts`` and ``grafana`` are ``run`` limited to one part (no CloudWatch, no
load). All end in the same ``judge_folder`` (pytest over the installed suites). The pytest
plugin's ``--cwparity-config`` prepares its run folder with ``plan_run`` too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from cwparity import phases
from cwparity.alarms.demo import create_demo_alarms, fault_env
from cwparity.alarms.replay import alarm_phase, load_grid
from cwparity.alarms.replay import prepare as prepare_alarms
from cwparity.config import RunConfig, load_config, redact
from cwparity.errors import ConfigError, Interrupted
from cwparity.parts import marker_expression, require
from cwparity.paths import CONFIGS_DIR, SUITES_DIR
from cwparity.preflight import check_named_files
from cwparity.report import build_document, read_document, write_all
from cwparity.run import (
    RunPlan,
    connect,
    interrupted_check,
    interruption,
    timestamp_slug,
    window_for_load,
)
from cwparity.window import Window, align_down, align_up, parse_time

log = logging.getLogger(__name__)

DEMO_CONFIG = CONFIGS_DIR / "demo.yaml"
DEMO_SIDE_BY_SIDE_CONFIG = CONFIGS_DIR / "demo-side-by-side.yaml"
# /long-request sleeps 1-5 s in the guide; the demo keeps its shape but stays short
DEMO_APP_ENV = {"CWPARITY_APP_LONG_SLEEP": "0.05,0.25"}
# what a run without load and without a given window looks at (Grafana's panel comparison)
RECENT = timedelta(minutes=15)


@dataclass
class Outcome:
    exit_code: int
    run_dir: Path
    verdict: str
    summary: dict[str, int] = field(default_factory=dict)


def new_run_dir(config: RunConfig, out: Path | None) -> Path:
    base = out or Path(config.report.output_dir)
    run_dir = base / f"{timestamp_slug()}-{config.name}"
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as err:
        key = "--out" if out else "report.output_dir"
        raise ConfigError(f"{key}: cannot create {run_dir}: {err.strerror or err}") from None
    return run_dir.resolve()


def demo_apps(side_by_side: bool, app_env: dict[str, str], fault: dict[str, str]) -> tuple:
    """The dual app; or, side by side, the guide's two apps (only the second is scraped)."""
    from cwparity.stack.embedded import AppSpec

    env = {**DEMO_APP_ENV, **fault, **app_env}
    if side_by_side:
        return (AppSpec("cloudwatch_app", env, scraped=False), AppSpec("prometheus_app", env))
    return (AppSpec("dual_app", env),)


def demo(
    out: Path | None,
    app_env: dict[str, str],
    duration: float | None,
    side_by_side: bool = False,
    workers: int | None = None,
) -> Outcome:
    from cwparity.stack.embedded import EmbeddedStack, StackSpec
    from cwparity.stack.moto import MOTO_CREDENTIALS

    config = load_config(DEMO_SIDE_BY_SIDE_CONFIG if side_by_side else DEMO_CONFIG)
    load_overrides = {"duration": duration, "workers": workers}
    if update := {key: value for key, value in load_overrides.items() if value}:
        config = config.model_copy(update={"load": config.load.model_copy(update=update)})
    run_dir = new_run_dir(config, out)
    started = datetime.now(UTC).isoformat()
    alarms = config.alarms.enabled
    spec = StackSpec(
        apps=demo_apps(side_by_side, app_env, fault_env(config.load.duration) if alarms else {}),
        scrape_interval=config.prometheus.scrape_interval or 1.0,
        alertmanager=alarms,
        evaluation_interval=config.alarms.evaluation_interval,
    )
    # the demo talks to moto only: its placeholder credentials, never the user's real ones
    os.environ.update(MOTO_CREDENTIALS)
    meta: dict = {"mode": "demo", "started_at": started, "app_env": app_env}
    with written_if_interrupted(config, run_dir, meta), EmbeddedStack(spec, run_dir) as stack:
        config = stack.configure(config)
        if alarms:
            create_demo_alarms(config)
        embedded_config = write_config(config, run_dir / "config.yaml")
        meta["stack"] = {
            "app": ", ".join(app.script for app in spec.apps),
            "cloudwatch": "moto (embedded)",
            "prometheus": stack.prometheus_url,
            "alertmanager": stack.alertmanager_url or None,
        }
        # the rules must run before the load: Prometheus evaluates them in real time only
        with alarm_phase(config, run_dir, meta, CONFIGS_DIR, stack):
            plan = load_and_plan(config, embedded_config, run_dir, meta)
        plan.save()
        return judge_folder(run_dir)


def run(
    config_path: Path,
    out: Path | None,
    no_load: bool,
    start: str | None,
    end: str | None,
    only: Sequence[str] | None = None,
    mode: str = "run",
) -> Outcome:
    """A run against the user's own endpoints; ``only`` limits it to some parts (parity, hosts,
    grafana, security), each of which must be on in the config."""
    config = load_config(config_path)
    check_named_files(config, config_path)
    if only is not None:
        require(only, config, str(config_path))
    parity = only is None or "parity" in only
    window = None
    if parity and (no_load or not config.load.enabled):
        window = user_window(start, end, config.window.period)
    elif not parity and (start or end):
        window = user_window(start, end, config.window.period, "a window")
    run_dir = new_run_dir(config, out)
    meta: dict = {"mode": mode, "started_at": datetime.now(UTC).isoformat()}
    if only is not None:
        meta["parts"] = list(only)
    with written_if_interrupted(config, run_dir, meta, window):
        plan_run(config, config_path.resolve(), run_dir, meta, parity, window).save()
        return judge_folder(run_dir, only)


def hosts(config_path: Path, out: Path | None) -> Outcome:
    """The monitoring host and Prometheus's security, alone: no CloudWatch, no load."""
    return run(config_path, out, True, None, None, only=("hosts",), mode="hosts")


def grafana(config_path: Path, out: Path | None, start: str | None, end: str | None) -> Outcome:
    """Grafana alone, its panel compared with Prometheus over a window (default: the last 15 min)."""
    return run(config_path, out, True, start, end, only=("grafana",), mode="grafana")


def plan_run(
    config: RunConfig,
    config_path: Path,
    run_dir: Path,
    meta: dict,
    parity: bool,
    window: Window | None,
) -> RunPlan:
    """What the run folder judges: the given window; else, for parity, a window around fresh
    load; else the recent window. Parity needs both sources: they are checked first."""
    if window is not None:
        if parity:
            connect(config)
            if config.alarms.enabled:
                meta["alarms"] = prepare_alarms(config, run_dir, config_path.parent)
        return RunPlan(config_path, window, run_dir, None, meta)
    if parity:
        if not config.load.enabled:
            raise ConfigError(
                "load.enabled is false: give the window to judge "
                "(run --no-load --start --end, or pytest --cwparity-window)"
            )
        # the alarms' rules must run before the load: Prometheus evaluates them in real time
        with alarm_phase(config, run_dir, meta, config_path.parent):
            return load_and_plan(config, config_path, run_dir, meta)
    return RunPlan(config_path, recent_window(config.window.period), run_dir, None, meta)


def recent_window(period: int, now: datetime | None = None) -> Window:
    """The whole periods of the last 15 minutes (at least one period)."""
    end = align_down(now or datetime.now(UTC), period)
    span = max(RECENT.total_seconds(), period)
    return Window(align_down(end - timedelta(seconds=span), period), end, period)


def load_and_plan(config: RunConfig, config_path: Path, run_dir: Path, meta: dict) -> RunPlan:
    """Check both sources, send the load, and plan the window around it."""
    from cwparity.load import run_load

    sources = connect(config)
    scrape_interval = sources.prometheus.scrape_interval()
    phases.enter("load", checkpoint=False)  # the test switch's point is with Locust running
    # a quiet start edge needs a scrape before the first request, not only time before it
    if not sources.prometheus.wait_for_fresh_scrape(timeout=3 * scrape_interval + 5):
        log.warning(
            "Prometheus did not scrape job %s before the load: the window's start "
            "edge may carry uncertainty",
            config.prometheus.job,
        )
    grid = load_grid(meta.get("alarms"), config.load.duration)
    truth = run_load(config.load, config.routes, config.load_targets(), run_dir / "load", grid)
    window = window_for_load(truth, config, scrape_interval)
    return RunPlan(config_path, window, run_dir, truth, meta)


def user_window(
    start: str | None, end: str | None, period: int, option: str = "--no-load"
) -> Window:
    if not start or not end:
        raise ConfigError(f"{option} needs --start and --end (ISO 8601, unix seconds or now-15m)")
    try:
        first, last = parse_time(start), parse_time(end)
    except ValueError as err:
        raise ConfigError(f"--start/--end: {err}") from None
    if last <= first:
        raise ConfigError(f"--end {end!r} is not after --start {start!r}")
    window = Window(align_down(first, period), align_up(last, period), period)
    if window.start != first or window.end != last:
        log.info("window widened to the %ds grid: %s → %s", period, window.start, window.end)
    return window


def window_option(text: str, period: int) -> Window:
    """``START:END`` (or ISO 8601's ``START/END``), each an ISO 8601 time, unix seconds or
    ``now-15m``, as the grid-aligned window (ISO times hold colons: the one split whose both
    halves are times is taken)."""
    candidates = [tuple(text.split("/", 1))] if "/" in text else []
    candidates += [(text[:i], text[i + 1 :]) for i, char in enumerate(text) if char == ":"]
    valid = [(start, end) for start, end in candidates if _is_time(start) and _is_time(end)]
    if len(valid) != 1:
        raise ConfigError(
            f"--cwparity-window {text!r}: expected START:END or START/END, "
            "e.g. now-30m:now or 2026-11-24T10:00:00Z/2026-11-24T11:00:00Z"
        )
    return user_window(*valid[0], period, "--cwparity-window")


def _is_time(text: str) -> bool:
    try:
        parse_time(text)
    except ValueError:
        return False
    return bool(text.strip())


def judge_folder(run_dir: Path, only: Sequence[str] | None = None) -> Outcome:
    """Run the suites over the prepared folder (only the parts named, when named); the verdict
    is what results.json says."""
    import pytest

    args = [
        str(SUITES_DIR),
        f"--cwparity-run-dir={run_dir}",
        # the run's pytest settings are all here: no pytest.ini or pyproject.toml of the working
        # directory (or of a checkout) changes how a run is judged
        "-c",
        os.devnull,
        f"--rootdir={SUITES_DIR.parent}",
        "--strict-markers",
        "-p",
        "no:cacheprovider",
        "-v",
        "--no-header",
        "-s",
        "-p",
        "no:logging",
        "-W",
        "ignore::DeprecationWarning",
    ]
    if only is not None:
        args += ["-m", marker_expression(only)]
    pytest_code = int(pytest.main(args))
    results = run_dir / "results.json"
    if pytest_code == pytest.ExitCode.INTERRUPTED and results.exists():
        raise Interrupted(run_dir)  # the plugin wrote the partial record, marked interrupted
    if not results.exists():
        raise ConfigError(f"the suites ended with code {pytest_code} and wrote no results")
    document = read_document(results)
    return Outcome(document["exit_code"], run_dir, document["verdict"], document["summary"])


@contextmanager
def written_if_interrupted(
    config: RunConfig, run_dir: Path, meta: dict, window: Window | None = None
) -> Iterator[None]:
    """Ctrl-C or SIGTERM before the suites wrote the run folder's record (during the stack's
    start or the load) still leaves one: partial, marked interrupted, ERROR."""
    phases.reset()
    try:
        yield
    except KeyboardInterrupt:
        if not (run_dir / "results.json").exists():
            write_interrupted(config, run_dir, meta, window)
        raise Interrupted(run_dir) from None


def write_interrupted(
    config: RunConfig, run_dir: Path, meta: dict, window: Window | None = None
) -> None:
    """The record of a run stopped before anything was judged."""
    where = interruption()
    run = {
        "name": config.name,
        "mode": meta.get("mode", "run"),
        "started_at": meta.get("started_at"),
        "finished_at": datetime.now(UTC).isoformat(),
        "window": window.to_dict() if window else None,
        "config_digest": config.digest(),
        "config": config.redacted(),
        "meta": meta,
        "interrupted": where,
    }
    write_all(run_dir, build_document([interrupted_check(where)], redact(run)))


def rerender(run_dir: Path) -> Outcome:
    document = read_document(run_dir / "results.json")
    write_all(run_dir, document)
    return Outcome(document["exit_code"], run_dir, document["verdict"], document["summary"])


def write_config(config: RunConfig, path: Path) -> Path:
    """The embedded stack's config (no secrets in it) as the file the suites load."""
    path.write_text(
        yaml.safe_dump(config.model_dump(mode="json", exclude_unset=True), sort_keys=False)
    )
    return path


def discover(
    config_path: Path,
    start: str | None,
    end: str | None,
    write: Path | None,
    dashboard: Path | None,
) -> None:
    """Print what both sides hold in the window; optionally write a starter config and a
    Grafana dashboard for the routes on both sides."""
    from cwparity.assess.discover import discover as read_both_sides
    from cwparity.assess.starter import starter_yaml, table
    from cwparity.run import sampling_for
    from cwparity.settle import wait_until

    config = load_config(config_path)
    window = user_window(start or "now-1h", end or "now", config.window.period)
    sources = connect(config)
    sampling = sampling_for(config, window, sources.prometheus.scrape_interval())
    # counting to the window's end needs a scrape after it
    pad = 2 * sampling.scrape_interval + sampling.skew
    wait_until(window.end.timestamp() + pad, "Prometheus to scrape past the window")
    found = read_both_sides(sources.cloudwatch, sources.prometheus, config, window, sampling)
    print(table(found))
    if write is not None:
        write.write_text(starter_yaml(found, str(config_path)), encoding="utf-8")
        print(
            f"cwparity: wrote {write} ({len(found.both_sides)} routes); check it with "
            f"`cwparity validate --config {write}`"
        )
    if dashboard is not None:
        from cwparity.dashboard import write_dashboard

        routes = [(row.method, row.path) for row in found.both_sides]
        write_dashboard(config, routes, dashboard)
        print(f"cwparity: wrote {dashboard} (Grafana dashboard, {len(routes)} routes)")


def dashboard(config_path: Path, out: Path) -> None:
    """The Grafana dashboard for the config's mapped routes, without reading either side."""
    from cwparity.dashboard import write_dashboard

    config = load_config(config_path)
    write_dashboard(config, [(r.method, r.path) for r in config.routes], out)
    print(f"cwparity: wrote {out} (Grafana dashboard, {len(config.routes)} routes)")
