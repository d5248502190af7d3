"""The settle on a CloudWatch that ingests in batches (cwparity.stack.bursty_moto).

Each datum is readable only from the next multiple of 20 s after it was put, as the issue saw
a CloudWatch do ("nothing new for ~20 s, then a chunk"). The old settle stopped after two equal
polls inside such a gap and failed a clean run; the demo's own settle keys must not.
"""

import html
import json
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from cwparity.results import Status
from cwparity.stack.bursty_moto import readable_from
from cwparity.stack.embedded import AppSpec, EmbeddedStack, StackSpec
from cwparity.stack.moto import start_moto

from .conftest import demo_config, parity_run

pytestmark = pytest.mark.integration
BATCH = 20.0
ROUTES = ("GET /", "GET /long-request")


def test_a_datum_is_readable_only_from_the_next_batch(moto_credentials, tmp_path):
    process, url = start_moto(tmp_path, batch=4)
    try:
        client = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1")
        if time.time() % 4 > 3:  # not right before a batch: the first read must come before it
            time.sleep(1.5)
        put_at = time.time()
        client.put_metric_data(
            Namespace="Bursty", MetricData=[{"MetricName": "M", "Value": 1.0, "Unit": "Count"}]
        )

        def count() -> float:
            answer = client.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "m",
                        "MetricStat": {
                            "Metric": {"Namespace": "Bursty", "MetricName": "M"},
                            "Period": 60,
                            "Stat": "SampleCount",
                        },
                    }
                ],
                StartTime=datetime.now(UTC) - timedelta(minutes=5),
                EndTime=datetime.now(UTC) + timedelta(minutes=1),
            )
            return sum(answer["MetricDataResults"][0]["Values"])

        assert count() == 0  # put, but not readable yet
        time.sleep(max(0.0, readable_from(put_at, 4) - time.time()) + 0.3)
        assert count() == 1
    finally:
        process.stop()


@pytest.fixture(scope="module")
def bursty_stack(moto_credentials, tmp_path_factory):
    from cwparity.flows import DEMO_APP_ENV

    spec = StackSpec(apps=(AppSpec("dual_app", dict(DEMO_APP_ENV)),), cloudwatch_batch=BATCH)
    with EmbeddedStack(spec, keep_logs_in=tmp_path_factory.mktemp("bursty")) as stack:
        yield stack


def settle_record(run_dir):
    document = json.loads((run_dir / "results.json").read_text())
    record = document["run"]["settle"]
    for key in ("settled", "ended", "why", "polls", "waited_s", "quiet_span_s", "quiet_for_s"):
        assert key in record, key
    for key in ("min_data_age_s", "min_data_age_used_s", "shortfall", "shortfall_trend"):
        assert key in record, key
    report = html.unescape((run_dir / "report.html").read_text())
    assert record["why"] in report and "shortfall trend" in report
    return document, record


def test_a_clean_run_passes_with_the_demo_settle(bursty_stack, tmp_path):
    run_dir = tmp_path / "clean"
    _, checks = parity_run(demo_config(bursty_stack, settle={}), run_dir)
    for route in ROUTES:
        for check_id in (f"count[{route}]", f"count.cloudwatch[{route}]"):
            assert checks[check_id].status is Status.PASS, checks[check_id].reason
    assert all(c.status is not Status.FAIL for c in checks.values())
    document, record = settle_record(run_dir)
    assert document["verdict"] == "pass"
    assert record["settled"] and record["ended"] == "quiet"
    # held back at the first read and arrived later (lag, not loss); on a loaded machine the
    # first read can come after the last batch landed: then never short at all
    assert record["shortfall"][-1] == 0, record
    expected = "caught up" if record["shortfall"][0] > 0 else "none"
    assert record["shortfall_trend"] == expected, record
    assert record["quiet_for_s"] >= record["quiet_span_s"]


def test_dropping_2_percent_of_publishes_fails_the_count(bursty_stack, tmp_path):
    bursty_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0.02"})
    try:
        run_dir = tmp_path / "drop2"
        _, checks = parity_run(demo_config(bursty_stack, settle={}), run_dir)
    finally:
        bursty_stack.restart_app(env={"CWPARITY_FAULT_CW_DROP": "0"})
    lost = checks["count[GET /]"]
    assert lost.status is Status.FAIL, lost.reason
    assert -lost.observed["difference"] == pytest.approx(
        int(lost.observed["prometheus"] * 0.02), abs=1
    )
    assert checks["count.cloudwatch[GET /]"].status is Status.FAIL
    _, record = settle_record(run_dir)
    assert record["settled"] and record["shortfall"][-1] > 0
    assert record["shortfall_trend"] == "steady"
