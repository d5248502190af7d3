"""results.json: the versioned record of a run. Its schema is documented in README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cwparity import __version__
from cwparity.results import CheckResult, exit_code, verdict

SCHEMA = "cwparity/results"
SCHEMA_VERSION = 3


def build_document(checks: list[CheckResult], run: dict[str, Any]) -> dict[str, Any]:
    status = verdict(checks)
    summary = {
        s: sum(1 for c in checks if c.status.value == s)
        for s in ("pass", "fail", "skip", "error", "warn")
    }
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "cwparity", "version": __version__},
        "verdict": status.value,
        "exit_code": exit_code(status),
        "summary": summary,
        "run": run,
        "checks": [check.to_dict() for check in checks],
    }


def write_document(run_dir: Path, document: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "results.json"
    path.write_text(json.dumps(document, indent=2, default=str))
    return path


def read_document(path: Path) -> dict[str, Any]:
    from cwparity.errors import ConfigError

    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: not a readable results.json ({err})") from None
    if document.get("schema") != SCHEMA:
        raise ConfigError(
            f"{path}: not a cwparity results file (schema {document.get('schema')!r})"
        )
    return document
