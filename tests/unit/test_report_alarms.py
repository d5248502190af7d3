"""The report's Alarms section: both timelines on one chart, every label escaped, any record
shape survived."""

from __future__ import annotations

from cwparity.report.alarms import alarm_views
from cwparity.report.html import render_html
from cwparity.report.sample import sample_document

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def record(name=HOSTILE, **extra):
    ends = [f"2026-01-01T00:00:{s:02d}+00:00" for s in (10, 20, 30, 40, 50)]
    states = ["OK", "OK", "ALARM", "ALARM", "OK"]
    return {
        "alarm": name,
        "describe": f"Average of FlaskApp/EndpointLatency{{Endpoint={HOSTILE}}} > 0.5",
        "period": 10,
        "statistic": "Average",
        "unit": "Seconds",
        "threshold": 0.5,
        "window": {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-01T00:00:50+00:00"},
        "cloudwatch": [
            {"end": e, "value": v, "state": s}
            for e, v, s in zip(ends, [0.1, 0.2, 0.9, 0.8, 0.1], states, strict=True)
        ],
        "prometheus": [
            {"end": e, "value": v} for e, v in zip(ends, [0.1, 0.2, 0.9, 0.8, None], strict=True)
        ],
        "marginal": [],
        "rules": [
            {
                "check_id": f"alarm[{name}:{HOSTILE}]",
                "status": "fail",
                "reason": f"never fired {HOSTILE}",
                "alert": HOSTILE,
                "expr": f'x{{path="{HOSTILE}"}} > 0.5',
                "for": "0s",
                "file": "team.yml",
                "source": "team",
                "firing": [[1767225630.4, 1767225650.4], [1767225600.0, None]],
            }
        ],
        **extra,
    }


def document(*records):
    doc = sample_document(failing=False, hosts=False)
    doc["run"]["alarms"] = list(records)
    return doc


def test_the_chart_draws_values_threshold_states_and_firing_on_one_time_axis():
    (view,) = alarm_views({"alarms": [record()]})
    chart = view["chart"]
    assert chart["threshold"]["label"] == "threshold 0.5 Seconds"
    cloudwatch, prometheus = chart["series"]
    assert len(cloudwatch["markers"]) == 5 and len(prometheus["markers"]) == 4
    state, rule = chart["strips"]
    assert [b["css"] for b in state["blocks"]] == ["ok", "ok", "alarm", "alarm", "ok"]
    assert len(rule["blocks"]) == 2 and rule["status"] == "fail"
    # one time axis: the rule started firing 0.4 s after CloudWatch's ALARM (about 4 px)
    assert 0 < rule["blocks"][0]["x"] - state["blocks"][2]["x"] <= 5


def test_every_label_of_the_alarms_section_is_escaped():
    html = render_html(document(record()))
    assert 'id="alarms"' in html and 'href="#alarms"' in html
    assert HOSTILE not in html
    assert html.count(ESCAPED) >= 6  # name, description, rule, expression, reason, strip label


def test_a_skipped_alarm_says_why_and_junk_records_do_not_break_the_report():
    skipped = {
        "alarm": "math",
        "describe": "metric math alarm: m1*1000",
        "skip": "it is a metric math alarm",
    }
    junk = [
        {"alarm": "x", "window": {"start": "soon"}, "rules": "no", "cloudwatch": [5, None]},
        7,
        None,
    ]
    html = render_html(document(skipped, *junk))
    assert "it is a metric math alarm" in html
    assert alarm_views({"alarms": "nothing"}) == []


def test_no_alarms_no_section():
    html = render_html(document())
    assert 'id="alarms"' not in html
