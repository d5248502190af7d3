"""The example Flask apps from fixtures/apps, started on free loopback ports."""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

from cwparity.errors import StackError
from cwparity.paths import APPS_DIR
from cwparity.stack.process import ManagedProcess, free_port, port_open

APPS = ("dual_app", "cloudwatch_app", "prometheus_app")
# what the apps import: the `demo` extra, not needed for runs against your own endpoints
APP_MODULES = ("flask", "prometheus_flask_exporter", "boto3")


def start_app(
    name: str, log_dir: Path, env: dict[str, str], port: int | None = None
) -> tuple[ManagedProcess, str]:
    if name not in APPS:
        raise StackError(f"unknown example app {name!r}; choose from {', '.join(APPS)}")
    missing = [module for module in APP_MODULES if find_spec(module) is None]
    if missing:
        raise StackError(
            f"the example apps need {', '.join(missing)}: pip install 'cwparity[demo]'"
        )
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    script = APPS_DIR / f"{name}.py"
    argv = [sys.executable, str(script), "--host", "127.0.0.1", "--port", str(port)]
    process = ManagedProcess(name, argv, log_dir, env=env, cwd=APPS_DIR)
    # a TCP connect, not a request: any request would be published to CloudWatch as a datum
    process.wait_ready(lambda: port_open(port), timeout=30, what="serving")
    return process, url
