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
