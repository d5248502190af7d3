"""The cost estimate's arithmetic on a fixed input, against values computed by hand."""

import pytest

from cwparity.cost import (
    CloudWatchUsage,
    Measured,
    PrometheusUsage,
    estimate,
    load_price_table,
    tiered,
)
from cwparity.errors import ConfigError

TABLE = load_price_table()


def measured(value):
    return Measured(value, "given")


USAGE = CloudWatchUsage(
    custom_metrics=measured(12_000),
    put_requests_per_s=measured(2.0),
    own_metrics_requested_per_run=measured(22),
    runs_per_month=30,
    alarms_standard=measured(4),
    alarms_high_resolution=measured(1),
    dashboards=measured(2),
    logs_stored_bytes=measured(5e9),
)
PROMETHEUS = PrometheusUsage(
    head_series=measured(10_000),
    job_series=measured(61),
    samples_per_s=measured(1000.0),
    job_samples_per_s=measured(61.0),
    bytes_per_sample=measured(2.0),
    retention_s=measured(15 * 86400),
    resident_bytes=measured(None),
)


def test_the_packaged_price_table_says_where_and_when_it_is_from():
    assert TABLE.describe() == {
        "version": "2026-11-25",
        "region": "us-east-1",
        "currency": "USD",
        "source": "https://aws.amazon.com/cloudwatch/pricing/",
        "as_of": "2026-11",
    }


def test_custom_metrics_are_priced_by_tier():
    tiers = TABLE.prices.custom_metric_tiers
    assert tiered(10, tiers) == pytest.approx(3.00)  # 10 × $0.30
    assert tiered(12_000, tiers) == pytest.approx(3200.0)  # 10,000 × 0.30 + 2,000 × 0.10
    # 10,000 × 0.30 + 240,000 × 0.10 + 750,000 × 0.05 + 1,000 × 0.02
    assert tiered(1_001_000, tiers) == pytest.approx(3000 + 24_000 + 37_500 + 20)


def test_cloudwatch_lines_and_total_by_hand():
    block = estimate(USAGE, PROMETHEUS, TABLE, [])
    lines = {line["item"]: line for line in block["cloudwatch"]["lines"]}
    # 2 requests/s × 730 h × 3600 s = 5,256,000 requests; / 1000 × $0.01
    assert lines["PutMetricData requests"]["quantity"] == pytest.approx(5_256_000)
    assert lines["PutMetricData requests"]["monthly_usd"] == pytest.approx(52.56)
    # 22 metrics per run × 30 runs = 660; / 1000 × $0.01
    assert lines["GetMetricData by cwparity (30 runs/month)"]["monthly_usd"] == pytest.approx(
        0.0066
    )
    assert lines["alarms (standard resolution)"]["monthly_usd"] == pytest.approx(0.40)
    assert lines["alarms (high resolution)"]["monthly_usd"] == pytest.approx(0.30)
    assert lines["dashboards"]["monthly_usd"] == pytest.approx(6.00)
    assert lines["log storage"]["monthly_usd"] == pytest.approx(0.15)  # 5 GB × $0.03
    # 3200 + 52.56 + 0.0066 + 0.40 + 0.30 + 6.00 + 0.15
    assert block["cloudwatch"]["monthly_usd"] == pytest.approx(3259.42)
    assert block["estimate"] is True and block["label"].startswith("Estimate")
    assert all(line["source"] == "given" for line in lines.values())


def test_prometheus_disk_and_memory_by_hand():
    figures = {
        f["name"]: f for f in estimate(USAGE, PROMETHEUS, TABLE, [])["prometheus"]["figures"]
    }
    # 1,296,000 s × 1000 samples/s × 2 bytes
    assert figures["disk for the retention (all jobs)"]["value"] == pytest.approx(2_592_000_000)
    assert figures["disk for the retention (the app's job)"]["value"] == pytest.approx(158_112_000)
    assert (
        "retention_time_seconds × ingested_samples_per_second × bytes_per_sample"
        in (figures["disk for the retention (all jobs)"]["source"])
    )
    # 10,000 head series × 3 kB
    assert figures["memory for the head series (all jobs)"]["value"] == pytest.approx(30_000_000)


def test_an_unknown_input_leaves_its_line_unknown_not_zero():
    usage = CloudWatchUsage(
        **{**USAGE.__dict__, "put_requests_per_s": Measured(None, "unknown: denied")}
    )
    block = estimate(usage, PROMETHEUS, TABLE, [])
    assert block["cloudwatch"]["unknown"] == ["PutMetricData requests"]
    assert block["cloudwatch"]["monthly_usd"] == pytest.approx(3259.42 - 52.56)


def test_a_regional_table_overrides_the_packaged_one(tmp_path):
    text = (load_price_table.__globals__["PACKAGED_TABLE"]).read_text()
    path = tmp_path / "eu.yaml"
    path.write_text(
        text.replace("region: us-east-1", "region: eu-west-1").replace("usd: 0.30", "usd: 0.33")
    )
    table = load_price_table(path)
    assert table.region == "eu-west-1"
    assert tiered(10, table.prices.custom_metric_tiers) == pytest.approx(3.30)


def test_a_bad_price_table_is_one_line_naming_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        (load_price_table.__globals__["PACKAGED_TABLE"])
        .read_text()
        .replace("dashboard_per_month", "dashbord_per_month")
    )
    with pytest.raises(ConfigError) as err:
        load_price_table(path)
    assert str(path) in str(err.value) and "dashbord_per_month" in str(err.value)
