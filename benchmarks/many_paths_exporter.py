"""A /metrics page holding the latency histogram of many paths, for benchmarks/cardinality.py.

``/items/<n>`` for n < ``--paths``: 15 buckets, ``_sum``, ``_count`` and ``_created``, 18 series
a path, as prometheus_flask_exporter exposes an app whose path label holds IDs. Idle by
default (the counters never move: the paths exist, nobody calls them); with ``--grow`` every
path gets one more request per scrape, so each is busy in any window. All of a scrape's
counters share one value, so a page of 180,000 series is a join of precomputed prefixes, not
180,000 formatted lines (the benchmark measures cwparity, not this server).

    python benchmarks/many_paths_exporter.py --port 9100 --paths 10000 [--grow]
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HISTOGRAM = "flask_http_request_duration_seconds"
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0")
BUCKETS += ("2.5", "5.0", "7.5", "10.0", "+Inf")


def prefixes(paths: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(counter lines, sum lines, created lines) without their values."""
    counters, sums, created = [], [], []
    for index in range(paths):
        labels = f'method="GET",path="/items/{index}",status="200"'
        counters += [f'\n{HISTOGRAM}_bucket{{le="{b}",{labels}}} '.encode() for b in BUCKETS]
        counters.append(f"\n{HISTOGRAM}_count{{{labels}}} ".encode())
        sums.append(f"\n{HISTOGRAM}_sum{{{labels}}} ".encode())
        created.append(f"\n{HISTOGRAM}_created{{{labels}}} 1.7e9".encode())
    return counters, sums, created


def page(parts: tuple[list[bytes], list[bytes], list[bytes]], requests: int) -> bytes:
    counters, sums, created = parts
    head = (
        f"# HELP {HISTOGRAM} Flask HTTP request duration in seconds\n# TYPE {HISTOGRAM} histogram"
    )
    count, total = str(requests).encode(), f"{requests * 0.004:.3f}".encode()
    body = [head.encode(), count.join(counters), count, total.join(sums), total, *created, b"\n"]
    return b"".join(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--grow", action="store_true")
    args = parser.parse_args()
    parts = prefixes(args.paths)
    idle = page(parts, 3)
    lock, scrapes = threading.Lock(), [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                scrapes[0] += 1
                body = page(parts, 3 + scrapes[0]) if args.grow else idle
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
