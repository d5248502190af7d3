"""Views of one run's results: results.json (the record), junit.xml (for CI), report.html.

Every view is rendered from the results document alone (the report adds the history trend), so
``cwparity report RUN_DIR`` can re-render any past run from its results.json.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cwparity.report.history import history_path, read_history, record_history, trend
from cwparity.report.html import write_html
from cwparity.report.junit import write_junit
from cwparity.report.results_json import build_document, read_document, write_document

__all__ = ["build_document", "read_document", "record_history", "write_all"]

log = logging.getLogger(__name__)


def write_all(run_dir: Path, document: dict[str, Any], history: bool = True) -> dict[str, Path]:
    """Write all three views; results.json first, so it survives a failing renderer.

    With ``history`` the run is recorded in the reports folder's history.jsonl (once per run:
    re-rendering the same run adds no line) and the report shows the trend up to this run.
    """
    paths = {"json": write_document(run_dir, document)}
    paths["junit"] = write_junit(run_dir / "junit.xml", document)
    entries: list[dict[str, Any]] = []
    if history:
        try:
            record_history(run_dir, document)
            paths["history"] = history_path(run_dir)
            entries = trend(read_history(paths["history"]), run_dir.name)
        except OSError as err:  # a read-only reports folder must not cost the report
            log.warning("history not updated: %s", err)
    paths["html"] = write_html(run_dir / "report.html", document, entries)
    return paths
