"""Ctrl-C during a demo stops everything the demo started and removes its temp dir."""

import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cwparity.stack.process import port_open

pytestmark = pytest.mark.e2e
STACK_UP = re.compile(r"embedded stack up: prometheus (\S+), cloudwatch \(moto\) (\S+), apps (.*)")


def ports(line: str) -> list[int]:
    return [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", line)]


def our_temp_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("cwp-*"))


def test_ctrl_c_during_load_stops_every_process_and_cleans_up(tmp_path):
    before = our_temp_dirs()
    demo = subprocess.Popen(
        [sys.executable, "-m", "cwparity.cli", "demo", "--duration", "60", "--out", str(tmp_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
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
    assert our_temp_dirs() <= before
