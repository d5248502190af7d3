"""A CloudWatch alarm as plain values, as ``DescribeAlarms`` describes it, and its states.

Values only (stdlib): sources build these from boto3's answers, the judge reads them, and
``run.json`` stores them so a past run can be judged again with the alarms it started with.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Kind(StrEnum):
    """What kind of alarm: only ``metric`` alarms on one metric can be translated."""

    METRIC = "metric"
    MATH = "metric math"
    ANOMALY = "anomaly detection"
    COMPOSITE = "composite"


#: ComparisonOperator → (PromQL operator, words)
COMPARISONS = {
    "GreaterThanThreshold": (">", "above"),
    "GreaterThanOrEqualToThreshold": (">=", "at or above"),
    "LessThanThreshold": ("<", "below"),
    "LessThanOrEqualToThreshold": ("<=", "at or below"),
}
TREAT_MISSING = ("missing", "ignore", "breaching", "notBreaching")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class AlarmSpec:
    """The fields of one alarm that decide when it is in ALARM."""

    name: str
    kind: Kind = Kind.METRIC
    namespace: str = ""
    metric_name: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: str = ""
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    comparison: str = "GreaterThanThreshold"
    threshold: float | None = None
    treat_missing_data: str = "missing"
    unit: str | None = None
    #: what a metric-math, anomaly or composite alarm evaluates, in its own words
    expression: str = ""
    #: metrics a math or composite alarm reads, as "Namespace/MetricName" (for listing)
    reads: tuple[str, ...] = ()
    state: str = ""

    @property
    def percentile(self) -> float | None:
        """0.99 for ``p99``; None for the other statistics."""
        match = _PERCENTILE.match(self.statistic)
        return float(match.group(1)) / 100 if match else None

    @property
    def operator(self) -> str | None:
        entry = COMPARISONS.get(self.comparison)
        return entry[0] if entry else None

    def breaches(self, value: float) -> bool:
        """True when one datapoint is on the alarm's side of the threshold."""
        if self.threshold is None:
            return False
        return compare(self.operator or "", value, self.threshold)

    def describe(self) -> str:
        """``Average of FlaskApp/EndpointLatency{Endpoint=/x} > 0.5 for 2 of 3 periods of 10s``."""
        if self.kind is not Kind.METRIC:
            return f"{self.kind.value} alarm: {self.expression or '(no expression)'}"
        dims = ",".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{self.statistic} of {self.namespace}/{self.metric_name}{{{dims}}} "
            f"{self.operator or self.comparison} {self.threshold:g}{unit} for "
            f"{self.datapoints_to_alarm} of {self.evaluation_periods} periods of {self.period}s"
            f" (missing data: {self.treat_missing_data})"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["reads"] = list(self.reads)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlarmSpec:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["kind"] = Kind(fields.get("kind", Kind.METRIC.value))
        fields["reads"] = tuple(fields.get("reads") or ())
        fields["dimensions"] = dict(fields.get("dimensions") or {})
        return cls(**fields)


@dataclass(frozen=True)
class Point:
    """One period of an alarm's metric: its start, CloudWatch's datapoint (None: missing)."""

    start: datetime
    value: float | None


def compare(operator: str, value: float, threshold: float) -> bool:
    """``value operator threshold`` as PromQL compares (NaN never breaches)."""
    if math.isnan(value):
        return False
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
    }.get(operator, False)


def metric_alarm(raw: dict[str, Any]) -> AlarmSpec:
    """One ``MetricAlarms`` entry of a DescribeAlarms answer."""
    name = str(raw["AlarmName"])
    common: dict[str, Any] = {
        "name": name,
        "period": int(raw.get("Period") or 0),
        "evaluation_periods": int(raw.get("EvaluationPeriods") or 1),
        "comparison": str(raw.get("ComparisonOperator") or ""),
        "threshold": _float(raw.get("Threshold")),
        "treat_missing_data": str(raw.get("TreatMissingData") or "missing"),
        "state": str(raw.get("StateValue") or ""),
    }
    # DatapointsToAlarm defaults to EvaluationPeriods (an "N consecutive" alarm)
    common["datapoints_to_alarm"] = int(
        raw.get("DatapointsToAlarm") or common["evaluation_periods"]
    )
    if raw.get("ThresholdMetricId"):
        return AlarmSpec(
            kind=Kind.ANOMALY,
            expression=_math_words(raw.get("Metrics") or []),
            reads=_math_reads(raw.get("Metrics") or []),
            **common,
        )
    if raw.get("Metrics"):
        return AlarmSpec(
            kind=Kind.MATH,
            expression=_math_words(raw["Metrics"]),
            reads=_math_reads(raw["Metrics"]),
            **common,
        )
    dimensions = {str(d["Name"]): str(d["Value"]) for d in raw.get("Dimensions") or []}
    return AlarmSpec(
        namespace=str(raw.get("Namespace") or ""),
        metric_name=str(raw.get("MetricName") or ""),
        dimensions=dimensions,
        statistic=str(raw.get("Statistic") or raw.get("ExtendedStatistic") or ""),
        unit=raw.get("Unit") or None,
        **common,
    )


def composite_alarm(raw: dict[str, Any]) -> AlarmSpec:
    """One ``CompositeAlarms`` entry: a rule over other alarms' states."""
    return AlarmSpec(
        name=str(raw["AlarmName"]),
        kind=Kind.COMPOSITE,
        expression=str(raw.get("AlarmRule") or ""),
        state=str(raw.get("StateValue") or ""),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _math_reads(metrics: list[dict[str, Any]]) -> tuple[str, ...]:
    found = []
    for query in metrics:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric:
            found.append(f"{metric.get('Namespace')}/{metric.get('MetricName')}")
    return tuple(found)


def _math_words(metrics: list[dict[str, Any]]) -> str:
    """The expression the alarm returns (``m1*1000``), or its one metric for an anomaly band."""
    returned = [q for q in metrics if q.get("ReturnData", True)]
    words = [str(q.get("Expression") or q.get("Id")) for q in returned or metrics]
    return "; ".join(words)


def referenced_alarms(rule: str) -> list[str]:
    """Alarm names a composite AlarmRule refers to: ``ALARM("a") OR OK(b)`` → a, b."""
    pattern = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(\"[^\"]*\"|[^)\s]+)\s*\)")
    return [m.group(1).strip('"') for m in pattern.finditer(rule)]
