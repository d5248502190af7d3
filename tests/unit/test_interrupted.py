"""An interrupted run is a partial record marked interrupted: ERROR, never PASS, whatever it
judged before it stopped; the test switch stops a run at one named phase, once."""

from __future__ import annotations

import signal

import pytest

from cwparity import phases
from cwparity.report import build_document
from cwparity.report.history import entry_for
from cwparity.report.html import render_html
from cwparity.results import CheckResult, Status
from cwparity.run import interrupted_check

PASSED = CheckResult("count[GET /]", "count", "GET /", Status.PASS, "CloudWatch 3 vs Prometheus 3")
WHERE = {"phase": "settle", "signal": "SIGTERM"}


class Stop(Exception):
    pass


@pytest.fixture
def switch(monkeypatch):
    """The switch on SIGUSR1, whose handler here raises Stop instead of stopping the tests."""

    def stop(signum, frame):
        raise Stop(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGUSR1, stop)
    phases.reset()
    yield lambda target: monkeypatch.setenv(phases.TEST_SWITCH, f"{target}:SIGUSR1")
    signal.signal(signal.SIGUSR1, previous)
    phases.reset()


def test_the_switch_interrupts_at_the_named_phase_only_and_once(switch):
    switch("settle")
    phases.reached("fetch")  # another phase: nothing
    with pytest.raises(Stop):
        phases.reached("settle")
    phases.reached("settle")  # once per process: a later poll is not interrupted again


def test_without_the_switch_nothing_happens(monkeypatch):
    monkeypatch.delenv(phases.TEST_SWITCH, raising=False)
    phases.reset()
    for name in phases.PHASES:
        phases.enter(name)
    assert phases.current() == "report"
    phases.reset()


def test_an_interruption_keeps_the_phase_it_happened_in(switch):
    switch("fetch")
    with phases.phase("settle", checkpoint=False):
        with phases.phase("scrape_wait"):
            pass
        assert phases.current() == "settle"  # a phase that ended normally gives way
        with pytest.raises(Stop), phases.phase("fetch"):
            pass
        assert phases.current() == "fetch"  # what the record will name
    phases.note_signal(signal.SIGTERM)
    assert phases.last_signal() == "SIGTERM"


def test_an_interrupted_record_is_error_even_when_every_check_it_reached_passed():
    whole = build_document([PASSED], {"name": "x"})
    assert (whole["verdict"], whole["exit_code"]) == ("pass", 0)
    cut = build_document([interrupted_check(WHERE), PASSED], {"name": "x", "interrupted": WHERE})
    assert (cut["verdict"], cut["exit_code"]) == ("error", 130)
    assert cut["checks"][0]["status"] == "error"
    assert "interrupted by SIGTERM during settle" in cut["checks"][0]["reason"]
    html = render_html(cut)
    assert "NO-GO" in html and "interrupted (SIGTERM during settle)" in html


def test_history_records_the_interruption(tmp_path):
    run_dir = tmp_path / "20261202T000000Z-x"
    document = build_document([PASSED], {"name": "x", "interrupted": WHERE})
    entry = entry_for(run_dir, document)
    assert entry["verdict"] == "error" and entry["interrupted"] == WHERE
    assert entry_for(run_dir, build_document([PASSED], {"name": "x"}))["interrupted"] is None
