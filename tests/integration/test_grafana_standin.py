"""The Grafana checks against the Grafana stand-in (fixtures/grafana_standin.py: NOT Grafana, it
answers as Grafana's HTTP API docs say) in front of a real Prometheus scraping the example app,
which also publishes to CloudWatch (moto).

One window of traffic serves every test: 8 s of fast requests to GET /, then 8 s with 40 ms added
inside the handler (CWPARITY_FAULT_DELAY_FILE), so latency changes during the window. Each check
passes on a well-set-up stand-in and fails when the stand-in is switched to misbehave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import requests
import yaml

from cwparity.config import RunConfig, parse_config
from cwparity.dashboard import build_dashboard, uid_for
from cwparity.hosts.grafana import grafana_checks
from cwparity.hosts.security import grafana_security_checks
from cwparity.paths import FIXTURES_DIR
from cwparity.results import Status
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.window import Window, align_down, align_up

sys.path.insert(0, str(FIXTURES_DIR))
from grafana_standin import GUIDE_EXPR, LINT_EXPR, GrafanaStandin, StandinState

pytestmark = pytest.mark.integration

USER_ENV, PASSWORD_ENV = "CWPARITY_TEST_GRAFANA_USER", "CWPARITY_TEST_GRAFANA_PASSWORD"
PERIOD = 5
RATE_PANEL = {
    "id": 1,
    "type": "timeseries",
    "title": "Request rate",
    "targets": [
        {
            "refId": "A",
            "expr": "sum by (path) (rate(flask_http_request_duration_seconds_count[1m]))",
        }
    ],
}


def latency_panel(expr: str, title: str = "Latency", unit: str = "s", panel_id: int = 2) -> dict:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "targets": [{"refId": "A", "expr": expr, "datasource": {"type": "prometheus"}}],
        "fieldConfig": {"defaults": {"unit": unit}},
    }


@pytest.fixture(scope="module")
def stack(moto_credentials, tmp_path_factory) -> Iterator[EmbeddedStack]:
    delay_file = tmp_path_factory.mktemp("delay") / "delay-ms"
    delay_file.write_text("0")
    env = {"CWPARITY_FAULT_DELAY_FILE": str(delay_file), "CWPARITY_FAULT_PATHS": "/"}
    with EmbeddedStack(StackSpec(apps=(AppSpec("dual_app", env),))) as running:
        running.delay_file = delay_file  # type: ignore[attr-defined]
        for _ in range(12):
            requests.get(f"{running.app_url}/", timeout=5)
        wait_for_series(running.prometheus_url)
        yield running


def send(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        requests.get(f"{url}/", timeout=5)
        time.sleep(0.05)


def wait_for_series(prometheus_url: str, timeout: float = 30) -> None:
    """Readiness: Prometheus has scraped the requests just sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.get(
            f"{prometheus_url}/api/v1/query", params={"query": GUIDE_EXPR}, timeout=5
        )
        if answer.json()["data"]["result"]:
            return
        time.sleep(0.2)
    raise RuntimeError("Prometheus never scraped the example app's requests")


@pytest.fixture(scope="module")
def window(stack) -> Window:
    """Fast requests, then 40 ms slower ones: a window whose latency changes half-way."""
    began = datetime.now(UTC)
    send(stack.app_url, 8)
    stack.delay_file.write_text("40")
    send(stack.app_url, 8)
    stack.delay_file.write_text("0")
    window = Window(align_down(began, PERIOD), align_up(datetime.now(UTC), PERIOD), PERIOD)
    # Prometheus scrapes past the window's end, and moto has every datum
    time.sleep(max(0.0, window.end.timestamp() + 3 - time.time()))
    return window


@pytest.fixture(scope="module")
def standin(stack) -> Iterator[tuple[StandinState, str]]:
    state = StandinState(stack.prometheus_url, admin_password="standin-Pa55-not-default")
    state.cloudwatch_url = stack.cloudwatch_url  # type: ignore[attr-defined]
    saved = {key: os.environ.get(key) for key in (USER_ENV, PASSWORD_ENV)}
    os.environ.update({USER_ENV: "admin", PASSWORD_ENV: state.admin_password})
    with GrafanaStandin(state) as url:
        yield state, url
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def grafana(standin) -> Iterator[tuple[StandinState, RunConfig]]:
    """A well-behaved stand-in for each test; tests flip its switches."""
    state, url = standin
    pristine = replace(state)
    config = parse_config(
        {
            "cloudwatch": {"region": "us-east-1", "endpoint_url": state.cloudwatch_url},
            "prometheus": {"url": state.prometheus_url, "scrape_interval": "1s"},
            "window": {"period": PERIOD},
            "grafana": {
                "enabled": True,
                "url": url,
                "username_env": USER_ENV,
                "password_env": PASSWORD_ENV,
                "dashboard": {"uid": "flask-latency"},
                "step": 5,
            },
        }
    )
    yield state, config
    for name in (
        "datasource_health_fails",
        "dashboard_present",
        "series_factor",
        "accept_default_admin",
        "anonymous",
        "datasource_url",
        "panels",
        "provisioning_dir",
    ):
        setattr(state, name, getattr(pristine, name))


def by_id(checks: list) -> dict:
    return {c.id: c for c in checks}


def test_grafana_checks_pass_against_a_well_set_up_standin(grafana, window):
    state, config = grafana
    checks = by_id(grafana_checks(config, window, host=None))
    assert checks["grafana.service[grafana-server]"].status is Status.SKIP
    for cid in (
        "grafana.health",
        "grafana.datasource[Prometheus]",
        "grafana.dashboard[flask-latency]",
        "grafana.series[Endpoint latency]",
        "grafana.latency[Endpoint latency]",
    ):
        assert checks[cid].status is Status.PASS, checks[cid].reason
    # the lint's query over [5m] is a 5-minute mean, compared as one: every point was judged
    latency = checks["grafana.latency[Endpoint latency]"]
    assert latency.observed["points_compared"] >= 3 and latency.observed["points_outside"] == 0
    assert checks["grafana.series[Endpoint latency]"].observed["points_compared"] > 0
    assert "POST /api/ds/query" in state.requests_seen
    assert state.admin_password not in json.dumps([c.to_dict() for c in checks.values()])


def test_a_dashboard_found_by_title_passes(grafana, window):
    _, config = grafana
    config = config.model_copy(
        update={
            "grafana": config.grafana.model_copy(
                update={"dashboard": type(config.grafana.dashboard)(title="Flask app latency")}
            )
        }
    )
    checks = by_id(grafana_checks(config, window, host=None))
    assert checks["grafana.dashboard[Flask app latency]"].status is Status.PASS


def test_a_failing_datasource_health_fails(grafana, window):
    state, config = grafana
    state.datasource_health_fails = True
    check = by_id(grafana_checks(config, window, host=None))["grafana.datasource[Prometheus]"]
    assert check.status is Status.FAIL
    assert check.reason.startswith("datasource health check failed: HTTP 400 ERROR:")


def test_a_datasource_pointing_elsewhere_fails(grafana, window):
    state, config = grafana
    state.datasource_url = "http://127.0.0.1:1"
    check = by_id(grafana_checks(config, window, host=None))["grafana.datasource[Prometheus]"]
    assert check.status is Status.FAIL
    assert (
        check.reason == f"Prometheus points at http://127.0.0.1:1, expected {state.prometheus_url}"
    )


def test_a_missing_dashboard_fails(grafana, window):
    state, config = grafana
    state.dashboard_present = False
    checks = by_id(grafana_checks(config, window, host=None))
    check = checks["grafana.dashboard[flask-latency]"]
    assert check.status is Status.FAIL
    assert check.reason == "dashboard 'flask-latency' not found (HTTP 404: Dashboard not found)"
    assert checks["grafana.series[flask-latency]"].status is Status.SKIP


def test_a_series_that_differs_from_prometheus_fails(grafana, window):
    state, config = grafana
    state.series_factor = 1.5
    check = by_id(grafana_checks(config, window, host=None))["grafana.series[Endpoint latency]"]
    assert check.status is Status.FAIL
    assert check.reason.startswith("Grafana and Prometheus differ: A: {")
    assert "Grafana" in check.reason and "Prometheus" in check.reason


def test_security_passes_when_default_password_and_anonymous_are_off(grafana):
    _, config = grafana
    checks = by_id(grafana_security_checks(config))
    assert checks["security.grafana.default_password"].status is Status.PASS
    assert checks["security.grafana.anonymous"].status is Status.PASS


def test_the_default_admin_password_accepted_fails(grafana):
    state, config = grafana
    state.accept_default_admin = True
    check = by_id(grafana_security_checks(config))["security.grafana.default_password"]
    assert check.status is Status.FAIL
    assert check.reason == "Grafana accepts admin/admin: change the default password"


def test_anonymous_access_fails(grafana):
    state, config = grafana
    state.anonymous = True
    check = by_id(grafana_security_checks(config))["security.grafana.anonymous"]
    assert check.status is Status.FAIL
    assert "anonymous access on" in check.reason


def with_credentials(url: str, user: str, password: str) -> str:
    return url.replace("://", f"://{user}:{password}@", 1)


def credentialed(config: RunConfig, state: StandinState, grafana_url: str) -> RunConfig:
    """``config`` with ``user:password@`` in prometheus.url and grafana.url, and no other
    Grafana credentials: the URL's are the ones sent."""
    prometheus = config.prometheus.model_copy(
        update={"url": with_credentials(state.prometheus_url, "promuser", "PromUrl!Pass")}
    )
    grafana = config.grafana.model_copy(
        update={"url": grafana_url, "username_env": None, "password_env": None}
    )
    return config.model_copy(update={"prometheus": prometheus, "grafana": grafana})


def test_the_datasource_is_compared_and_reported_without_credentials(grafana, window):
    state, config = grafana
    url = with_credentials(config.grafana.url, "admin", state.admin_password)
    config = credentialed(config, state, url)
    check = by_id(grafana_checks(config, window, host=None))["grafana.datasource[Prometheus]"]
    assert check.status is Status.PASS, check.reason
    # the twin: a datasource elsewhere still fails, and neither URL's credentials are shown
    state.datasource_url = with_credentials("http://127.0.0.1:1", "dsuser", "DsUrl!Pass")
    check = by_id(grafana_checks(config, window, host=None))["grafana.datasource[Prometheus]"]
    assert check.status is Status.FAIL
    assert (
        check.reason == f"Prometheus points at http://127.0.0.1:1, expected {state.prometheus_url}"
    )
    text = json.dumps(check.to_dict())
    for secret in ("PromUrl!Pass", "DsUrl!Pass", state.admin_password):
        assert secret not in text


def test_credentials_in_grafana_url_are_used_but_never_by_the_anonymous_probe(grafana, window):
    state, config = grafana
    config = credentialed(
        config, state, with_credentials(config.grafana.url, "admin", state.admin_password)
    )
    checks = by_id(grafana_checks(config, window, host=None))
    assert checks["grafana.dashboard[flask-latency]"].status is Status.PASS  # signed in
    security = by_id(grafana_security_checks(config))
    assert security["security.grafana.anonymous"].status is Status.PASS
    state.anonymous = True
    assert (
        by_id(grafana_security_checks(config))["security.grafana.anonymous"].status is Status.FAIL
    )


def test_a_token_wins_over_credentials_in_grafana_url(grafana, window, monkeypatch):
    state, config = grafana
    state.api_token = "glsa_standin-token"
    monkeypatch.setenv("CWPARITY_TEST_GRAFANA_TOKEN", state.api_token)
    config = credentialed(config, state, with_credentials(config.grafana.url, "admin", "wrong"))
    config = config.model_copy(
        update={
            "grafana": config.grafana.model_copy(
                update={"token_env": "CWPARITY_TEST_GRAFANA_TOKEN"}
            )
        }
    )
    try:
        check = by_id(grafana_checks(config, window, host=None))["grafana.dashboard[flask-latency]"]
        assert check.status is Status.PASS, check.reason
        state.api_token = "another-token"
        check = by_id(grafana_checks(config, window, host=None))["grafana.dashboard[flask-latency]"]
        assert check.status is Status.FAIL
    finally:
        state.api_token = None


def test_a_non_strict_profile_reports_the_default_password_as_a_warning(grafana):
    state, config = grafana
    state.accept_default_admin = True
    lenient = config.model_copy(
        update={"grafana": config.grafana.model_copy(update={"strict": False})}
    )
    check = by_id(grafana_security_checks(lenient))["security.grafana.default_password"]
    assert check.status is Status.WARN
    assert check.reason.startswith("warning: Grafana accepts admin/admin")


def test_cwparity_grafana_runs_the_grafana_suites_alone_and_lands_in_the_report(
    grafana, window, tmp_path
):
    """`cwparity grafana --config … --start … --end …`: no host, no load; CloudWatch only for
    what the latency panel must show (grafana.latency)."""
    state, config = grafana
    raw = config.model_dump(mode="json", exclude_unset=True)
    raw["window"] = {"period": 5}
    config_path = tmp_path / "cwparity.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    argv = [sys.executable, "-m", "cwparity.cli", "grafana", "--config", str(config_path)]
    argv += ["--out", str(tmp_path), "--start", window.start.isoformat()]
    argv += ["--end", window.end.isoformat()]
    answer = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-2000:]
    results = next(tmp_path.glob("*/results.json"))
    document = json.loads(results.read_text())
    statuses = {c["id"]: c["status"] for c in document["checks"]}
    assert statuses["grafana.series[Endpoint latency]"] == "pass"
    assert statuses["grafana.latency[Endpoint latency]"] == "pass"
    assert statuses["security.grafana.default_password"] == "pass"
    assert {c["kind"] for c in document["checks"]} == {"grafana", "security"}
    assert not [cid for cid in statuses if cid.startswith("security.prometheus")]
    assert document["verdict"] == "pass" and document["run"]["mode"] == "grafana"
    assert document["run"]["window"]["start"] == window.start.isoformat()
    assert state.admin_password not in results.read_text()
    assert state.admin_password not in (results.parent / "report.html").read_text()


def test_a_panel_that_multiplies_by_1000_fails_against_cloudwatch(grafana, window):
    state, config = grafana
    state.panels = [latency_panel(f"({LINT_EXPR}) * 1000")]
    checks = by_id(grafana_checks(config, window, host=None))
    # Grafana returns what Prometheus returns: only the comparison with CloudWatch can see it
    assert checks["grafana.series[Latency]"].status is Status.PASS
    check = checks["grafana.latency[Latency]"]
    assert check.status is Status.FAIL, check.reason
    assert "the query scales by 1000 while the panel's unit is s: a unit error" in check.reason
    assert check.tolerance.origin.value == "derived"


def test_the_same_panel_labelled_in_milliseconds_passes(grafana, window):
    state, config = grafana
    state.panels = [latency_panel(f"({LINT_EXPR}) * 1000", unit="ms")]
    check = by_id(grafana_checks(config, window, host=None))["grafana.latency[Latency]"]
    assert check.status is Status.PASS, check.reason


def test_the_guides_cumulative_ratio_fails_when_latency_changes(grafana, window):
    state, config = grafana
    state.panels = [latency_panel(GUIDE_EXPR)]
    check = by_id(grafana_checks(config, window, host=None))["grafana.latency[Latency]"]
    assert check.status is Status.FAIL, check.reason
    assert check.observed["points_outside"] > 0
    assert "mean since the process started" in check.reason


def test_the_latency_panel_is_found_after_a_request_rate_panel(grafana, window):
    state, config = grafana
    state.panels = [RATE_PANEL, latency_panel(LINT_EXPR, title="GET / latency")]
    checks = by_id(grafana_checks(config, window, host=None))
    assert "'GET / latency' (ratio)" in checks["grafana.dashboard[flask-latency]"].reason
    assert "grafana.latency[Request rate]" not in checks
    assert checks["grafana.latency[GET / latency]"].status is Status.PASS


def test_a_dashboard_with_only_a_request_rate_panel_has_no_latency_panel(grafana, window):
    state, config = grafana
    state.panels = [RATE_PANEL]
    check = by_id(grafana_checks(config, window, host=None))["grafana.dashboard[flask-latency]"]
    assert check.status is Status.FAIL
    assert "'Request rate': other" in check.reason


def test_a_quantile_panel_is_judged_between_the_fastest_and_slowest_request(grafana, window):
    state, config = grafana
    quantile = (
        "histogram_quantile(0.9, sum by (le, path, method) "
        '(rate(flask_http_request_duration_seconds_bucket{path="/",method="GET"}[$__rate_interval])))'
    )
    state.panels = [
        latency_panel(quantile, "p90"),
        latency_panel(f"{quantile} * 1000", "p90 x1000", panel_id=3),
    ]
    checks = by_id(grafana_checks(config, window, host=None))
    assert checks["grafana.latency[p90]"].status is Status.PASS, checks[
        "grafana.latency[p90]"
    ].reason
    assert checks["grafana.latency[p90 x1000]"].status is Status.FAIL


def test_the_generated_dashboard_loads_through_provisioning_and_passes(grafana, window, tmp_path):
    state, config = grafana
    boards = tmp_path / "dashboards"
    boards.mkdir()
    (boards / "cwparity.json").write_text(json.dumps(build_dashboard(config, [("GET", "/")], 1.0)))
    (boards / "broken.json").write_text("{not json")
    providers = tmp_path / "provisioning" / "dashboards"
    providers.mkdir(parents=True)
    provider = {
        "apiVersion": 1,
        "providers": [{"name": "cwparity", "type": "file", "options": {"path": str(boards)}}],
    }
    (providers / "cwparity.yaml").write_text(json.dumps(provider))
    state.provisioning_dir = str(tmp_path / "provisioning")
    state.dashboard_present = False
    dashboard = type(config.grafana.dashboard)(uid=uid_for(config))
    config = config.model_copy(
        update={"grafana": config.grafana.model_copy(update={"dashboard": dashboard})}
    )
    checks = by_id(grafana_checks(config, window, host=None))
    assert any("broken.json" in error for error in state.provisioning_errors)
    title = "GET / — Prometheus mean latency"
    for cid in (
        f"grafana.dashboard[{uid_for(config)}]",
        f"grafana.series[{title}]",
        f"grafana.latency[{title}]",
    ):
        assert checks[cid].status is Status.PASS, (cid, checks[cid].reason)
    # the CloudWatch panel beside it is not a latency panel of PromQL
    assert not any("CloudWatch EndpointLatency" in cid for cid in checks)
