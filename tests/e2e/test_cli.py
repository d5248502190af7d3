"""The CLI as a user runs it: one-line errors with exit 2 for user mistakes, and the help.

The demo itself runs from an installed wheel, outside the checkout: tests/e2e/test_wheel.py."""

import subprocess
import sys
from pathlib import Path

import pytest

from cwparity.stack.process import free_port
from cwparity.stack.prometheus import start_prometheus

from .cli_process import run_cwparity

pytestmark = pytest.mark.e2e


def cwparity(*args, cwd=None, timeout=300):
    return run_cwparity(*args, cwd=cwd, timeout=timeout)


def assert_one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("cwparity: error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_wrong_config_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("cloudwatch:\n  namspace: FlaskApp\n")
    assert_one_line_error(
        cwparity("run", "--config", str(config)),
        str(config),
        "cloudwatch.namspace",
        "did you mean 'cloudwatch.namespace'",
    )


def test_unreachable_prometheus(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"prometheus:\n  url: http://127.0.0.1:{free_port()}\n")
    assert_one_line_error(
        cwparity("run", "--config", str(config), "--out", str(tmp_path)),
        "Prometheus",
        "connection refused",
    )


def test_cloudwatch_endpoint_refusing_connections(tmp_path):
    process, url = start_prometheus(tmp_path, [], "flask_app", 1.0)
    try:
        config = tmp_path / "c.yaml"
        config.write_text(
            f"prometheus:\n  url: {url}\n"
            f"cloudwatch:\n  region: us-east-1\n  endpoint_url: http://127.0.0.1:{free_port()}\n"
        )
        env_done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cwparity.cli",
                "run",
                "--config",
                str(config),
                "--out",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                "PATH": "/usr/bin:/bin",
                "AWS_ACCESS_KEY_ID": "a",
                "AWS_SECRET_ACCESS_KEY": "b",
                "HOME": str(tmp_path),
            },
        )
    finally:
        process.stop()
    assert_one_line_error(env_done, "CloudWatch", "127.0.0.1")


def test_no_load_needs_a_window(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("name: x\n")
    done = cwparity("run", "--config", str(config), "--no-load", "--out", str(tmp_path))
    assert done.returncode == 2


def test_validate_lists_routes_and_lints_the_guides_dashboard_query():
    done = cwparity(
        "validate",
        "--config",
        "fixtures/configs/guide-linode.yaml",
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "OK, 2 routes: GET /, GET /long-request" in done.stdout
    assert "WARN  lint.cumulative_ratio[guide-dashboard-latency]" in done.stdout
