"""`cwparity`: parse, call one flow, print where the report is, exit 0 / 1 / 2.

0 every judged check passed; 1 a check failed; 2 usage or config error, a source that cannot be
reached, a stack that could not start, or a run that could not be judged.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from cwparity import __version__
from cwparity.errors import HarnessError


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _workers(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 64:
        raise argparse.ArgumentTypeError(f"expected 1 to 64 Locust workers, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cwparity", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cwparity {__version__}")
    parser.add_argument("--debug", action="store_true", help="debug logs and full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="a full parity run on the embedded stack")
    demo.add_argument("--out", type=Path, help="reports folder (default: ./reports)")
    demo.add_argument("--duration", type=float, help="seconds of load (default from demo config)")
    demo.add_argument(
        "--workers",
        type=_workers,
        help="send the load from a Locust master and N local workers (load.workers)",
    )
    demo.add_argument(
        "--side-by-side",
        action="store_true",
        help="the guide's old app on CloudWatch and new app on Prometheus, under mirrored load",
    )
    demo.add_argument(
        "--app-env",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fault switch for the example app (repeatable)",
    )

    run = commands.add_parser("run", help="a parity run against your own endpoints")
    run.add_argument("--config", type=Path, required=True, help="YAML config (see README)")
    run.add_argument("--out", type=Path, help="reports folder (default: report.output_dir)")
    run.add_argument(
        "--no-load", action="store_true", help="judge an existing window, send no load"
    )
    run.add_argument("--start", help="window start with --no-load: ISO 8601, unix seconds, now-15m")
    run.add_argument("--end", help="window end with --no-load")

    report = commands.add_parser("report", help="re-render a run's report from its results.json")
    report.add_argument("run_dir", type=Path)

    validate = commands.add_parser("validate", help="check a config file and say what it maps")
    validate.add_argument("--config", type=Path, required=True)
    return parser


def _dispatch(args: argparse.Namespace):
    from cwparity import flows

    if args.command == "demo":
        return flows.demo(
            args.out, dict(args.app_env), args.duration, args.side_by_side, args.workers
        )
    if args.command == "run":
        return flows.run(args.config, args.out, args.no_load, args.start, args.end)
    if args.command == "report":
        return flows.rerender(args.run_dir)
    from cwparity.config import load_config
    from cwparity.lint import lint_checks

    config = load_config(args.config)
    print(
        f"{args.config}: OK, {len(config.routes)} routes: "
        + ", ".join(route.key for route in config.routes)
    )
    # PromQL lint needs no server: the scrape interval comes from the config when it is set
    for check in lint_checks(config, config.prometheus.scrape_interval):
        print(f"  {check.status.value.upper():5} {check.id}: {check.reason}")
    return None


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s" if args.debug else "cwparity: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # SIGTERM stops a run like Ctrl-C does: every started process is stopped on the way out
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        outcome = _dispatch(args)
    except HarnessError as err:
        if args.debug:
            raise
        print(f"cwparity: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("cwparity: interrupted; everything it started was stopped", file=sys.stderr)
        return 130
    if outcome is None:
        return 0
    summary = ", ".join(f"{n} {s}" for s, n in outcome.summary.items() if n)
    print(f"cwparity: verdict {outcome.verdict.upper()} ({summary})")
    print(f"cwparity: report {outcome.run_dir / 'report.html'}")
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
