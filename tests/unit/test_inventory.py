"""Coverage's reads at scale: server-side aggregates per route, raw samples only for the routes
in doubt, CloudWatch asked about a bounded set; each with the twin that must go the other way."""

from cwparity.align import Sampling
from cwparity.assess import inventory
from cwparity.assess.inventory import (
    Screened,
    prometheus_aggregates,
    routes_to_ask,
    routes_to_count,
)
from cwparity.config import parse_config
from cwparity.judge.cardinality import RouteSeries, judge_cardinality
from cwparity.judge.coverage import judge_unasked
from cwparity.results import Status

from .test_sources import WINDOW

CONFIG = parse_config({})
SAMPLING = Sampling(1.0, 0.0, WINDOW.start.timestamp() - 3.0)


class AggregatingPrometheus:
    """Answers the aggregate queries from a fixed table of series, as Prometheus would."""

    def __init__(self, series: list[dict]) -> None:
        self.series = series
        self.queries: list[str] = []

    def selector(self, routes=None) -> str:
        return '{job="flask_app"}'

    config = CONFIG.prometheus

    def label_values(self, label, match, start, end) -> list[str]:
        assert label == "le" and match.startswith("flask_http_request_duration_seconds_bucket{")
        return [str(b) for b in range(self.series[0]["buckets"])]

    def instant(self, query: str, at: float | None = None, timeout: float = 10) -> list[dict]:
        self.queries.append(query)
        if query.startswith("sum(max_over_time(scrape_samples_post_metric_relabeling{"):
            return [{"metric": {}, "value": [at, str(len(self.series) + 1)]}]
        rows: dict[tuple, float] = {}
        for s in self.series:
            key = (s["path"], s["method"])
            if "status, instance" in query:
                key += (s["status"], s["instance"])
                value = 1.0
            elif "resets(" in query:
                value = float(s.get("resets", 0))
            elif at == WINDOW.end.timestamp():
                value = s["end"]
            elif s.get("start") is None:
                continue  # born inside the window: no sample at its start
            else:
                value = s["start"]
            rows[key] = rows.get(key, 0.0) + value
        names = ("path", "method", "status", "instance")
        return [
            {"metric": dict(zip(names, key, strict=False)), "value": [at, str(v)]}
            for key, v in rows.items()
        ]


def series(path, end, start=0.0, status="200", instance="a", resets=0, method="GET"):
    return {
        "path": path,
        "method": method,
        "status": status,
        "instance": instance,
        "end": end,
        "start": start,
        "resets": resets,
        "buckets": 15,
    }


def test_aggregates_count_each_route_between_the_windows_edges():
    prom = AggregatingPrometheus(
        [
            series("/", 40, 10),
            series("/", 5, 0, status="500", instance="b"),
            series("/new", 3, None),  # born inside the window: all of it is the window's
            series("/idle", 7, 7),
        ]
    )
    found, job = prometheus_aggregates(prom, CONFIG, WINDOW, SAMPLING)
    assert found[("GET", "/")].requests == 35 and found[("GET", "/new")].requests == 3
    assert found[("GET", "/idle")].requests == 0
    assert found[("GET", "/")].statuses == {"200", "500"} and found[("GET", "/")].count_series == 2
    rows = {r.route: r for r in inventory.route_series(found)}
    assert rows["GET /"] == RouteSeries("GET /", 34, 2, 2, 15)
    assert job == 5
    # one row per route, never a raw sample: no range selector is returned to us
    assert all(q.startswith(("sum by", "count by", "sum(max_over_time(")) for q in prom.queries)


def test_only_the_routes_in_doubt_are_counted_from_raw_samples():
    screened = {
        ("GET", "/both"): Screened(10, 0, 1, 17),
        ("GET", "/prom-only"): Screened(4, 0, 1, 17),
        ("GET", "/cw-only"): Screened(0, 0, 1, 17),
        ("GET", "/restarted"): Screened(9, 1, 1, 17),
        ("GET", "/idle"): Screened(0, 0, 1, 17),
    }
    cw = {("GET", "/both"): 10.0, ("GET", "/cw-only"): 3.0, ("GET", "/restarted"): 9.0}
    exact = set(routes_to_count(cw, screened))
    assert exact == {("GET", "/prom-only"), ("GET", "/cw-only"), ("GET", "/restarted")}
    # the twin: once CloudWatch saw /prom-only too, both sides agree and no raw read is needed
    cw[("GET", "/prom-only")] = 4.0
    assert ("GET", "/prom-only") not in routes_to_count(cw, screened)


def test_cloudwatch_is_asked_about_mapped_routes_and_a_bounded_rest(monkeypatch):
    monkeypatch.setattr(inventory, "MAX_ASKED_ROUTES", 2)
    screened = {("GET", f"/p{i}"): Screened(float(i), 0, 1, 17) for i in range(5)}
    mapped = [("GET", "/"), ("GET", "/p0")]
    asked, unasked = routes_to_ask(mapped, screened, [("GET", "/cw")])
    # the mapped ones, then the busiest Prometheus routes; idle /p0 is mapped, so asked
    assert asked == [("GET", "/"), ("GET", "/p0"), ("GET", "/p4"), ("GET", "/p3")]
    assert unasked == [("GET", "/p2"), ("GET", "/p1"), ("GET", "/cw")]
    skipped = judge_unasked(unasked, 2)
    assert [c.status for c in skipped] == [Status.SKIP]
    assert skipped[0].reason.startswith("3 more routes (GET /p2, GET /p1, GET /cw …)")
    assert judge_unasked([], 2) == []
    # what coverage.ignore names is asked first: it is reported as ignored, not as unjudged
    asked, unasked = routes_to_ask(mapped, screened, [("GET", "/metrics")], ["/metrics"])
    assert asked[2] == ("GET", "/metrics") and ("GET", "/metrics") not in unasked


def test_the_cardinality_table_lists_the_largest_routes_not_every_id():
    routes = [RouteSeries(f"GET /items/{i}", 17, 1, 1, 15) for i in range(10_000)]
    routes.append(RouteSeries("GET /", 34, 2, 1, 15))
    paths = [r.route.split(" ")[1] for r in routes]
    check = judge_cardinality("flask_app", 170_100, routes, paths, "path")
    assert check.status is Status.WARN and "job flask_app has 170100 series" in check.reason
    assert len(check.details["routes"]) == 50
    assert {"route": "GET /", "series": 34, "statuses": 2, "instances": 1, "buckets": 15} in (
        check.details["routes"]
    )
