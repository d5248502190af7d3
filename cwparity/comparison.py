"""What a run compares with what, in plain words: for the report's first screen.

Derived from the config alone (so it is right even for a run that failed to judge), carried in
results.json as ``run.comparison``, and rendered by the report.
"""

from __future__ import annotations

from typing import Any

from cwparity.config import RunConfig, redact_url


def explain(config: RunConfig) -> dict[str, Any]:
    if config.side_by_side:
        return _side_by_side(config)
    app = redact_url(config.app.base_url)
    return {
        "mode": "one app, both backends",
        "summary": (
            f"One app ({app}) publishes to CloudWatch and is scraped by Prometheus. Every "
            "request is seen by both: counts must match, and each backend must count what "
            "Locust sent. Both backends time the same requests, so the difference of their "
            "mean latencies measures how the two timers differ: it must stay within the "
            "accepted offset (tolerances.mean_latency) plus what the measurement cannot "
            "resolve, period by period and over the window."
        ),
        "routes": [
            {"route": r.key, "compared": True, "why": "the app serves it and both backends see it"}
            for r in config.routes
        ],
    }


def _side_by_side(config: RunConfig) -> dict[str, Any]:
    assert config.targets is not None
    old = redact_url(config.targets.cloudwatch.base_url)
    new = redact_url(config.targets.prometheus.base_url)
    routes = []
    for route in config.routes:
        if len(route.sides) == 2:
            routes.append(
                {"route": route.key, "compared": True, "why": "both deployments serve it"}
            )
        else:
            only = "the CloudWatch app" if route.sides[0] == "cloudwatch" else "the Prometheus app"
            routes.append(
                {
                    "route": route.key,
                    "compared": False,
                    "why": f"only {only} serves it (routes[].sides), so there is "
                    "nothing to compare it with; its load is still sent and "
                    "counted on each side",
                }
            )
    return {
        "mode": "side by side",
        "summary": (
            f"Two deployments under the same load: the old app ({old}) as seen through "
            f"CloudWatch, and the new app ({new}) as seen through Prometheus. Locust sent each "
            "request to both. Each side's count is judged against what Locust sent it, and the "
            "two against each other over the whole window. Two processes time different "
            "executions, so latency is compared as distributions (window means within a bound "
            "derived from their spread, bias, Mann–Whitney), not request by request or period "
            "by period."
        ),
        "routes": routes,
    }
