"""A week-long synthetic run as a results document: the engine's own output at scale.

An edge like flows.py (it strings align, judge and the report together), for the report's size
and rendering test and the benchmark: a week of ``routes`` routes from
``cwparity.synthetic.week_of_series``, one route losing CloudWatch data for an afternoon, aligned,
judged and collapsed as a run is, then built into the document the report renders.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cwparity.align import Sampling, align
from cwparity.config import parse_config
from cwparity.judge import judge_run
from cwparity.judge.periods import chart_periods, collapse
from cwparity.report.results_json import build_document
from cwparity.synthetic import week_of_series


def week_document(routes: int = 250, period: int = 3600, seed: int = 0) -> dict[str, Any]:
    week = week_of_series(routes, 10080, np.random.default_rng(seed), ("200",), period=period)
    # CloudWatch lost half of one route's publishes for four hours on day 3
    afternoon = slice(int(2.5 * 86400 / period), int((2.5 * 86400 + 4 * 3600) / period))
    stats = week.cloudwatch.stats
    kept = np.floor(stats["count"][1, afternoon] * 0.5)
    stats["sum"][1, afternoon] *= kept / stats["count"][1, afternoon]
    stats["count"][1, afternoon] = kept
    sampling = Sampling(week.scrape, 0.25, week.window.start.timestamp() - 3 * week.scrape)
    aligned = align(week.cloudwatch, week.count, week.sums, week.routes, week.window, sampling)
    config = parse_config(
        {
            "routes": [{"path": r.split(" ", 1)[1]} for r in week.routes],
            "window": {"period": period},
        }
    )
    tabled: list = []
    checks, verdicts = collapse(judge_run(aligned, None, config, None, tabled), tabled)
    charted = chart_periods(aligned, verdicts)
    run = {
        "name": f"synthetic week, {routes} routes",
        "mode": "synthetic",
        "window": week.window.to_dict(),
        "config": config.redacted(),
        "periods": charted.pop("rows"),
        "charted": charted,
        "period_verdicts": verdicts.block(week.window.period_starts()),
    }
    return build_document(checks, run)
