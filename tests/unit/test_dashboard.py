"""The generated dashboard against Grafana's dashboard model (grafana-foundation-sdk's typed
models, generated from Grafana's schema), and the starter config's weights."""

import json

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import cloudwatch as cw_models
from grafana_foundation_sdk.models import prometheus as prom_models
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

from cwparity.assess.starter import weights
from cwparity.config import parse_config
from cwparity.dashboard import build_dashboard
from cwparity.judge.coverage import CoverageRow, PromRoute
from cwparity.lint import LintContext, lint_query

CONFIG = parse_config({"name": "demo", "cloudwatch": {"region": "us-east-1"}})
ROUTES = [("GET", "/"), ("GET", "/long-request")]


def kept(original, decoded, where=""):
    """Every key and value of ``original`` is in ``decoded``: nothing outside the model."""
    if isinstance(original, dict):
        assert isinstance(decoded, dict), where
        for key, value in original.items():
            assert key in decoded, f"{where}.{key} is not in Grafana's dashboard model"
            kept(value, decoded[key], f"{where}.{key}")
    elif isinstance(original, list):
        assert len(original) == len(decoded), where
        for index, (a, b) in enumerate(zip(original, decoded, strict=True)):
            kept(a, b, f"{where}[{index}]")
    else:
        assert original == decoded, where


def test_the_dashboard_decodes_into_grafanas_model_without_losing_a_key():
    plugins.register_default_plugins()
    model = build_dashboard(CONFIG, ROUTES, 1.0)
    decoded = Dashboard.from_json(model)
    kept(model, json.loads(json.dumps(decoded, cls=JSONEncoder)))
    panels = decoded.panels or []
    assert [type(p) for p in panels] == [RowPanel, Panel, Panel] * 2
    cloudwatch_target, prometheus_target = panels[1].targets[0], panels[2].targets[0]
    assert isinstance(cloudwatch_target, cw_models.CloudWatchMetricsQuery)
    assert cloudwatch_target.dimensions == {"Endpoint": "/", "Method": "GET"}
    assert isinstance(prometheus_target, prom_models.Dataquery)
    ids = [p.id_val for p in panels]
    assert len(ids) == len(set(ids)) and all(i is not None for i in ids)
    assert model["uid"] == "cwparity-demo" and len(model["uid"]) <= 40


def test_each_route_shows_cloudwatch_beside_the_query_the_lint_recommends():
    model = build_dashboard(CONFIG, ROUTES, 1.0)
    row, cloudwatch, prometheus = model["panels"][3:6]
    assert row["title"] == "GET /long-request"
    assert cloudwatch["gridPos"]["y"] == prometheus["gridPos"]["y"]
    assert (cloudwatch["gridPos"]["x"], prometheus["gridPos"]["x"]) == (0, 12)
    assert cloudwatch["targets"][0]["statistic"] == "Average"
    expr = prometheus["targets"][0]["expr"]
    assert lint_query(expr, LintContext(scrape_interval=1.0)) == []
    assert 'path="/long-request",method="GET"' in expr and "[5m]" in expr
    assert prometheus["fieldConfig"]["defaults"]["unit"] == "s"


def row(path, cloudwatch, prometheus):
    return CoverageRow("GET", path, cloudwatch, PromRoute(prometheus))


def test_starter_weights_follow_the_observed_traffic():
    assert weights([row("/", 300, 300), row("/long-request", 100, 100)]) == {
        "GET /": 3,
        "GET /long-request": 1,
    }
    # a route with a thousandth of the traffic still gets load; none beyond 100 to one
    assert weights([row("/", 100_000, 100_000), row("/rare", 10, 10)]) == {
        "GET /": 100,
        "GET /rare": 1,
    }
