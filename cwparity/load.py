"""Drive the Locust profile headless in its own process and read back the ground truth.

Locust runs as a child process on purpose: importing it monkey-patches the process with gevent,
which breaks boto3, requests and threads already loaded here (see environment facts).
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cwparity.config import LoadConfig, Route
from cwparity.errors import StackError
from cwparity.paths import LOCUSTFILE
from cwparity.progress import watch_load
from cwparity.truth import GroundTruth

log = logging.getLogger(__name__)


def locust_argv(load: LoadConfig, host: str, out_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--users",
        str(load.users),
        "--spawn-rate",
        f"{load.spawn_rate:g}",
        "--run-time",
        f"{math.ceil(load.duration)}s",
        # let every user finish its request in flight: a request cut off by Locust may still be
        # counted by the app, and then the ground truth would be short
        "--stop-timeout",
        f"{load.stop_timeout:g}",
        "--json-file",
        str(out_dir / "locust-stats"),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]


def locust_env(load: LoadConfig, routes: list[Route], targets: list[str], truth: Path) -> dict:
    plan = [{"path": r.path, "method": r.method, "weight": r.weight} for r in routes if r.weight]
    return {
        "CWPARITY_ROUTES": json.dumps(plan),
        "CWPARITY_TARGETS": json.dumps(targets),
        "CWPARITY_WAIT": f"{load.wait_min},{load.wait_max}",
        "CWPARITY_PROFILE": load.profile,
        "CWPARITY_MAX_REQUESTS": str(load.max_requests or 0),
        "CWPARITY_GROUND_TRUTH": str(truth),
    }


def run_load(
    load: LoadConfig, routes: list[Route], targets: list[str], out_dir: Path
) -> GroundTruth:
    """Send the profile to ``targets`` (each logical request mirrored to every target)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / "ground-truth.json"
    # --csv: Locust rewrites locust_stats.csv every second, which the progress line reads
    argv = [*locust_argv(load, targets[0], out_dir), "--csv", str(out_dir / "locust")]
    env = {
        **os.environ,
        **locust_env(load, routes, targets if len(targets) > 1 else [], truth_path),
    }
    bound = load.duration + load.stop_timeout + 60
    log.info("load: %d users for %gs against %s", load.users, load.duration, ", ".join(targets))
    with (out_dir / "locust.log").open("w") as locust_log:
        child = subprocess.Popen(argv, env=env, stdout=locust_log, stderr=subprocess.STDOUT)
        try:
            returncode = watch_load(child, load.duration, bound, out_dir / "locust_stats.csv")
        finally:  # past the bound, or interrupted: never leave Locust running
            if child.poll() is None:
                child.kill()
                child.wait()
    if returncode is None:
        raise StackError(f"locust did not finish within {bound:.0f}s")
    if returncode != 0 or not truth_path.exists():
        tail = (out_dir / "locust.log").read_text(errors="replace").strip().splitlines()[-3:]
        raise StackError(f"locust failed (exit {returncode}): {' | '.join(tail)}")
    return read_ground_truth(truth_path, out_dir / "locust-stats.json")


def read_ground_truth(truth_path: Path, stats_path: Path) -> GroundTruth:
    raw = json.loads(truth_path.read_text())
    if raw["first_start"] is None:
        raise StackError("locust sent no request: check the routes' weights and the app's URL")
    raw["locust_stats"] = _locust_stats(stats_path)
    return GroundTruth.from_dict(raw)


def _locust_stats(path: Path) -> list[dict[str, Any]]:
    """Locust's own per-endpoint summary (count, failures, mean and percentiles)."""
    if not path.exists():
        return []
    keep = (
        "name",
        "method",
        "num_requests",
        "num_failures",
        "min_response_time",
        "max_response_time",
        "total_response_time",
        "response_times",
    )
    rows = json.loads(path.read_text())
    return [
        {k: row.get(k) for k in keep if k != "response_times"} | _percentiles(row) for row in rows
    ]


def _percentiles(row: dict[str, Any]) -> dict[str, float | None]:
    """p50/p90/p99 in ms from Locust's rounded response-time histogram."""
    histogram = {float(k): int(v) for k, v in (row.get("response_times") or {}).items()}
    total = sum(histogram.values())
    result: dict[str, float | None] = {}
    for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
        result[name] = None
        seen = 0
        for value in sorted(histogram):
            seen += histogram[value]
            if total and seen >= q * total:
                result[name] = value
                break
    return result
