"""The Grafana checks against the Grafana stand-in (fixtures/grafana_standin.py: NOT Grafana, it
answers as Grafana's HTTP API docs say) in front of a real Prometheus scraping the example app.

Each check passes on a well-set-up stand-in and fails when the stand-in is switched to misbehave.
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
from cwparity.hosts.grafana import grafana_checks
from cwparity.hosts.security import grafana_security_checks
from cwparity.paths import FIXTURES_DIR
from cwparity.results import Status
from cwparity.stack.embedded import EmbeddedStack
from cwparity.window import Window

sys.path.insert(0, str(FIXTURES_DIR))
from grafana_standin import GUIDE_EXPR, GrafanaStandin, StandinState

pytestmark = pytest.mark.integration

USER_ENV, PASSWORD_ENV = "CWPARITY_TEST_GRAFANA_USER", "CWPARITY_TEST_GRAFANA_PASSWORD"


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedStack]:
    with EmbeddedStack() as running:
        for _ in range(12):
            requests.get(f"{running.app_url}/", timeout=5)
        wait_for_series(running.prometheus_url)
        yield running


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
    """90 s ending at a 5-s step that is in the past and already has the app's series."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        end = int(time.time() - 1) // 5 * 5
        params = {"query": GUIDE_EXPR, "time": str(end)}
        answer = requests.get(f"{stack.prometheus_url}/api/v1/query", params=params, timeout=5)
        if answer.json()["data"]["result"]:
            return Window(
                datetime.fromtimestamp(end - 90, UTC), datetime.fromtimestamp(end, UTC), 1
            )
        time.sleep(0.5)
    raise RuntimeError("no settled sample of the app's latency series")


@pytest.fixture(scope="module")
def standin(stack) -> Iterator[tuple[StandinState, str]]:
    state = StandinState(stack.prometheus_url, admin_password="standin-Pa55-not-default")
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
            "prometheus": {"url": state.prometheus_url},
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
    ):
        assert checks[cid].status is Status.PASS, checks[cid].reason
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
    """`cwparity grafana --config … --start … --end …`: no CloudWatch, no host, no load."""
    state, config = grafana
    raw = config.model_dump(mode="json", exclude_unset=True)
    raw["window"] = {"period": 5}
    raw["cloudwatch"] = {"endpoint_url": "http://127.0.0.1:9"}  # nothing there: never asked
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
    assert statuses["security.grafana.default_password"] == "pass"
    assert {c["kind"] for c in document["checks"]} == {"grafana", "security"}
    assert not [cid for cid in statuses if cid.startswith("security.prometheus")]
    assert document["verdict"] == "pass" and document["run"]["mode"] == "grafana"
    assert document["run"]["window"]["start"] == window.start.isoformat()
    assert state.admin_password not in results.read_text()
    assert state.admin_password not in (results.parent / "report.html").read_text()
