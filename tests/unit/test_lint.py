"""PromQL lint: each rule is raised on the query that has the problem, and not on its clean twin."""

import pytest

from cwparity.config import NamedQuery, parse_config
from cwparity.lint import LintContext, lint_checks, lint_query
from cwparity.results import Status

H = "flask_http_request_duration_seconds"
GUIDE = (
    f'{H}_sum{{method="GET",path="/",status="200"}}'
    f' / {H}_count{{method="GET",path="/",status="200"}}'
)
SUGGESTED = (
    f"sum by (path, method) (rate({H}_sum[5m])) / sum by (path, method) (rate({H}_count[5m]))"
)
CONTEXT = LintContext(scrape_interval=15.0)


def codes(expr: str, context: LintContext = CONTEXT) -> set[str]:
    return {finding.code for finding in lint_query(expr, context)}


def test_the_guides_dashboard_query_is_a_cumulative_ratio_that_drops_non_200_requests():
    assert {"cumulative_ratio", "status_filter"} <= codes(GUIDE)


def test_the_cumulative_ratio_finding_suggests_the_rate_based_query():
    (finding,) = [f for f in lint_query(GUIDE, CONTEXT) if f.code == "cumulative_ratio"]
    assert finding.fix == (
        f'sum by (path, method) (rate({H}_sum{{method="GET",path="/"}}[5m]))'
        f' / sum by (path, method) (rate({H}_count{{method="GET",path="/"}}[5m]))'
    )
    assert "\n" not in finding.message


def test_the_suggested_rate_based_query_is_clean():
    assert codes(SUGGESTED) == set()


@pytest.mark.parametrize(
    "expr",
    [
        "avg(x_count / x_sum)",
        f"sum by (path, method) ({H}_sum) / sum by (path, method) ({H}_count)",
        f"sum by (path, method) (rate({H}_sum[5m])) / sum by (path, method) ({H}_count)",
    ],
)
def test_a_ratio_with_either_side_outside_rate_is_cumulative(expr):
    assert "cumulative_ratio" in codes(expr)


@pytest.mark.parametrize("function", ["rate", "irate", "increase", "delta"])
def test_a_ratio_of_rate_like_functions_is_not_cumulative(function):
    expr = f"sum by (path, method) ({function}({H}_sum[5m])) / sum by (path, method) ({function}({H}_count[5m]))"
    assert "cumulative_ratio" not in codes(expr)


def test_a_range_shorter_than_four_scrape_intervals_is_flagged():
    findings = lint_query(f"sum by (path, method) (rate({H}_count[30s]))", CONTEXT)
    (finding,) = [f for f in findings if f.code == "short_range"]
    assert "30s" in finding.message and "[1m]" in finding.fix


def test_a_range_of_four_scrape_intervals_is_not_flagged():
    assert codes(f"sum by (path, method) (rate({H}_count[1m]))") == set()


def test_ranges_are_not_judged_when_the_scrape_interval_is_unknown():
    expr = f"sum by (path, method) (rate({H}_count[30s]))"
    assert codes(expr, LintContext(scrape_interval=None)) == set()


def test_a_histogram_selector_that_is_not_aggregated_keeps_status_and_instance():
    (finding,) = lint_query(f"rate({H}_count[5m])", CONTEXT)
    assert finding.code == "extra_labels"
    assert "instance, status" in finding.message and "Endpoint and Method" in finding.message


@pytest.mark.parametrize(
    "expr",
    [
        f"sum by (path, method) (rate({H}_count[5m]))",
        f"sum without (status, instance) (rate({H}_count[5m]))",
        f"histogram_quantile(0.99, sum by (le, path, method) (rate({H}_bucket[5m])))",
        f"1000 * sum by (path, method) (rate({H}_count[5m]))",
    ],
)
def test_aggregating_status_and_instance_away_clears_the_label_finding(expr):
    assert "extra_labels" not in codes(expr)


@pytest.mark.parametrize(
    "expr",
    [
        f"sum by (path, method, status) (rate({H}_count[5m]))",
        f"sum without (instance) (rate({H}_count[5m]))",
        f"histogram_quantile(0.99, sum by (le, path) (rate({H}_bucket[5m]))) or rate({H}_count[5m])",
        f"sum by (le, path, method) (rate({H}_bucket[5m]))",
    ],
)
def test_a_label_kept_through_aggregation_is_still_flagged(expr):
    assert "extra_labels" in codes(expr)


def test_instance_is_allowed_when_cloudwatch_has_it_as_an_extra_dimension():
    context = LintContext(scrape_interval=15.0, extra_labels=frozenset({"instance"}))
    assert codes(f"sum without (status) (rate({H}_count[5m]))", context) == set()


def test_a_status_matcher_is_flagged_and_a_match_all_is_not():
    pinned = f'sum by (path, method) (rate({H}_count{{status=~"2.."}}[5m]))'
    assert codes(pinned) == {"status_filter"}
    assert codes(pinned.replace('"2.."', '".*"')) == set()


@pytest.mark.parametrize(
    ("expr", "cloudwatch_unit", "flagged"),
    [
        (SUGGESTED, "Milliseconds", True),
        (f"({SUGGESTED}) * 1000", "Milliseconds", False),
        (f"({SUGGESTED}) * 1000", "Seconds", True),
        (SUGGESTED, "Seconds", False),
        (
            f"histogram_quantile(0.5, sum by (le, path, method) (rate({H}_bucket[5m])))",
            "Milliseconds",
            True,
        ),
        (f"sum by (path, method) (rate({H}_count[5m]))", "Milliseconds", False),
    ],
)
def test_seconds_versus_milliseconds(expr, cloudwatch_unit, flagged):
    context = LintContext(scrape_interval=15.0, cloudwatch_unit=cloudwatch_unit)
    assert ("units" in codes(expr, context)) is flagged


def test_a_prometheus_unit_of_milliseconds_is_read_from_config_when_the_name_does_not_say():
    expr = "sum by (path, method) (rate(latency_sum[5m])) / sum by (path, method) (rate(latency_count[5m]))"
    ms = LintContext(
        histogram="latency", prometheus_unit="milliseconds", cloudwatch_unit="Milliseconds"
    )
    assert codes(expr, ms) == set()
    assert codes(expr, LintContext(histogram="latency", cloudwatch_unit="Milliseconds")) == {
        "units"
    }


def test_a_query_that_does_not_parse_is_one_fatal_finding_in_one_line():
    (finding,) = lint_query("sum(rate(x[5m])", CONTEXT)
    assert finding.code == "parse_error" and finding.fatal
    assert "unclosed left parenthesis" in finding.message and "\n" not in finding.message


def run_config(severity: str = "warn", *exprs: str):
    queries = [{"name": f"q{i}", "expr": expr} for i, expr in enumerate(exprs)]
    return parse_config({"prometheus": {"queries": queries}, "lint": {"severity": severity}})


def test_lint_checks_warn_by_default_and_pass_clean_queries():
    checks = lint_checks(run_config("warn", GUIDE, SUGGESTED), 15.0)
    by_id = {c.id: c for c in checks}
    guide = by_id["lint.cumulative_ratio[q0]"]
    assert guide.status is Status.WARN and guide.kind == "lint" and guide.subject == "q0"
    assert guide.details["code"] == "cumulative_ratio" and guide.details["expr"] == GUIDE
    assert guide.details["fix"].startswith("sum by (path, method) (rate(")
    assert by_id["lint[q1]"].status is Status.PASS
    assert "lint[q0]" not in by_id and not any(
        c.subject == "q1" and c.status is not Status.PASS for c in checks
    )


def test_severity_fail_turns_findings_into_failures():
    checks = lint_checks(run_config("fail", GUIDE, SUGGESTED), 15.0)
    assert {c.status for c in checks if c.subject == "q0"} == {Status.FAIL}
    assert [c.status for c in checks if c.subject == "q1"] == [Status.PASS]


def test_an_unparsable_query_fails_even_when_severity_is_warn():
    # the config refuses such a query (test_config); lint still fails one that got past it
    config = run_config("warn")
    broken = NamedQuery.model_construct(name="q0", expr="rate(x[5m]")
    prometheus = config.prometheus.model_copy(update={"queries": [broken]})
    (check,) = lint_checks(config.model_copy(update={"prometheus": prometheus}), None)
    assert check.id == "lint.parse_error[q0]" and check.status is Status.FAIL


def test_the_configured_scrape_interval_is_used_when_none_is_measured():
    config = parse_config(
        {
            "prometheus": {
                "scrape_interval": "15s",
                "queries": [{"name": "q", "expr": f"sum by (path, method) (rate({H}_count[30s]))"}],
            }
        }
    )
    assert [c.id for c in lint_checks(config, None)] == ["lint.short_range[q]"]
    assert [c.id for c in lint_checks(config, 5.0)] == ["lint[q]"]


def test_no_queries_no_checks():
    assert lint_checks(run_config("warn"), 15.0) == []
