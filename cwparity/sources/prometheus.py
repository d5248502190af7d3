"""Prometheus: the histogram's raw counter samples over a window, into arrays, nothing else.

Raw samples (a range-vector instant query), not ``increase()`` or ``rate()``: those extrapolate to
the window's edges, and a parity check needs to know exactly which scrapes it is standing on.
How a large window is cut into queries and parsed is in sources/prometheus_raw.py.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import orjson
import requests
from prometheus_api_client import PrometheusConnect

from cwparity.config import PrometheusConfig, parse_duration, redact_url
from cwparity.errors import SourceError
from cwparity.samples import SAMPLE_COLUMNS, SeriesSet
from cwparity.sources import prometheus_raw as raw
from cwparity.sources.prometheus_http import (
    describe_failure,
    mount_adapter,
    prometheus_session,
    refused,
)
from cwparity.window import Window

log = logging.getLogger(__name__)

__all__ = ["SAMPLE_COLUMNS", "PrometheusSource"]


class PrometheusSource:
    """A connection to one Prometheus, with the config's auth, label names and selector."""

    def __init__(self, config: PrometheusConfig) -> None:
        self.config = config
        # the PromQL client and the API calls get the same auth and TLS; the client keeps its own
        # retrying adapter (re-mounted with the configured server name), the API calls fail fast
        query_session = prometheus_session(config)
        self.client = PrometheusConnect(url=config.url, session=query_session, timeout=30)
        retries = getattr(query_session.get_adapter(config.url), "max_retries", 0)
        mount_adapter(query_session, config, retries)
        self._session = prometheus_session(config)

    @property
    def where(self) -> str:
        return f"Prometheus {redact_url(self.config.url)}"

    def api_get(self, path: str, timeout: float = 10, **params: Any) -> Any:
        """GET a Prometheus HTTP API path outside PromQL (status, targets); returns ``data``."""
        try:
            answer = self._session.get(f"{self.config.url}{path}", params=params, timeout=timeout)
        except requests.RequestException as err:
            raise SourceError(f"{self.where}: {describe_failure(err)}") from None
        if answer.status_code in (401, 403):
            raise SourceError(
                f"{self.where}: {refused(answer.status_code, answer.text, self.config)}"
            )
        if answer.status_code != 200:
            raise SourceError(f"{self.where}{path}: HTTP {answer.status_code}")
        return answer.json().get("data")

    def series(self, match: str, start: float, end: float) -> list[dict[str, str]]:
        """Label sets of every series matching ``match`` with samples in [start, end]
        (``/api/v1/series``)."""
        params: dict[str, Any] = {"match[]": match, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        return list(self.api_get("/api/v1/series", **params) or [])

    def label_values(self, label: str, match: str, start: float, end: float) -> list[str]:
        """Values ``label`` takes on the matching series in [start, end] (``/api/v1/label/…``)."""
        params: dict[str, Any] = {"match[]": match, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        return sorted(self.api_get(f"/api/v1/label/{label}/values", **params) or [])

    def tsdb_status(self) -> dict[str, Any]:
        """Head block statistics and top cardinalities (``/api/v1/status/tsdb``)."""
        return dict(self.api_get("/api/v1/status/tsdb") or {})

    def runtime_info(self) -> dict[str, Any]:
        """Retention, series in the head, start time (``/api/v1/status/runtimeinfo``)."""
        return dict(self.api_get("/api/v1/status/runtimeinfo") or {})

    def own_metrics(self, names: tuple[str, ...]) -> dict[str, float]:
        """Prometheus's own metrics (its ``/metrics`` page, whether or not it scrapes itself):
        each of ``names`` summed over its label sets; a histogram's ``_sum``/``_count`` by name."""
        from prometheus_client.parser import text_string_to_metric_families

        try:
            answer = self._session.get(f"{self.config.url}/metrics", timeout=10)
        except requests.RequestException as err:
            raise SourceError(f"{self.where}: {describe_failure(err)}") from None
        if answer.status_code != 200:
            raise SourceError(f"{self.where}/metrics: HTTP {answer.status_code}")
        found: dict[str, float] = {}
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                if sample.name in names:
                    found[sample.name] = found.get(sample.name, 0.0) + float(sample.value)
        return found

    def instant(
        self, query: str, at: float | None = None, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """An instant query's vector (``/api/v1/query``); an aggregate over a large job may
        need a ``timeout`` longer than the default."""
        params = {"query": query} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = self.api_get("/api/v1/query", timeout=timeout, **params) or {}
        return list(data.get("result") or [])

    def build_info(self) -> dict[str, Any]:
        """Also the preflight: fails with one line when Prometheus cannot be reached."""
        return dict(self.api_get("/api/v1/status/buildinfo") or {})

    def job_targets(self) -> list[dict[str, Any]]:
        targets = self.api_get("/api/v1/targets", state="active") or {}
        return [
            t
            for t in targets.get("activeTargets", [])
            if t.get("labels", {}).get("job") == self.config.job
        ]

    def wait_for_fresh_scrape(self, timeout: float) -> bool:
        """Wait until every target of the job was scraped, healthy, after this call began.

        Before load starts, so the window's start edge has a sample with none of the load in
        it (a target just restarted may not have been scraped yet). False at the timeout.
        """
        import time
        from datetime import datetime

        began = time.time()
        while time.time() - began < timeout:
            targets = self.job_targets()
            if not targets:
                return False
            if all(
                t.get("health") == "up"
                and datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00")).timestamp()
                > began
                for t in targets
            ):
                return True
            time.sleep(0.2)
        return False

    def scrape_interval(self) -> float:
        """From config, else from the job's active targets (Prometheus ≥ 2.41 reports it)."""
        if self.config.scrape_interval:
            return self.config.scrape_interval
        for target in self.job_targets():
            if target.get("scrapeInterval"):
                return parse_duration(target["scrapeInterval"])
        raise SourceError(
            f"{self.where}: no active target for job {self.config.job!r}; "
            "set prometheus.scrape_interval or check prometheus.job"
        )

    def selector(self, routes: Sequence[tuple[str, str]] | None = None) -> str:
        """The job's series (and ``prometheus.selector``'s); with ``routes`` ((method, path)
        pairs), only theirs. Every value is escaped: a job or path may hold any character."""
        matchers = [f"job={raw.promql_string(self.config.job)}"]
        if self.config.selector.strip():
            matchers.append(self.config.selector.strip().strip("{}"))
        if routes:
            cfg = self.config
            matchers += raw.route_matchers(cfg.path_label, cfg.method_label, routes)
        return "{" + ",".join(matchers) + "}"

    def raw_samples(
        self,
        suffix: str,
        window: Window,
        lookback: float,
        pad: float,
        interval: float,
        routes: Sequence[tuple[str, str]] | None = None,
    ) -> SeriesSet:
        """Every raw sample of ``<histogram>_<suffix>`` from start - lookback to end + pad,
        fetched in bounded chunks (sources/prometheus_raw.py), as arrays; with ``routes``
        ((method, path) pairs), only those routes' series are listed and fetched, so a job's
        other paths cost nothing however many there are."""
        start, end = window.start.timestamp() - lookback, window.end.timestamp() + pad
        metric = f"{self.config.histogram}_{suffix}{self.selector(routes)}"
        listed = self._list_series(metric, start, end)
        limits = raw.Limits(self.config.max_samples_per_query, self.config.max_concurrency)
        counts = raw.count_by_path(listed, self.config.path_label)
        chunks = raw.plan(counts, start, end, interval, limits)
        results = raw.fetch_chunks(chunks, lambda c: self._chunk(metric, c), limits.concurrency)
        # latency sums are compared in seconds; counts are counts
        scale = 0.001 if suffix == "sum" and self.config.unit == "milliseconds" else 1.0
        return raw.merge(chunks, results, self._label_row, scale)

    def _label_row(self, labels: dict[str, str]) -> dict[str, str]:
        return {
            "series": raw.series_name(labels),
            "path": labels.get(self.config.path_label, ""),
            "method": labels.get(self.config.method_label, "").upper(),
            "le": labels.get("le", ""),
        }

    def _list_series(self, metric: str, start: float, end: float) -> list[dict[str, Any]]:
        params = {"match[]": metric, "start": f"{start:.3f}", "end": f"{end:.3f}"}
        return list(self._post_api("/api/v1/series", params, metric) or [])

    def _chunk(self, metric: str, chunk: raw.Chunk):
        selector = metric
        if chunk.paths is not None:
            selector = metric[:-1] + "," + raw.path_matcher(self.config.path_label, chunk.paths)
            selector += "}"
        milliseconds = max(1, math.ceil((chunk.end - chunk.start) * 1000))
        query = f"{selector}[{milliseconds}ms]"
        payload = self._post_api(
            "/api/v1/query", {"query": query, "time": f"{chunk.end:.3f}"}, query, raw_payload=True
        )
        try:
            return raw.parse_matrix(payload)
        except ValueError as err:
            raise SourceError(f"{self.where}: query {query[:200]!r} failed: {err}") from None

    def _post_api(self, path: str, form: dict[str, str], what: str, raw_payload: bool = False):
        """POST a form to the HTTP API (long matchers do not fit a URL); ``data`` or the body."""
        try:
            answer = self._session.post(f"{self.config.url}{path}", data=form, timeout=120)
        except requests.RequestException as err:
            raise SourceError(f"{self.where}: {describe_failure(err)}") from None
        if answer.status_code in (401, 403):
            raise SourceError(
                f"{self.where}: {refused(answer.status_code, answer.text, self.config)}"
            )
        if answer.status_code != 200:
            detail = _error_text(answer.content)
            raise SourceError(
                f"{self.where}: {what[:200]!r} failed: HTTP {answer.status_code} {detail}".rstrip()
            )
        if raw_payload:
            return answer.content
        return orjson.loads(answer.content).get("data")


def _error_text(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return redact_url(str(data.get("error", "")))[:300] if isinstance(data, dict) else ""
