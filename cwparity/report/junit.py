"""JUnit XML with one testcase per check, in the shape CI servers read (Jenkins/GitLab schema)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def _message(check: dict[str, Any]) -> str:
    parts = [check["reason"]]
    if check.get("observed"):
        observed = ", ".join(f"{k}={_num(v)}" for k, v in check["observed"].items())
        parts.append(f"observed: {observed}")
    tolerance = check.get("tolerance")
    if tolerance:
        parts.append(
            f"tolerance: ±{_num(tolerance['bound'])} {tolerance['unit']} "
            f"({tolerance['origin']}: {tolerance['detail']})"
        )
    return "; ".join(parts)


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def build_junit(document: dict[str, Any]) -> ET.ElementTree:
    checks = document["checks"]
    summary = document["summary"]
    suites = ET.Element(
        "testsuites",
        name="cwparity",
        tests=str(len(checks)),
        failures=str(summary["fail"]),
        errors=str(summary["error"]),
        skipped=str(summary["skip"]),
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"cwparity.{document['run'].get('name', 'run')}",
        tests=str(len(checks)),
        failures=str(summary["fail"]),
        errors=str(summary["error"]),
        skipped=str(summary["skip"]),
        timestamp=str(document["run"].get("started_at", "")),
    )
    for check in checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"cwparity.{check['kind']}", name=check["id"], time="0"
        )
        message = _message(check)
        if check["status"] == "fail":
            ET.SubElement(
                case, "failure", message=check["reason"], type="ParityMismatch"
            ).text = message
        elif check["status"] == "error":
            ET.SubElement(case, "error", message=check["reason"], type="NotJudged").text = message
        elif check["status"] == "skip":
            ET.SubElement(case, "skipped", message=check["reason"])
        else:
            ET.SubElement(case, "system-out").text = message
    return ET.ElementTree(suites)


def write_junit(path: Path, document: dict[str, Any]) -> Path:
    tree = build_junit(document)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path
