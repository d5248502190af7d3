"""Ctrl-C during a demo stops everything the demo started and removes its temp dir."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cwparity.stack.process import port_open

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
