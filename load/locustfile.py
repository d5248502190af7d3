"""The cwparity traffic profile, and the ground truth of what it sent.

Runs under cwparity (``cwparity demo`` / ``cwparity run``) or alone:

    CWPARITY_ROUTES='[{"path": "/", "weight": 3}, {"path": "/long-request"}]' \
        locust -f load/locustfile.py --headless -H http://127.0.0.1:8080 -u 4 -r 4 -t 30s

Environment:
  CWPARITY_ROUTES        JSON list of {"path", "method" (GET), "weight" (1)}; default: the guide's routes
  CWPARITY_TARGETS       JSON list of base URLs; every logical request is mirrored to each of them
                         (side by side). Default: Locust's --host only.
  CWPARITY_WAIT          "min,max" seconds between a user's requests (default "0.05,0.2")
  CWPARITY_PROFILE       "steady" (default) or "ramp" (users climb linearly over the run)
  CWPARITY_MAX_REQUESTS  stop the run after this many logical requests (a hard bound)
  CWPARITY_GROUND_TRUTH  where to write ground truth JSON: per target and route, responses by
                         status, failures without a response, each latency, first and last moment
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict

from locust import HttpUser, LoadTestShape, between, events, task

ROUTES = json.loads(
    os.environ.get("CWPARITY_ROUTES", '[{"path": "/", "weight": 3}, {"path": "/long-request"}]')
)
TARGETS = json.loads(os.environ.get("CWPARITY_TARGETS", "[]"))
WAIT_MIN, WAIT_MAX = (float(x) for x in os.environ.get("CWPARITY_WAIT", "0.05,0.2").split(","))
MAX_REQUESTS = int(os.environ.get("CWPARITY_MAX_REQUESTS", "0") or 0)


class GroundTruth:
    """Everything Locust saw, per (target, method, path): the reference both backends must match."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_status: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)
        self.latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.logical_requests = 0

    def record(self, target: str, key: str, status: int | None, seconds: float, start: float):
        with self.lock:
            slot = (target, key)
            if status is None:
                self.failures[slot] += 1
            else:
                counts = self.by_status[slot]
                counts[str(status)] = counts.get(str(status), 0) + 1
                self.latencies[slot].append(round(seconds * 1000.0, 3))
            self.first_start = start if self.first_start is None else min(self.first_start, start)
            end = start + seconds
            self.last_end = end if self.last_end is None else max(self.last_end, end)

    def to_json(self) -> dict:
        slots = set(self.by_status) | set(self.failures)
        routes = [
            {
                "target": target,
                "route": key,
                "by_status": self.by_status.get((target, key), {}),
                "failures": self.failures.get((target, key), 0),
                "latencies_ms": self.latencies.get((target, key), []),
            }
            for target, key in sorted(slots)
        ]
        return {
            "first_start": self.first_start,
            "last_end": self.last_end,
            "logical_requests": self.logical_requests,
            "routes": routes,
        }


TRUTH = GroundTruth()


def _write_truth(**_kwargs) -> None:
    path = os.environ.get("CWPARITY_GROUND_TRUTH")
    if path:
        with TRUTH.lock, open(path, "w", encoding="utf-8") as handle:
            json.dump(TRUTH.to_json(), handle)


events.test_stop.add_listener(_write_truth)
events.quitting.add_listener(_write_truth)


class ParityUser(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self) -> None:
        self.targets = TARGETS or [self.host]

    @task
    def one_logical_request(self) -> None:
        route = _pick_route()
        with TRUTH.lock:
            if MAX_REQUESTS and TRUTH.logical_requests >= MAX_REQUESTS:
                self.environment.runner.quit()
                return
            TRUTH.logical_requests += 1
        for target in self.targets:
            self._send(target, route)

    def _send(self, target: str, route: dict) -> None:
        method = route.get("method", "GET").upper()
        key = f"{method} {route['path']}"
        name = key if len(self.targets) == 1 else f"{key} @ {target}"
        start = time.time()
        with self.client.request(
            method, target.rstrip("/") + route["path"], name=name, catch_response=True
        ) as response:
            status = response.status_code or None
            TRUTH.record(target, key, status, time.time() - start, start)
            if status is not None:
                response.success()  # a 404 is data for parity, not a load failure


_RNG_LOCK = threading.Lock()


def _pick_route() -> dict:
    import random

    with _RNG_LOCK:
        weights = [r.get("weight", 1) for r in ROUTES]
        return random.choices(ROUTES, weights=weights)[0]


if os.environ.get("CWPARITY_PROFILE") == "ramp":

    class RampShape(LoadTestShape):
        """Users climb linearly from 1 to -u over the run time (-t), then the run ends."""

        def tick(self):
            options = self.runner.environment.parsed_options
            run_time = self.get_run_time()
            if run_time >= options.run_time:
                return None
            users = max(1, round(options.num_users * (run_time / options.run_time)))
            return users, options.spawn_rate
