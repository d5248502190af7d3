"""What Prometheus says about the app's target through its HTTP API (``/api/v1/targets``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cwparity.config import RunConfig
from cwparity.hosts.common import result
from cwparity.hosts.http import get_json, prometheus_session
from cwparity.hosts.live import Layout, job_interval, read_config
from cwparity.results import CheckResult

KIND = "host"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def duration_seconds(text: str) -> float:
    """A Prometheus duration (``15s``, ``1m30s``, ``500ms``) in seconds."""
    parts = _DURATION_PART.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def parse_rfc3339(text: str) -> datetime:
    """Prometheus timestamps carry nanoseconds; Python takes microseconds."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def server_time(session: Any, url: str) -> float:
    """Prometheus's own clock (``time()``), so a skewed harness clock cannot fake staleness."""
    status, body = get_json(session, f"{url}/api/v1/query", params={"query": "time()"})
    if status != 200:
        raise RuntimeError(f"query time() answered HTTP {status}")
    return float(body["data"]["result"][0])


def find_target(active: list[dict[str, Any]], job: str, target: str) -> dict[str, Any] | None:
    for entry in active:
        labels = entry.get("labels") or {}
        discovered = entry.get("discoveredLabels") or {}
        if labels.get("job") != job and discovered.get("job") != job:
            continue
        if target in (labels.get("instance"), discovered.get("__address__")):
            return entry
    return None


def check_target(config: RunConfig, host: Any, lay: Layout, target: str) -> CheckResult:
    """The app's target is up, scraped recently, at the interval its config says."""
    job = config.prometheus.job
    cid = f"host.target[{job}]"
    url = config.prometheus.url
    session = prometheus_session(config.prometheus)
    status, body = get_json(session, f"{url}/api/v1/targets", params={"state": "active"})
    if status != 200:
        return result(cid, KIND, job, False, f"GET /api/v1/targets answered HTTP {status}")
    entry = find_target(body["data"]["activeTargets"], job, target)
    if entry is None:
        return result(
            cid, KIND, job, False, f"Prometheus has no active target {target} in job {job}"
        )
    written = job_interval(read_config(host, lay.config_file), job)
    served = entry.get("scrapeInterval", written)
    age = server_time(session, url) - parse_rfc3339(entry["lastScrape"]).timestamp()
    interval = duration_seconds(served)
    max_age = config.hosts.prometheus.max_scrape_age or 3 * interval + 1
    observed = {
        "health": entry.get("health"),
        "last_scrape_age_s": round(age, 3),
        "scrape_interval": served,
        "config_interval": written,
    }
    if entry.get("health") != "up":
        error = entry.get("lastError") or "no error given"
        return result(
            cid, KIND, job, False, f"target {target} is {entry.get('health')}: {error}", observed
        )
    if age > max_age:
        return result(
            cid, KIND, job, False, f"last scrape {age:.1f}s ago (bound {max_age:g}s)", observed
        )
    if duration_seconds(written) != interval:
        return result(
            cid,
            KIND,
            job,
            False,
            f"scrape interval {served} differs from the config's {written}",
            observed,
        )
    wanted = config.prometheus.scrape_interval
    if wanted is not None and abs(wanted - interval) > 1e-9:
        return result(
            cid,
            KIND,
            job,
            False,
            f"scrape interval {served} differs from prometheus.scrape_interval {wanted:g}s",
            observed,
        )
    return result(
        cid, KIND, job, True, f"{target} up, scraped {age:.1f}s ago every {served}", observed
    )
