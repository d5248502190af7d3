"""What Prometheus says about the app's target through its HTTP API (``/api/v1/targets``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cwparity.config import RunConfig
from cwparity.hosts.common import CannotJudge, result
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
    chosen = [entry for entry in job_targets(active, job) if target in target_names(entry)]
    return chosen[0] if chosen else None


def job_targets(active: list[dict[str, Any]], job: str) -> list[dict[str, Any]]:
    """The active targets of ``job`` (by its label, or as discovered before relabelling)."""
    return [entry for entry in active if job in target_jobs(entry)]


def target_jobs(entry: dict[str, Any]) -> tuple[str, str]:
    return (
        str((entry.get("labels") or {}).get("job")),
        str((entry.get("discoveredLabels") or {}).get("job")),
    )


def target_names(entry: dict[str, Any]) -> tuple[str, str]:
    return (
        str((entry.get("labels") or {}).get("instance")),
        str((entry.get("discoveredLabels") or {}).get("__address__")),
    )


def check_target(config: RunConfig, host: Any, lay: Layout, target: str | None) -> CheckResult:
    """The app's target (or, with none configured, every target of the job) is up, scraped
    recently, at the interval its config says."""
    job = config.prometheus.job
    cid = f"host.target[{job}]"
    url = config.prometheus.url
    session = prometheus_session(config.prometheus)
    status, body = get_json(session, f"{url}/api/v1/targets", params={"state": "active"})
    if status != 200:
        return result(cid, KIND, job, False, f"GET /api/v1/targets answered HTTP {status}")
    entries = job_targets(body["data"]["activeTargets"], job)
    if target:
        entries = [entry for entry in entries if target in target_names(entry)][:1]
    if not entries:
        where = f"target {target} " if target else "target "
        return result(cid, KIND, job, False, f"Prometheus has no active {where}in job {job}")
    named = target or f"{len(entries)} target{'s' if len(entries) > 1 else ''} of {job}"
    down = [e for e in entries if e.get("health") != "up"]
    if down:
        return result(cid, KIND, job, False, describe_down(down, target), scrape_facts(down[0]))
    age = server_time(session, url) - min(last_scrape(entry) for entry in entries)
    return judge_scrapes(config, cid, named, entries, age, written_interval(host, lay, job))


def describe_down(down: list[dict[str, Any]], target: str | None) -> str:
    first = down[0]
    name = target or target_names(first)[0]
    error = first.get("lastError") or "no error given"
    more = f" (and {len(down) - 1} more down)" if len(down) > 1 else ""
    return f"target {name} is {first.get('health')}: {error}{more}"


def last_scrape(entry: dict[str, Any]) -> float:
    return parse_rfc3339(entry["lastScrape"]).timestamp()


def scrape_facts(entry: dict[str, Any]) -> dict[str, Any]:
    return {"health": entry.get("health"), "scrape_interval": entry.get("scrapeInterval")}


def written_interval(host: Any, lay: Layout, job: str) -> tuple[str | None, str]:
    """The job's interval as its config file says (None and why when it cannot be read)."""
    try:
        written = job_interval(read_config(host, lay.config_file), job)
        duration_seconds(written)
    except CannotJudge as err:
        return None, str(err)
    except ValueError:
        return None, f"the config's scrape_interval {written!r} is not a duration"
    return written, ""


def judge_scrapes(
    config: RunConfig,
    cid: str,
    named: str,
    entries: list[dict[str, Any]],
    age: float,
    written: tuple[str | None, str],
) -> CheckResult:
    """Every chosen target is up: judge how recent its scrapes are and at which interval."""
    job = config.prometheus.job
    interval_text, unreadable = written
    served = {str(e["scrapeInterval"]) for e in entries if e.get("scrapeInterval")}
    served = served or ({interval_text} if interval_text else set())
    if not served:  # Prometheus < 2.41 does not report it
        raise CannotJudge(f"{named} up, but no scrape interval to judge its age by: {unreadable}")
    interval = max(duration_seconds(text) for text in served)
    max_age = config.hosts.prometheus.max_scrape_age or 3 * interval + 1
    observed = {
        "health": "up",
        "targets": len(entries),
        "last_scrape_age_s": round(age, 3),
        "scrape_interval": ", ".join(sorted(served)),
        "config_interval": interval_text,
    }
    if age > max_age:
        return result(
            cid, KIND, job, False, f"last scrape {age:.1f}s ago (bound {max_age:g}s)", observed
        )
    every = ", ".join(sorted(served))
    if interval_text is not None and any(
        duration_seconds(interval_text) != duration_seconds(t) for t in served
    ):
        reason = f"scrape interval {every} differs from the config's {interval_text}"
        return result(cid, KIND, job, False, reason, observed)
    wanted = config.prometheus.scrape_interval
    if wanted is not None and any(abs(wanted - duration_seconds(t)) > 1e-9 for t in served):
        reason = f"scrape interval {every} differs from prometheus.scrape_interval {wanted:g}s"
        return result(cid, KIND, job, False, reason, observed)
    reason = f"{named} up, scraped {age:.1f}s ago every {every}"
    if unreadable:
        # up and recent were judged from the API; the file's interval could not be compared
        reason += f"; interval not compared with the config ({unreadable})"
    return result(cid, KIND, job, True, reason, observed)
