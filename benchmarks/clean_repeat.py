"""Benchmark: the clean embedded scenario run many times in a row; how many runs passed.

A false alarm on a clean run is this product's second-worst bug, and one that happens one run in
ten does not show in a single test. This runs the clean scenario of the integration tests (the
demo's config and dual-emitting app on one embedded stack: moto, a real Prometheus, real Locust;
a short load, 5 s periods, the demo's own settle keys) ``--repeats`` times and prints each run's
verdict, what failed if anything, how the settle ended, and then how many passed. Not a test:
figures, not assertions.

    python benchmarks/clean_repeat.py [--repeats 20] [--duration 18] [--bursty 20] [--out DIR]

``--bursty N`` runs it on the bursty test CloudWatch (each datum readable only from the next
multiple of N seconds after it was put; cwparity.stack.bursty_moto).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from cwparity.config import RunConfig, load_config
from cwparity.errors import HarnessError
from cwparity.flows import DEMO_APP_ENV, DEMO_CONFIG, load_and_plan, write_config
from cwparity.pytest_plugin import ParitySession
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.stack.moto import MOTO_CREDENTIALS


def clean_config(stack: EmbeddedStack, duration: float) -> RunConfig:
    """The demo's config on this stack, with the integration tests' short load and periods."""
    config = stack.configure(load_config(DEMO_CONFIG))
    return config.model_copy(
        update={
            "load": config.load.model_copy(update={"duration": duration, "users": 4}),
            "window": config.window.model_copy(update={"period": 5}),
        }
    )


def one_run(stack: EmbeddedStack, duration: float, run_dir: Path) -> dict:
    """Load, plan, judge and write the reports, as the integration tests do."""
    run_dir.mkdir(parents=True)
    config = clean_config(stack, duration)
    config_path = write_config(config, run_dir / "config.yaml")
    load_and_plan(config, config_path, run_dir, {"mode": "benchmark"}).save()
    session = ParitySession(run_dir)
    session.parity_checks()
    session.write_reports()
    return json.loads((run_dir / "results.json").read_text())


def summary_line(index: int, document: dict, seconds: float) -> str:
    failed = [c["id"] for c in document["checks"] if c["status"] in ("fail", "error")]
    settle = document["run"].get("settle") or {}
    return (
        f"run {index:2d}: {document['verdict'].upper():5s} in {seconds:4.0f} s; settle "
        f"{settle.get('ended')} after {settle.get('polls')} polls ({settle.get('waited_s')} s, "
        f"shortfall {settle.get('shortfall')})"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--duration", type=float, default=18.0, help="seconds of load per run")
    parser.add_argument("--bursty", type=float, default=None, help="CloudWatch batch seconds")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here")
    args = parser.parse_args()
    os.environ.update(MOTO_CREDENTIALS)  # the embedded moto only, never real credentials
    out = args.out or Path(tempfile.mkdtemp(prefix="cwparity-clean-repeat-"))
    spec = StackSpec(apps=(AppSpec("dual_app", dict(DEMO_APP_ENV)),), cloudwatch_batch=args.bursty)
    passed = 0
    with EmbeddedStack(spec, keep_logs_in=out) as stack:
        for index in range(1, args.repeats + 1):
            # each run starts from an empty CloudWatch, as `cwparity demo` does: moto slows
            # down as its data grows (ListMetrics scans every datum)
            stack.reset_cloudwatch()
            began = time.monotonic()
            try:
                document = one_run(stack, args.duration, out / f"run-{index:02d}")
            except HarnessError as err:  # counted as not passed, said, and the next run goes on
                print(f"run {index:2d}: ERROR in {time.monotonic() - began:4.0f} s: {err}")
                continue
            passed += document["verdict"] == "pass"
            print(summary_line(index, document, time.monotonic() - began), flush=True)
    cloudwatch = f"bursty CloudWatch, batches every {args.bursty:g} s" if args.bursty else "moto"
    print(
        f"clean runs passed: {passed}/{args.repeats} ({cloudwatch}; {args.duration:g} s of load "
        f"each; run folders in {out})"
    )


if __name__ == "__main__":
    main()
