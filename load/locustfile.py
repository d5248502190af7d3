"""The cwparity traffic profile, and the ground truth of what it sent.

Runs under cwparity (``cwparity demo`` / ``cwparity run``) or alone, in one process:

    CWPARITY_ROUTES='[{"path": "/", "weight": 3}, {"path": "/long-request"}]' \
        locust -f load/locustfile.py --headless -H http://127.0.0.1:8080 -u 4 -r 4 -t 30s

or distributed with Locust's own master and workers, on one machine or several. Workers need
nothing but Locust: they fetch this file (``-f -``) and the plan below from the master.

    locust -f load/locustfile.py --headless --master --expect-workers 2 -H ... -u 8 -r 8 -t 30s
    locust -f - --worker --master-host MASTER_HOST          # on each worker machine

The plan (each is a Locust option, ``--cwparity-routes`` etc., and reads its environment
variable; in a distributed run the master's values reach every worker with its users):
  CWPARITY_ROUTES        JSON list of {"path", "method" (GET), "weight" (1)}; default: the guide's routes
  CWPARITY_TARGETS       JSON list of base URLs; every logical request is mirrored to each of them
                         (side by side). Default: Locust's --host only.
  CWPARITY_WAIT          "min,max" seconds between a user's requests (default "0.05,0.2")
  CWPARITY_MAX_REQUESTS  stop the run after this many logical requests in all (a hard bound)
  CWPARITY_CREDENTIALS   JSON {public base URL: the same URL with user:password@}: the targets'
                         credentials, kept out of the command line (``ps``) and the records, which
                         name a target by its public URL (--host and CWPARITY_TARGETS carry it)
  CWPARITY_START_AT      unix time: users wait for it before their first request (a load that
                         starts on an alarm period's boundary, so no alarm period is half loaded)
  CWPARITY_END_AT        unix time: the run quits then, as --run-time would (the boundary it ends on)
Read by the master (or the single process) only:
  CWPARITY_PROFILE       "steady" (default) or "ramp" (users climb linearly over the run)
  CWPARITY_GROUND_TRUTH  where to write ground truth JSON: per target and route, responses by
                         status, failures without a response, a latency histogram, first and
                         last moment; in a distributed run, which workers' truths were merged

Ground truth across workers is merged exactly, never estimated: when the run stops, the master
asks every worker to stop its users (each finishes its request in flight, --stop-timeout) and to
send its whole truth in a message, and waits for all of them before it writes the file. (Locust's
own end of a headless run waits only 0.5 s for the workers' last statistics.)
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import math
import os
import random
import time
from collections import defaultdict
from urllib.parse import unquote, urlsplit

import gevent
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpSession, FastHttpUser
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

log = logging.getLogger("cwparity.load")

DEFAULT_ROUTES = '[{"path": "/", "weight": 3}, {"path": "/long-request"}]'
#: the latency histogram's buckets: (FLOOR·BASE^(i-1), FLOOR·BASE^i] ms, i.e. each latency is
#: known within 1 %; cwparity/truth.py reads them with the same two numbers
HISTOGRAM_BASE = 1.01
HISTOGRAM_FLOOR_MS = 0.001
_LOG_BASE = math.log(HISTOGRAM_BASE)
#: how long the master waits for the workers' truths beyond --stop-timeout: a worker's users are
#: stopped by then, and its truth is one message; only a worker that died takes this long
COLLECT_MARGIN = 5.0
TRUTH_MESSAGE, FLUSH_MESSAGE, CAPPED_MESSAGE = "cwparity_truth", "cwparity_flush", "cwparity_capped"


@events.init_command_line_parser.add_listener
def _plan_options(parser, **_kwargs) -> None:
    """The plan as Locust options: a master sends custom options to its workers with users."""
    for name, default, meaning in (
        ("routes", DEFAULT_ROUTES, "JSON list of {path, method, weight}"),
        ("targets", "[]", "JSON list of base URLs each logical request is mirrored to"),
        ("wait", "0.05,0.2", "min,max seconds between a user's requests"),
        ("max-requests", "0", "stop after this many logical requests in all (0: no bound)"),
        ("credentials", "{}", "JSON {public base URL: the URL with user:password@}"),
        ("start-at", "0", "unix time before which users send nothing (0: at once)"),
        ("end-at", "0", "unix time at which the run quits, as --run-time would (0: no such time)"),
    ):
        parser.add_argument(
            f"--cwparity-{name}",
            env_var=f"CWPARITY_{name.upper().replace('-', '_')}",
            default=default,
            include_in_web_ui=False,
            help=meaning,
        )


class Plan:
    """What to send: read from the options at each test start (workers get them then)."""

    def __init__(self, options=None) -> None:
        def option(name: str, default: str) -> str:
            value = getattr(options, f"cwparity_{name}", None)
            if value is None:
                value = os.environ.get(f"CWPARITY_{name.upper()}", default)
            return str(value)

        self.routes = json.loads(option("routes", DEFAULT_ROUTES))
        self.weights = [r.get("weight", 1) for r in self.routes]
        # per request, only a pick: the cumulative weights and each route's (method, path,
        # "METHOD path") are worked out once
        self.cum_weights = list(itertools.accumulate(self.weights))
        self.picks = [_pick(r.get("method", "GET").upper(), r["path"]) for r in self.routes]
        self.targets = json.loads(option("targets", "[]"))
        self.wait_min, self.wait_max = (float(x) for x in option("wait", "0.05,0.2").split(","))
        self.max_requests = int(option("max_requests", "0") or 0)
        self.credentials: dict[str, str] = json.loads(option("credentials", "{}") or "{}")
        self.cap = self.max_requests  # this process's share of max_requests
        self.start_at = float(option("start_at", "0") or 0)
        self.end_at = float(option("end_at", "0") or 0)

    def share_for(self, runner) -> None:
        """A worker's share of max_requests, so that all workers together send exactly it."""
        if not isinstance(runner, WorkerRunner) or not self.max_requests:
            return
        workers = max(1, int(getattr(runner.environment.parsed_options, "expect_workers", 1)))
        index = runner.worker_index
        self.cap = self.max_requests // workers + (1 if index < self.max_requests % workers else 0)


def _pick(method: str, path: str) -> tuple[str, str, str]:
    """A route as it is sent: method, path, and its key in the truth ("GET /path")."""
    return method, path, f"{method} {path}"


class GroundTruth:
    """Everything Locust saw, per (target, method path): the reference both backends must match.

    Users are greenlets of one thread and ``record`` never yields, so no lock is needed.
    """

    def __init__(self) -> None:
        self.by_status: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self.failures: dict[tuple[str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
        self.first_start: float | None = None
        self.last_end: float | None = None
        self.logical_requests = 0
        self.requests = 0
        self.workers: dict[str, int] = {}  # master: worker id → requests its truth holds

    def record(self, target: str, key: str, status: int | None, seconds: float, start: float):
        slot = (target, key)
        self.requests += 1
        if status is None:
            self.failures[slot] += 1
        else:
            counts, label = self.by_status[slot], str(status)
            counts[label] = counts.get(label, 0) + 1
            bucket = _bucket(seconds * 1000.0)
            histogram = self.latency[slot]
            histogram[bucket] = histogram.get(bucket, 0) + 1
        # plain comparisons, not min()/max(): this runs once per request
        if self.first_start is None or start < self.first_start:
            self.first_start = start
        end = start + seconds
        if self.last_end is None or end > self.last_end:
            self.last_end = end

    def to_json(self) -> dict:
        slots = set(self.by_status) | set(self.failures)
        routes = [
            {
                "target": target,
                "route": key,
                "by_status": self.by_status.get((target, key), {}),
                "failures": self.failures.get((target, key), 0),
                "latency_ms": {
                    "base": HISTOGRAM_BASE,
                    "floor_ms": HISTOGRAM_FLOOR_MS,
                    "counts": {str(i): n for i, n in sorted(self.latency[(target, key)].items())},
                },
            }
            for target, key in sorted(slots)
        ]
        return {
            "first_start": self.first_start,
            "last_end": self.last_end,
            "logical_requests": self.logical_requests,
            "requests": self.requests,
            "routes": routes,
        }

    def absorb(self, part: dict) -> None:
        """Add another process's ``to_json()``: every count adds, so the merge is exact."""
        for route in part["routes"]:
            slot = (route["target"], route["route"])
            for status, n in route["by_status"].items():
                self.by_status[slot][status] = self.by_status[slot].get(status, 0) + n
            self.failures[slot] += route["failures"]
            histogram = self.latency[slot]
            for index, n in route["latency_ms"]["counts"].items():
                histogram[int(index)] = histogram.get(int(index), 0) + n
        for moment, pick in (("first_start", min), ("last_end", max)):
            if part[moment] is not None:
                mine = getattr(self, moment)
                setattr(self, moment, part[moment] if mine is None else pick(mine, part[moment]))
        self.logical_requests += part["logical_requests"]
        self.requests += part["requests"]


def basic_auth_header(url: str) -> str:
    """The Authorization header for a URL's ``user:password@`` (percent-encoded in the URL)."""
    parts = urlsplit(url)
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def _bucket(value_ms: float) -> int:
    if value_ms <= HISTOGRAM_FLOOR_MS:
        return 0
    return math.ceil(math.log(value_ms / HISTOGRAM_FLOOR_MS) / _LOG_BASE)


PLAN = Plan()
TRUTH = GroundTruth()


class Distribution:
    """The master's and workers' side of merging the truth (see the module's docstring)."""

    def __init__(self) -> None:
        self.expected = 0  # workers the master was started to wait for
        self.reported: dict[str, int] = {}  # worker id → requests it said it sent so far
        self.capped: set[str] = set()  # master: workers that sent their share of max_requests
        self.sent = False  # worker: its truth left for the master
        self.capped_sent = False  # worker: it told the master it sent its share

    def collect(self, runner: MasterRunner, stop_timeout: float) -> None:
        """Ask every worker to stop and send its truth; wait until all did, within a bound."""
        runner.send_message(FLUSH_MESSAGE)
        deadline = time.monotonic() + stop_timeout + COLLECT_MARGIN
        while (waiting := self.waiting_for(runner)) and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if waiting:
            log.error("no ground truth from worker(s) %s", ", ".join(sorted(waiting)))

    def waiting_for(self, runner: MasterRunner) -> set[str]:
        # a worker marked missing (heartbeats late on a busy machine) may still answer: wait
        # for it too, within the bound; one that quit has left the list (and sent on quitting)
        return {c.id for c in runner.clients.all} - set(TRUTH.workers)

    def summary(self) -> dict:
        merged = [{"id": k, "requests": v} for k, v in sorted(TRUTH.workers.items())]
        lost = sorted(k for k, n in self.reported.items() if n and k not in TRUTH.workers)
        missing = max(len(lost), self.expected - len(TRUTH.workers))
        return {"expected": self.expected, "merged": merged, "lost": lost, "missing": missing}


DISTRIBUTION = Distribution()


@events.init.add_listener
def _wire_messages(environment, runner=None, **_kwargs) -> None:
    if isinstance(runner, MasterRunner):
        DISTRIBUTION.expected = int(getattr(environment.parsed_options, "expect_workers", 0) or 0)
        runner.register_message(TRUTH_MESSAGE, _absorb_worker_truth)
        runner.register_message(CAPPED_MESSAGE, _worker_capped)
    elif isinstance(runner, WorkerRunner):
        # concurrent: stopping the users waits for their requests; the worker keeps listening
        runner.register_message(FLUSH_MESSAGE, _stop_and_send_truth, concurrent=True)


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    global PLAN, TRUTH
    PLAN, TRUTH = Plan(environment.parsed_options), GroundTruth()
    PLAN.share_for(environment.runner)
    DISTRIBUTION.sent = DISTRIBUTION.capped_sent = False
    DISTRIBUTION.capped.clear()
    if PLAN.end_at and not isinstance(environment.runner, WorkerRunner):
        # what --run-time does when its time is up, at a moment on the wall clock instead
        gevent.spawn_later(max(0.0, PLAN.end_at - time.time()), environment.runner.quit)


@events.test_stopping.add_listener
def _collect_from_workers(environment, **_kwargs) -> None:
    if isinstance(environment.runner, MasterRunner):
        DISTRIBUTION.collect(environment.runner, environment.stop_timeout or 0.0)


def _absorb_worker_truth(environment, msg, **_kwargs) -> None:
    if msg.node_id not in TRUTH.workers:  # once per worker, however often it is sent
        TRUTH.absorb(msg.data)
        TRUTH.workers[msg.node_id] = msg.data["requests"]


def _stop_and_send_truth(environment, msg=None, **_kwargs) -> None:
    environment.runner.stop()  # every user finishes its request in flight first
    _send_truth(environment.runner)


def _send_truth(runner) -> None:
    if isinstance(runner, WorkerRunner) and not DISTRIBUTION.sent:
        DISTRIBUTION.sent = True
        runner.send_message(TRUTH_MESSAGE, TRUTH.to_json())


def _worker_capped(environment, msg, **_kwargs) -> None:
    """max_requests: the run ends when every worker with users has sent its share."""
    DISTRIBUTION.capped.add(msg.node_id)
    runner = environment.runner
    if all(c.id in DISTRIBUTION.capped for c in runner.clients.all if c.user_count):
        gevent.spawn(runner.quit)


@events.report_to_master.add_listener
def _report_requests(client_id, data, **_kwargs) -> None:
    data["cwparity_requests"] = TRUTH.requests


@events.worker_report.add_listener
def _note_requests(client_id, data, **_kwargs) -> None:
    sent = int(data.get("cwparity_requests", 0))
    DISTRIBUTION.reported[client_id] = max(DISTRIBUTION.reported.get(client_id, 0), sent)


def _write_truth(environment=None, **_kwargs) -> None:
    runner = getattr(environment, "runner", None)
    if isinstance(runner, WorkerRunner):
        _send_truth(runner)  # a worker quitting on its own: what it has, for the master
        return
    path = os.environ.get("CWPARITY_GROUND_TRUTH")
    if not path:
        return
    document = TRUTH.to_json()
    if isinstance(runner, MasterRunner):
        document["workers"] = DISTRIBUTION.summary()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)


events.test_stop.add_listener(_write_truth)
events.quitting.add_listener(_write_truth)


class ParityUser(FastHttpUser):
    # verify certificates as HttpUser (requests) does: a TLS error is a failure, not a response
    insecure = False

    def wait_time(self) -> float:
        if PLAN.wait_min == PLAN.wait_max:  # a fixed wait draws no random number
            return PLAN.wait_min
        return random.uniform(PLAN.wait_min, PLAN.wait_max)

    def on_start(self) -> None:
        if PLAN.start_at > time.time():  # a load on a period grid: every user starts on it
            gevent.sleep(PLAN.start_at - time.time())
        # one session per target: a session is bound to its base URL (and takes its
        # credentials from it, as HttpUser's would from an absolute URL); the truth and
        # Locust's statistics name the target by its public URL
        self.sessions = [
            (target, self._session_for(target)) for target in PLAN.targets or [self.host]
        ]
        # each route's sends, one per target, with its Locust name: built once, not per request
        mirrored = len(self.sessions) > 1
        self.sends = [
            [
                (session, target, method, path, key, f"{key} @ {target}" if mirrored else key)
                for target, session in self.sessions
            ]
            for method, path, key in PLAN.picks
        ]

    def _session_for(self, target: str) -> FastHttpSession:
        session = self.client if target == self.host else self._session(target)
        if target in PLAN.credentials:
            # set on the session bound to the public URL: an error Locust logs then names the
            # URL without them
            session.auth_header = basic_auth_header(PLAN.credentials[target])
        return session

    def _session(self, base_url: str) -> FastHttpSession:
        return FastHttpSession(
            base_url=base_url,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_redirects=self.max_redirects,
            max_retries=self.max_retries,
            insecure=self.insecure,
            concurrency=self.concurrency,
        )

    @task
    def one_logical_request(self) -> None:
        if PLAN.cap and TRUTH.logical_requests >= PLAN.cap:
            self._reached_cap()
        TRUTH.logical_requests += 1
        sends = self.sends
        if len(sends) > 1:
            sends = random.choices(sends, cum_weights=PLAN.cum_weights)
        for send in sends[0]:
            self._send(*send)

    def _reached_cap(self):
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            if not DISTRIBUTION.capped_sent:
                DISTRIBUTION.capped_sent = True
                runner.send_message(CAPPED_MESSAGE)
        else:
            runner.quit()
        raise StopUser()

    def _send(self, session, target: str, method: str, path: str, key: str, name: str) -> None:
        start, began = time.time(), time.perf_counter()
        with session.request(method, path, name=name, catch_response=True) as response:
            # 0 = no response at all (connection refused, reset, timed out): a load failure
            status = response.status_code or None
            TRUTH.record(target, key, status, time.perf_counter() - began, start)
            if status is not None:
                response.success()  # a 404 is data for parity, not a load failure


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
