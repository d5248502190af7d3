"""Coverage parity and the cardinality finding on plain values: each verdict with its failing twin."""

from cwparity.config import parse_config
from cwparity.judge.cardinality import id_template, judge_cardinality, route_series
from cwparity.judge.coverage import (
    PromRoute,
    coverage_rows,
    ignore_rule,
    is_template,
    judge_coverage,
)
from cwparity.results import Status

CONFIG = parse_config({})


def judged(cloudwatch, prometheus, config=CONFIG):
    rows = coverage_rows(cloudwatch, prometheus, config.coverage.ignore)
    return {c.id: c for c in judge_coverage(rows, config)}


def test_a_route_on_both_sides_passes():
    checks = judged({("GET", "/"): 40.0}, {("GET", "/"): PromRoute(40.0)})
    assert checks["coverage[GET /]"].status is Status.PASS
    assert checks["coverage[GET /]"].observed["cloudwatch_requests"] == 40.0


def test_a_route_prometheus_lacks_fails_naming_the_side_and_the_requests():
    checks = judged({("GET", "/"): 40.0, ("GET", "/health"): 12.0}, {("GET", "/"): PromRoute(40.0)})
    check = checks["coverage[GET /health]"]
    assert check.status is Status.FAIL
    assert check.reason.startswith("Prometheus has no series for it: CloudWatch saw 12 requests")


def test_a_route_cloudwatch_lacks_fails():
    checks = judged(
        {("GET", "/"): 40.0}, {("GET", "/"): PromRoute(40.0), ("POST", "/items"): PromRoute(7.0)}
    )
    check = checks["coverage[POST /items]"]
    assert check.status is Status.FAIL
    assert "CloudWatch has no data for it: Prometheus counted 7 requests" in check.reason


def test_a_prometheus_series_that_counted_nothing_is_a_gap_too():
    checks = judged({("GET", "/x"): 5.0}, {("GET", "/x"): PromRoute(0.0)})
    assert checks["coverage[GET /x]"].status is Status.FAIL
    assert "counted none of them" in checks["coverage[GET /x]"].reason


def test_a_request_that_may_sit_on_the_windows_edge_is_not_a_gap():
    # one request between the scrapes around the edge: Prometheus cannot say it was inside
    assert judged({}, {("GET", "/x"): PromRoute(1.0, 1.0)}) == {}
    # its twin: certainly inside, and CloudWatch has nothing
    assert (
        judged({}, {("GET", "/x"): PromRoute(3.0, 1.0)})["coverage[GET /x]"].status is Status.FAIL
    )


def test_templated_paths_are_matched_not_reported_as_gaps():
    cloudwatch = {("GET", "/items/42"): 3.0, ("GET", "/items/43"): 4.0, ("GET", "/"): 9.0}
    prometheus = {("GET", "/items/<int:item_id>"): PromRoute(7.0), ("GET", "/"): PromRoute(9.0)}
    checks = judged(cloudwatch, prometheus)
    check = checks["coverage[GET /items/<int:item_id>]"]
    assert check.status is Status.PASS
    assert "path templating differs, not a gap: /items/42, /items/43" in check.reason
    assert check.observed["cloudwatch_requests"] == 7.0
    assert "coverage[GET /items/42]" not in checks


def test_a_template_on_the_cloudwatch_side_matches_concrete_prometheus_paths():
    checks = judged({("GET", "/users/{name}"): 5.0}, {("GET", "/users/ann"): PromRoute(5.0)})
    assert checks["coverage[GET /users/{name}]"].status is Status.PASS
    # a template matches one segment only: its twin, a deeper path, stays a gap
    checks = judged({("GET", "/users/{name}"): 5.0}, {("GET", "/users/ann/photo"): PromRoute(5.0)})
    assert checks["coverage[GET /users/ann/photo]"].status is Status.FAIL


def test_metrics_is_ignored_by_default_and_said_so():
    checks = judged({("GET", "/metrics"): 20.0}, {})
    check = checks["coverage[GET /metrics]"]
    assert check.status is Status.SKIP
    assert "ignored by coverage.ignore '/metrics'" in check.reason
    assert "publishes Prometheus's scrapes of /metrics" in check.reason
    # once the user names their own ignore list, /metrics is judged like any route
    strict = parse_config({"coverage": {"ignore": ["GET /health*"]}})
    assert (
        judged({("GET", "/metrics"): 20.0}, {}, strict)["coverage[GET /metrics]"].status
        is Status.FAIL
    )


def test_ignore_patterns_take_a_method_and_wildcards():
    assert ignore_rule("GET", "/health/live", ["GET /health*"]) == "GET /health*"
    assert ignore_rule("POST", "/health/live", ["GET /health*"]) is None
    assert ignore_rule("POST", "/metrics", ["/metrics"]) == "/metrics"


def test_placeholders_of_flask_openapi_and_express_are_templates():
    assert all(is_template(p) for p in ("/a/<id>", "/a/<int:id>", "/a/{id}", "/a/:id"))
    assert not is_template("/a/42")


def test_a_route_mapped_to_one_deployment_is_not_a_gap():
    config = parse_config(
        {
            "targets": {
                "cloudwatch": {"base_url": "http://old"},
                "prometheus": {"base_url": "http://new"},
            },
            "routes": [{"path": "/"}, {"path": "/long-request", "sides": ["prometheus"]}],
        }
    )
    checks = judged(
        {("GET", "/"): 3.0},
        {("GET", "/"): PromRoute(3.0), ("GET", "/long-request"): PromRoute(2.0)},
        config,
    )
    assert checks["coverage[GET /long-request]"].status is Status.SKIP
    assert "routes[].sides" in checks["coverage[GET /long-request]"].reason


def _series(path, statuses=("200",), buckets=("0.1", "+Inf")):
    labels = []
    for status in statuses:
        for le in buckets:
            labels.append(
                {
                    "__name__": "x_bucket",
                    "path": path,
                    "method": "GET",
                    "status": status,
                    "instance": "a",
                    "le": le,
                }
            )
        labels += [
            {"__name__": f"x_{k}", "path": path, "method": "GET", "status": status, "instance": "a"}
            for k in ("sum", "count")
        ]
    return labels


def test_cardinality_names_the_job_and_each_routes_series():
    labels = _series("/", statuses=("200", "404"))
    routes = route_series(labels, "path", "method")
    assert routes[0].series == 8 and routes[0].statuses == 2 and routes[0].buckets == 2
    check = judge_cardinality("flask_app", 30, routes, ["/"], "path")
    assert check.status is Status.PASS
    assert check.reason.startswith(
        "job flask_app has 30 series; the latency histogram 8 over 1 routes"
    )


def test_ids_in_the_path_label_are_an_unbounded_cardinality_finding():
    paths = ["/items/41", "/items/42", "/items/43"]
    labels = [s for p in paths for s in _series(p)]
    check = judge_cardinality(
        "flask_app", 40, route_series(labels, "path", "method"), paths, "path"
    )
    assert check.status is Status.WARN
    assert (
        "the path label holds IDs (/items/41, /items/42, /items/43 … → /items/{id})"
        in check.details["finding"]
    )
    assert "group_by='url_rule'" in check.details["finding"]


def test_id_like_segments():
    assert (
        id_template("/orders/9f86d081-884c-4d63-a2f6-42b1b1c3d6a1/lines/7")
        == "/orders/{id}/lines/{id}"
    )
    assert id_template("/users/deadbeef42") == "/users/{id}"
    assert id_template("/long-request") == "/long-request"
