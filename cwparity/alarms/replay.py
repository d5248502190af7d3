"""Alarm parity for one run: before the load, read the alarms, translate them and load the rules;
after it, replay both sides over the run's window and judge them.

Prometheus evaluates rules in real time only, so the rules must run before the load starts:
``alarm_phase`` (around the load) reads the alarms, writes the translated rules file into the
run folder, loads it with the team's ``alarms.rules_files`` into the embedded Prometheus, and
watches Alertmanager while the load runs. ``judge_alarms`` (in the evaluation) reads each rule's
own ``ALERTS`` back — or, for a rule that Prometheus did not evaluate over the whole window (a
past window on the user's Prometheus without the rules), replays it: Prometheus evaluates its
expression with query_range and cwparity applies ``for``, which every check then says.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from cwparity import __version__
from cwparity.alarms import checks, evaluator, rules, timeline
from cwparity.alarms.model import AlarmSpec, Kind
from cwparity.alarms.translate import Mapping, Rule, Translation, translate
from cwparity.config import RunConfig, redact_url
from cwparity.errors import SourceError
from cwparity.results import CheckResult, Status
from cwparity.sources import alarms as sources
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window, align_down, align_up

log = logging.getLogger(__name__)

RULES_FILE = "cwparity-alarms.rules.yml"
TEST_FILE = "cwparity-alarms.test.yml"
WATCH_FILE = "alertmanager-alerts.json"


def mapping_for(config: RunConfig) -> Mapping:
    cw, prom = config.cloudwatch, config.prometheus
    return Mapping(
        namespace=cw.namespace,
        metric_name=cw.metric_name,
        endpoint_dimension=cw.endpoint_dimension,
        method_dimension=cw.method_dimension,
        extra_dimensions=dict(cw.extra_dimensions),
        cloudwatch_unit=cw.unit,
        histogram=prom.histogram,
        path_label=prom.path_label,
        method_label=prom.method_label,
        job=prom.job,
        selector=prom.selector,
        prometheus_unit=prom.unit,
        pair_key=config.alarms.pair_key,
    )


# --- before the load ------------------------------------------------------------------------


@contextmanager
def alarm_phase(
    config: RunConfig,
    run_dir: Path,
    meta: dict[str, Any],
    config_dir: Path,
    stack: Any = None,
) -> Iterator[None]:
    """Around the load: the alarms read and their rules running first, Alertmanager watched."""
    if not config.alarms.enabled:
        yield
        return
    meta["alarms"] = prepare(config, run_dir, config_dir, stack)
    url = config.alarms.alertmanager.url
    if not url:
        yield
        return
    watch = sources.AlertmanagerWatch(url, run_dir / "alarms" / WATCH_FILE)
    watch.start()
    try:
        yield
    except BaseException:
        watch.stop()
        raise
    # an alarm can fire until its window's last period ends, after the load: the watch goes
    # on until the evaluation (which waits for that moment anyway) stops it
    _WATCHES[run_dir.resolve()] = watch


_WATCHES: dict[Path, sources.AlertmanagerWatch] = {}


def stop_watch(run_dir: Path) -> None:
    """End the run's Alertmanager watch, if one is still going, and write what it saw."""
    watch = _WATCHES.pop(run_dir.resolve(), None)
    if watch is not None:
        watch.stop()


def prepare(config: RunConfig, run_dir: Path, config_dir: Path, stack: Any = None) -> dict:
    """Read the alarms, write the translated rules, read the team's; load them all into the
    embedded ``stack`` when there is one. Returns what ``run.json`` keeps of it."""
    settings = config.alarms
    client = cloudwatch.make_client(config.cloudwatch)
    specs = sources.read_alarms(
        client,
        config.cloudwatch.namespace,
        config.cloudwatch.metric_name,
        names=settings.names,
        prefix=settings.name_prefix,
    )
    folder = run_dir / "alarms"
    folder.mkdir(parents=True, exist_ok=True)
    translated = translations(specs, mapping_for(config))
    written = [t.rule for t in translated if t.rule]
    rules_file = folder / RULES_FILE if written else None
    if rules_file is not None:
        rules_file.write_text(rules.render_rules(written, settings.host_rules_path, __version__))
    team_files = [_resolve(config_dir, f) for f in settings.rules_files]
    team = [r for path in team_files for r in rules.load_rules_file(path)]
    loaded_at = None
    if stack is not None:
        loaded_at = stack.load_rules([p for p in (rules_file, *team_files) if p is not None])
    log.info("alarms: %d read, %d translated, %d team rules", len(specs), len(written), len(team))
    return {
        "alarms": [s.to_dict() for s in specs],
        "rules_file": str(rules_file) if rules_file else None,
        "team_rules": [r.to_dict() for r in team],
        "team_files": [str(p) for p in team_files],
        "loaded_at": loaded_at,
        "read_at": time.time(),
    }


def load_grid(prepared: dict[str, Any] | None, duration: float) -> int | None:
    """The grid cwparity's own load starts and ends on, so that every period of the alarms it
    judges is fully loaded or not loaded (see ``load.GridSchedule``): the least common multiple
    of their periods, or None when there are none, or when it is longer than the load itself
    (the load would wait longer than it runs; the edges are then what they are)."""
    periods = {
        int(a["period"])
        for a in (prepared or {}).get("alarms", [])
        if a.get("kind", Kind.METRIC.value) == Kind.METRIC.value and a.get("period")
    }
    if not periods:
        return None
    grid = math.lcm(*periods)
    if grid > duration:
        log.info("load: not on the alarms' %d s grid, which is longer than the load", grid)
        return None
    return grid


def _resolve(base: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def translations(
    specs: Sequence[AlarmSpec], mapping: Mapping, buckets: Sequence[float] = ()
) -> list[Translation]:
    names = rules.unique_alert_names(translate(s, mapping) for s in specs)
    return [translate(s, mapping, buckets, alert=names[s.name]) for s in specs]


# --- after the load -------------------------------------------------------------------------


@dataclass
class AlarmOutcome:
    checks: list[CheckResult] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TestPlan:
    """What the promtool test built from this run needs: the periods' grid, how far back the
    rules look, and whether they read buckets."""

    periods: set[int] = field(default_factory=set)
    look_back: float = 0.0
    buckets: bool = False


@dataclass
class Context:
    """What judging every alarm of one run shares."""

    config: RunConfig
    run_dir: Path
    window: Window
    client: Any
    prometheus: PrometheusSource
    scrape_interval: float
    mapping: Mapping
    loaded: dict[str, sources.LoadedRule]
    loaded_at: float | None
    expectations: list[rules.Expectation] = field(default_factory=list)
    test: TestPlan = field(default_factory=TestPlan)
    live_fired: list[tuple[AlarmSpec, str, float]] = field(default_factory=list)

    @property
    def replay_interval(self) -> float:
        return self.config.alarms.evaluation_interval or self.scrape_interval


def judge_alarms(
    meta: dict[str, Any] | None,
    config: RunConfig,
    window: Window,
    run_dir: Path,
    client: Any,
    prometheus: PrometheusSource,
    scrape_interval: float,
) -> AlarmOutcome:
    """Every ``alarm[...]`` check of the run, its rules' lint and promtool checks, Alertmanager's,
    and the timelines the report draws."""
    outcome = AlarmOutcome()
    if not config.alarms.enabled:
        return outcome
    if not meta:
        # a run prepared without alarms: read them now; nothing was loaded for it
        meta = prepare(config, run_dir, run_dir)
    specs = [AlarmSpec.from_dict(d) for d in meta["alarms"]]
    if not specs:
        outcome.checks.append(_no_alarms(config))
        return outcome
    team = [rules.TeamRule.from_dict(d) for d in meta.get("team_rules") or []]
    loaded = {r.name: r for r in sources.loaded_rules(prometheus)}
    ctx = Context(
        config,
        run_dir,
        window,
        client,
        prometheus,
        scrape_interval,
        mapping_for(config),
        loaded,
        meta.get("loaded_at"),
    )
    paired, unpaired = rules.pair(team, specs, config.alarms.pair_by, config.alarms.pair_key)
    translated = translations(specs, ctx.mapping)
    for t in translated:
        judge_alarm(ctx, t, paired.get(t.alarm.name, []), outcome)
    outcome.checks += [checks.unpaired(r, config) for r in unpaired]
    outcome.checks += checks.lint(config, translated, team, scrape_interval)
    outcome.checks += promtool_checks(ctx, meta)
    outcome.checks += checks.alertmanager(ctx.live_fired, run_dir / "alarms" / WATCH_FILE)
    return outcome


def _no_alarms(config: RunConfig) -> CheckResult:
    settings, cw = config.alarms, config.cloudwatch
    which = (
        f"named {', '.join(settings.names)}"
        if settings.names
        else f"on {cw.namespace}/{cw.metric_name}"
        + (f" named {settings.name_prefix}*" if settings.name_prefix else "")
    )
    return CheckResult(
        "alarm[none]",
        "alarm",
        "alarms",
        Status.SKIP,
        f"alarms.enabled, but DescribeAlarms found no CloudWatch alarm {which}: nothing to judge",
    )


def alarm_window(window: Window, period: int) -> Window:
    """The run's window widened to the alarm's own period grid."""
    return Window(align_down(window.start, period), align_up(window.end, period), period)


def judge_alarm(
    ctx: Context, t: Translation, team: list[rules.TeamRule], outcome: AlarmOutcome
) -> None:
    spec = t.alarm
    ids = [(f"alarm[{spec.name}]", None), *((f"alarm[{spec.name}:{r.alert}]", r) for r in team)]
    record: dict[str, Any] = {"alarm": spec.name, "describe": spec.describe(), "rules": []}
    outcome.records.append(record)
    if t.rule is None:
        record["skip"] = t.skip_reason
        outcome.checks += [
            timeline.skipped(spec, cid, f"not judged: {t.skip_reason}") for cid, _ in ids
        ]
        return
    window = alarm_window(ctx.window, spec.period)
    try:
        history = _cloudwatch_timeline(ctx, spec, window)
    except SourceError as err:
        why = f"CloudWatch cannot answer this alarm's {spec.statistic} datapoints: {err}"
        record["skip"] = why
        outcome.checks += [timeline.skipped(spec, cid, why) for cid, _ in ids]
        return
    statistic = _grid_values(ctx, t.rule.statistic, window, spec.period)
    assert t.rule.threshold is not None  # a translated rule always compares with one
    marginal = timeline.marginal_periods(spec, history, statistic, t.rule.threshold)
    _chart_data(record, ctx, spec, window, history, statistic, marginal)
    for cid, team_rule in ids:
        check, firing = judge_rule(ctx, spec, t.rule, team_rule, cid, history, window, marginal)
        outcome.checks.append(check)
        record["rules"].append(_rule_record(check, firing, team_rule, t.rule))
    _expect(ctx, spec, t.rule, history, marginal)


def _cloudwatch_timeline(ctx: Context, spec: AlarmSpec, window: Window):
    extra = ctx.config.alarms.extra_range_periods
    back = timedelta(seconds=spec.period * (spec.evaluation_periods + extra - 1))
    fetch = Window(window.start - back, window.end, spec.period)
    points = sources.fetch_datapoints(ctx.client, spec, fetch)
    starts = window.period_starts()
    return evaluator.timeline(spec, points, starts, extra)


def _grid_values(ctx: Context, expr: str, window: Window, period: int) -> dict[float, float]:
    """Prometheus's value of ``expr`` at each period end (its own evaluation)."""
    first = window.start.timestamp() + period
    try:
        series = sources.query_range(ctx.prometheus, expr, first, window.end.timestamp(), period)
    except SourceError as err:
        log.warning("alarm statistic not read: %s", err)
        return {}
    values: dict[float, float] = {}
    for entry in series:
        for stamp, value in entry.samples:
            values[stamp] = value
    return values


@dataclass(frozen=True)
class Judged:
    """How one rule was evaluated over the window: its firing evaluations, and in words."""

    alert: str
    expr: str
    for_seconds: float
    interval: float
    stamps: list[float]
    evaluated_by: str
    since: float
    #: the rule's evaluations were read up to here (past the window: its last resolve)
    read_until: float


def judge_rule(
    ctx: Context,
    spec: AlarmSpec,
    translated: Rule,
    team: rules.TeamRule | None,
    check_id: str,
    history: list[evaluator.Evaluated],
    window: Window,
    marginal: list[float],
) -> tuple[CheckResult, list[timeline.Episode]]:
    alert = team.alert if team else translated.alert
    expr = team.expr if team else translated.expr
    for_seconds = team.for_seconds if team else translated.for_seconds
    judged = evaluate_rule(ctx, spec, alert, expr, for_seconds, window)
    firing = timeline.firing_episodes(
        judged.stamps, judged.interval, judged.read_until, judged.for_seconds
    )
    grid = True if team is None else _grid_aligned(judged.expr, spec, ctx.mapping)
    lag = timeline.Lag.derive(judged.interval, spec.period, judged.for_seconds, grid)
    differences: tuple[str, ...] = ()
    if team is not None:
        differences = tuple(
            rules.differences(
                spec, judged.expr, judged.for_seconds, ctx.mapping, translated.threshold or 0
            )
            + _lint_words(ctx, judged.expr)
        )
    subject = timeline.Subject(
        spec,
        check_id,
        alert,
        judged.expr,
        judged.for_seconds,
        judged.evaluated_by,
        differences,
        translated.notes if team is None else (),
    )
    since = judged.since
    kept = [h for h in history if h.end.timestamp() > since]
    firing = [e for e in firing if e.stop is None or e.stop > since]
    check = timeline.judge(subject, kept, firing, lag, marginal)
    if team is None and "ALERTS" in judged.evaluated_by and judged.stamps:
        ctx.live_fired.append((spec, alert, min(judged.stamps)))
    return check, firing


def _grid_aligned(expr: str, spec: AlarmSpec, mapping: Mapping) -> bool:
    step = rules.shape(expr, mapping.histogram).grid_step
    return step is not None and math.isclose(step, spec.period)


def _lint_words(ctx: Context, expr: str) -> list[str]:
    from cwparity.lint import LintContext, lint_query

    context = LintContext.from_config(ctx.config, ctx.scrape_interval)
    return [f.message.split(";")[0] for f in lint_query(expr, context) if f.code != "short_range"]


def evaluate_rule(
    ctx: Context, spec: AlarmSpec, alert: str, expr: str, for_seconds: float, window: Window
) -> Judged:
    """The rule's firing evaluations over the window: Prometheus's ALERTS when it evaluated the
    rule over all of it, else a replay (query_range, ``for`` applied here), said so."""
    loaded = ctx.loaded.get(alert)
    start, end = window.start.timestamp(), window.end.timestamp()
    where = redact_url(ctx.config.prometheus.url)
    if loaded is not None:
        since = _evaluating_since(ctx, loaded, start)
        if since is not None:
            until = end + 3 * loaded.interval
            stamps = _alert_stamps(ctx, spec, alert, since, until)
            by = (
                f"Prometheus's own evaluation: ALERTS of rule {alert} in {where}, every "
                f"{loaded.interval:g} s"
            )
            return Judged(
                alert,
                loaded.query,
                loaded.duration,
                loaded.interval,
                stamps,
                by,
                max(start, since + loaded.duration),
                until,
            )
    e = ctx.replay_interval
    stamps = replay(ctx, spec, expr, for_seconds, start, end + 3 * e, e)
    why = "not loaded there" if loaded is None else "not shown to run over the whole window"
    by = (
        f"replayed: rule {alert} is {why}, so Prometheus ({where}) evaluated its expression "
        f"with query_range every {e:g} s and cwparity applied for: {for_seconds:g}s"
    )
    return Judged(alert, expr, for_seconds, e, stamps, by, start, end + 3 * e)


def _evaluating_since(ctx: Context, loaded: sources.LoadedRule, start: float) -> float | None:
    """When Prometheus has been evaluating the rule's group (None: not provably since the
    window began). Rules the harness loaded (it replaces every rule file) ran since then."""
    if ctx.loaded_at is not None:
        return ctx.loaded_at
    return _group_evaluated_since(ctx, loaded, start)


def _group_evaluated_since(ctx: Context, loaded: sources.LoadedRule, start: float) -> float | None:
    """Prometheus's own counter of the group's evaluations at the window's start (present only
    where Prometheus scrapes itself): evidence the rule ran over the whole window."""
    group = f"{loaded.file};{loaded.group}".replace("\\", "\\\\").replace('"', '\\"')
    query = f'prometheus_rule_group_iterations_total{{rule_group="{group}"}}'
    try:
        found = sources._query(ctx.prometheus, query, {"time": f"{start:.3f}"})
    except SourceError:
        return None
    return start if found else None


def _alert_stamps(
    ctx: Context, spec: AlarmSpec, alert: str, start: float, end: float
) -> list[float]:
    series = sources.firing_samples(ctx.prometheus, alert, start, end)
    return sorted({t for s in series if _same_series(ctx, spec, s.labels) for t, _ in s.samples})


def _same_series(ctx: Context, spec: AlarmSpec, labels: dict[str, str]) -> bool:
    """A series of the alarm's route (or one that aggregated the route's labels away)."""
    pinned = ctx.mapping.labels_of(spec)
    return all(labels.get(k, v) == v for k, v in pinned.items())


def replay(
    ctx: Context, spec: AlarmSpec, expr: str, for_seconds: float, start: float, end: float, e: float
) -> list[float]:
    """Evaluation times at which the rule fires: Prometheus evaluates ``expr`` at every step;
    a series fires once it has been returned at every step for ``for_seconds``."""
    first = start - for_seconds - e
    series = sources.query_range(ctx.prometheus, expr, first, end, e)
    firing: set[float] = set()
    for entry in series:
        if not _same_series(ctx, spec, entry.labels):
            continue
        active = None
        previous = None
        for stamp, _ in sorted(entry.samples):
            if previous is None or stamp - previous > 1.5 * e:
                active = stamp
            previous = stamp
            assert active is not None
            if stamp - active >= for_seconds - 1e-9 and stamp >= start:
                firing.add(stamp)
    return sorted(firing)


# --- what the report draws, and the promtool test built from this run -----------------------


def _chart_data(
    record: dict[str, Any],
    ctx: Context,
    spec: AlarmSpec,
    window: Window,
    history: list[evaluator.Evaluated],
    statistic: dict[float, float],
    marginal: list[float],
) -> None:
    """Both sides per period end, in CloudWatch's unit, for the report's chart."""
    scale = _to_cloudwatch_unit(spec, ctx.mapping)
    record.update(
        {
            "period": spec.period,
            "statistic": spec.statistic,
            "unit": "count" if spec.statistic == "SampleCount" else ctx.mapping.cloudwatch_unit,
            "threshold": spec.threshold,
            "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
            "cloudwatch": [
                {"end": h.end.isoformat(), "value": h.value, "state": h.state.value}
                for h in history
            ],
            "prometheus": [
                {
                    "end": h.end.isoformat(),
                    "value": _scaled(statistic.get(h.end.timestamp()), scale),
                }
                for h in history
            ],
            "marginal": [timeline._clock(m) for m in marginal],
        }
    )


def _to_cloudwatch_unit(spec: AlarmSpec, mapping: Mapping) -> float:
    from cwparity.alarms.translate import PROMETHEUS_UNIT_SECONDS, UNIT_SECONDS

    if spec.statistic == "SampleCount":
        return 1.0
    return PROMETHEUS_UNIT_SECONDS[mapping.prometheus_unit] / UNIT_SECONDS[mapping.cloudwatch_unit]


def _scaled(value: float | None, scale: float) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return value * scale


def _rule_record(
    check: CheckResult, firing: list[timeline.Episode], team: rules.TeamRule | None, rule: Rule
) -> dict[str, Any]:
    return {
        "check_id": check.id,
        "status": check.status.value,
        "reason": check.reason,
        "alert": team.alert if team else rule.alert,
        "expr": check.details.get("expr"),
        "for": check.details.get("for"),
        "file": team.file if team else RULES_FILE,
        "source": "team" if team else "cwparity",
        "evaluated_by": check.details.get("evaluated_by"),
        "notes": list(rule.notes) if team is None else [],
        "firing": [[e.start, e.stop] for e in firing],
    }


def _expect(
    ctx: Context,
    spec: AlarmSpec,
    rule: Rule,
    history: list[evaluator.Evaluated],
    marginal: list[float],
) -> None:
    """promtool expectations for the translated rule: firing exactly when CloudWatch was in
    ALARM, one evaluation after each period end, leaving out the states a marginal period
    decides (there Prometheus's own data disagrees with CloudWatch's, which the metric checks
    judge)."""
    from cwparity.alarms.model import State

    labels = {"alertname": rule.alert, **rule.labels, **ctx.mapping.labels_of(spec)}
    near = spec.evaluation_periods * spec.period
    ctx.test.periods.add(spec.period)
    ctx.test.look_back = max(ctx.test.look_back, near + 2 * spec.period)
    ctx.test.buckets |= spec.percentile is not None
    e = ctx.replay_interval
    for point in history:
        end = point.end.timestamp()
        if any(0 <= end - m < near + 1e-6 for m in marginal):
            continue
        ctx.expectations.append(
            rules.Expectation(
                rule.alert, end + e, point.state is State.ALARM, labels, dict(rule.annotations)
            )
        )


def promtool_checks(ctx: Context, meta: dict[str, Any]) -> list[CheckResult]:
    """promtool check rules on every rules file; promtool test rules on a test built from this
    run's own samples, with CloudWatch's timeline as the expected alerts."""
    found = [checks.promtool_check(Path(p)) for p in meta.get("team_files") or []]
    if not meta.get("rules_file"):
        return found
    rules_file = Path(meta["rules_file"])
    found.insert(0, checks.promtool_check(rules_file))
    if not ctx.expectations:
        return found
    test_path = rules_file.parent / TEST_FILE
    try:
        document = build_test(ctx, rules_file.name)
    except SourceError as err:
        found.append(checks.not_tested(test_path, str(err)))
        return found
    test_path.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000))
    found.append(checks.promtool_test(test_path))
    return found


def build_test(ctx: Context, rules_name: str) -> dict[str, Any]:
    """The run's histogram samples, on the scrape grid, from a start on every alarm's period
    grid (promtool's time 0 must keep CloudWatch's grid) with room for the longest look-back."""
    grid = math.lcm(*ctx.test.periods)
    first = min(e.at for e in ctx.expectations)
    start = math.floor((first - ctx.test.look_back) / grid) * grid
    end = max(e.at for e in ctx.expectations) + ctx.scrape_interval
    suffixes = "count|sum|bucket" if ctx.test.buckets else "count|sum"
    selector = f'{{__name__=~"{ctx.mapping.histogram}_({suffixes})",job="{ctx.mapping.job}"}}'
    series = sources.raw_series(ctx.prometheus, selector, start, end)
    return rules.promtool_test(
        rules_name,
        [(s.labels, s.samples) for s in series],
        ctx.expectations,
        start,
        end,
        # each sample within half a percent of a scrape interval of its own time
        ctx.scrape_interval / 100,
        ctx.replay_interval,
        f"cwparity: CloudWatch alarms' timelines from {ctx.window.start.isoformat()}",
    )


def alarm_checks(
    plan: Any,
    config: RunConfig,
    cloudwatch_client: Any,
    prometheus: PrometheusSource,
    scrape_interval: float,
) -> AlarmOutcome:
    """``judge_alarms`` for run.py: waits until every rule has run past the alarms' windows;
    a failure is one ERROR check, never the loss of the parity results."""
    from cwparity.errors import HarnessError

    if not config.alarms.enabled:
        return AlarmOutcome()
    meta = plan.meta.get("alarms")
    try:
        wait_for_rules(plan.window, meta, config, scrape_interval)
        stop_watch(plan.run_dir)
        return judge_alarms(
            meta, config, plan.window, plan.run_dir, cloudwatch_client, prometheus, scrape_interval
        )
    except HarnessError as err:
        log.error("alarms not judged: %s", err)
        error = CheckResult("alarm[evaluate]", "alarm", "alarms", Status.ERROR, str(err))
        return AlarmOutcome([error])
    finally:
        stop_watch(plan.run_dir)


def wait_for_rules(
    window: Window, meta: dict[str, Any] | None, config: RunConfig, scrape_interval: float
) -> None:
    """Until the rules' evaluations after each alarm window's last period can have run."""
    from cwparity.settle import wait_until

    periods = [int(a.get("period") or 60) for a in (meta or {}).get("alarms") or []]
    if not periods:
        return
    end = max(alarm_window(window, p).end.timestamp() for p in periods)
    interval = config.alarms.evaluation_interval or scrape_interval
    wait_until(end + 3 * interval + scrape_interval, "the alarms' rules to run past the window")
