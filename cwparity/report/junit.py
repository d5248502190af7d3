"""junit.xml: one testcase per check, in the shape CI servers read.

It follows the common JUnit XSD (Jenkins' junit-10.xsd, which GitLab, GitHub test reporters
and Azure read): ``testsuites`` > ``testsuite`` (``properties`` first) > ``testcase`` with at
most one ``skipped``, ``error`` or ``failure`` child, then ``system-out``. Only attributes
that schema knows are written. A failure's message carries the reason, the observed values
and the tolerance with its origin. Counts come from the checks themselves, not the summary, so
a document with an unexpected status still produces a consistent file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# what XML 1.0 cannot hold at all, even as a character reference (its "Char" production):
# C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: Any) -> str:
    """``value`` as text XML 1.0 can carry: a forbidden character (a control character in a
    request path) is written as its escape, ``\\x01``, so the path stays recognisable."""
    return _NOT_XML.sub(_escape, str(value))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _xml_safe(root: ET.Element) -> None:
    """Every attribute and text XML 1.0 can carry (ElementTree escapes markup, not these)."""
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            element.set(name, xml_text(value))
        if element.text is not None:
            element.text = xml_text(element.text)


# statuses JUnit has no word for (e.g. warn) are passing testcases that say so in system-out
_CHILD = {"fail": "failure", "error": "error", "skip": "skipped"}


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def message(check: dict[str, Any]) -> str:
    """Reason; observed values; tolerance (origin: detail) — one line."""
    parts = [str(check.get("reason") or "")]
    observed = check.get("observed")
    if isinstance(observed, dict) and observed:
        parts.append("observed: " + ", ".join(f"{k}={_num(v)}" for k, v in observed.items()))
    elif observed:
        parts.append(f"observed: {observed}")
    tolerance = check.get("tolerance")
    if isinstance(tolerance, dict):
        parts.append(
            f"tolerance: ±{_num(tolerance.get('bound'))} {tolerance.get('unit', '')} "
            f"({tolerance.get('origin', '?')}: {tolerance.get('detail', '')})"
        )
    return "; ".join(parts)


def _timestamp(text: Any) -> str:
    """ISO 8601 to the second, UTC, without offset (the XSD's timestamp shape)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return ""
    if moment.utcoffset() is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat()


def counts(checks: list[dict[str, Any]]) -> dict[str, str]:
    statuses = [str(c.get("status")) for c in checks]
    return {
        "tests": str(len(checks)),
        "failures": str(statuses.count("fail")),
        "errors": str(statuses.count("error")),
        "skipped": str(statuses.count("skip")),
    }


def _properties(suite: ET.Element, document: dict[str, Any]) -> None:
    run = document.get("run") or {}
    window = run.get("window") or {}
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", document.get("verdict")),
        ("exit_code", document.get("exit_code")),
        ("config_digest", run.get("config_digest")),
        ("window", f"{window.get('start')}/{window.get('end')}" if window else None),
        ("results_schema", f"{document.get('schema')} v{document.get('schema_version')}"),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=str(value))


def _testcase(suite: ET.Element, check: dict[str, Any]) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"cwparity.{check.get('kind', 'check')}",
        name=str(check.get("id", "check")),
        time="0",
    )
    status = str(check.get("status"))
    text = message(check)
    child = _CHILD.get(status)
    if child == "skipped":
        ET.SubElement(case, "skipped", message=str(check.get("reason") or ""))
    elif child:
        kind = "ParityMismatch" if child == "failure" else "NotJudged"
        # the attribute is what most CIs show in a list: the whole line, observed vs tolerance
        ET.SubElement(case, child, message=text, type=kind).text = text
    else:
        ET.SubElement(case, "system-out").text = f"{status.upper()}: {text}"


def build_junit(document: dict[str, Any]) -> ET.ElementTree:
    checks = [c for c in document.get("checks") or [] if isinstance(c, dict)]
    run = document.get("run") or {}
    totals = counts(checks)
    suites = ET.Element(
        "testsuites",
        name="cwparity",
        tests=totals["tests"],
        failures=totals["failures"],
        errors=totals["errors"],
        time="0",
    )
    suite = ET.SubElement(
        suites, "testsuite", {"name": f"cwparity.{run.get('name', 'run')}", **totals, "time": "0"}
    )
    stamp = _timestamp(run.get("started_at"))
    if stamp:
        suite.set("timestamp", stamp)
    _properties(suite, document)
    for check in checks:
        _testcase(suite, check)
    _xml_safe(suites)
    return ET.ElementTree(suites)


def write_junit(path: Path, document: dict[str, Any]) -> Path:
    tree = build_junit(document)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
