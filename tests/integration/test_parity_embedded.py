"""The harness end to end on a real stack: moto, the dual app, a real Prometheus, real Locust."""

import contextlib
import json
import time

import pytest

from cwparity.flows import write_config
from cwparity.results import Status

from .conftest import demo_config, parity_run

pytestmark = pytest.mark.integration
ROUTES = ("GET /", "GET /long-request")


def test_clean_dual_app_passes_count_and_mean_checks(dual_stack, tmp_path):
    session, checks = parity_run(demo_config(dual_stack), tmp_path / "clean")
    for route in ROUTES:
        for check_id in (
            f"count[{route}]",
            f"count.cloudwatch[{route}]",
            f"count.prometheus[{route}]",
            f"mean_latency[{route}]",
        ):
            assert checks[check_id].status is Status.PASS, checks[check_id].reason
        assert checks[f"count[{route}]"].observed["cloudwatch"] > 0
    per_period = [c for c in checks.values() if "@" in c.id and c.kind == "count"]
    assert per_period and all(c.status is Status.PASS for c in per_period)
    assert all(c.status is not Status.FAIL for c in checks.values())
    assert checks["bias[GET /]"].status is Status.PASS
    # 25 slow requests per period cannot resolve a bias at this tolerance: said, not passed
    long_bias = checks["bias[GET /long-request]"]
    assert long_bias.status in (Status.PASS, Status.SKIP)
    if long_bias.status is Status.SKIP:
        assert "blocks of periods" in long_bias.reason
    for route in ROUTES:
        # moto cannot answer percentiles: said, never passed silently
        assert checks[f"percentile[{route}]"].status is Status.SKIP
        assert "cannot answer percentiles" in checks[f"percentile[{route}]"].reason
        assert checks[f"percentile_client.p90[{route}]"].status is Status.PASS
    # the demo config maps the guide's dashboard query: linted before anything was fetched
    lint = checks["lint.cumulative_ratio[guide-dashboard-latency]"]
    assert lint.status is Status.WARN and "since the process started" in lint.reason
    calls = session.info["cloudwatch_calls"]
    # percentiles asked for once, with the base statistics; refused by moto; then base only
    assert calls["failed_calls"] == 1
    assert calls["get_metric_data_calls"] == calls["failed_calls"] + session.info["settle"]["polls"]
    # the minimum counts the settle's polls, each at the fewest calls for its open periods
    assert calls["minimum_get_metric_data_calls"] == session.info["settle"]["polls"]
    assert calls["calls_over_minimum"] == 1.0
    assert_chunked_fetch_reads_every_sample_once(session)


def assert_chunked_fetch_reads_every_sample_once(session):
    """The window read in many small chunks (split by time and by path) equals one read."""
    from cwparity.run import sampling_for
    from cwparity.sources.prometheus import PrometheusSource

    config, window = session.config, session.plan.window
    sampling = sampling_for(config, window, session.info["scrape_interval"])
    lookback = window.start.timestamp() - sampling.range_start
    args = ("count", window, lookback, 2 * sampling.scrape_interval, sampling.scrape_interval)
    whole = PrometheusSource(config.prometheus).raw_samples(*args)
    # below what the config accepts, so that a short demo window splits too
    small = config.prometheus.model_copy(update={"max_samples_per_query": 20})
    source = PrometheusSource(small)
    queried = []
    read_chunk = source._chunk
    source._chunk = lambda metric, chunk: queried.append(chunk) or read_chunk(metric, chunk)
    chunked = source.raw_samples(*args)
    # split by path (two routes) and, within each, by time
    assert {c.paths for c in queried} == {("/",), ("/long-request",)}
    assert len(queried) > 2 and whole.samples > 0
    assert chunked.same_as(whole)


def test_two_locust_workers_merged_truth_equals_what_both_backends_counted(dual_stack, tmp_path):
    """The demo's load from a Locust master and 2 workers: exact counts, no slack anywhere."""
    run_dir = tmp_path / "workers"
    # 10 s of load: counts need no bias or distribution blocks
    _, checks = parity_run(demo_config(dual_stack, workers=2, duration=10.0), run_dir)
    truth = json.loads((run_dir / "load" / "ground-truth.json").read_text())
    assert len(truth["workers"]["merged"]) == 2 and truth["workers"]["missing"] == 0
    assert all(worker["requests"] > 0 for worker in truth["workers"]["merged"])
    for route in ROUTES:
        for side in ("cloudwatch", "prometheus"):
            check = checks[f"count.{side}[{route}]"]
            assert check.status is Status.PASS, check.reason
            assert check.tolerance.bound == 0, check.tolerance.detail  # quiet edges
            assert check.observed[side] == check.observed["locust"] > 0
        assert checks[f"count[{route}]"].status is Status.PASS
        assert checks[f"percentile_client.p90[{route}]"].status is Status.PASS
    assert all(c.status is not Status.FAIL for c in checks.values())


def test_dropping_5_percent_of_cloudwatch_publishes_fails_the_count(dual_stack, tmp_path):
    dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0.05", "CWPARITY_FAULT_PATHS": "/"})
    try:
        run_dir = tmp_path / "drop"
        _, checks = parity_run(demo_config(dual_stack), run_dir)
    finally:
        dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0", "CWPARITY_FAULT_PATHS": ""})
    lost = checks["count[GET /]"]
    # quiet edges even right after the app restarted: any loss is beyond the bound
    assert lost.tolerance.bound == 0
    assert lost.status is Status.FAIL
    assert "CloudWatch counted" in lost.reason and "fewer requests than Prometheus" in lost.reason
    assert lost.observed["difference"] <= -1
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL
    assert checks["count.prometheus[GET /]"].status is Status.PASS
    # the unaffected route still passes
    assert checks["count[GET /long-request]"].status is Status.PASS
    # a failing run still writes everything it measured
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "fail" and document["exit_code"] == 1
    for name in ("report.html", "junit.xml", "cloudwatch.csv", "prometheus-count.csv"):
        assert (run_dir / name).stat().st_size > 0


def test_dropping_2_percent_of_cloudwatch_publishes_fails_the_count(dual_stack, tmp_path):
    dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0.02"})
    try:
        _, checks = parity_run(demo_config(dual_stack), tmp_path / "drop2")
    finally:
        dual_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0"})
    check = checks["count[GET /]"]
    assert check.tolerance.bound == 0, check.tolerance.detail
    assert check.status is Status.FAIL, check.reason
    expected_loss = int(check.observed["prometheus"] * 0.02)
    assert -check.observed["difference"] == pytest.approx(expected_loss, abs=1)
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL


#: the guide's standard-resolution period, and a high-resolution one; 30 s of load covers both
PAIRED_PERIODS = (10, 60)
CLEAN_APP = {"CWPARITY_FAULT_CW_OFFSET_MS": "0", "CWPARITY_APP_HOOK_ORDER": "clean"}
#: the apps judged at both periods
PAIRED_APPS = {
    "offset+2": {"CWPARITY_FAULT_CW_OFFSET_MS": "2"},
    "offset-2": {"CWPARITY_FAULT_CW_OFFSET_MS": "-2"},
    "guide-hooks": {"CWPARITY_APP_HOOK_ORDER": "guide"},
    "clean": {},
}


@pytest.fixture(scope="module")
def judged_at_both_periods(moto_credentials, tmp_path_factory):
    """Per app of PAIRED_APPS: one 30 s load, judged at 10 s and at 60 s periods (the same load
    and data, planned twice). Each app has a stack of its own (moto, Prometheus, the app), so
    a 60 s window holds that app's requests only without waiting out a minute of quiet; the
    loads run one after another and are judged afterwards, while the stacks still run."""
    from .conftest import dual_app_stack, judge

    root = tmp_path_factory.mktemp("paired")
    with contextlib.ExitStack() as running:
        folders = {}
        for name, env in PAIRED_APPS.items():
            stack = dual_app_stack(root / name / "stack", {**CLEAN_APP, **env})
            folders[name] = planned_at_both_periods(running.enter_context(stack), root / name)
        return {
            name: {period: judge(folder)[1] for period, folder in by_period.items()}
            for name, by_period in folders.items()
        }


def planned_at_both_periods(stack, run_dir):
    """Run the load once and plan it at both periods: a run folder per period."""
    from cwparity.flows import load_and_plan
    from cwparity.run import RunPlan, window_for_load

    first = demo_config(stack, duration=30.0)
    folders, truth = {}, None
    for period in PAIRED_PERIODS:
        config = first.model_copy(
            update={"window": first.window.model_copy(update={"period": period})}
        )
        folder = run_dir / f"p{period}"
        folder.mkdir(parents=True)
        path = write_config(config, folder / "config.yaml")
        if truth is None:
            plan = load_and_plan(config, path, folder, {"mode": "test"})
            truth = plan.truth
        else:
            window = window_for_load(truth, config, stack.spec.scrape_interval)
            plan = RunPlan(path, window, folder, truth, {"mode": "test"})
        plan.save()
        folders[period] = folder
    return folders


@pytest.mark.parametrize("offset_ms", [2.0, -2.0])
def test_a_2ms_instrumentation_offset_fails_on_both_routes_at_both_periods(
    judged_at_both_periods, offset_ms
):
    by_period = judged_at_both_periods[f"offset{offset_ms:+g}"]
    for period, checks in by_period.items():
        for route in ROUTES:
            where = f"period {period}, {route}"
            mean = checks[f"mean_latency[{route}]"]
            assert mean.status is Status.FAIL, f"{where}: {mean.reason}"
            assert mean.observed["difference_ms"] == pytest.approx(-offset_ms, abs=0.3), where
            assert checks[f"count[{route}]"].status is Status.PASS, where
            bias = checks[f"bias[{route}]"]
            assert bias.status is Status.FAIL, f"{where}: {bias.reason}"
            finding = bias.details["finding"]
            assert finding["classification"] == "constant offset", f"{where}: {bias.reason}"
            assert finding["offset_ms"] == pytest.approx(-offset_ms, abs=0.3), where
            low, high = finding["interval_ms"]
            assert low <= finding["offset_ms"] <= high and high - low < 0.1, where
            higher = "CloudWatch higher by" if offset_ms > 0 else "Prometheus higher by"
            assert higher in bias.reason, where
            cause = (
                "offset is added to the published value"
                if offset_ms > 0
                else "Prometheus's timer encloses work"
            )
            assert cause in bias.reason, where
            assert "decided by the window's paired difference" in bias.reason, where
            distribution = checks[f"distribution[{route}]"]
            assert distribution.status is Status.FAIL, f"{where}: {distribution.reason}"


def test_the_guides_hook_order_fails_on_both_routes_and_names_the_publish_call(
    judged_at_both_periods,
):
    by_period = judged_at_both_periods["guide-hooks"]
    for period, checks in by_period.items():
        for route in ROUTES:
            where = f"period {period}, {route}"
            mean = checks[f"mean_latency[{route}]"]
            assert mean.status is Status.FAIL, f"{where}: {mean.reason}"
            assert "Prometheus higher by" in mean.reason, where
            bias = checks[f"bias[{route}]"]
            assert bias.status is Status.FAIL, f"{where}: {bias.reason}"
            assert "Prometheus higher by" in bias.reason, where
            assert "put_metric_data" in bias.reason and "hook order" in bias.reason, where


def test_a_clean_dual_app_passes_every_check_at_both_periods(judged_at_both_periods):
    by_period = judged_at_both_periods["clean"]
    parity = ("count", "count_truth", "mean_latency", "bias", "distribution", "percentile_client")
    for period, checks in by_period.items():
        not_passed = [
            f"{c.id}: {c.status.value}: {c.reason}"
            for c in checks.values()
            # a period at the load's edge may hold no request, or only ones that may belong
            # to a neighbour: an honest SKIP there; everything else passes
            if (c.kind in parity and c.scope == "window" and c.status is not Status.PASS)
            or (
                c.status in (Status.FAIL, Status.ERROR, Status.WARN)
                and not c.kind.startswith("lint")
            )
        ]
        assert not not_passed, f"period {period}: {not_passed}"
        for route in ROUTES:
            bias = checks[f"bias[{route}]"]
            assert bias.details["finding"]["classification"] == "equal", bias.reason


def test_app_restarted_mid_run_still_passes(dual_stack, tmp_path):
    """Counters reset when the app restarts; the engine counts across the reset."""
    from cwparity.load import run_load
    from cwparity.run import RunPlan, window_for_load

    from .conftest import judge

    config = demo_config(dual_stack, duration=6.0)
    run_dir = tmp_path / "restart"
    run_dir.mkdir()
    config_path = write_config(config, run_dir / "config.yaml")
    first = run_load(config.load, config.routes, [config.app.base_url], run_dir / "load-1")
    # a quiet restart: Prometheus scrapes once more first, as a rolling deploy's drain would let it
    time.sleep(3 * dual_stack.spec.scrape_interval)
    dual_stack.restart_app()
    time.sleep(3 * dual_stack.spec.scrape_interval)
    second = run_load(config.load, config.routes, [config.app.base_url], run_dir / "load-2")
    truth = first.merged(second)
    window = window_for_load(truth, config, dual_stack.spec.scrape_interval)
    RunPlan(config_path, window, run_dir, truth, {"mode": "test"}).save()
    _, checks = judge(run_dir)
    for route in ROUTES:
        for check_id in (f"count[{route}]", f"count.prometheus[{route}]", f"mean_latency[{route}]"):
            assert checks[check_id].status is Status.PASS, checks[check_id].reason
    periods = [c for c in checks.values() if c.kind == "count" and "@" in c.id]
    assert all(c.status is Status.PASS for c in periods)


def test_target_lost_before_the_window_ends_gives_per_route_verdicts(dual_stack, tmp_path):
    """The app stops right after its load, before the window's end: the periods before it are
    judged, the ones after its last scrape are ERROR/SKIP with the reason, the gap is named,
    and no internal error loses every check."""
    from datetime import timedelta

    from cwparity.judge.tolerance import period_label
    from cwparity.load import run_load
    from cwparity.run import RunPlan, window_for_load
    from cwparity.window import Window

    from .conftest import judge

    config = demo_config(dual_stack, duration=6.0)
    run_dir = tmp_path / "lost"
    run_dir.mkdir()
    config_path = write_config(config, run_dir / "config.yaml")
    truth = run_load(config.load, config.routes, [config.app.base_url], run_dir / "load")
    dual_stack.apps[0].process.stop()  # lost: no drain, no restart
    try:
        around = window_for_load(truth, config, dual_stack.spec.scrape_interval)
        # two more periods after the load, all of them after the last scrape
        window = Window(around.start, around.end + timedelta(seconds=2 * around.period), 5)
        RunPlan(config_path, window, run_dir, truth, {"mode": "test"}).save()
        _, checks = judge(run_dir)
    finally:
        dual_stack.restart_app()
    assert "run[evaluate]" not in checks, checks.get("run[evaluate]")
    for route in ROUTES:
        window_check = checks[f"count[{route}]"]
        assert window_check.status is Status.ERROR and "no samples" in window_check.reason
        gap = checks[f"scrape_gap[{route}]"]
        assert gap.status is Status.WARN and "the target was lost" in gap.reason
        periods = [c for c in checks.values() if c.kind == "count" and c.subject == route]
        assert any(c.status is Status.PASS for c in periods if "@" in c.id)  # before the loss
        late = checks[f"count[{route}]@{period_label(window.period_starts()[-1])}"]
        assert late.status is Status.ERROR
        for stat in ("p50", "p90", "p99"):
            client = checks[f"percentile_client.{stat}[{route}]"]
            assert client.status is Status.SKIP and "target was lost" in client.reason
        # coverage cannot tell a lost target from a route never instrumented: not judged
        assert checks[f"coverage[{route}]"].status is not Status.FAIL
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "error"
    assert "scrape_gap[GET /]" in (run_dir / "report.html").read_text()
