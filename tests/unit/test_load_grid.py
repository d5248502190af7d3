"""cwparity's own load on the alarms' period grid: every alarm period fully loaded or not at all."""

from __future__ import annotations

import pytest

from cwparity.alarms.replay import load_grid
from cwparity.load import LOCUST_STARTUP, GridSchedule


def alarms(*periods, kind="metric"):
    return {"alarms": [{"period": p, "kind": kind} for p in periods]}


@pytest.mark.parametrize(
    ("now", "duration", "grid", "start", "end"),
    [
        (1000.0, 60, 10, 1010.0, 1070.0),  # 1003 is past 1000: the next boundary
        (1006.9, 60, 10, 1010.0, 1070.0),  # exactly the startup allowance before a boundary
        (1007.1, 60, 10, 1020.0, 1080.0),  # too close to 1010 for Locust to be ready
        (1000.0, 55, 10, 1010.0, 1070.0),  # 55 s is lengthened to whole periods
        (1000.0, 120, 60, 1020.0, 1140.0),
    ],
)
def test_the_load_starts_and_ends_on_boundaries(now, duration, grid, start, end):
    schedule = GridSchedule.on(grid, duration, now)
    assert (schedule.start_at, schedule.end_at) == (start, end)
    assert schedule.start_at % grid == 0 and schedule.end_at % grid == 0
    assert schedule.start_at - now >= LOCUST_STARTUP
    assert schedule.end_at - schedule.start_at >= duration
    assert schedule.env() == {"CWPARITY_START_AT": f"{start:.3f}", "CWPARITY_END_AT": f"{end:.3f}"}


def test_the_grid_is_every_judged_alarm_period_at_once():
    assert load_grid(alarms(10, 30), 60) == 30
    assert load_grid(alarms(10, 60), 120) == 60
    # a metric-math alarm is not replayed: its period does not move the load
    assert load_grid({"alarms": [{"period": 10}, {"period": 60, "kind": "math"}]}, 60) == 10


def test_no_grid_without_alarms_or_when_it_outlasts_the_load():
    assert load_grid(None, 60) is None
    assert load_grid({"alarms": []}, 60) is None
    assert load_grid(alarms(300), 60) is None
    assert load_grid(alarms(10, 60), 30) is None
