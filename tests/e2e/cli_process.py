"""The CLI as a user starts it: ``python -m cwparity.cli`` in a child process, output captured."""

from __future__ import annotations

import subprocess
import sys

#: how long a CLI that outlived its timeout gets to stop what it started after SIGTERM
STOP_GRACE = 30.0


def run_cwparity(*args: str, env=None, cwd=None, timeout: float = 300):
    """Run the CLI to its end. One that outlives ``timeout`` gets SIGTERM first, as a CI job's
    timeout sends it, so that it stops the stack it started (the stack's processes run in
    sessions of their own: killing the CLI alone would leave them to the next test)."""
    with subprocess.Popen(
        [sys.executable, "-m", "cwparity.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.communicate(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
            raise
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
