"""results.json: the versioned record of a run. Its schema is documented in README.md."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cwparity import __version__
from cwparity.results import CheckResult, Status, exit_code, verdict

SCHEMA = "cwparity/results"
SCHEMA_VERSION = 3
#: numbers JSON has no word for (an unbounded tolerance, a mean of nothing), written as the
#: strings JavaScript's ``Number()`` reads back, so every strict parser takes the file
NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
#: the CLI's exit code for an interrupted run (128 + SIGINT, as shells report Ctrl-C)
INTERRUPTED_EXIT = 130


def build_document(checks: list[CheckResult], run: dict[str, Any]) -> dict[str, Any]:
    """The record; an interrupted run (``run.interrupted``) is ERROR whatever it judged before
    it stopped: what it did not reach is missing, so it is never a PASS."""
    interrupted = bool(run.get("interrupted"))
    status = Status.ERROR if interrupted else verdict(checks)
    summary = {
        s: sum(1 for c in checks if c.status.value == s)
        for s in ("pass", "fail", "skip", "error", "warn")
    }
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cwparity", "version": __version__},
        "verdict": status.value,
        "exit_code": INTERRUPTED_EXIT if interrupted else exit_code(status),
        "summary": summary,
        "run": run,
        "checks": [check.to_dict() for check in checks],
    }


def write_document(run_dir: Path, document: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "results.json"
    path.write_text(dumps_strict(document, indent=2))
    return path


def dumps_strict(value: Any, **options: Any) -> str:
    """Strict JSON (RFC 8259): no NaN or Infinity, which Python writes and most parsers reject."""
    return json.dumps(finite(value), allow_nan=False, default=str, **options)


def finite(value: Any) -> Any:
    """``value`` with every non-finite float as its ``NON_FINITE`` string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def revive(value: Any) -> Any:
    """The reverse of ``finite``: the report reads the numbers it was given."""
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {key: revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revive(item) for item in value]
    return value


def read_document(path: Path) -> dict[str, Any]:
    from cwparity.errors import ConfigError

    try:
        # older files hold bare NaN/Infinity, which Python's parser takes too
        document = revive(json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: not a readable results.json ({err})") from None
    if document.get("schema") != SCHEMA:
        raise ConfigError(
            f"{path}: not a cwparity results file (schema {document.get('schema')!r})"
        )
    return document
