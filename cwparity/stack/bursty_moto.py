"""moto's server as a CloudWatch that ingests in batches, for the project's own tests.

Real CloudWatch does not publish a stream: data becomes readable late and in chunks, with
nothing new for a while and then a batch. Here each datum is readable only from the next
multiple of ``--batch`` seconds (wall clock) after it was put: a datum put at 12:00:07 with
``--batch 20`` is invisible to every read until 12:00:20.

A wrapper, not a proxy: moto parses PutMetricData whatever protocol botocore speaks (CBOR,
JSON or query), so each datum keeps its own timestamp (the put's moment when it has none) and
only reading it is held back. Every read of metric data in moto (GetMetricData,
GetMetricStatistics, ListMetrics) goes through ``CloudWatchBackend.get_all_metrics``, which is
where the wrapper filters. Started by the embedded stack (``StackSpec.cloudwatch_batch``):

    python -m cwparity.stack.bursty_moto --batch 20 -H 127.0.0.1 -p PORT
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections.abc import Callable
from typing import Any


def readable_from(put_at: float, batch: float) -> float:
    """The next multiple of ``batch`` seconds after ``put_at``."""
    return (math.floor(put_at / batch) + 1) * batch


def hold_back(batch: float, clock: Callable[[], float] = time.time) -> None:
    """Patch moto's CloudWatch backend so that data is readable only from its batch's time."""
    from moto.cloudwatch.models import CloudWatchBackend

    put = CloudWatchBackend.put_metric_data
    lock = threading.Lock()  # moto's server is threaded: stamp exactly the data of this put

    def put_in_batches(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> Any:
        with lock:
            before = len(self.metric_data)
            answer = put(self, namespace, metric_data)
            readable = readable_from(clock(), batch)
            for datum in self.metric_data[before:]:
                datum.readable_from = readable
        return answer

    def readable_metrics(self: Any) -> list[Any]:
        now = clock()
        held = [d for d in self.metric_data if getattr(d, "readable_from", 0.0) <= now]
        return held + self.aws_metric_data

    CloudWatchBackend.put_metric_data = put_in_batches  # type: ignore[method-assign]
    CloudWatchBackend.get_all_metrics = readable_metrics  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batch", type=float, required=True, help="seconds between batches")
    args, moto_args = parser.parse_known_args(argv)
    if args.batch <= 0:
        parser.error("--batch must be more than 0 seconds")
    hold_back(args.batch)
    from moto.server import main as moto_main

    moto_main(moto_args or ["-H", "127.0.0.1"])


if __name__ == "__main__":
    main()
