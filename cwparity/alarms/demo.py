"""The demo's CloudWatch alarms (``fixtures/alarms/demo-alarms.yaml``), created on moto, and the
fault that makes them fire for part of the load."""

from __future__ import annotations

from typing import Any

import yaml

from cwparity.config import RunConfig
from cwparity.paths import ALARMS_DIR
from cwparity.sources import cloudwatch

DEMO_ALARMS = ALARMS_DIR / "demo-alarms.yaml"
#: share of /long-request that times out in the fault, and after how long (appkit.py). Every
#: request, not half: the count alarm needs each fault period's GET / count well under its
#: threshold 110. With the load's 4 users, a half share left the first fault period (before
#: the users pile up in timeouts) at 81 ± 14 requests in a simulation of this load, over 110 in
#: about one run in 40 (seen in a full test run: 127); every request: 52 ± 12, normal 180 ± 11
TIMEOUTS = "1,2"
#: the demo alarms' period: the fault lasts two of them, on their grid
ALARM_PERIOD = 10


def create_demo_alarms(config: RunConfig) -> list[str]:
    """PutMetricAlarm for each demo alarm (moto stores them; it never evaluates them)."""
    client = cloudwatch.make_client(config.cloudwatch)
    entries: list[dict[str, Any]] = yaml.safe_load(DEMO_ALARMS.read_text())
    for entry in entries:
        client.put_metric_alarm(**entry)
    return [str(e["AlarmName"]) for e in entries]


def fault_env(duration: float) -> dict[str, str]:
    """The fault for a load of ``duration`` seconds: two whole alarm periods on their grid,
    from about a sixth of the way in, so both demo alarms fire (2 of 3, 2 of 2) and — with two
    normal periods after it inside the load — clear again."""
    start = duration / 6
    return {
        "CWPARITY_FAULT_TIMEOUTS": TIMEOUTS,
        "CWPARITY_FAULT_WINDOW": f"{start:g},{start + 2 * ALARM_PERIOD:g}",
        "CWPARITY_FAULT_GRID": str(ALARM_PERIOD),
    }
