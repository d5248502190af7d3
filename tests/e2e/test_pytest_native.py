"""The suites under pytest as testinfra users run theirs: ``pytest --pyargs cwparity.suites
--cwparity-config FILE``, from a folder outside the checkout. Runs that judge something are in
tests/integration/test_hosts_ssh.py (-m host) and tests/e2e/test_run_own_stack.py (-m parity)."""

import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.e2e


def pytest_run(*args, cwd):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "cwparity.suites",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_collecting_lists_readable_ids_from_the_config_and_writes_nothing(tmp_path):
    config = tmp_path / "cwparity.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "routes": [{"path": "/"}, {"path": "/long-request", "method": "post"}],
                "report": {"output_dir": str(tmp_path / "reports")},
            }
        )
    )
    done = pytest_run(
        f"--cwparity-config={config}", "--collect-only", "-q", "-k", "mean", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_parity.py::test_mean_latency_matches[GET /]" in done.stdout
    assert "test_parity.py::test_mean_latency_matches[POST /long-request]" in done.stdout
    assert "test_hosts.py" not in done.stdout  # -k as pytest always does it
    assert not (tmp_path / "reports").exists()  # collecting sends no load, writes no run


def test_a_bad_config_is_one_line(tmp_path):
    config = tmp_path / "cwparity.yaml"
    config.write_text("prometheus:\n  tls:\n    cert_file: client.pem\n")
    done = pytest_run(f"--cwparity-config={config}", "-m", "host", cwd=tmp_path)
    assert done.returncode == 4  # pytest's usage error
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: cwparity:")]
    assert errors == [
        f"ERROR: cwparity: {config}: key 'prometheus.tls' = {{'cert_file': 'client.pem'}}: "
        "give both cert_file and key_file (the client certificate and its key)"
    ]


def test_a_window_without_a_config_is_a_usage_error(tmp_path):
    done = pytest_run("--cwparity-window=now-1h:now", "-m", "parity", cwd=tmp_path)
    assert done.returncode == 4, done.stdout[-2000:]
    assert "ERROR: cwparity: --cwparity-window needs --cwparity-config" in done.stderr
