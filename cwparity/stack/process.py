"""A child process with a log file, a readiness wait and a stop that leaves nothing behind."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cwparity.errors import StackError

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port nothing on loopback holds right now (other processes here may hold many)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """Starts ``argv`` in its own process group; ``stop()`` ends the whole group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_dir: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                user=user,
                start_new_session=True,
            )
        except OSError as err:
            self._log.close()
            raise StackError(f"{name}: cannot start {self.argv[0]}: {err.strerror}") from None
        log.debug("started %s (pid %s): %s", name, self.popen.pid, " ".join(self.argv))

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def wait_ready(
        self,
        is_ready: Callable[[], bool],
        timeout: float,
        what: str,
        fatal: tuple[type[BaseException], ...] = (),
    ) -> None:
        """Poll ``is_ready`` until it is true; fail fast if the process dies meanwhile (or the
        probe raises one of ``fatal``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise StackError(
                    f"{self.name} exited with code {self.popen.returncode} before {what}: "
                    f"{self.tail()}"
                )
            try:
                if is_ready():
                    return
            except fatal:
                raise
            except Exception as err:  # readiness probes fail in many ways until ready
                log.debug("%s not ready yet: %s", self.name, err)
            time.sleep(0.1)
        raise StackError(f"{self.name} not {what} after {timeout:.0f}s: {self.tail()}")

    def stop(self, grace: float = 5.0) -> None:
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(grace)
        else:
            # the leader may be gone while children it forked still run
            self._signal(signal.SIGKILL)
        self._log.close()
        log.debug("stopped %s", self.name)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process itself (not its group), e.g. SIGHUP to reload."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signum)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http_ok(url: str, timeout: float = 1.0) -> bool:
    import requests

    return requests.get(url, timeout=timeout).status_code == 200


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
