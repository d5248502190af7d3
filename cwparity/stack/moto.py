"""moto's server standing in for CloudWatch on a free loopback port."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from cwparity.errors import StackError
from cwparity.stack.process import ManagedProcess, free_port, http_ok

# moto accepts any credentials; these keep boto3 from looking for real ones.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_moto(log_dir: Path) -> tuple[ManagedProcess, str]:
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(binary).exists():
        raise StackError("moto_server not found: pip install 'moto[server]'")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess("moto", [binary, "-H", "127.0.0.1", "-p", str(port)], log_dir)
    process.wait_ready(lambda: http_ok(f"{url}/moto-api/"), timeout=30, what="serving")
    return process, url
