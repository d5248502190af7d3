"""junit.xml: valid in the common JUnit XSD shape, one testcase per check, counts that add up."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from cwparity.report.junit import write_junit
from cwparity.report.sample import HOSTILE_PATH, sample_document

# What Jenkins' junit-10.xsd (the schema GitLab, GitHub reporters and Azure follow) allows:
# per element, its attributes (required ones in the second set) and its children in order.
SCHEMA = {
    "testsuites": (
        {"name", "time", "tests", "failures", "disabled", "errors"},
        set(),
        [("testsuite", 0, None)],
    ),
    "testsuite": (
        {"name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp",
         "hostname", "id", "package", "file", "log", "url", "version"},
        {"name", "tests"},
        [("properties", 0, 1), ("testcase", 0, None), ("system-out", 0, 1), ("system-err", 0, 1)],
    ),
    "properties": (set(), set(), [("property", 0, None)]),
    "property": ({"name", "value"}, {"name", "value"}, []),
    "testcase": (
        {"name", "assertions", "time", "classname", "status", "class", "file", "line", "log",
         "group", "url"},
        {"name"},
        [("skipped", 0, 1), ("error", 0, None), ("failure", 0, None), ("system-out", 0, None),
         ("system-err", 0, None)],
    ),
    "skipped": ({"message"}, set(), []),
    "error": ({"message", "type"}, set(), []),
    "failure": ({"message", "type"}, set(), []),
    "system-out": (set(), set(), []),
    "system-err": (set(), set(), []),
}  # fmt: skip
COUNTS = {"tests", "failures", "errors", "skipped", "disabled"}


def validate(element: ET.Element) -> None:
    """Raise AssertionError where ``element`` leaves the schema's shape (like xmllint would)."""
    allowed, required, children = SCHEMA[element.tag]
    assert set(element.attrib) <= allowed, f"{element.tag}: unknown {set(element.attrib) - allowed}"
    assert required <= set(element.attrib), (
        f"{element.tag}: missing {required - set(element.attrib)}"
    )
    for name in COUNTS & set(element.attrib):
        assert element.attrib[name].isdigit(), f"{element.tag}@{name}={element.attrib[name]!r}"
    if "time" in element.attrib:
        float(element.attrib["time"])
    tags = [child.tag for child in element]
    position = 0
    for tag, low, high in children:
        seen = 0
        while position < len(tags) and tags[position] == tag:
            position, seen = position + 1, seen + 1
        assert seen >= low and (high is None or seen <= high), f"{element.tag}: {seen}× {tag}"
    assert position == len(tags), f"{element.tag}: unexpected or misplaced {tags[position:]}"
    for child in element:
        validate(child)


@pytest.fixture
def junit(tmp_path):
    document = sample_document(failing=True)
    path = write_junit(tmp_path / "junit.xml", document)
    return document, ET.parse(path).getroot()


def test_the_file_has_the_xsd_shape(junit):
    _, root = junit
    assert root.tag == "testsuites"
    validate(root)


def test_one_testcase_per_check_and_counts_that_add_up(junit):
    document, root = junit
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in document["checks"]]
    summary = document["summary"]
    assert len(cases) == int(suite.get("tests")) == int(root.get("tests"))
    assert len(suite.findall("testcase/failure")) == int(suite.get("failures")) == summary["fail"]
    assert len(suite.findall("testcase/error")) == int(suite.get("errors")) == summary["error"]
    assert len(suite.findall("testcase/skipped")) == int(suite.get("skipped")) == summary["skip"]
    assert summary["fail"] == 2 and summary["skip"] == 1


def test_a_failure_message_carries_observed_values_and_the_tolerance(junit):
    _, root = junit
    case = root.find(f".//testcase[@name='count[GET {HOSTILE_PATH}]']")
    failure = case.find("failure")
    assert failure.get("type") == "ParityMismatch"
    message = failure.get("message")
    assert "fewer requests" in message
    assert "observed: cloudwatch=1170, prometheus=1200" in message
    assert "tolerance: ±0 requests (default:" in message
    assert failure.text == message
    assert case.get("classname") == "cwparity.count"


def test_statuses_junit_has_no_word_for_pass_with_the_status_in_system_out(junit):
    _, root = junit
    case = root.find(".//testcase[@name='lint[queries]']")
    assert [child.tag for child in case] == ["system-out"]
    assert case.find("system-out").text.startswith("WARN: ")


def test_run_properties_say_the_verdict_and_digest(junit):
    document, root = junit
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["verdict"] == "fail"
    assert properties["exit_code"] == "1"
    assert properties["config_digest"] == document["run"]["config_digest"]
    assert root.find("testsuite").get("timestamp") == "2026-11-25T04:00:00"


def test_a_document_with_odd_checks_still_writes_a_valid_file(tmp_path):
    document = {"run": {}, "checks": [{"status": "error"}, {"id": "x", "status": "mystery"}]}
    root = ET.parse(write_junit(tmp_path / "junit.xml", document)).getroot()
    validate(root)
    assert root.get("tests") == "2" and root.get("errors") == "1"


@pytest.mark.parametrize(
    "xml",
    [
        '<testsuites skipped="1"/>',  # not a testsuites attribute in the XSD
        '<testsuites><testsuite name="s" tests="1"><testcase name="c"/><properties/></testsuite>'
        "</testsuites>",  # properties must come first
        '<testsuites><testsuite name="s" tests="1"><testcase name="c"><failure/><skipped/>'
        "</testcase></testsuite></testsuites>",  # skipped comes before failure
        '<testsuites><testsuite tests="x" name="s"/></testsuites>',
    ],
)
def test_the_shape_check_catches_what_the_xsd_rejects(xml):
    with pytest.raises(AssertionError):
        validate(ET.fromstring(xml))
