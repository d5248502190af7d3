"""Cost and capacity: CloudWatch's monthly bill at the observed rates, and what Prometheus needs.

An *estimate*, and labelled one everywhere it is shown: every figure carries where it came from
(a measurement of this run, an API answer, the price table, a documented rule), so a reader can
redo it. The arithmetic is pure; ``assess/capacity.py`` gathers the measurements.

CloudWatch's prices come from a versioned table shipped in the package
(``cwparity/pricing/cloudwatch-us-east-1.yaml``, its source page and date inside); a user
overrides it per region with ``cost.price_table``. Prometheus's disk follows the formula in its
storage docs (``needed_disk_space = retention_time_seconds * ingested_samples_per_second *
bytes_per_sample``); its memory the maintainers' rule of thumb of about 3 kB per head series.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cwparity.config import describe_validation_error
from cwparity.config_file import load_yaml
from cwparity.errors import ConfigError

PACKAGED_TABLE = Path(__file__).parent / "pricing" / "cloudwatch-us-east-1.yaml"
LABEL = (
    "Estimate: CloudWatch list prices at the rates this run observed, and Prometheus sized by "
    "its documented formulas. Not a quote; the free tier is not subtracted."
)
#: Prometheus storage docs: "on average, Prometheus uses only around 1-2 bytes per sample"
DOCUMENTED_BYTES_PER_SAMPLE = 2.0
BYTES_PER_SAMPLE_SOURCE = (
    "Prometheus docs (prometheus.io/docs/prometheus/latest/storage): 1-2 bytes per sample on "
    "average; the upper end, as no block has been compacted yet to measure it (the first "
    "compaction comes after 2 h of data)"
)
#: "as of Prometheus 2.20 a good rule of thumb should be around 3kB per series in the head"
BYTES_PER_HEAD_SERIES = 3000.0
MEMORY_SOURCE = (
    "about 3 kB per head series (Prometheus maintainers' rule of thumb for 2.20+, "
    "robustperception.io/why-does-prometheus-use-so-much-ram), on top of the process's base"
)
SECONDS_PER_HOUR = 3600.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Tier(_Strict):
    up_to: int | None
    usd: float = Field(ge=0)


class Prices(_Strict):
    custom_metric_tiers: list[Tier] = Field(min_length=1)
    get_metric_data_per_1000_metrics: float = Field(ge=0)
    api_requests_per_1000: float = Field(ge=0)
    alarm_standard_per_metric_month: float = Field(ge=0)
    alarm_high_resolution_per_metric_month: float = Field(ge=0)
    dashboard_per_month: float = Field(ge=0)
    logs_ingest_per_gb: float = Field(ge=0)
    logs_storage_per_gb_month: float = Field(ge=0)


class PriceTable(_Strict):
    schema_name: str = Field(alias="schema", pattern="^cwparity/price-table$")
    version: str
    region: str
    currency: str = "USD"
    source: str
    as_of: str
    hours_per_month: float = Field(default=730.0, gt=0)
    prices: Prices
    free_tier: dict[str, float] = Field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "region": self.region,
            "currency": self.currency,
            "source": self.source,
            "as_of": self.as_of,
        }


def load_price_table(path: str | Path | None = None) -> PriceTable:
    """The packaged table, or the user's (``cost.price_table``); a bad file is a ConfigError."""
    where = Path(path) if path else PACKAGED_TABLE
    try:
        raw = load_yaml(where)
    except ConfigError as err:
        raise ConfigError(f"cost.price_table: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a price table is a mapping of keys")
    try:
        return PriceTable.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, raw, str(where))) from None


@dataclass(frozen=True)
class Measured:
    """A number and where it came from; ``None`` when it could not be known."""

    value: float | None
    source: str


@dataclass(frozen=True)
class Line:
    item: str
    quantity: float | None
    unit: str
    unit_price: str
    monthly_usd: float | None
    source: str


def tiered(count: float, tiers: list[Tier]) -> float:
    """A tiered monthly price: each tier's price for the metrics that fall in it."""
    total, below = 0.0, 0.0
    for tier in tiers:
        ceiling = float("inf") if tier.up_to is None else float(tier.up_to)
        in_tier = max(0.0, min(count, ceiling) - below)
        total += in_tier * tier.usd
        below = ceiling
        if count <= ceiling:
            break
    return total


@dataclass(frozen=True)
class CloudWatchUsage:
    custom_metrics: Measured
    put_requests_per_s: Measured
    own_metrics_requested_per_run: Measured
    runs_per_month: float
    alarms_standard: Measured
    alarms_high_resolution: Measured
    dashboards: Measured
    logs_stored_bytes: Measured


def _times(measured: Measured, factor: float) -> float | None:
    return None if measured.value is None else measured.value * factor


def cloudwatch_lines(usage: CloudWatchUsage, table: PriceTable) -> list[Line]:
    """One line per billed item, each with its quantity, unit price and monthly cost."""
    prices, month_s = table.prices, table.hours_per_month * SECONDS_PER_HOUR
    metrics = usage.custom_metrics.value
    puts = _times(usage.put_requests_per_s, month_s)
    reads = _times(usage.own_metrics_requested_per_run, usage.runs_per_month)
    gigabytes = _times(usage.logs_stored_bytes, 1e-9)
    tiers = ", ".join(f"${t.usd:g} up to {t.up_to or 'more'}" for t in prices.custom_metric_tiers)
    return [
        Line(
            "custom metrics",
            metrics,
            "metrics",
            f"per metric-month: {tiers}",
            None if metrics is None else tiered(metrics, prices.custom_metric_tiers),
            usage.custom_metrics.source,
        ),
        Line(
            "PutMetricData requests",
            puts,
            "requests/month",
            f"${prices.api_requests_per_1000:g} per 1,000",
            None if puts is None else puts / 1000 * prices.api_requests_per_1000,
            usage.put_requests_per_s.source,
        ),
        Line(
            f"GetMetricData by cwparity ({usage.runs_per_month:g} runs/month)",
            reads,
            "metrics requested/month",
            f"${prices.get_metric_data_per_1000_metrics:g} per 1,000",
            None if reads is None else reads / 1000 * prices.get_metric_data_per_1000_metrics,
            usage.own_metrics_requested_per_run.source,
        ),
        Line(
            "alarms (standard resolution)",
            usage.alarms_standard.value,
            "alarm metrics",
            f"${prices.alarm_standard_per_metric_month:g} per alarm metric-month",
            _times(usage.alarms_standard, prices.alarm_standard_per_metric_month),
            usage.alarms_standard.source,
        ),
        Line(
            "alarms (high resolution)",
            usage.alarms_high_resolution.value,
            "alarm metrics",
            f"${prices.alarm_high_resolution_per_metric_month:g} per alarm metric-month",
            _times(usage.alarms_high_resolution, prices.alarm_high_resolution_per_metric_month),
            usage.alarms_high_resolution.source,
        ),
        Line(
            "dashboards",
            usage.dashboards.value,
            "dashboards",
            f"${prices.dashboard_per_month:g} per dashboard-month",
            _times(usage.dashboards, prices.dashboard_per_month),
            usage.dashboards.source,
        ),
        Line(
            "log storage",
            gigabytes,
            "GB stored",
            f"${prices.logs_storage_per_gb_month:g} per GB-month",
            _times(usage.logs_stored_bytes, 1e-9 * prices.logs_storage_per_gb_month),
            usage.logs_stored_bytes.source,
        ),
    ]


@dataclass(frozen=True)
class PrometheusUsage:
    head_series: Measured
    job_series: Measured
    samples_per_s: Measured
    job_samples_per_s: Measured
    bytes_per_sample: Measured
    retention_s: Measured
    resident_bytes: Measured


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    unit: str
    source: str


def _product(*factors: float | None) -> float | None:
    result = 1.0
    for factor in factors:
        if factor is None:
            return None
        result *= factor
    return result


def prometheus_figures(usage: PrometheusUsage) -> list[Figure]:
    """The measured inputs, then disk for the retention and memory for the head, derived."""
    retention, per_sample = usage.retention_s.value, usage.bytes_per_sample.value
    formula = (
        "retention_time_seconds × ingested_samples_per_second × bytes_per_sample (storage docs)"
    )
    measured = [
        Figure(
            "active series (head, all jobs)",
            usage.head_series.value,
            "series",
            usage.head_series.source,
        ),
        Figure(
            "series of the app's job", usage.job_series.value, "series", usage.job_series.source
        ),
        Figure(
            "samples ingested (all jobs)",
            usage.samples_per_s.value,
            "samples/s",
            usage.samples_per_s.source,
        ),
        Figure(
            "samples ingested (the app's job)",
            usage.job_samples_per_s.value,
            "samples/s",
            usage.job_samples_per_s.source,
        ),
        Figure("bytes per sample", per_sample, "bytes", usage.bytes_per_sample.source),
        Figure("retention", retention, "s", usage.retention_s.source),
        Figure(
            "resident memory now", usage.resident_bytes.value, "bytes", usage.resident_bytes.source
        ),
    ]
    derived = [
        Figure(
            "disk for the retention (all jobs)",
            _product(retention, usage.samples_per_s.value, per_sample),
            "bytes",
            formula,
        ),
        Figure(
            "disk for the retention (the app's job)",
            _product(retention, usage.job_samples_per_s.value, per_sample),
            "bytes",
            formula,
        ),
        Figure(
            "memory for the head series (all jobs)",
            _product(usage.head_series.value, BYTES_PER_HEAD_SERIES),
            "bytes",
            MEMORY_SOURCE,
        ),
    ]
    return measured + derived


def _cents(usd: float | None) -> float | None:
    return None if usd is None else round(usd, 4)


def estimate(
    cloudwatch: CloudWatchUsage, prometheus: PrometheusUsage, table: PriceTable, notes: list[str]
) -> dict[str, Any]:
    """The ``run.cost`` block of results.json."""
    lines = [
        Line(**{**asdict(line), "monthly_usd": _cents(line.monthly_usd)})
        for line in cloudwatch_lines(cloudwatch, table)
    ]
    known = [line.monthly_usd for line in lines if line.monthly_usd is not None]
    return {
        "estimate": True,
        "label": LABEL,
        "price_table": table.describe(),
        "cloudwatch": {
            "lines": [asdict(line) for line in lines],
            "monthly_usd": round(sum(known), 2),
            "unknown": [line.item for line in lines if line.monthly_usd is None],
        },
        "prometheus": {"figures": [asdict(f) for f in prometheus_figures(prometheus)]},
        "notes": notes,
    }
