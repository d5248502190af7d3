"""Alarms on both sides: CloudWatch's alarms and their datapoints; Prometheus's rules and
``ALERTS``; the alerts Alertmanager holds. Reads only; nothing here judges.

``read_alarms`` is written for real CloudWatch (DescribeAlarms pages with NextToken, at most 100
names per call, composite alarms) and tested with botocore's Stubber, since moto neither pages
nor stores composite alarms.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError
from prometheus_api_client import PrometheusApiClientException

from cwparity.alarms.model import (
    AlarmSpec,
    Kind,
    Point,
    composite_alarm,
    metric_alarm,
    referenced_alarms,
)
from cwparity.config import redact_url
from cwparity.errors import SourceError
from cwparity.sources import cloudwatch
from cwparity.sources.prometheus import PrometheusSource
from cwparity.window import Window

log = logging.getLogger(__name__)

#: DescribeAlarms takes at most 100 AlarmNames per call
NAMES_PER_CALL = 100


def read_alarms(
    client: Any,
    namespace: str | None,
    metric_name: str | None,
    *,
    names: Sequence[str] = (),
    prefix: str = "",
) -> list[AlarmSpec]:
    """Every alarm on ``namespace``/``metric_name`` (all pages), composite ones that refer to
    them, and every alarm in ``names`` whatever it watches (the judge says why it cannot
    judge one). With no namespace and metric, every alarm."""
    found = list(_describe(client, names, prefix))
    if names:
        return found
    return on_metric(found, namespace, metric_name)


def on_metric(
    alarms: Sequence[AlarmSpec], namespace: str | None, metric_name: str | None
) -> list[AlarmSpec]:
    """The alarms that read the metric, plus composite alarms built on one of them."""
    if not namespace and not metric_name:
        return list(alarms)
    wanted = f"{namespace}/{metric_name}"
    kept = [
        a
        for a in alarms
        if (a.kind is Kind.METRIC and f"{a.namespace}/{a.metric_name}" == wanted)
        or wanted in a.reads
    ]
    names = {a.name for a in kept}
    composites = [
        a
        for a in alarms
        if a.kind is Kind.COMPOSITE and names & set(referenced_alarms(a.expression))
    ]
    return kept + composites


def _describe(client: Any, names: Sequence[str], prefix: str) -> Iterable[AlarmSpec]:
    base: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    if prefix:
        base["AlarmNamePrefix"] = prefix
    calls = (
        [
            {**base, "AlarmNames": list(names[i : i + NAMES_PER_CALL])}
            for i in range(0, len(names), NAMES_PER_CALL)
        ]
        if names
        else [base]
    )
    paginator = client.get_paginator("describe_alarms")
    try:
        for kwargs in calls:
            for page in paginator.paginate(**kwargs):
                yield from (metric_alarm(raw) for raw in page.get("MetricAlarms", []))
                yield from (composite_alarm(raw) for raw in page.get("CompositeAlarms", []))
    except (ClientError, BotoCoreError) as err:
        raise cloudwatch._source_error(client, err) from None


def fetch_datapoints(client: Any, spec: AlarmSpec, window: Window) -> list[Point]:
    """The alarm's own datapoints (its statistic, period and unit) over ``window``."""
    metric = {
        "Namespace": spec.namespace,
        "MetricName": spec.metric_name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions.items()],
    }
    stat: dict[str, Any] = {"Metric": metric, "Period": spec.period, "Stat": spec.statistic}
    if spec.unit:
        stat["Unit"] = spec.unit
    query = {"Id": "alarm", "MetricStat": stat, "ReturnData": True}
    points = []
    for result in cloudwatch._paged_results(client, [query], window):
        for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
            start = stamp.astimezone(UTC)
            if start.timestamp() % spec.period:
                raise SourceError(
                    f"CloudWatch returned alarm {spec.name!r} datapoints off the "
                    f"{spec.period}s grid (first: {start.isoformat()})"
                )
            if window.start <= start < window.end:
                points.append(Point(start, float(value)))
    return sorted(points, key=lambda p: p.start)


# --- Prometheus: rules and ALERTS --------------------------------------------------------


@dataclass(frozen=True)
class LoadedRule:
    """One alerting rule as Prometheus's /api/v1/rules reports it."""

    name: str
    query: str
    duration: float
    labels: dict[str, str]
    group: str
    file: str
    interval: float
    health: str = "ok"
    last_error: str = ""


def loaded_rules(prometheus: PrometheusSource) -> list[LoadedRule]:
    """Every alerting rule Prometheus evaluates, with its group's evaluation interval."""
    data = prometheus.api_get("/api/v1/rules", type="alert") or {}
    rules = []
    for group in data.get("groups") or []:
        for rule in group.get("rules") or []:
            rules.append(
                LoadedRule(
                    name=str(rule.get("name")),
                    query=str(rule.get("query")),
                    duration=float(rule.get("duration") or 0),
                    labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
                    group=str(group.get("name")),
                    file=str(group.get("file")),
                    interval=float(group.get("interval") or 0),
                    health=str(rule.get("health") or ""),
                    last_error=str(rule.get("lastError") or ""),
                )
            )
    return rules


@dataclass(frozen=True)
class Series:
    """One series of a Prometheus answer: its labels and (unix time, value) samples."""

    labels: dict[str, str]
    samples: list[tuple[float, float]] = field(default_factory=list)


def firing_samples(
    prometheus: PrometheusSource, alertname: str, start: float, end: float
) -> list[Series]:
    """Every raw ``ALERTS{alertstate="firing"}`` sample of ``alertname`` in [start, end]:
    the timestamps are the rule's own evaluations."""
    span = math.ceil(end - start) + 1
    name = alertname.replace("\\", "\\\\").replace('"', '\\"')
    query = f'ALERTS{{alertname="{name}",alertstate="firing"}}[{span}s]'
    return _series(_query(prometheus, query, {"time": f"{end:.3f}"}), start)


def raw_series(
    prometheus: PrometheusSource, selector: str, start: float, end: float
) -> list[Series]:
    """Every raw sample of the series ``selector`` matches in [start, end], with their labels."""
    span = math.ceil(end - start) + 1
    return _series(_query(prometheus, f"{selector}[{span}s]", {"time": f"{end:.3f}"}), start)


def query_range(
    prometheus: PrometheusSource, expr: str, start: float, end: float, step: float
) -> list[Series]:
    """``expr`` evaluated by Prometheus at start, start + step, … end."""
    params = {"start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
    try:
        answer = prometheus._session.get(
            f"{prometheus.config.url}/api/v1/query_range",
            params={"query": expr, **params},
            timeout=30,
        )
    except requests.RequestException as err:
        raise SourceError(f"{prometheus.where}: {_short(err)}") from None
    if answer.status_code != 200:
        raise SourceError(f"{prometheus.where}: query_range {expr!r}: {_error_text(answer)}")
    return _series(answer.json()["data"]["result"], start)


def _query(prometheus: PrometheusSource, query: str, params: dict[str, str]) -> list[Any]:
    try:
        return list(prometheus.client.custom_query(query, params=params))
    except PrometheusApiClientException as err:
        raise SourceError(f"{prometheus.where}: query {query!r} failed: {_short(err)}") from None
    except requests.RequestException as err:
        raise SourceError(f"{prometheus.where}: {_short(err)}") from None


def _series(result: list[Any], start: float) -> list[Series]:
    out = []
    for entry in result:
        samples = [(float(t), float(v)) for t, v in entry.get("values", []) if float(t) >= start]
        out.append(Series(dict(entry.get("metric") or {}), samples))
    return out


def _error_text(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("error"))[:200]
    except ValueError:
        return f"HTTP {answer.status_code}"


def _short(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return redact_url(text)[:300]


# --- Alertmanager ---------------------------------------------------------------------------


class AlertmanagerWatch:
    """Polls Alertmanager's ``/api/v2/alerts`` in a thread while the load runs.

    Alertmanager lists an alert only while it is active, so the proof that an alert reached it
    is read while it fires: each alert's labels and the first and last time it was listed are
    written to ``path`` when the watch stops.
    """

    def __init__(self, url: str, path: Path, interval: float = 1.0) -> None:
        self.url = url.rstrip("/")
        self.path = path
        self.interval = interval
        self.seen: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alertmanager-watch", daemon=True)

    def __enter__(self) -> AlertmanagerWatch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and write what was seen (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self.save()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except (requests.RequestException, ValueError) as err:
                # the last few are kept: a long wait must not grow the list without bound
                self.errors = [*self.errors[-9:], f"{time.time():.0f}: {_short(err)}"]
            self._stop.wait(self.interval)

    def poll(self) -> None:
        answer = requests.get(f"{self.url}/api/v2/alerts", timeout=5)
        answer.raise_for_status()
        now = time.time()
        for alert in answer.json():
            key = alert.get("fingerprint") or json.dumps(alert.get("labels"), sort_keys=True)
            entry = self.seen.setdefault(
                key,
                {
                    "labels": alert.get("labels") or {},
                    "startsAt": alert.get("startsAt"),
                    "first_seen": now,
                    "state": (alert.get("status") or {}).get("state"),
                },
            )
            entry["last_seen"] = now

    def save(self) -> None:
        record = {
            "url": redact_url(self.url),
            "alerts": list(self.seen.values()),
            "errors": self.errors[-5:],
            "saved_at": datetime.now(UTC).isoformat(),
        }
        self.path.write_text(json.dumps(record, indent=2))


def read_watch(path: Path) -> dict[str, Any] | None:
    """What an ``AlertmanagerWatch`` recorded for a run, if one ran."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
