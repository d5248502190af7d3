"""Views of one run's results: results.json (the record), junit.xml (for CI), report.html.

Every view is rendered from the results document alone, so ``cwparity report RUN_DIR`` can
re-render any past run from its results.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cwparity.report.html import write_html
from cwparity.report.junit import write_junit
from cwparity.report.results_json import build_document, read_document, write_document

__all__ = ["build_document", "read_document", "write_all"]


def write_all(run_dir: Path, document: dict[str, Any]) -> dict[str, Path]:
    """Write all three views; results.json first, so it survives a failing renderer."""
    paths = {"json": write_document(run_dir, document)}
    paths["junit"] = write_junit(run_dir / "junit.xml", document)
    paths["html"] = write_html(run_dir / "report.html", document)
    return paths
