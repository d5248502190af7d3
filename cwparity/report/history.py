"""history.jsonl: one line per run, next to the run folders, so a report can show the trend.

A line holds the run's id (its folder name), time, verdict, summary, pass/fail counts per check
kind and the report's path relative to the history file. Recording is idempotent: a run whose id
is already in the file is not appended again, so ``cwparity report RUN_DIR`` (which re-renders
through the same ``write_all``) never adds a duplicate line.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cwparity.report.results_json import dumps_strict

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
TREND_RUNS = 20
STATUSES = ("pass", "fail", "error", "skip", "warn")


def history_path(run_dir: Path) -> Path:
    """The history file of the reports folder that holds ``run_dir``."""
    return run_dir.resolve().parent / HISTORY_FILE


def run_time(document: dict[str, Any]) -> str:
    run: dict[str, Any] = document["run"] if isinstance(document.get("run"), dict) else {}
    return str(run.get("started_at") or run.get("finished_at") or "")


def kind_counts(checks: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per check kind, how many checks ended in each status (only statuses that occur)."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for check in checks:
        if not isinstance(check, dict):
            continue
        kind = str(check.get("kind") or "unknown")
        status = str(check.get("status") or "unknown")
        counts[kind][status] = counts[kind].get(status, 0) + 1
    return dict(counts)


def entry_for(run_dir: Path, document: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = document["run"] if isinstance(document.get("run"), dict) else {}
    return {
        "run_id": run_dir.name,
        "time": run_time(document),
        "name": run.get("name"),
        "mode": run.get("mode"),
        "verdict": document.get("verdict"),
        "exit_code": document.get("exit_code"),
        # the phase and signal that cut the run short (None: it ran to the end)
        "interrupted": run.get("interrupted"),
        "summary": document.get("summary") or {},
        "kinds": kind_counts(document.get("checks") or []),
        "report": f"{run_dir.name}/report.html",
        "schema_version": document.get("schema_version"),
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every readable line of the history file; a damaged line is skipped, not fatal."""
    if not path.exists():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            log.warning("%s:%d: not a JSON line, skipped", path, number)
            continue
        if isinstance(entry, dict) and entry.get("run_id"):
            entries.append(entry)
    return entries


def record_history(run_dir: Path, document: dict[str, Any]) -> bool:
    """Append this run's line unless its id is already there; True when a line was added."""
    path = history_path(run_dir)
    known = {entry["run_id"] for entry in read_history(path)}
    if run_dir.name in known:
        return False
    line = dumps_strict(entry_for(run_dir, document), sort_keys=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return True


def trend(
    entries: list[dict[str, Any]], run_id: str, limit: int = TREND_RUNS
) -> list[dict[str, Any]]:
    """The last ``limit`` runs up to and including ``run_id`` (oldest first).

    Re-rendering an old run shows the trend as it stood then, not runs that came after it.
    """
    ordered = sorted(entries, key=lambda e: (str(e.get("time") or ""), str(e["run_id"])))
    mine = next((e for e in ordered if e["run_id"] == run_id), None)
    if mine is not None:
        ordered = ordered[: ordered.index(mine) + 1]
    return ordered[-limit:]


def trend_view(entries: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """What the report's trend section draws: one bar per run, height = share of checks passed."""
    rows = []
    bar_width, gap, height = 18, 4, 48
    for index, entry in enumerate(entries):
        summary = entry.get("summary") or {}
        total = sum(int(summary.get(s) or 0) for s in STATUSES)
        passed = int(summary.get("pass") or 0)
        share = passed / total if total else 0.0
        bar = max(2.0, share * height)
        verdict = str(entry.get("verdict") or "unknown")
        rows.append(
            {
                **entry,
                "total": total,
                "share": share,
                "verdict_class": verdict if verdict in ("pass", "fail", "error") else "unknown",
                "current": entry["run_id"] == run_id,
                "x": index * (bar_width + gap),
                "y": height - bar,
                "bar_height": bar,
                "href": "../" + quote(str(entry.get("report") or "")),
            }
        )
    return {
        "rows": rows,
        "width": max(1, len(rows) * (bar_width + gap)),
        "height": height,
        "bar_width": bar_width,
    }
