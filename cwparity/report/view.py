"""What the report shows, as plain values: checks grouped by kind, findings, host checks, load.

Checks come from results.json and the engine adds kinds over time, so everything here reads
them defensively: a missing field, an unknown kind or an odd ``observed`` shape renders as
generic text and never stops the report.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

KNOWN_STATUSES = ("pass", "fail", "error", "skip", "warn")
HOST_KINDS = ("host", "grafana", "security")
FINDING_KINDS = ("bias", "lint", "settle", "lag")

KIND_TITLES = {
    "run": "Run",
    "settle": "Settling (late data)",
    "count": "Request counts: CloudWatch vs Prometheus",
    "count_truth": "Request counts: each backend vs what Locust sent",
    "mean_latency": "Mean latency: CloudWatch vs Prometheus",
    "bias": "Bias",
    "lint": "Lint",
    "lag": "Lag",
    "coverage": "Coverage: every route on both sides",
    "cardinality": "Cardinality of the app's series",
    "alarm": "Alarms: CloudWatch alarm vs Prometheus rule",
    "alarm_rules": "Alarm rules files (promtool)",
    "alertmanager": "Alerts reaching Alertmanager",
    "host": "Monitoring host",
    "grafana": "Grafana",
    "security": "Security",
}

FINDING_TEXT = {
    "bias": "One backend reads consistently higher or lower than the other. A steady bias that "
    "is inside tolerance may be fine; one that grows with load usually means a backend drops or "
    "double-counts data.",
    "lint": "A problem in how the metrics are defined or labelled (names, units, label values) "
    "that makes dashboards or alerts built on them misleading, even where the numbers agree.",
    "settle": "CloudWatch publishes data late and in batches. cwparity judges a period only "
    "once its data is older than the minimum data age and nothing new arrived for it over the "
    "quiet span (longer than the gaps between batches); a shortfall that is still shrinking is "
    "lag, not loss, so a window still changing at the deadline is not judged.",
    "cardinality": "A label whose values grow without bound (IDs in a path) multiplies the "
    "series Prometheus keeps, its memory and its disk, with every new value.",
    "lag": "How late data arrives in one backend compared with the other. Alerts built on the "
    "slower backend fire later by about this much.",
}

ORDER = (
    "run",
    "settle",
    "coverage",
    "count",
    "count_truth",
    "mean_latency",
    "alarm",
    "alarm_rules",
    "alertmanager",
    "host",
    "grafana",
    "security",
)


def kind_title(kind: str) -> str:
    return KIND_TITLES.get(kind, kind.replace("_", " ").capitalize() or "Other")


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def normalize_check(check: Any) -> dict[str, Any]:
    """A check with every field the template reads, whatever shape it arrived in."""
    data: dict[str, Any] = check if isinstance(check, dict) else {"reason": _text(check)}
    status = str(data.get("status") or "unknown").lower()
    observed = data.get("observed")
    if isinstance(observed, dict):
        observed_rows = [(str(k), _text(v)) for k, v in observed.items()]
    elif observed in (None, "", [], {}):
        observed_rows = []
    else:
        observed_rows = [("value", _text(observed))]
    tolerance = data.get("tolerance")
    details: dict[str, Any] = data["details"] if isinstance(data.get("details"), dict) else {}
    return {
        "id": str(data.get("id") or "(unnamed check)"),
        "kind": str(data.get("kind") or "other"),
        "subject": str(data.get("subject") or ""),
        "scope": str(data.get("scope") or "window"),
        "status": status,
        "status_class": status if status in KNOWN_STATUSES else "unknown",
        "reason": str(data.get("reason") or ""),
        "observed": observed_rows,
        "tolerance": _tolerance(tolerance),
        "details": [(str(k), _text(v)) for k, v in details.items() if k != "finding"],
        "finding": details.get("finding"),
    }


def _tolerance(tolerance: Any) -> dict[str, str] | None:
    if not tolerance:
        return None
    if not isinstance(tolerance, dict):
        return {"bound": _text(tolerance), "unit": "", "origin": "", "detail": ""}
    return {
        "bound": _text(tolerance.get("bound")),
        "unit": str(tolerance.get("unit") or ""),
        "origin": str(tolerance.get("origin") or ""),
        "detail": str(tolerance.get("detail") or ""),
    }


def _kind_key(kind: str) -> tuple[int, str]:
    return (ORDER.index(kind) if kind in ORDER else len(ORDER), kind)


def group_by_kind(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for check in checks:
        groups.setdefault(check["kind"], []).append(check)
    return [
        {
            "kind": kind,
            "title": kind_title(kind),
            "checks": groups[kind],
            "counts": {s: sum(1 for c in groups[kind] if c["status"] == s) for s in KNOWN_STATUSES},
            "has_problem": any(c["status"] in ("fail", "error") for c in groups[kind]),
        }
        for kind in sorted(groups, key=_kind_key)
    ]


def _is_period(scope: str) -> bool:
    """A per-period check's scope is its period's start; anything else is window-level."""
    try:
        datetime.fromisoformat(scope)
    except ValueError:
        return False
    return True


def check_sections(raw_checks: list[Any]) -> dict[str, Any]:
    """Window-level checks first, then per-period ones, each grouped by kind; host checks apart."""
    checks = [normalize_check(c) for c in raw_checks]
    host = [c for c in checks if c["kind"] in HOST_KINDS]
    rest = [c for c in checks if c["kind"] not in HOST_KINDS]
    period = [c for c in rest if _is_period(c["scope"])]
    window = [c for c in rest if not _is_period(c["scope"])]
    return {
        "all": checks,
        "window": group_by_kind(window),
        "period": group_by_kind(period),
        "period_count": len(period),
        "period_problem": any(c["status"] in ("fail", "error") for c in period),
        "host": group_by_kind(host),
        "problems": [c for c in checks if c["status"] in ("fail", "error")],
    }


def findings(checks: list[dict[str, Any]], run: dict[str, Any]) -> list[dict[str, Any]]:
    """Checks that are findings (bias, lint, settle, lag, details.finding, any WARN), in plain words."""
    found = []
    explained: set[str] = set()
    for check in checks:
        finding = check["finding"]
        if check["kind"] not in FINDING_KINDS and not finding and check["status"] != "warn":
            continue  # a warning of any kind is a finding: it is why the banner says "see Findings"
        # a structured finding (a dict) is shown as facts under the reason, which is the words
        text = finding if isinstance(finding, str) and finding else check["reason"]
        facts = (
            [(str(k), _text(v)) for k, v in finding.items()] if isinstance(finding, dict) else []
        )
        meaning = "" if check["kind"] in explained else FINDING_TEXT.get(check["kind"], "")
        explained.add(check["kind"])
        found.append(
            {
                "title": f"{kind_title(check['kind'])}: {check['subject'] or check['id']}",
                "status_class": check["status_class"],
                "status": check["status"],
                "text": _text(text),
                "facts": facts,
                "meaning": meaning,
                "id": check["id"],
            }
        )
    settle = run.get("settle")
    if isinstance(settle, dict):  # the record's numbers, also beside a not-settled ERROR
        found.append(_settle_finding(settle))
    return found


def _settle_finding(settle: dict[str, Any]) -> dict[str, Any]:
    """How the late-data wait ended and why (``run.settle``), as a finding with its numbers."""
    settled = bool(settle.get("settled"))
    polls, waited = settle.get("polls"), settle.get("waited_s")
    why = settle.get("why")
    if why:
        text = f"{'Settled' if settled else 'Not settled'} after {polls} polls ({waited} s): {why}."
    elif settled:
        text = f"The data stopped changing after {polls} polls ({waited} s)."
    else:
        text = f"The data was still changing after {polls} polls ({waited} s): not judged."
    facts = [
        (label, _fact(settle[key]))
        for key, label in SETTLE_FACTS.items()
        if settle.get(key) is not None and settle.get(key) != []
    ]
    return {
        "title": "Lag: CloudWatch's late data",
        "status_class": "pass" if settled else "error",
        "status": "settled" if settled else "not settled",
        "text": _text(text),
        "facts": facts,
        "meaning": FINDING_TEXT["settle"],
        "id": "run.settle",
    }


def _fact(value: Any) -> str:
    if isinstance(value, list):  # the shortfall per poll
        return " → ".join(_text(item) for item in value)
    return _text(value)


SETTLE_FACTS = {
    "ended": "ended",
    "polls": "polls",
    "waited_s": "waited (s)",
    "quiet_span_s": "quiet span needed (s)",
    "quiet_for_s": "quiet for (s)",
    "min_data_age_s": "minimum data age (s)",
    "min_data_age_used_s": "minimum data age used (s, learned from late data)",
    "shortfall": "CloudWatch shortfall vs Prometheus, per poll",
    "shortfall_trend": "shortfall trend",
    "deadline_s": "deadline (s)",
}


def banner(document: dict[str, Any], problems: list[dict[str, Any]]) -> dict[str, Any]:
    """GO / NO-GO and the reason in one sentence."""
    verdict = str(document.get("verdict") or "error")
    summary = document.get("summary") or {}
    if verdict == "pass":
        reason = f"all {summary.get('pass', 0)} judged checks are within tolerance"
    elif verdict == "fail":
        reason = f"{summary.get('fail', 0)} check(s) are outside tolerance"
    else:
        reason = "the run could not be judged completely"
    run = document.get("run") if isinstance(document.get("run"), dict) else {}
    where = run.get("interrupted") if isinstance(run, dict) else None
    if isinstance(where, dict):
        reason = (
            f"the run was interrupted ({where.get('signal')} during {where.get('phase')}): "
            "a partial record, not a verdict"
        )
    if summary.get("warn"):
        reason += f"; {summary['warn']} warning(s), see Findings"
    return {
        "go": verdict == "pass",
        "verdict": verdict,
        "verdict_class": verdict if verdict in ("pass", "fail", "error") else "error",
        "reason": reason,
        "top": problems[:5],
        "more": max(0, len(problems) - 5),
    }
