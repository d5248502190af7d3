"""history.jsonl: one line per run, never a duplicate; the report's trend reads it."""

from __future__ import annotations

import json

from cwparity.flows import rerender
from cwparity.report import write_all
from cwparity.report.history import (
    entry_for,
    history_path,
    read_history,
    record_history,
    trend,
    trend_view,
)
from cwparity.report.sample import sample_document


def _run(reports, name, failing=False, started="2026-11-25T04:00:00+00:00"):
    run_dir = reports / name
    run_dir.mkdir(parents=True)
    document = sample_document(failing=failing)
    document["run"]["started_at"] = started
    return run_dir, document


def test_each_run_appends_one_line_with_its_counts(tmp_path):
    run_dir, document = _run(tmp_path, "20261125T040000Z-sample", failing=True)
    assert record_history(run_dir, document)
    (entry,) = read_history(tmp_path / "history.jsonl")
    assert entry["run_id"] == "20261125T040000Z-sample"
    assert entry["verdict"] == "fail" and entry["exit_code"] == 1
    assert entry["summary"] == document["summary"]
    assert entry["kinds"]["count"] == {"pass": 12, "fail": 2}
    assert entry["kinds"]["host"] == {"skip": 1}
    assert entry["report"] == "20261125T040000Z-sample/report.html"
    assert entry["time"] == "2026-11-25T04:00:00+00:00"


def test_recording_the_same_run_again_adds_nothing(tmp_path):
    run_dir, document = _run(tmp_path, "one")
    assert record_history(run_dir, document)
    assert not record_history(run_dir, document)
    write_all(run_dir, document)
    assert len(read_history(history_path(run_dir))) == 1


def test_cwparity_report_rerenders_without_a_duplicate_line(tmp_path):
    run_dir, document = _run(tmp_path, "one", failing=True)
    write_all(run_dir, document)
    (run_dir / "report.html").unlink()
    outcome = rerender(run_dir)
    assert outcome.exit_code == 1 and outcome.verdict == "fail"
    assert (run_dir / "report.html").exists()
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 1


def test_the_report_shows_the_trend_up_to_its_own_run(tmp_path):
    for i, failing in enumerate((False, True, False)):
        run_dir, document = _run(tmp_path, f"run{i}", failing, f"2026-11-2{i + 1}T04:00:00+00:00")
        write_all(run_dir, document)
    html = (tmp_path / "run1" / "report.html").read_text()
    assert "Trend: the last 2 runs" in html
    assert 'href="../run0/report.html"' in html
    assert "run2" not in html  # a later run is not part of run1's trend
    latest = (tmp_path / "run2" / "report.html").read_text()
    assert "Trend: the last 3 runs" in latest


def test_trend_keeps_the_last_runs_oldest_first():
    entries = [{"run_id": f"r{i:02}", "time": f"2026-11-{i + 1:02}"} for i in range(30)]
    shown = trend(list(reversed(entries)), "r29", limit=5)
    assert [e["run_id"] for e in shown] == ["r25", "r26", "r27", "r28", "r29"]
    assert [e["run_id"] for e in trend(entries, "r03", limit=5)] == ["r00", "r01", "r02", "r03"]


def test_trend_bars_scale_with_the_share_passed(tmp_path):
    run_dir, document = _run(tmp_path, "x", failing=True)
    view = trend_view([entry_for(run_dir, document)], "x")
    (row,) = view["rows"]
    assert row["current"] and row["verdict_class"] == "fail"
    assert 0 < row["share"] < 1
    assert row["bar_height"] == row["share"] * view["height"]


def test_a_damaged_history_line_is_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    good = json.dumps({"run_id": "a", "time": "t"})
    path.write_text(f"{good}\nnot json\n\n[1, 2]\n")
    assert [e["run_id"] for e in read_history(path)] == ["a"]
