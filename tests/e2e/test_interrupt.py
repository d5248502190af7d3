"""Ctrl-C or SIGTERM at any phase stops everything the run started, exits 130 and leaves a
partial record marked interrupted (ERROR, never PASS): results.json, junit.xml, report.html and
the history line."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from cwparity.phases import TEST_SWITCH
from cwparity.stack.process import port_open

from .cli_process import run_cwparity

pytestmark = pytest.mark.e2e
STACK_UP = re.compile(r"embedded stack up: prometheus (\S+), cloudwatch \(moto\) (\S+), apps (.*)")


def ports(line: str) -> list[int]:
    return [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", line)]


def our_temp_dirs(root: Path) -> set[Path]:
    return set(root.glob("cwp-*"))


def test_ctrl_c_during_load_stops_every_process_and_cleans_up(tmp_path):
    # a temp root of its own: other runs on the machine create and remove cwp-* dirs too
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    demo = subprocess.Popen(
        [sys.executable, "-m", "cwparity.cli", "demo", "--duration", "60", "--out", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(temp_root)},
    )
    opened: list[int] = []
    try:
        for line in demo.stderr:
            if STACK_UP.search(line):
                opened = ports(line)
            if opened and "load:" in line:
                break
        assert opened, "the demo never reported its stack"
        time.sleep(2)  # mid-load
        demo.send_signal(signal.SIGINT)
        rest = demo.communicate(timeout=60)[1]
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, rest
    assert "interrupted; everything it started was stopped" in rest
    assert "Traceback" not in rest
    assert not [port for port in opened if port_open(port)]
    assert not our_temp_dirs(temp_root)
    (run_dir,) = tmp_path.glob("*-demo")
    assert_marked_interrupted(run_dir, "load", "SIGINT")


# --- every phase, both signals: `cwparity run` on one stack the module shares -----------------
# The test switch (cwparity/phases.py, CWPARITY_TEST_INTERRUPT=PHASE:SIGNAL) makes the CLI send
# itself the signal when it reaches the phase: deterministic, no sleeping and hoping.

LATER_PHASES = ("scrape_wait", "settle", "fetch", "judging", "report")
SIGNALS = ("SIGINT", "SIGTERM")
BOUND = 120  # seconds any one case may take


def run_cli(*args, env, timeout=BOUND):
    return run_cwparity(*args, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """One stack, a config reaching it by URL only, and a window judged once, uninterrupted:
    the twin every interrupted case is compared with (it PASSes)."""
    from cwparity.flows import DEMO_APP_ENV
    from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
    from cwparity.stack.moto import MOTO_CREDENTIALS

    root = tmp_path_factory.mktemp("interrupt")
    env = {**os.environ, **MOTO_CREDENTIALS}
    env.pop(TEST_SWITCH, None)
    spec = StackSpec(apps=(AppSpec("dual_app", dict(DEMO_APP_ENV)),))
    with EmbeddedStack(spec, keep_logs_in=root) as stack:
        config = {
            "name": "interrupt",
            "cloudwatch": {"region": "us-east-1", "endpoint_url": stack.cloudwatch_url},
            "prometheus": {"url": stack.prometheus_url},
            "app": {"base_url": stack.app_url},
            "load": {"duration": "4s", "users": 3, "stop_timeout": "2s"},
            "window": {
                "period": 5,
                "settle_timeout": "20s",
                "settle_poll": "1s",
                "settle_quiet": "5s",
                "settle_min_age": "2s",
            },
        }
        path = root / "cwparity.yaml"
        path.write_text(yaml.safe_dump(config))
        twin = run_cli("run", "--config", str(path), "--out", str(root / "twin"), env=env)
        assert twin.returncode == 0, twin.stdout[-2000:] + twin.stderr[-2000:]
        (run_dir,) = (root / "twin").glob("*-interrupt")
        window = json.loads((run_dir / "results.json").read_text())["run"]["window"]
        yield {"config": path, "env": env, "window": window}


def interrupted_run(own_stack, tmp_path, phase, signame, *extra):
    env = {**own_stack["env"], TEST_SWITCH: f"{phase}:{signame}"}
    out = tmp_path / "out"
    done = run_cli("run", "--config", str(own_stack["config"]), "--out", str(out), *extra, env=env)
    assert done.returncode == 130, done.stdout[-2000:] + done.stderr[-2000:]
    assert "interrupted; everything it started was stopped" in done.stderr
    assert "Traceback" not in done.stderr and "verdict PASS" not in done.stdout
    (run_dir,) = out.glob("*-interrupt")
    assert f"partial report (marked interrupted, not a verdict) {run_dir}" in done.stderr
    assert not processes_mentioning(str(run_dir))  # no child of the run is left (Locust's argv)
    return run_dir


def assert_marked_interrupted(run_dir, phase, signame):
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "error" and document["exit_code"] == 130
    assert document["run"]["interrupted"] == {"phase": phase, "signal": signame}
    first = document["checks"][0]
    assert first["id"] == "run[interrupted]" and first["status"] == "error"
    assert f"interrupted by {signame} during {phase}" in first["reason"]
    html = (run_dir / "report.html").read_text()
    assert f"interrupted ({signame} during {phase})" in html and "NO-GO" in html
    cases = ET.parse(run_dir / "junit.xml").getroot().iter("testcase")
    (case,) = [case for case in cases if case.get("name") == "run[interrupted]"]
    assert case.find("error") is not None
    history = [json.loads(line) for line in (run_dir.parent / "history.jsonl").open()]
    (entry,) = [e for e in history if e["run_id"] == run_dir.name]
    assert entry["verdict"] == "error"
    assert entry["interrupted"] == {"phase": phase, "signal": signame}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


@pytest.mark.parametrize("signame", SIGNALS)
def test_interrupt_during_load_stops_locust_and_writes_the_partial_record(
    own_stack, tmp_path, signame
):
    run_dir = interrupted_run(own_stack, tmp_path, "load", signame)
    assert_marked_interrupted(run_dir, "load", signame)
    assert (run_dir / "load" / "locust.log").exists()  # Locust had started, and was stopped


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize("phase", LATER_PHASES)
def test_interrupt_after_the_load_is_never_a_pass(own_stack, tmp_path, phase, signame):
    window = own_stack["window"]
    no_load = ("--no-load", "--start", window["start"], "--end", window["end"])
    run_dir = interrupted_run(own_stack, tmp_path, phase, signame, *no_load)
    assert_marked_interrupted(run_dir, phase, signame)
    document = json.loads((run_dir / "results.json").read_text())
    judged = [c for c in document["checks"] if c["kind"] == "count"]
    if phase == "report":
        # everything was judged and passed: still not a verdict, since the run did not finish
        assert judged and all(c["status"] == "pass" for c in judged)
    else:
        assert not judged  # the parity checks it did not reach are missing, not passed


def test_sigterm_after_the_load_of_a_demo_stops_its_stack(tmp_path):
    """The issue's case: SIGTERM while the demo waits between settle polls."""
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = {**os.environ, "TMPDIR": str(temp_root), TEST_SWITCH: "settle:SIGTERM"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "cwparity.cli", "demo", "--duration", "3", "--out", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        out, err = demo.communicate(timeout=BOUND)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, err[-3000:]
    assert "verdict PASS" not in out and "Traceback" not in err
    opened = ports(next(line for line in err.splitlines() if STACK_UP.search(line)))
    assert opened and not [port for port in opened if port_open(port)]
    assert not our_temp_dirs(temp_root)
    (run_dir,) = tmp_path.glob("*-demo")
    assert_marked_interrupted(run_dir, "settle", "SIGTERM")


def test_pytest_edge_interrupted_in_the_suites_writes_no_pass(own_stack, tmp_path):
    """`pytest --pyargs cwparity.suites --cwparity-config`: SIGTERM (a CI timeout) while the
    suites judge; the session-finish hook writes the interrupted record, not a PASS."""
    window = own_stack["window"]
    env = {**own_stack["env"], TEST_SWITCH: "judging:SIGTERM"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "--pyargs", "cwparity.suites"),
            f"--cwparity-config={own_stack['config']}",
            f"--cwparity-window={window['start']}/{window['end']}",
            f"--cwparity-out={tmp_path / 'out'}",
            *("-p", "no:cacheprovider", "-q"),
        ],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout[-2000:]  # pytest's "interrupted"
    assert "cwparity: verdict ERROR" in done.stdout
    (run_dir,) = (tmp_path / "out").glob("*-interrupt")
    assert_marked_interrupted(run_dir, "judging", "SIGTERM")


def test_a_window_before_the_stack_existed_is_not_a_pass(own_stack, tmp_path):
    """The issue's empty window: nothing on either side for any mapped route → ERROR, exit 2."""
    out = tmp_path / "out"
    args = ("--no-load", "--start", "now-3h", "--end", "now-2h")
    done = run_cli(
        "run", "--config", str(own_stack["config"]), "--out", str(out), *args, env=own_stack["env"]
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "verdict ERROR" in done.stdout and "Traceback" not in done.stderr
    (run_dir,) = out.glob("*-interrupt")
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "error"
    for route in ("GET /", "GET /long-request"):
        check = next(c for c in document["checks"] if c["id"] == f"count[{route}]")
        assert check["status"] == "error" and "no data" in check["reason"]
    parity = [c for c in document["checks"] if c["subject"] in ("GET /", "GET /long-request")]
    assert not [c for c in parity if c["status"] == "pass"]


SUITE = """
from cwparity.results import CheckResult, Status

def test_host_passes(parity_session):
    parity_session.record(CheckResult("host.up", "host", "host", Status.PASS, "up"))

def test_interrupted_while_judging(parity_session):
    raise KeyboardInterrupt  # what Ctrl-C (or the CLI's SIGTERM handler) raises mid-suite
"""


def test_a_keyboard_interrupt_inside_the_suites_never_writes_a_pass(tmp_path):
    """The session-finish hook writes what was recorded, marked interrupted (the issue: it
    wrote PASS from the host checks alone, and the parity checks were silently gone)."""
    (tmp_path / "config.yaml").write_text("name: x\nroutes: [{path: /}]\n")
    run = {
        "config_path": str(tmp_path / "config.yaml"),
        "window": {"start": "2026-12-02T00:00:00+00:00", "end": "2026-12-02T00:01:00+00:00"},
        "meta": {"mode": "test"},
    }
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run["window"]["period"] = 60
    (run_dir / "run.json").write_text(json.dumps(run))
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE))
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "test_suite.py", f"--cwparity-run-dir={run_dir}"),
            *("-p", "no:cacheprovider", "-q", "-c", "/dev/null", f"--rootdir={tmp_path}"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout[-2000:]  # pytest's "interrupted"
    document = json.loads((run_dir / "results.json").read_text())
    assert document["verdict"] == "error" and document["exit_code"] == 130
    assert document["run"]["interrupted"]["signal"] == "SIGINT"
    ids = [c["id"] for c in document["checks"]]
    assert ids == ["run[interrupted]", "host.up"]
