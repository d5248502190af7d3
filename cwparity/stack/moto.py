"""moto's server standing in for CloudWatch on a free loopback port."""

from __future__ import annotations

import sys
from importlib.util import find_spec
from pathlib import Path

from cwparity.errors import StackError
from cwparity.stack.process import ManagedProcess, free_port, http_ok

# moto accepts any credentials; these keep boto3 from looking for real ones.
MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_argv(port: int, batch: float | None = None) -> list[str]:
    """moto's server module run by this interpreter: the moto installed with cwparity, never
    whatever ``moto_server`` comes first on PATH (another venv's, another version).

    With ``batch`` (seconds), moto wrapped so that each datum is readable only from the next
    multiple of it after it was put (``cwparity.stack.bursty_moto``)."""
    module = (
        ["moto.server"]
        if batch is None
        else ["cwparity.stack.bursty_moto", "--batch", f"{batch:g}"]
    )
    return [sys.executable, "-m", *module, "-H", "127.0.0.1", "-p", str(port)]


def start_moto(log_dir: Path, batch: float | None = None) -> tuple[ManagedProcess, str]:
    if find_spec("moto") is None:
        raise StackError("moto is not installed: pip install 'cwparity[demo]'")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess("moto", moto_argv(port, batch), log_dir)
    process.wait_ready(lambda: http_ok(f"{url}/moto-api/"), timeout=30, what="serving")
    return process, url
