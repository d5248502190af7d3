"""`cwparity run --config` as a user runs it against their own endpoints (here: a stack started
by the test, reached only through the config file's URLs), then the same window re-judged with
--no-load --start --end --only parity, and once more the pytest way (`pytest --pyargs
cwparity.suites --cwparity-config … --cwparity-window START/END -m parity`)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from cwparity.flows import DEMO_APP_ENV
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.stack.moto import MOTO_CREDENTIALS

from .cli_process import run_cwparity

pytestmark = pytest.mark.e2e


def run_cli(*args, env):
    return run_cwparity(*args, env=env)


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
            "window": {
                "period": 10,
                "settle_timeout": "30s",
                "settle_poll": "2s",
                "settle_quiet": "5s",
                "settle_min_age": "2s",
            },
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
            "--only",
            "parity",
            env=env,
        )
        native = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "--pyargs", "cwparity.suites", "-m", "parity"),
                f"--cwparity-config={path}",
                f"--cwparity-window={window['start']}/{window['end']}",
                f"--cwparity-out={tmp_path / 'native'}",
                *("-p", "no:cacheprovider", "-q"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp_path,
        )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert native.returncode == 0, native.stdout[-2000:] + native.stderr[-2000:]
    assert "cwparity: verdict PASS" in native.stdout
    third = json.loads(next((tmp_path / "native").glob("*/results.json")).read_text())
    assert third["run"]["mode"] == "pytest" and third["run"]["window"] == window
    assert not {c["kind"] for c in third["checks"]} & {"host", "grafana", "security"}
    second = json.loads(next((tmp_path / "again").glob("*/results.json")).read_text())
    checks = {c["id"]: c for c in second["checks"]}
    # no load was sent: nothing to compare with Locust, but the backends still agree exactly
    assert not any(c["kind"] == "count_truth" for c in second["checks"])
    for route in ("GET /", "GET /long-request"):
        assert checks[f"count[{route}]"]["status"] == "pass"
        before = next(c for c in first["checks"] if c["id"] == f"count[{route}]")
        assert checks[f"count[{route}]"]["observed"] == before["observed"]
        judged = next(c for c in third["checks"] if c["id"] == f"count[{route}]")
        assert judged["status"] == "pass" and judged["observed"] == before["observed"]
