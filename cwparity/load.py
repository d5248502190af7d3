"""Drive the Locust profile headless in its own processes and read back the ground truth.

Locust runs as child processes on purpose: importing it monkey-patches the process with gevent,
which breaks boto3, requests and threads already loaded here (see environment facts). With
``load.workers`` (or ``load.remote_workers``) it runs as Locust's own master and workers; the
local workers are started like remote ones (``-f -``, no plan in their environment), so they
take the profile and the plan from the master exactly as a worker on another machine does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cwparity import phases
from cwparity.config import LoadConfig, Route, split_host_port
from cwparity.errors import StackError
from cwparity.paths import LOCUSTFILE
from cwparity.progress import watch_load
from cwparity.redact import has_credentials, public_url
from cwparity.truth import GroundTruth

log = logging.getLogger(__name__)

#: what the profile reads from its environment (load/locustfile.py); only the master gets it
PLAN_VARIABLES = (
    "CWPARITY_ROUTES",
    "CWPARITY_TARGETS",
    "CWPARITY_WAIT",
    "CWPARITY_PROFILE",
    "CWPARITY_MAX_REQUESTS",
    "CWPARITY_GROUND_TRUTH",
    "CWPARITY_CREDENTIALS",
    "CWPARITY_START_AT",
    "CWPARITY_END_AT",
)
#: how long workers get to exit after the master told them to quit
WORKER_EXIT_GRACE = 10.0
#: time Locust takes from its launch to its first user (interpreter, gevent, locust imports:
#: about a second here); a load on a grid starts on the first boundary at least this far ahead
LOCUST_STARTUP = 3.0


@dataclass(frozen=True)
class GridSchedule:
    """A load that starts and ends on boundaries of a period grid (wall clock, unix seconds).

    A load that starts or stops inside an alarm's period leaves that period half loaded: its
    count lands anywhere between none and a full period's, so a count alarm's threshold can
    fall inside it, and there the two backends' attribution of the edge's requests (a scrape
    later for Prometheus) decides whether the period breaches. On the grid every alarm period
    is fully loaded or not loaded at all."""

    start_at: float
    end_at: float
    grid: int

    @classmethod
    def on(cls, grid: int, duration: float, now: float, startup: float = LOCUST_STARTUP):
        start = math.ceil((now + startup) / grid) * grid
        return cls(float(start), float(start + math.ceil(duration / grid - 1e-9) * grid), grid)

    @property
    def length(self) -> float:
        """Seconds of load: whole grid periods, at least the length asked for."""
        return self.end_at - self.start_at

    def env(self) -> dict[str, str]:
        return {
            "CWPARITY_START_AT": f"{self.start_at:.3f}",
            "CWPARITY_END_AT": f"{self.end_at:.3f}",
        }


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


def master_address(load: LoadConfig) -> tuple[str, int]:
    """Where the master listens: ``load.master_bind``, else loopback on a free port."""
    if load.master_bind is not None:
        return split_host_port(load.master_bind)
    from cwparity.stack.process import free_port

    return "127.0.0.1", free_port()


def master_argv(load: LoadConfig, bind: tuple[str, int]) -> list[str]:
    return [
        "--master",
        "--master-bind-host",
        bind[0],
        "--master-bind-port",
        str(bind[1]),
        "--expect-workers",
        str(load.workers + load.remote_workers),
        "--expect-workers-max-wait",
        f"{math.ceil(load.worker_wait)}",
    ]


def worker_argv(bind: tuple[str, int]) -> list[str]:
    # a worker on this machine reaches a master bound to every interface through loopback
    host = "127.0.0.1" if bind[0] in ("0.0.0.0", "*", "::") else bind[0]
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        "-",
        "--worker",
        "--master-host",
        host,
        "--master-port",
        str(bind[1]),
        "--loglevel",
        "WARNING",
    ]


def locust_env(load: LoadConfig, routes: list[Route], targets: list[str], truth: Path) -> dict:
    """The plan for the profile, with every URL without its credentials: ``targets`` may hold
    ``user:password@``, which travels in CWPARITY_CREDENTIALS only (see ``credentials_env``)."""
    plan = [{"path": r.path, "method": r.method, "weight": r.weight} for r in routes if r.weight]
    return {
        "CWPARITY_ROUTES": json.dumps(plan),
        "CWPARITY_TARGETS": json.dumps([public_url(t) for t in targets]),
        "CWPARITY_WAIT": f"{load.wait_min},{load.wait_max}",
        "CWPARITY_PROFILE": load.profile,
        "CWPARITY_MAX_REQUESTS": str(load.max_requests or 0),
        "CWPARITY_GROUND_TRUTH": str(truth),
    }


def credentials_env(targets: list[str]) -> dict[str, str]:
    """The targets that carry credentials, keyed by their public URL, in an environment variable:
    never in a child's command line (``ps`` shows it to every user), nor in a record, which names
    a target by its public URL. Locust's master hands it to its workers with the rest of the plan."""
    secret = {public_url(t): t for t in targets if has_credentials(t)}
    return {"CWPARITY_CREDENTIALS": json.dumps(secret)} if secret else {}


def worker_env(worker_dir: Path) -> dict[str, str]:
    """A local worker's environment: none of the plan, and a temp dir of its own, where
    ``-f -`` writes the profile it got from the master (by default a shared /tmp/locustfile.py)."""
    env = {k: v for k, v in os.environ.items() if k not in PLAN_VARIABLES}
    return {**env, "TMPDIR": str(worker_dir)}


def run_load(
    load: LoadConfig,
    routes: list[Route],
    targets: list[str],
    out_dir: Path,
    grid: int | None = None,
) -> GroundTruth:
    """Send the profile to ``targets`` (each logical request mirrored to every target); with a
    ``grid`` (seconds), from one of its boundaries to another (see ``GridSchedule``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    schedule = GridSchedule.on(grid, load.duration, time.time()) if grid else None
    # what the log says: the load's own length, not Locust's backstop below
    sending = schedule.length if schedule is not None else load.duration
    if schedule is not None:
        _log_schedule(schedule, load.duration)
        # Locust's --run-time becomes a backstop a little past the grid's end: the profile
        # quits on the boundary itself (CWPARITY_END_AT)
        load = load.model_copy(update={"duration": schedule.end_at - time.time() + 1})
    truth_path = out_dir / "ground-truth.json"
    # --csv: Locust rewrites locust_stats.csv every second, which the progress line reads
    host = public_url(targets[0])
    argv = [*locust_argv(load, host, out_dir), "--csv", str(out_dir / "locust")]
    mirrored = targets if len(targets) > 1 else []
    env = {
        **{k: v for k, v in os.environ.items() if k != "CWPARITY_CREDENTIALS"},
        **locust_env(load, routes, mirrored, truth_path),
        **credentials_env(targets),
        **(schedule.env() if schedule is not None else {}),
    }
    bound = load.duration + load.stop_timeout + 60
    bind = master_address(load) if load.distributed else None
    if bind is not None:
        argv += master_argv(load, bind)
        bound += load.worker_wait
    log.info(
        "load: %d users for %gs against %s%s",
        load.users,
        sending,
        ", ".join(public_url(t) for t in targets),
        _workers_text(load, bind),
    )
    with LocustProcesses(out_dir) as processes:
        master = processes.start("locust", argv, env)
        if bind is not None:
            processes.start_workers(load.workers, bind)
        phases.reached("load")  # test support: interrupt here, with every child running
        stats_csv = out_dir / "locust_stats.csv"
        returncode = watch_load(master, load.duration, bound, stats_csv, workers=load.workers)
        if returncode is not None:
            processes.let_workers_exit(WORKER_EXIT_GRACE)
    if returncode is None:
        raise StackError(f"locust did not finish within {bound:.0f}s")
    if returncode != 0 or not truth_path.exists():
        raise StackError(f"locust failed (exit {returncode}): {processes.tail('locust')}")
    return read_ground_truth(truth_path, out_dir / "locust-stats.json")


def _log_schedule(schedule: GridSchedule, asked: float) -> None:
    longer = f" (asked for {asked:g} s: whole periods)" if schedule.length > asked + 1e-6 else ""
    log.info(
        "load: on the %d s grid of the alarms' periods, from %s to %s UTC%s, so that no alarm "
        "period is half loaded",
        schedule.grid,
        time.strftime("%H:%M:%S", time.gmtime(schedule.start_at)),
        time.strftime("%H:%M:%S", time.gmtime(schedule.end_at)),
        longer,
    )


def _workers_text(load: LoadConfig, bind: tuple[str, int] | None) -> str:
    if bind is None:
        return ""
    remote = f" + {load.remote_workers} remote" if load.remote_workers else ""
    return f" (Locust master on {bind[0]}:{bind[1]}, {load.workers} local workers{remote})"


class LocustProcesses:
    """Locust's processes for one load, each logging to its own file; all of them are
    stopped on leaving, whether the load ended, failed, timed out or was interrupted."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.children: dict[str, subprocess.Popen] = {}
        self._logs: list[IO[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        handle = (self.out_dir / f"{name}.log").open("wb")
        self._logs.append(handle)
        child = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.children[name] = child
        return child

    def start_workers(self, count: int, bind: tuple[str, int]) -> None:
        for number in range(1, count + 1):
            worker_dir = self.out_dir / f"worker-{number}"
            worker_dir.mkdir(exist_ok=True)
            self.start(f"locust-worker-{number}", worker_argv(bind), worker_env(worker_dir))

    def let_workers_exit(self, grace: float) -> None:
        """The master ended the run and told its workers to quit: give them time to."""
        for name, child in self.children.items():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(grace)
            if child.returncode not in (None, 0):
                log.warning("%s exited with %s: %s", name, child.returncode, self.tail(name))

    def tail(self, name: str, lines: int = 3) -> str:
        try:
            text = (self.out_dir / f"{name}.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return " | ".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.kill()
        for child in self.children.values():
            child.wait()
        for handle in self._logs:
            handle.close()

    def __enter__(self) -> LocustProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()  # past the bound, or interrupted: never leave Locust running


def read_ground_truth(truth_path: Path, stats_path: Path) -> GroundTruth:
    raw = json.loads(truth_path.read_text())
    _check_complete(raw.get("workers"), truth_path)
    if raw["first_start"] is None:
        raise StackError("locust sent no request: check the routes' weights and the app's URL")
    raw["locust_stats"] = _locust_stats(stats_path)
    return GroundTruth.from_dict(raw)


def _check_complete(workers: dict[str, Any] | None, truth_path: Path) -> None:
    """A distributed truth missing a worker's part would make every count check wrong."""
    if not workers or not workers.get("missing"):
        return
    lost = ", ".join(workers.get("lost") or []) or "workers that never reported"
    raise StackError(
        f"the ground truth is incomplete: {workers['missing']} of {workers['expected']} "
        f"Locust workers never sent theirs to the master ({lost}); what arrived is in "
        f"{truth_path}"
    )


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
