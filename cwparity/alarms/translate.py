"""A CloudWatch alarm as the Prometheus alerting rule that decides the same way.

Pure: an ``AlarmSpec`` and the run's mapping in, a ``Rule`` (or the reason there is none) out.

The rule reads CloudWatch's period grid, not a sliding window: a subquery at step = Period is
evaluated at absolute multiples of the step (Prometheus aligns subquery steps to the epoch, as
CloudWatch aligns periods), so each grid point holds exactly one CloudWatch datapoint's
statistic over that period's scrapes. Then

- M = N: ``last_over_time((S op T)[P-1ms:P])`` with ``for: (N-1)·P`` — pending from the first
  breaching period's end, firing N-1 periods later if none in between stopped breaching;
- M < N: ``count_over_time((S op T)[N·P-1ms:P]) >= M`` — the last N grid points.

The ranges are one millisecond (Prometheus's resolution) short of whole periods, so that they
hold exactly 1 or N grid points at any evaluation time: Prometheus 2 includes a range's left
edge, so a rule evaluated exactly on a grid point would otherwise read one point too many.

What does not carry over exactly is said in ``Rule.notes`` (and in the rule's annotations).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cwparity.alarms.model import AlarmSpec, Kind, compare

UNIT_SECONDS = {"Seconds": 1.0, "Milliseconds": 1e-3, "Microseconds": 1e-6}
PROMETHEUS_UNIT_SECONDS = {"seconds": 1.0, "milliseconds": 1e-3}
_PLAIN_STATS = ("Average", "SampleCount", "Sum")


@dataclass(frozen=True)
class Mapping:
    """How CloudWatch's metric maps to the Prometheus histogram (from the run's config)."""

    namespace: str = "FlaskApp"
    metric_name: str = "EndpointLatency"
    endpoint_dimension: str = "Endpoint"
    method_dimension: str = "Method"
    extra_dimensions: dict[str, str] = field(default_factory=dict)
    cloudwatch_unit: str = "Seconds"
    histogram: str = "flask_http_request_duration_seconds"
    path_label: str = "path"
    method_label: str = "method"
    job: str = "flask_app"
    selector: str = ""
    prometheus_unit: str = "seconds"
    pair_key: str = "cloudwatch_alarm"

    def labels_of(self, spec: AlarmSpec) -> dict[str, str]:
        """The histogram labels the alarm's dimensions pin (Endpoint → path, Method → method)."""
        pinned = {}
        if self.endpoint_dimension in spec.dimensions:
            pinned[self.path_label] = spec.dimensions[self.endpoint_dimension]
        if self.method_dimension in spec.dimensions:
            pinned[self.method_label] = spec.dimensions[self.method_dimension].upper()
        return pinned


@dataclass(frozen=True)
class Rule:
    """A Prometheus alerting rule, as it goes in a rules file."""

    alert: str
    expr: str
    for_seconds: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    #: the per-period statistic at grid points (what the alarm compares), for charts
    statistic: str = ""
    threshold: float | None = None
    #: True when the rule reads CloudWatch's period grid (a subquery at step = Period)
    grid_aligned: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Translation:
    alarm: AlarmSpec
    rule: Rule | None
    skip_reason: str = ""


def translate(
    spec: AlarmSpec,
    mapping: Mapping,
    buckets: Sequence[float] = (),
    alert: str | None = None,
) -> Translation:
    """The rule for one alarm, or why the harness cannot write one."""
    why = untranslatable(spec, mapping)
    if why:
        return Translation(spec, None, why)
    statistic, notes = statistic_expr(spec, mapping, buckets)
    threshold = prometheus_threshold(spec, mapping)
    condition = breach_expr(spec, mapping, statistic, threshold)
    expr, for_seconds, shape = _evaluated(spec, condition)
    notes = [shape, *notes, *missing_data_notes(spec)]
    if spec.unit and spec.unit != mapping.cloudwatch_unit:
        notes.append(
            f"the alarm's Unit {spec.unit} is not the unit the app publishes "
            f"({mapping.cloudwatch_unit}): CloudWatch evaluates no datapoint for it"
        )
    name = alert or alert_name(spec.name)
    rule = Rule(
        alert=name,
        expr=expr,
        for_seconds=for_seconds,
        labels={mapping.pair_key: spec.name},
        annotations={
            "summary": f"CloudWatch alarm {spec.name}: {spec.describe()}",
            "cwparity_translation": "; ".join(notes),
        },
        statistic=statistic,
        threshold=threshold,
        notes=tuple(notes),
    )
    return Translation(spec, rule)


def untranslatable(spec: AlarmSpec, mapping: Mapping) -> str:
    """Why the alarm cannot become a rule through this mapping ("" when it can)."""
    if spec.kind is not Kind.METRIC:
        return _kind_reason(spec)
    if (spec.namespace, spec.metric_name) != (mapping.namespace, mapping.metric_name):
        return (
            f"its metric {spec.namespace}/{spec.metric_name} is not mapped (this run maps "
            f"{mapping.namespace}/{mapping.metric_name} to {mapping.histogram})"
        )
    if spec.operator is None:
        return f"comparison {spec.comparison} has no PromQL equivalent"
    if spec.threshold is None:
        return "it has no static threshold"
    stat = spec.statistic
    if stat not in _PLAIN_STATS and not _valid_percentile(spec.percentile):
        return (
            f"statistic {stat} cannot be computed from a histogram (it keeps counts per "
            "bucket, not the values: SampleCount, Sum, Average and pNN can be)"
        )
    expected = {mapping.endpoint_dimension, mapping.method_dimension, *mapping.extra_dimensions}
    if set(spec.dimensions) != expected:
        return (
            f"its dimensions {sorted(spec.dimensions)} are not the ones the app publishes "
            f"{sorted(expected)}: CloudWatch keeps each combination apart, so no mapped "
            "series answers it"
        )
    for name, value in mapping.extra_dimensions.items():
        if spec.dimensions.get(name) != value:
            return f"its dimension {name}={spec.dimensions.get(name)!r} is not this run's {value!r}"
    return ""


def _kind_reason(spec: AlarmSpec) -> str:
    what = {
        Kind.MATH: "a metric math alarm",
        Kind.ANOMALY: "an anomaly detection alarm (its band is CloudWatch's model)",
        Kind.COMPOSITE: "a composite alarm (a rule over other alarms' states)",
    }[spec.kind]
    expression = f" ({spec.expression})" if spec.expression else ""
    return f"it is {what}{expression}: cwparity translates alarms on one mapped metric only"


def _valid_percentile(q: float | None) -> bool:
    return q is not None and 0 < q < 1


def _selector(spec: AlarmSpec, mapping: Mapping, suffix: str) -> str:
    matchers = [f'job="{_escape(mapping.job)}"']
    matchers += [f'{k}="{_escape(v)}"' for k, v in mapping.labels_of(spec).items()]
    if mapping.selector.strip():
        matchers.append(mapping.selector.strip().strip("{}"))
    return f"{mapping.histogram}_{suffix}{{{','.join(matchers)}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _by(mapping: Mapping, *extra: str) -> str:
    return f"sum by ({', '.join([*extra, mapping.path_label, mapping.method_label])})"


def duration(seconds: float) -> str:
    """A PromQL duration as Prometheus prints one: 10s, 1m30s, 59s999ms."""
    millis, parts = round(seconds * 1000), []
    for size, unit in ((3_600_000, "h"), (60_000, "m"), (1000, "s"), (1, "ms")):
        if millis >= size:
            parts.append(f"{millis // size}{unit}")
            millis %= size
    return "".join(parts) or "0s"


def _increase(spec: AlarmSpec, mapping: Mapping, suffix: str, *extra: str) -> str:
    window = duration(spec.period)
    return f"{_by(mapping, *extra)} (increase({_selector(spec, mapping, suffix)}[{window}]))"


def statistic_expr(
    spec: AlarmSpec, mapping: Mapping, buckets: Sequence[float] = ()
) -> tuple[str, list[str]]:
    """The alarm's statistic over the period ending at the evaluation time, and its caveats."""
    if spec.statistic == "SampleCount":
        note = (
            "SampleCount is increase() of _count: increase() extrapolates to the period's "
            "edges, so the count is an estimate within about one scrape interval's requests"
        )
        return _increase(spec, mapping, "count"), [note]
    if spec.statistic == "Sum":
        note = "Sum is increase() of _sum, extrapolated to the period's edges like a count"
        return _increase(spec, mapping, "sum"), [note]
    if spec.statistic == "Average":
        note = (
            "Average is Δsum/Δcount: increase() extrapolates a series' sum and count by the same "
            "factor, so the ratio is the mean of the requests scraped in the period, up to the "
            "edge scrapes of a series (a status code) that starts or stops inside it"
        )
        expr = f"{_increase(spec, mapping, 'sum')} / {_increase(spec, mapping, 'count')}"
        return expr, [note]
    q = spec.percentile
    assert q is not None
    inner = _increase(spec, mapping, "bucket", "le")
    return f"histogram_quantile({q:g}, {inner})", [bucket_note(spec, mapping, buckets)]


def bucket_note(spec: AlarmSpec, mapping: Mapping, buckets: Sequence[float]) -> str:
    """Where the threshold falls among the histogram's bucket edges: the resolution stated."""
    threshold = prometheus_threshold(spec, mapping)
    edges = sorted(b for b in buckets if math.isfinite(b))
    unit = mapping.prometheus_unit
    if not edges:
        return (
            f"{spec.statistic} is histogram_quantile(), interpolated linearly inside a "
            "bucket: exact only when the threshold is a bucket edge (edges not known)"
        )
    if any(math.isclose(threshold, e, rel_tol=1e-9) for e in edges):
        return (
            f"{spec.statistic} is histogram_quantile(); the threshold {threshold:g} {unit} is "
            "a bucket edge, so whether the percentile is above it is exact"
        )
    lower = max((e for e in edges if e < threshold), default=0.0)
    upper = min((e for e in edges if e > threshold), default=math.inf)
    return (
        f"{spec.statistic} is histogram_quantile(), interpolated linearly inside a bucket: the "
        f"threshold {threshold:g} {unit} lies in bucket ({lower:g}, {upper:g}] {unit}, so a "
        f"true {spec.statistic} inside that bucket may land on either side (exact only at an "
        "edge)"
    )


def prometheus_threshold(spec: AlarmSpec, mapping: Mapping) -> float:
    """The alarm's threshold in the histogram's unit (counts are counts)."""
    assert spec.threshold is not None
    if spec.statistic == "SampleCount":
        return spec.threshold
    seconds = spec.threshold * UNIT_SECONDS[mapping.cloudwatch_unit]
    return seconds / PROMETHEUS_UNIT_SECONDS[mapping.prometheus_unit]


def breach_expr(spec: AlarmSpec, mapping: Mapping, statistic: str, threshold: float) -> str:
    """The statistic compared with the threshold, with TreatMissingData's empty periods."""
    compared = f"{statistic} {spec.operator} {threshold:.10g}"
    count = _increase(spec, mapping, "count")
    on = f"on ({mapping.path_label}, {mapping.method_label})"
    if spec.treat_missing_data == "breaching":
        # a period without requests is no datapoint to CloudWatch, and breaching here
        absent = f"{_by(mapping)} (absent_over_time({_selector(spec, mapping, 'count')}[{duration(spec.period)}]))"
        return f"({compared}) or {on} ({count} == 0) or {on} {absent}"
    if _empty_breaches(spec, threshold):
        # an empty period reads 0 here but is a missing datapoint to CloudWatch
        return f"({compared}) and {on} ({count} > 0)"
    return compared


def _empty_breaches(spec: AlarmSpec, threshold: float) -> bool:
    """True when a period without requests would breach (0 < floor for counts and sums)."""
    if spec.statistic not in ("SampleCount", "Sum"):
        return False  # 0/0 and histogram_quantile of nothing are NaN: never breaching
    return compare(spec.operator or "", 0.0, threshold)


def _evaluated(spec: AlarmSpec, condition: str) -> tuple[str, float, str]:
    """The condition on CloudWatch's grid, M of N: (expr, for seconds, how in words)."""
    m, n, period = spec.datapoints_to_alarm, spec.evaluation_periods, spec.period
    step = duration(period)
    if m >= n:
        expr = f"last_over_time(({condition})[{duration(period - 0.001)}:{step}])"
        words = (
            f"{n} of {n} periods: the latest period's value on CloudWatch's {step} grid, "
            f"with for: {duration((n - 1) * period)} (exact)"
        )
        return expr, float((n - 1) * period), words
    expr = f"count_over_time(({condition})[{duration(n * period - 0.001)}:{step}]) >= {m}"
    words = (
        f"{m} of {n} periods: count_over_time of the breaching points among the last {n} on "
        f"CloudWatch's {step} grid (exact)"
    )
    return expr, 0.0, words


def missing_data_notes(spec: AlarmSpec) -> list[str]:
    """What TreatMissingData does that a PromQL rule cannot, in words."""
    common = (
        f"empty periods: CloudWatch evaluates the most recent {spec.evaluation_periods} real "
        "datapoints of its evaluation range, looking back past empty periods; the rule counts "
        "an empty period as "
        + ("breaching" if spec.treat_missing_data == "breaching" else "not breaching")
        + ": they differ only when a period without requests is among the last "
        + f"{spec.evaluation_periods}"
    )
    notes = [common]
    if spec.treat_missing_data == "ignore":
        notes.append(
            "ignore: CloudWatch keeps its state through missing data; the rule resolves "
            "(approximate)"
        )
    elif spec.treat_missing_data == "missing":
        notes.append(
            "missing: CloudWatch goes to INSUFFICIENT_DATA (not ALARM) without data, and to "
            "ALARM early when every datapoint left is breaching; the rule reads no data as "
            "not breaching (approximate at the edges of traffic)"
        )
    return notes


def alert_name(alarm: str) -> str:
    """A Prometheus alert name from an alarm name: ``long-request latency`` → LongRequestLatency."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", alarm) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts) or "Alarm"
    return name if not name[0].isdigit() else f"Alarm{name}"
