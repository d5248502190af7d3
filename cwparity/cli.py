"""`cwparity`: parse, call one flow, print where the report is, exit 0 / 1 / 2.

0 every judged check passed; 1 a check failed; 2 usage or config error, a source that cannot be
reached, a stack that could not start, or a run that could not be judged; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from cwparity import __version__
from cwparity.errors import HarnessError
from cwparity.parts import PARTS, parse_parts


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _workers(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 64:
        raise argparse.ArgumentTypeError(f"expected 1 to 64 Locust workers, got {text!r}")
    return int(text)


DESCRIPTION = """\
cwparity: proof, before you cut over, that Prometheus + Grafana see what CloudWatch saw.

Each command writes a run folder (report.html, results.json, junit.xml) and exits 0 when every
check it judged passed, 1 when a check failed, 2 on a usage or config error, a source that
cannot be reached, or a run that could not be judged; 130 when interrupted (Ctrl-C, SIGTERM),
after writing a partial run folder marked interrupted."""

EXAMPLES = """\
examples:
  cwparity demo                          a full parity run on the embedded stack (~1 minute)
  cwparity validate --config my.yaml     check a config and list what it maps
  cwparity run --config my.yaml          send load, then judge parity, the host and Grafana
  cwparity hosts --config my.yaml        the monitoring host alone (no CloudWatch needed)
  cwparity grafana --config my.yaml      Grafana alone
  cwparity report reports/<run>/         re-render a past run's report

the same suites under pytest:
  pytest --pyargs cwparity.suites --cwparity-config my.yaml -m host --junitxml host.xml

`cwparity COMMAND --help` shows a command's options."""


def _command(
    commands: Any, name: str, summary: str, description: str, example: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, required=True, metavar="FILE", help="YAML config (README: keys)"
    )


def _window_options(parser: argparse.ArgumentParser, when: str) -> None:
    parser.add_argument(
        "--start", metavar="TIME", help=f"window start {when}: ISO 8601, unix seconds or now-15m"
    )
    parser.add_argument("--end", metavar="TIME", help=f"window end {when}")


def _parts(text: str) -> tuple[str, ...]:
    try:
        return parse_parts(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwparity",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cwparity {__version__}")
    parser.add_argument("--debug", action="store_true", help="debug logs and full tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _command(
        commands,
        "demo",
        "a full parity run on the embedded stack",
        "Starts moto (as CloudWatch), an example app and a real Prometheus on loopback, sends\n"
        "Locust traffic, judges parity and the host, and stops everything it started.",
        "cwparity demo --app-env CWPARITY_FAULT_CW_DROP=0.05   # a fault: the counts FAIL",
    )
    demo.add_argument("--out", type=Path, metavar="DIR", help="reports folder (default: ./reports)")
    demo.add_argument("--duration", type=float, help="seconds of load (default from demo config)")
    demo.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
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

    run = _command(
        commands,
        "run",
        "a run against your own endpoints",
        "Sends the config's load to your app, then judges CloudWatch against Prometheus over\n"
        "the window it covered, plus the host and Grafana checks the config turns on.\n"
        "--no-load judges a window that already happened; --only runs some parts alone.",
        "cwparity run --config my.yaml --no-load --start now-2h --end now-1h --only parity",
    )
    _config_option(run)
    run.add_argument(
        "--out", type=Path, help="reports folder (default: report.output_dir)", metavar="DIR"
    )
    run.add_argument(
        "--no-load", action="store_true", help="judge an existing window, send no load"
    )
    _window_options(run, "with --no-load (or for parts other than parity)")
    run.add_argument(
        "--only",
        type=_parts,
        metavar="PARTS",
        help="comma-separated parts to run: " + ", ".join(PARTS) + " (default: all)",
    )

    hosts = _command(
        commands,
        "hosts",
        "check the monitoring host and Prometheus's security alone",
        "testinfra checks of the host in hosts.host (user, dirs, binaries, unit, process,\n"
        "port, config, scrape job and target) and Prometheus's security. No CloudWatch, no\n"
        "load. Needs hosts.enabled: true.",
        "cwparity hosts --config my.yaml --out /tmp/reports",
    )
    _config_option(hosts)
    hosts.add_argument(
        "--out", type=Path, help="reports folder (default: report.output_dir)", metavar="DIR"
    )

    grafana = _command(
        commands,
        "grafana",
        "check Grafana alone",
        "Grafana's service and port (on hosts.host), health, Prometheus datasource, the\n"
        "latency panels' queries compared with Prometheus and with CloudWatch over a window\n"
        "(default: the last 15 minutes), and Grafana's security. Needs grafana.enabled: true\n"
        "and grafana.url (and CloudWatch access for the latency comparison).",
        "cwparity grafana --config my.yaml --start now-1h --end now",
    )
    _config_option(grafana)
    grafana.add_argument(
        "--out", type=Path, help="reports folder (default: report.output_dir)", metavar="DIR"
    )
    _window_options(grafana, "the panel is compared over")

    report = _command(
        commands,
        "report",
        "re-render a run's report from its results.json",
        "Writes report.html and junit.xml again from the run folder's results.json alone.",
        "cwparity report reports/20261125T063630Z-demo/",
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder")

    validate = _command(
        commands,
        "validate",
        "check a config file and say what it maps",
        "Validates every key (one line naming the file, key and value on a mistake), lists\n"
        "the routes and lints the config's PromQL queries. Connects to nothing.",
        "cwparity validate --config fixtures/configs/guide-linode.yaml",
    )
    _config_option(validate)

    discover = _command(
        commands,
        "discover",
        "list what CloudWatch and Prometheus hold and propose the mapping",
        "ListMetrics (paged) and each dimension set's SampleCount over the window, the\n"
        "alarms and log groups; the job's targets and the histogram's series and labels.\n"
        "Prints both sides and what is on one side only; --write writes a starter config.",
        "cwparity discover --config where.yaml --start now-1h --write my.yaml",
    )
    _config_option(discover)
    _window_options(discover, "(default: the last hour)")
    discover.add_argument("--write", type=Path, metavar="FILE", help="write a starter config")
    discover.add_argument(
        "--grafana-dashboard",
        type=Path,
        metavar="FILE",
        help="write a Grafana dashboard (CloudWatch and Prometheus side by side per route)",
    )

    dashboard = _command(
        commands,
        "dashboard",
        "write the Grafana dashboard for a config's mapped routes",
        "Grafana dashboard JSON, ready for file provisioning: per route, CloudWatch's metric\n"
        "beside the Prometheus query the PromQL lint recommends. Connects to nothing.",
        "cwparity dashboard --config my.yaml --out /var/lib/grafana/dashboards/cwparity.json",
    )
    _config_option(dashboard)
    dashboard.add_argument("--out", type=Path, required=True, metavar="FILE")
    return parser


def _dispatch(args: argparse.Namespace):
    if args.command == "validate":
        return _validate(args.config)
    if getattr(args, "config", None) is not None:
        from cwparity.config import load_config

        # a bad config is refused at once, before the run's heavy imports (scipy, pandas, boto3)
        load_config(args.config)
    from cwparity import flows

    if args.command == "demo":
        return flows.demo(
            args.out, dict(args.app_env), args.duration, args.side_by_side, args.workers
        )
    if args.command == "run":
        return flows.run(args.config, args.out, args.no_load, args.start, args.end, args.only)
    if args.command == "hosts":
        return flows.hosts(args.config, args.out)
    if args.command == "grafana":
        return flows.grafana(args.config, args.out, args.start, args.end)
    if args.command == "report":
        return flows.rerender(args.run_dir)
    if args.command == "discover":
        return flows.discover(args.config, args.start, args.end, args.write, args.grafana_dashboard)
    return flows.dashboard(args.config, args.out)


def _validate(config_path: Path) -> int:
    """Every key, the files the config names, and the PromQL lint: exit 2 on what a run would
    refuse to start with, 1 when lint fails a query (a run would fail it too), else 0."""
    from cwparity.config import load_config
    from cwparity.lint import lint_checks
    from cwparity.preflight import check_named_files
    from cwparity.results import Status

    config = load_config(config_path)
    check_named_files(config, config_path)
    print(
        f"{config_path}: OK, {len(config.routes)} routes: "
        + ", ".join(route.key for route in config.routes)
    )
    # PromQL lint needs no server: the scrape interval comes from the config when it is set
    checks = lint_checks(config, config.prometheus.scrape_interval)
    for check in checks:
        print(f"  {check.status.value.upper():5} {check.id}: {check.reason}")
    return 1 if any(check.status is Status.FAIL for check in checks) else 0


def one_line(text: str) -> str:
    """An error as one terminal line, even when a file name or key holds a line break."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _raise_interrupt(signum, frame):
    from cwparity.phases import note_signal

    note_signal(signum)
    raise KeyboardInterrupt


def _interrupted(err: KeyboardInterrupt) -> int:
    print("cwparity: interrupted; everything it started was stopped", file=sys.stderr)
    run_dir = getattr(err, "run_dir", None)
    if run_dir is not None:
        print(
            f"cwparity: partial report (marked interrupted, not a verdict) {run_dir}/report.html",
            file=sys.stderr,
        )
    return 130


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
    # and Ctrl-C always does, even when the parent ignored SIGINT (a shell's background job
    # without job control): Python never raises KeyboardInterrupt for an inherited SIG_IGN
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        outcome = _dispatch(args)
    except HarnessError as err:
        if args.debug:
            raise
        print(f"cwparity: error: {one_line(str(err))}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        return _interrupted(err)
    if isinstance(outcome, int):
        return outcome
    if outcome is None:
        return 0
    summary = ", ".join(f"{n} {s}" for s, n in outcome.summary.items() if n)
    print(f"cwparity: verdict {outcome.verdict.upper()} ({summary})")
    print(f"cwparity: report {outcome.run_dir / 'report.html'}")
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
