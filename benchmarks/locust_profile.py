"""Benchmark: requests per CPU-second of cwparity's Locust profile next to a plain FastHttpUser.

Both run against the same app (the guide's re-instrumented Flask app, fixtures/apps), with no
wait between requests, each in a child process of its own that imports Locust first (it patches
with gevent). Only the steady part is measured: CPU seconds of the Locust process
(``time.process_time``) and requests completed between the end of a warm-up and the end of the
run. Rounds alternate between the two so that a busy machine affects both alike; the medians
are compared. Not a test: figures, not assertions.

    python benchmarks/locust_profile.py [--users 8] [--seconds 8] [--rounds 3]

``measure()`` returns the same figures as a dict, for a script that prints every ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROFILES = ("ours", "plain")
#: the profile's environment for this benchmark: one route, one target, no wait, no truth file
OURS_ENV = {"CWPARITY_ROUTES": '[{"path": "/"}]', "CWPARITY_WAIT": "0,0", "CWPARITY_TARGETS": "[]"}


def measure(
    users: int = 8, seconds: float = 8.0, warmup: float = 2.0, rounds: int = 3, url: str = ""
) -> dict[str, Any]:
    """Median requests per CPU-second of each profile, and ours as a share of the plain one's.

    Starts the guide's app on a free loopback port unless ``url`` names one already running.
    """
    if url:
        return _compare(url, users, seconds, warmup, rounds)
    from cwparity.stack.apps import start_app

    with tempfile.TemporaryDirectory(prefix="cwp-bench-") as logs:
        app, app_url = start_app("prometheus_app", Path(logs), env={})
        try:
            return _compare(app_url, users, seconds, warmup, rounds)
        finally:
            app.stop()


def _compare(url: str, users: int, seconds: float, warmup: float, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in PROFILES}
    for _ in range(rounds):
        for name in PROFILES:
            runs[name].append(_one_run(name, url, users, seconds, warmup))
    result: dict[str, Any] = {"users": users, "seconds": seconds, "rounds": rounds}
    for name, samples in runs.items():
        per_cpu_s = [s["requests"] / s["cpu_s"] for s in samples]
        result[name] = {
            "requests_per_cpu_s": statistics.median(per_cpu_s),
            "spread": (min(per_cpu_s), max(per_cpu_s)),
            "requests_per_s": statistics.median(s["requests"] / s["wall_s"] for s in samples),
            "runs": samples,
        }
    result["ratio"] = result["ours"]["requests_per_cpu_s"] / result["plain"]["requests_per_cpu_s"]
    return result


def _one_run(profile: str, url: str, users: int, seconds: float, warmup: float) -> dict:
    argv = [sys.executable, __file__, "--child", profile, "--url", url, "--users", str(users)]
    argv += ["--seconds", str(seconds), "--warmup", str(warmup)]
    env = {**os.environ, **(OURS_ENV if profile == "ours" else {})}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{profile} run failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(profile: str, url: str, users: int, seconds: float, warmup: float) -> None:
    """Runs in its own process: Locust first, before anything that imports ssl."""
    import time

    import gevent
    from locust import events
    from locust.env import Environment

    user_class = _our_user() if profile == "ours" else _plain_user()
    user_class.host = url
    environment = Environment(user_classes=[user_class], events=events, host=url)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(warmup)
    cpu, wall, requests = time.process_time(), time.monotonic(), environment.stats.total
    start_requests = requests.num_requests
    gevent.sleep(seconds)
    figures = {
        "requests": requests.num_requests - start_requests,
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.monotonic() - wall,
        "failures": requests.num_failures,
    }
    runner.quit()
    print(json.dumps(figures))


def _our_user():
    import importlib.util

    locustfile = Path(__file__).resolve().parent.parent / "load" / "locustfile.py"
    spec = importlib.util.spec_from_file_location("cwparity_profile", locustfile)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ParityUser


def _plain_user():
    from locust import FastHttpUser, constant, task

    class PlainUser(FastHttpUser):
        wait_time = constant(0)

        @task
        def index(self) -> None:
            self.client.get("/")

    return PlainUser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default="", help="an app already running (default: start one)")
    parser.add_argument("--child", choices=PROFILES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.url, args.users, args.seconds, args.warmup)
        return
    result = measure(args.users, args.seconds, args.warmup, args.rounds, args.url)
    for name, label in (("ours", "cwparity profile"), ("plain", "plain FastHttpUser")):
        figures = result[name]
        low, high = figures["spread"]
        print(
            f"{label}: {figures['requests_per_cpu_s']:.0f} requests/CPU-s (median of "
            f"{args.rounds}, {low:.0f}–{high:.0f}; {figures['requests_per_s']:.0f} requests/s)"
        )
    print(
        f"locust profile: {result['ratio']:.1%} of a plain FastHttpUser's requests per CPU-second"
    )


if __name__ == "__main__":
    main()
