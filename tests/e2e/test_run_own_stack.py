"""`cwparity run --config` as a user runs it against their own endpoints (here: a stack started
by the test, reached only through the config file's URLs), then the same window re-judged with
--no-load --start --end."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from cwparity.flows import DEMO_APP_ENV
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.stack.moto import MOTO_CREDENTIALS

pytestmark = pytest.mark.e2e


def run_cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "cwparity.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_run_against_own_endpoints_then_rejudge_the_window(tmp_path):
    env = {**os.environ, **MOTO_CREDENTIALS}
    spec = StackSpec(apps=(AppSpec("dual_app", dict(DEMO_APP_ENV)),))
    with EmbeddedStack(spec, keep_logs_in=tmp_path) as stack:
        config = {
            "name": "own-stack",
            "cloudwatch": {"region": "us-east-1", "endpoint_url": stack.cloudwatch_url},
            "prometheus": {"url": stack.prometheus_url},  # scrape interval from the targets API
            "app": {"base_url": stack.app_url},
            "load": {"duration": "12s", "users": 3, "stop_timeout": "5s"},
            "window": {"period": 10, "settle_timeout": "30s", "settle_poll": "2s"},
        }
        path = tmp_path / "cwparity.yaml"
        path.write_text(yaml.safe_dump(config))
        done = run_cli("run", "--config", str(path), "--out", str(tmp_path / "out"), env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        run_dir = next((tmp_path / "out").glob("*-own-stack"))
        first = json.loads((run_dir / "results.json").read_text())
        assert first["verdict"] == "pass"
        window = first["run"]["window"]

        again = run_cli(
            "run",
            "--config",
            str(path),
            "--out",
            str(tmp_path / "again"),
            "--no-load",
            "--start",
            window["start"],
            "--end",
            window["end"],
            env=env,
        )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    second = json.loads(next((tmp_path / "again").glob("*/results.json")).read_text())
    checks = {c["id"]: c for c in second["checks"]}
    # no load was sent: nothing to compare with Locust, but the backends still agree exactly
    assert not any(c["kind"] == "count_truth" for c in second["checks"])
    for route in ("GET /", "GET /long-request"):
        assert checks[f"count[{route}]"]["status"] == "pass"
        before = next(c for c in first["checks"] if c["id"] == f"count[{route}]")
        assert checks[f"count[{route}]"]["observed"] == before["observed"]
