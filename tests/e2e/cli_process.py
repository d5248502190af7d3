"""The CLI as a user starts it: ``python -m cwparity.cli`` in a child process, output captured."""

from __future__ import annotations

import subprocess
import sys


def run_cwparity(*args: str, env=None, cwd=None, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "cwparity.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=env,
    )
