"""The harness's errors: one root, one subclass per place a run can go wrong.

The CLI prints ``str(error)`` as one line and exits 2; tracebacks are for ``--debug`` only.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Anything that stops a run before it can give a verdict."""

    exit_code = 2


class ConfigError(HarnessError):
    """A config file or option is wrong: names the file, the key and the bad value."""


class StackError(HarnessError):
    """A process the harness starts (moto, Prometheus, an app, Locust) failed to start or run."""


class SourceError(HarnessError):
    """CloudWatch or Prometheus could not be reached or answered with an error."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a run after its folder was written: ``run_dir`` holds the
    partial results, marked interrupted (never a verdict)."""

    def __init__(self, run_dir: object) -> None:
        super().__init__(str(run_dir))
        self.run_dir = run_dir
