"""Benchmark: a run's wall time and memory with 10,000 extra unmapped paths in the job.

Two embedded stacks (moto, the guide's dual app, Prometheus), the same short `cwparity run`
against each, one after the other. In the second, Prometheus's job ``flask_app`` also scrapes
benchmarks/many_paths_exporter.py: the latency histogram of ``--paths`` more paths
(``/items/<n>``, 18 series each; 180,000 series for 10,000 paths), as an app whose path label
holds IDs exposes them. By default nobody calls them during the window (the paths exist);
with ``--grow`` each gets a request every scrape, so all of them are coverage gaps (Prometheus
saw them, CloudWatch did not) and the run FAILs them, as it must.

Each run is a child ``cwparity run`` under a small wrapper that reports the wall time and the
largest resident set of any process of the run (``ru_maxrss`` of its waited-for descendants:
cwparity, its pytest, Locust). Prometheus, moto and the apps belong to the benchmark, not the
run. Not a test: figures, not assertions.

    python benchmarks/cardinality.py [--paths 10000] [--duration 20] [--interval 2] [--rounds 1]
                                     [--grow]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

#: the wrapper: runs the command, prints its wall time and its descendants' largest RSS (KiB)
WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "began = time.monotonic()\n"
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'exit': code, 'wall_s': time.monotonic() - began,"
    " 'max_rss_mib': usage.ru_maxrss / 1024}))\n"
)


@contextmanager
def exporter(workdir: Path, paths: int, grow: bool) -> Iterator[str]:
    """host:port of benchmarks/many_paths_exporter.py serving ``paths`` routes."""
    from cwparity.stack.process import ManagedProcess, free_port, port_open

    port = free_port()
    script = Path(__file__).with_name("many_paths_exporter.py")
    argv = [sys.executable, str(script), "--port", str(port), "--paths", str(paths)]
    process = ManagedProcess("exporter", [*argv, *(["--grow"] if grow else [])], workdir)
    try:
        process.wait_ready(lambda: port_open(port), timeout=30, what="serving")
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


@contextmanager
def stack(workdir: Path, interval: float, extra_target: str | None) -> Iterator[Any]:
    """The embedded stack; Prometheus's job also scrapes ``extra_target`` when given."""
    from cwparity.flows import DEMO_APP_ENV
    from cwparity.stack import embedded
    from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec

    real = embedded.start_prometheus

    def with_extra(where: Path, targets: list[str], *args: Any, **kwargs: Any) -> Any:
        return real(where, [*targets, *([extra_target] if extra_target else [])], *args, **kwargs)

    embedded.start_prometheus = with_extra  # type: ignore[assignment]
    spec = StackSpec(apps=(AppSpec("dual_app", DEMO_APP_ENV),), scrape_interval=interval)
    try:
        with EmbeddedStack(spec, keep_logs_in=workdir) as running:
            # the extra paths existed before the run: a few scrapes before its window opens
            time.sleep(4 * interval)
            yield running
    finally:
        embedded.start_prometheus = real


def run_config(running: Any, duration: float, path: Path) -> Path:
    """The demo's parity run (no alarms, no host checks), pointed at this stack."""
    from cwparity.config import parse_config
    from cwparity.flows import write_config

    config = parse_config(
        {
            "name": "cardinality-bench",
            "routes": [
                {"path": "/", "method": "GET", "weight": 3},
                {"path": "/long-request", "method": "GET", "weight": 1},
            ],
            "load": {"users": 4, "duration": duration, "stop_timeout": 5},
            # moto makes what it was sent readable at once: a short settle, as the tests use
            "window": {
                "period": 5,
                "settle_quiet": "5s",
                "settle_min_age": "2s",
                "settle_poll": "1s",
                "settle_timeout": "60s",
            },
            "report": {"output_dir": str(path.parent / "reports")},
        }
    )
    return write_config(running.configure(config), path)


def measured_run(config: Path) -> dict[str, Any]:
    from cwparity.stack.moto import MOTO_CREDENTIALS

    cli = [str(Path(sys.executable).with_name("cwparity")), "run", "--config", str(config)]
    env = {**os.environ, **MOTO_CREDENTIALS}
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cli], env=env, capture_output=True, text=True, check=True
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    reports = sorted((config.parent / "reports").glob("*/results.json"))
    if reports:
        figures |= _run_summary(reports[-1])
    return figures


def _run_summary(results: Path) -> dict[str, Any]:
    """What the run judged, its cardinality finding, and the bytes it wrote."""
    document = json.loads(results.read_text())
    checks = document.get("checks") or []
    cardinality = next((c for c in checks if c.get("kind") == "cardinality"), {})
    folder = results.parent
    return {
        "verdict": document.get("verdict"),
        "checks": len(checks),
        "not_passed": [c["id"] for c in checks if c.get("status") in ("fail", "error")][:5],
        "kinds": dict(Counter(str(c.get("kind")) for c in checks)),
        "cardinality": cardinality.get("reason", "")[:160],
        "run_folder_mib": sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20,
    }


def one_run(
    base: Path, name: str, paths: int, duration: float, interval: float, grow: bool
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    with ExitStack() as stacked:
        target = None
        if name == "with":
            target = stacked.enter_context(exporter(workdir, paths, grow))
        running = stacked.enter_context(stack(workdir, interval, target))
        return measured_run(run_config(running, duration, workdir / "c.yaml"))


def measure(
    paths: int, duration: float, interval: float, rounds: int = 1, grow: bool = False
) -> dict[str, Any]:
    """Rounds alternate between the two, so a busy machine slows both alike; medians compared."""
    result: dict[str, Any] = {
        "paths": paths,
        "series": paths * 18,
        "load_s": duration,
        "extra_paths_busy": grow,
    }
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory(prefix="cwp-card-") as tmp:
        for _ in range(rounds):
            for name in runs:
                runs[name].append(one_run(Path(tmp), name, paths, duration, interval, grow))
    for name, samples in runs.items():
        result[name] = {
            **samples[-1],
            "wall_s": statistics.median(s["wall_s"] for s in samples),
            "max_rss_mib": statistics.median(s["max_rss_mib"] for s in samples),
            "rounds": [(round(s["wall_s"], 1), round(s["max_rss_mib"])) for s in samples],
        }
    for figure in ("wall_s", "max_rss_mib"):
        result[f"{figure}_ratio"] = result["with"][figure] / result["without"][figure]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=20.0, help="load seconds per run")
    parser.add_argument("--interval", type=float, default=2.0, help="scrape interval seconds")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--grow", action="store_true", help="the extra paths get requests")
    args = parser.parse_args()
    result = measure(args.paths, args.duration, args.interval, args.rounds, args.grow)
    for name in ("without", "with"):
        run = result[name]
        print(
            f"{name:>7} {result['paths'] if name == 'with' else 0:>6} extra paths: "
            f"wall {run['wall_s']:.1f} s, max RSS {run['max_rss_mib']:.0f} MiB, exit "
            f"{run['exit']}, verdict {run.get('verdict')}, {run.get('checks')} checks, run "
            f"folder {run.get('run_folder_mib', 0):.1f} MiB; failed: {run.get('not_passed')}"
        )
        print(
            f"        rounds (wall s, max RSS MiB): {run['rounds']}; checks by kind {run['kinds']}"
        )
        print(f"        {run.get('cardinality')}")
    print(
        f"ratio with/without: wall {result['wall_s_ratio']:.2f}, max RSS "
        f"{result['max_rss_mib_ratio']:.2f} (goal: both within 1.20)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
