"""`cwparity discover` on the embedded stack, then a run of the config it wrote.

The app serves /health and publishes it to CloudWatch, but prometheus_flask_exporter excludes it
(`excluded_paths`), as teams exclude health checks: discover must show it on the CloudWatch side
only, and a run FAILs `coverage[GET /health]` while it carries traffic. The dual app publishes
Prometheus's scrapes of /metrics, which are ignored by default, and said so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
import yaml

from cwparity.cli import main
from cwparity.config import load_config
from cwparity.flows import DEMO_APP_ENV
from cwparity.results import Status
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec

from .conftest import parity_run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(moto_credentials, tmp_path_factory) -> Iterator[EmbeddedStack]:
    env = {**DEMO_APP_ENV, "CWPARITY_APP_PROM_EXCLUDE": "^/health$"}
    logs = tmp_path_factory.mktemp("stack")
    with EmbeddedStack(StackSpec(apps=(AppSpec("dual_app", env),)), keep_logs_in=logs) as running:
        yield running


def traffic(url: str, counts: dict[str, int]) -> None:
    for path, count in counts.items():
        for _ in range(count):
            requests.get(f"{url}{path}", timeout=5)


def test_discover_lists_both_sides_and_writes_a_config_a_run_judges(stack, tmp_path, capsys):
    began = datetime.now(UTC)
    traffic(stack.app_url, {"/": 30, "/long-request": 10, "/health": 10})
    base = tmp_path / "where.yaml"
    base.write_text(
        yaml.safe_dump(
            {
                "cloudwatch": {"region": "us-east-1", "endpoint_url": stack.cloudwatch_url},
                "prometheus": {"url": stack.prometheus_url},
                "window": {
                    "period": 5,
                    "settle_timeout": "30s",
                    "settle_poll": "2s",
                    "settle_quiet": "5s",
                    "settle_min_age": "2s",
                },
            }
        )
    )
    starter, dashboard = tmp_path / "starter.yaml", tmp_path / "dashboard.json"
    argv = ["discover", "--config", str(base), "--start", began.isoformat(), "--end", "now"]
    assert main([*argv, "--write", str(starter), "--grafana-dashboard", str(dashboard)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("GET /")}
    assert lines["/"].split()[2:4] == ["30", "30"] and lines["/"].endswith("both")
    # statuses × instances × (buckets + 2): one status and instance, the exporter's buckets
    assert int(lines["/"].split()[4]) > 2
    assert lines["/long-request"].endswith("both")
    assert lines["/health"].split()[2:4] == ["10", "–"] and lines["/health"].endswith(
        "CloudWatch only"
    )
    assert "ignored (coverage.ignore '/metrics')" in lines["/metrics"]
    assert "note: /metrics is ignored by default" in out
    assert "mapping: Endpoint ↔ path, Method ↔ method, Seconds ↔ seconds" in out

    # the starter config maps the two-sided routes with the observed 3:1 weights
    assert main(["validate", "--config", str(starter)]) == 0
    config = load_config(starter)
    assert [(r.key, r.weight) for r in config.routes] == [("GET /", 3), ("GET /long-request", 1)]
    assert "# CloudWatch only (coverage FAILs it while it carries traffic): GET /health" in (
        starter.read_text()
    )
    assert dashboard.stat().st_size > 0

    # a run of it, while something else keeps calling /health
    config = config.model_copy(
        update={"load": config.load.model_copy(update={"duration": 10.0, "users": 3})}
    )
    stop = threading.Event()

    def health_checks() -> None:
        while not stop.is_set():
            requests.get(f"{stack.app_url}/health", timeout=5)
            time.sleep(0.2)

    checker = threading.Thread(target=health_checks, daemon=True)
    checker.start()
    try:
        session, checks = parity_run(config, tmp_path / "run")
    finally:
        stop.set()
        checker.join(5)
    health = checks["coverage[GET /health]"]
    assert health.status is Status.FAIL
    assert health.reason.startswith("Prometheus has no series for it: CloudWatch saw ")
    assert health.observed["cloudwatch_requests"] > 0
    assert checks["coverage[GET /]"].status is Status.PASS
    assert checks["coverage[GET /metrics]"].status is Status.SKIP
    assert checks["count[GET /]"].status is Status.PASS
    assert checks["cardinality[flask_app]"].status is Status.PASS
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Coverage: what each side saw in the window" in html
    assert "Cost and capacity — an estimate" in html
    cost = session.run_summary()["cost"]
    assert cost["estimate"] is True and cost["cloudwatch"]["lines"]
