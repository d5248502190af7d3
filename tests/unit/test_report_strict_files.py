"""The run folder's machine-read files parse with strict parsers: junit.xml with a control
character in a route's path (expat, and the XSD's shape), results.json with an unbounded
tolerance and a mean of nothing (RFC 8259 JSON: no NaN or Infinity), and `cwparity report`
reads such a file back into the same numbers."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from cwparity.flows import rerender
from cwparity.report import read_document, write_all
from cwparity.report.junit import xml_text
from cwparity.report.sample import sample_document

from .test_report_junit import validate

CONTROL_PATH = "/a\x01b\x1bc\x7f"


def refuse(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


def strict_json(text: str):
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def hostile_document():
    document = sample_document(failing=True)
    check = document["checks"][0]
    check["id"] = f"count[GET {CONTROL_PATH}]"
    check["subject"] = f"GET {CONTROL_PATH}"
    check["reason"] = f"route GET {CONTROL_PATH} \x00 counted"
    check["tolerance"] = {"bound": math.inf, "unit": "ms", "origin": "config", "detail": "inf"}
    check["observed"] = {"cloudwatch": math.nan, "prometheus": -math.inf}
    return document


def test_junit_with_a_control_character_in_a_path_parses_and_has_the_xsd_shape(
    hostile_document, tmp_path
):
    write_all(tmp_path / "run", hostile_document, history=False)
    raw = (tmp_path / "run" / "junit.xml").read_bytes()
    root = ET.fromstring(raw)  # expat: rejects any character XML 1.0 forbids
    validate(root)
    names = [case.get("name") for case in root.iter("testcase")]
    assert "count[GET /a\\x01b\\x1bc\x7f]" in names  # DEL is allowed in XML 1.0


def test_the_unescaped_document_would_not_parse():
    # the twin: what ElementTree writes by itself for the same path is not XML
    element = ET.Element("testcase", name=CONTROL_PATH[:4])
    with pytest.raises(ET.ParseError):
        ET.fromstring(ET.tostring(element))
    safe = ET.fromstring(ET.tostring(ET.Element("t", name=xml_text(CONTROL_PATH[:4]))))
    assert safe.get("name") == "/a\\x01b"


def test_results_json_is_strict_and_reads_back_the_same_numbers(hostile_document, tmp_path):
    run_dir = tmp_path / "reports" / "run"
    write_all(run_dir, hostile_document)
    document = strict_json((run_dir / "results.json").read_text())
    check = document["checks"][0]
    assert check["tolerance"]["bound"] == "Infinity"
    assert check["observed"] == {"cloudwatch": "NaN", "prometheus": "-Infinity"}
    for line in (tmp_path / "reports" / "history.jsonl").read_text().splitlines():
        strict_json(line)

    again = read_document(run_dir / "results.json")["checks"][0]
    assert again["tolerance"]["bound"] == math.inf
    assert math.isnan(again["observed"]["cloudwatch"])
    assert again["observed"]["prometheus"] == -math.inf
    assert rerender(run_dir).verdict == "fail"  # `cwparity report RUN_DIR`
    assert "±inf ms" in (run_dir / "junit.xml").read_text()
    strict_json((run_dir / "results.json").read_text())


def test_python_json_alone_writes_what_strict_parsers_reject(hostile_document):
    with pytest.raises(ValueError, match="not strict JSON"):
        strict_json(json.dumps(hostile_document, default=str))
