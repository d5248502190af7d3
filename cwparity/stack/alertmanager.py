"""A real Alertmanager (Debian's ``prometheus-alertmanager``) on a free loopback port.

Gossip is off (``--cluster.listen-address=``: it would listen on 0.0.0.0:9094), state lives in
the stack's temp dir, and the one receiver is a null receiver: the harness reads what arrived
through ``/api/v2/alerts``, nothing is sent anywhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from cwparity.errors import StackError
from cwparity.stack.process import ManagedProcess, free_port, http_ok

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus-alertmanager"
BINARIES = ("prometheus-alertmanager", "alertmanager")

CONFIG = {
    "route": {
        "receiver": "cwparity-null",
        "group_by": ["alertname", "cloudwatch_alarm"],
        # short waits: the demo's alerts live for tens of seconds
        "group_wait": "1s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    },
    "receivers": [{"name": "cwparity-null"}],
}


def binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise StackError(f"Alertmanager binary not found: {INSTALL_HINT}")


def start_alertmanager(workdir: Path) -> tuple[ManagedProcess, str]:
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    storage = workdir / "alertmanager-data"
    storage.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary(),
        f"--config.file={config_path}",
        f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    process = ManagedProcess("alertmanager", argv, workdir)
    process.wait_ready(lambda: http_ok(f"{url}/-/ready"), timeout=30, what="ready")
    return process, url
