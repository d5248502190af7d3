"""report.html: one self-contained file (inline CSS, no scripts from anywhere) for stakeholders.

Rendered with Jinja2 autoescaping, so every label value (paths, reasons) is escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

_ENV = Environment(
    loader=PackageLoader("cwparity", "report/templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return str(value)


_ENV.filters["fmt"] = _fmt


def render_html(document: dict[str, Any]) -> str:
    checks = document["checks"]
    window_checks = [c for c in checks if c.get("scope") == "window" or "@" not in c["id"]]
    period_checks = [c for c in checks if c not in window_checks]
    return _ENV.get_template("report.html.j2").render(
        doc=document,
        run=document["run"],
        window_checks=window_checks,
        period_checks=period_checks,
    )


def write_html(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(render_html(document), encoding="utf-8")
    return path
