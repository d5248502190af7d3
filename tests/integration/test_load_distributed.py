"""Locust's own distribution: a master and workers whose merged ground truth is exact.

The app here counts what it answered itself, per path and status, so the truth is compared with
the app's own count, not with another estimate. Short loads against loopback only.
"""

from __future__ import annotations

import base64
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cwparity import load as load_module
from cwparity.config import LoadConfig, Route
from cwparity.errors import StackError
from cwparity.load import LocustProcesses, run_load
from cwparity.progress import locust_counts
from cwparity.stack.process import free_port, port_open

pytestmark = pytest.mark.integration

STATUSES = {"/": 200, "/missing": 404, "/boom": 500, "/slow": 200}
ROUTES = [Route(path=p, weight=w) for p, w in (("/", 3), ("/missing", 1), ("/boom", 1))]
PRIVATE_AUTH = "Basic " + base64.b64encode(b"ops:Pa55!w@rd").decode()
SLOW = 1.5  # seconds: longer than a user's wait, so some are in flight when the run stops


class CountingApp(ThreadingHTTPServer):
    """Answers /, /missing (404), /boom (500) and /slow, and counts every answer it sent."""

    daemon_threads = True

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answered(self) -> dict[str, dict[str, int]]:
        with self.lock:
            result: dict[str, dict[str, int]] = {}
            for (path, status), n in self.counts.items():
                result.setdefault(f"GET {path}", {})[status] = n
            return result


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingApp

    def do_GET(self) -> None:
        status = STATUSES.get(self.path, 404)
        if self.path == "/private":  # basic auth ops:Pa55!w@rd, as a URL's userinfo sends it
            status = 200 if self.headers.get("Authorization") == PRIVATE_AUTH else 401
        if self.path == "/slow":
            time.sleep(SLOW)
        with self.server.lock:
            self.server.counts[(self.path, str(status))] += 1
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def app() -> Iterator[CountingApp]:
    server = CountingApp()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def quick_load(**overrides) -> LoadConfig:
    settings = {"users": 6, "spawn_rate": 6, "duration": 4.0, "stop_timeout": 5.0}
    settings |= {"wait_min": 0.01, "wait_max": 0.05, "worker_wait": 20.0}
    return LoadConfig(**(settings | overrides))


def truth_by_route(truth, target: str) -> dict[str, dict[str, int]]:
    return {r.route: r.by_status for r in truth.routes if r.target == target and r.by_status}


@pytest.mark.parametrize("workers", [0, 2])
def test_ground_truth_equals_what_the_app_answered_exactly(app, tmp_path, workers):
    """Statuses as answered (404 and 500 are data), requests in flight at the stop included,
    and a mirror target that refuses connections counted as failures without a response."""
    dead = f"http://127.0.0.1:{free_port()}"
    app.counts.clear()
    routes = [*ROUTES, Route(path="/slow", weight=2)]
    truth = run_load(quick_load(workers=workers), routes, [app.url, dead], tmp_path)
    assert truth_by_route(truth, app.url) == app.answered()
    assert set(app.answered()) == {"GET /", "GET /missing", "GET /boom", "GET /slow"}
    for route in truth.routes:
        mirror = truth.for_route(route.route, app.url if route.target == dead else dead)
        assert mirror is not None
        if route.target == dead:
            assert route.answered == 0 and route.failures == mirror.answered
            assert route.latency.total == 0
        else:
            assert route.latency.total == route.answered and route.failures == 0
    if workers:  # each worker logs, and fetched the profile from the master (-f -) into its dir
        assert (tmp_path / "locust-worker-2.log").exists()
        assert (tmp_path / "worker-2" / "locustfile.py").exists()


def test_workers_share_max_requests_and_the_run_ends_when_all_sent_theirs(app, tmp_path):
    app.counts.clear()
    started = time.monotonic()
    load = quick_load(workers=2, duration=60.0, max_requests=101)
    truth = run_load(load, ROUTES, [app.url], tmp_path)
    assert time.monotonic() - started < 30  # not the 60 s of duration
    assert sum(r.answered for r in truth.routes) == 101
    assert truth_by_route(truth, app.url) == app.answered()


def test_a_worker_that_dies_makes_the_truth_incomplete_never_short(app, tmp_path, monkeypatch):
    """The twin: a worker killed mid-run never sends its truth; the load must fail, not return
    a truth that is short by that worker's requests."""
    started: list = []
    real_start = LocustProcesses.start

    def start_and_remember(self, name, argv, env):
        child = real_start(self, name, argv, env)
        started.append((name, child))
        if name == "locust-worker-2":
            threading.Thread(target=kill_once_loaded, args=(child,), daemon=True).start()
        return child

    def kill_once_loaded(child) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            counts = locust_counts(tmp_path / "locust_stats.csv")
            if counts and counts[0] > 20:
                child.send_signal(signal.SIGKILL)
                return
            time.sleep(0.1)

    monkeypatch.setattr(LocustProcesses, "start", start_and_remember)
    with pytest.raises(StackError, match="ground truth is incomplete: 1 of 2 Locust workers"):
        run_load(quick_load(workers=2, stop_timeout=1.0), ROUTES, [app.url], tmp_path)
    assert (tmp_path / "ground-truth.json").exists()  # what did arrive is kept
    assert all(child.poll() is not None for _, child in started)


def test_an_interrupted_load_leaves_no_locust_process_behind(app, tmp_path, monkeypatch):
    started: list = []
    real_start = LocustProcesses.start

    def start_and_remember(self, name, argv, env):
        started.append(child := real_start(self, name, argv, env))
        return child

    def interrupted(child, *args, **kwargs):
        time.sleep(3)  # the master bound its port and the workers connected
        raise KeyboardInterrupt

    port = free_port()
    monkeypatch.setattr(LocustProcesses, "start", start_and_remember)
    monkeypatch.setattr(load_module, "watch_load", interrupted)
    load = quick_load(workers=2, master_bind=f"127.0.0.1:{port}")
    with pytest.raises(KeyboardInterrupt):
        run_load(load, ROUTES, [app.url], tmp_path)
    assert len(started) == 3
    assert all(child.poll() is not None for child in started)
    assert not port_open(port)


def test_remote_workers_that_never_come_end_the_load_in_bounded_time(app, tmp_path):
    port = free_port()
    load = quick_load(remote_workers=1, worker_wait=2.0, master_bind=f"127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(StackError, match="locust failed"):
        run_load(load, ROUTES, [app.url], tmp_path)
    assert time.monotonic() - started < 20
    assert not port_open(port)


@pytest.mark.parametrize(("workers", "mirrored"), [(0, False), (0, True), (2, True)])
def test_credentials_in_a_target_url_reach_every_worker_and_no_command_line(
    app, tmp_path, workers, mirrored, monkeypatch
):
    """Each target's ``user:password@`` is sent as its basic auth (the master hands it to its
    workers), while the command lines and the truth name it by its public URL. The twin: the
    same app under another name with a wrong password is refused."""
    argvs: list[str] = []
    real_start = LocustProcesses.start

    def start_and_remember(self, name, argv, env):
        argvs.append(" ".join(argv))
        return real_start(self, name, argv, env)

    monkeypatch.setattr(LocustProcesses, "start", start_and_remember)
    app.counts.clear()
    good = app.url.replace("://", "://ops:Pa55%21w%40rd@")
    other_name = app.url.replace("127.0.0.1", "localhost")
    wrong = other_name.replace("://", "://ops:wrong@")
    routes = [Route(path="/private")]
    targets = [good, wrong] if mirrored else [good]
    truth = run_load(quick_load(workers=workers), routes, targets, tmp_path)
    assert truth_by_route(truth, app.url)["GET /private"].keys() == {"200"}
    if mirrored:
        assert truth_by_route(truth, other_name)["GET /private"].keys() == {"401"}
    assert truth.for_route("GET /private", good) == truth.for_route("GET /private", app.url)
    assert len(argvs) == 1 + workers
    for text in [*argvs, (tmp_path / "ground-truth.json").read_text()]:
        assert "Pa55" not in text and "wrong" not in text


@pytest.mark.parametrize("workers", [0, 2])
def test_a_load_on_a_grid_starts_and_ends_on_its_boundaries(app, tmp_path, workers):
    """An alarm's periods fully loaded or not loaded: the first request right after a boundary,
    the last one sent before the boundary the load ends on, and the truth still exact."""
    grid = 5
    app.counts.clear()
    truth = run_load(quick_load(workers=workers, duration=4.0), ROUTES, [app.url], tmp_path, grid)
    first, last = truth.first_start.timestamp(), truth.last_end.timestamp()
    start = first - first % grid
    assert first - start < 0.5, f"first request {first - start:.2f} s after the boundary"
    # 4 s asked, whole periods given: one period, its requests in flight allowed to finish
    assert start + grid - 0.5 < last < start + grid + 1.0, last - start
    assert truth_by_route(truth, app.url) == app.answered()
