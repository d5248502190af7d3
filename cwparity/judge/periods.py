"""The per-period verdicts as one table, and the few of them that become individual checks.

A week of 250 routes at 5-minute periods is half a million periods per kind of check. Every one
is judged, and every verdict is kept in one table (``period-verdicts.csv`` in the run folder, and
a compact status string per route in results.json that the report charts from); but only what a
reader must see becomes an individual ``CheckResult``: every period that failed or could not be
judged (up to ``KEPT_FAILURES`` per route and kind, in time order), the worst of the periods that
passed, and one summary per route and kind that counts them all and names the failed periods'
span. A route and kind with at most ``KEEP_ALL`` periods keeps every period's check as before.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cwparity.judge.verdict_grid import STATUSES, VerdictGrid
from cwparity.results import CheckResult, Status

#: a route and kind with at most this many periods keeps every period's check
KEEP_ALL = 60
#: failed (or errored) periods kept as checks per route and kind; the summary counts the rest
KEPT_FAILURES = 50
#: one letter per period in results.json's compact table
LETTERS = {
    Status.PASS: "p",
    Status.FAIL: "f",
    Status.ERROR: "e",
    Status.SKIP: "s",
    Status.WARN: "w",
}
TABLE_COLUMNS = ["kind", "route", "period_start", "status", "bound", "unit", "reason", "observed"]


def is_period_check(check: CheckResult) -> bool:
    """A check of one period: its scope is the period's start."""
    if check.scope in ("window", "host", "periods"):
        return False
    try:
        datetime.fromisoformat(check.scope.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class PeriodVerdicts:
    """Every per-period verdict of a run (one row per check), in time order per route/kind:
    ``rows`` judged one check at a time, ``grids`` judged as arrays (judge/verdict_grid.py)."""

    def __init__(self, rows: pd.DataFrame, grids: Sequence[VerdictGrid] = ()) -> None:
        self.rows = rows
        self.grids = list(grids)

    @functools.cached_property
    def table(self) -> pd.DataFrame:
        """All of them as one long frame (slow on a week of many routes: for small runs and
        tests; the run's own readers use ``save``, ``block`` and ``bad_marks``)."""
        return pd.concat([self.rows, *(g.frame() for g in self.grids)], ignore_index=True)

    def __len__(self) -> int:
        return len(self.rows) + sum(len(g) for g in self.grids)

    def save(self, path: Path) -> Path:
        with path.open("w", encoding="utf-8", newline="") as handle:
            self.rows.to_csv(handle, index=False, lineterminator="\n")
            for grid in self.grids:
                for text in grid.csv_chunks():
                    handle.write(text)
        return path

    def block(self, period_starts: Sequence[datetime]) -> dict[str, Any]:
        """results.json's compact form: per kind and route, one letter per period of the
        window ("p" pass, "f" fail, "e" error, "s" skip, "w" warn, "-" not judged)."""
        position = {_label(t): i for i, t in enumerate(period_starts)}
        kinds: dict[str, dict[str, str]] = {}
        for (kind, route), rows in self.rows.groupby(["kind", "route"], sort=False):
            letters = np.full(len(period_starts), "-", dtype="<U1")
            where = rows["period_start"].map(position)
            known = where.notna()
            letters[where[known].astype(int).to_numpy()] = [
                LETTERS.get(Status(s), "-") for s in rows["status"][known]
            ]
            kinds.setdefault(str(kind), {})[str(route)] = "".join(letters)
        for grid in self.grids:
            kinds.setdefault(grid.kind, {}).update(_grid_letters(grid, position, period_starts))
        first = _label(period_starts[0]) if period_starts else None
        return {"first_period": first, "letters": "".join(LETTERS.values()), "kinds": kinds}

    def bad_marks(self, starts) -> dict[str, dict[str, np.ndarray]]:
        """Per route and kind, 1 where a period failed or could not be judged (only routes
        and kinds with such a period)."""
        found = _failed_rows(self.rows, starts)
        for grid in self.grids:
            marks = grid.bad()
            aligned_to = [_label(t) for t in starts] == list(grid.labels)
            for row in np.flatnonzero(marks.any(axis=1)):
                mine = marks[row] if aligned_to else _remapped(marks[row], grid.labels, starts)
                found.setdefault(str(grid.routes[row]), {})[grid.kind] = mine
        return found


def _grid_letters(grid: VerdictGrid, position: dict[str, int], starts) -> dict[str, str]:
    if [_label(t) for t in starts] == list(grid.labels):
        return grid.letters(LETTERS)
    columns = np.array([position.get(str(label), -1) for label in grid.labels])
    known = columns >= 0
    table = np.array([LETTERS.get(s, "-") for s in STATUSES], dtype="<U1")
    result = {}
    for row, route in enumerate(grid.routes):
        letters = np.full(len(starts), "-", dtype="<U1")
        letters[columns[known]] = table[grid.status[row, known]]
        result[str(route)] = "".join(letters)
    return result


def _remapped(marks: np.ndarray, labels, starts) -> np.ndarray:
    position = {_label(t): i for i, t in enumerate(starts)}
    result = np.zeros(len(starts), dtype=int)
    for mark, label in zip(marks, labels, strict=True):
        if str(label) in position:
            result[position[str(label)]] = mark
    return result


def _label(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def collapse(
    checks: Iterable[CheckResult], tabled: Sequence[pd.DataFrame | VerdictGrid] = ()
) -> tuple[list[CheckResult], PeriodVerdicts]:
    """The checks a reader sees (window-level ones untouched), and the full period table.

    ``tabled``: table rows (frames) or grids judges produced themselves (all periods at once);
    their routes and kinds already hold only the checks to show."""
    kept: list[CheckResult] = []
    frames = [t for t in tabled if isinstance(t, pd.DataFrame)]
    grids = [t for t in tabled if isinstance(t, VerdictGrid)]
    done = {
        (k, r)
        for t in frames
        for k, r in t[["kind", "route"]].drop_duplicates().itertuples(index=False)
    }
    done |= {(g.kind, str(r)) for g in grids for r in g.routes}
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for check in checks:
        if is_period_check(check) and (check.kind, check.subject) not in done:
            groups.setdefault((check.kind, check.subject), []).append(check)
        else:
            kept.append(check)
    rows: list[tuple] = []
    for (kind, route), members in groups.items():
        members.sort(key=lambda c: c.scope)
        rows += [_row(c) for c in members]
        kept += members if len(members) <= KEEP_ALL else shown(kind, route, members)
    table = pd.concat(
        [pd.DataFrame(rows, columns=TABLE_COLUMNS), *(t[TABLE_COLUMNS] for t in frames)],
        ignore_index=True,
    )
    return kept, PeriodVerdicts(table, grids)


def _row(check: CheckResult) -> tuple:
    tolerance = check.tolerance
    return (
        check.kind,
        check.subject,
        check.scope,
        check.status.value,
        tolerance.bound if tolerance else None,
        tolerance.unit if tolerance else None,
        check.reason,
        json.dumps(dict(check.observed), default=str, allow_nan=True),
    )


def shown(kind: str, route: str, members: list[CheckResult]) -> list[CheckResult]:
    """The failures (capped), the worst pass and a summary of one route and kind's periods."""
    bad = [c for c in members if c.status in (Status.FAIL, Status.ERROR)]
    passed = [c for c in members if c.status is Status.PASS]
    worst = max(passed, key=closeness, default=None)
    counts = {s: sum(1 for c in members if c.status is s) for s in Status}
    failed = [c.scope for c in members if c.status is Status.FAIL]
    errors = [c.scope for c in members if c.status is Status.ERROR]
    overview = summary(kind, route, counts, failed, errors, worst)
    return [*bad[:KEPT_FAILURES], *([worst] if worst else []), overview]


def closeness(check: CheckResult) -> float:
    """How near a passing check came to its bound (|difference| / bound)."""
    difference = check.observed.get("difference", check.observed.get("difference_ms"))
    bound = check.tolerance.bound if check.tolerance else None
    if difference is None or bound is None or not math.isfinite(float(difference)):
        return 0.0
    if bound <= 0:
        return math.inf if float(difference) else 0.0
    return abs(float(difference)) / bound


def summary(
    kind: str,
    route: str,
    counts: dict[Status, int],
    failed: Sequence[str],
    errors: Sequence[str],
    worst: CheckResult | None,
) -> CheckResult:
    """One check for all of a route's periods of one kind: counts per status, where the
    failures lie (``failed``/``errors``: their periods' labels, in time order), the closest
    pass. FAIL if a period failed, else ERROR if one could not be judged, else PASS."""
    total = sum(counts.values())
    if failed:
        status = Status.FAIL
    elif errors:
        status = Status.ERROR
    else:
        status = Status.PASS if counts.get(Status.PASS) else Status.SKIP
    parts = [f"{counts.get(Status.PASS, 0)} of {total} periods passed"]
    for label, found in (("failed", failed), ("could not be judged", errors)):
        if found:
            listed = f"; the first {KEPT_FAILURES} are listed" if len(found) > KEPT_FAILURES else ""
            parts.append(f"{len(found)} {label} (first {found[0]}, last {found[-1]}{listed})")
    if counts.get(Status.SKIP):
        parts.append(f"{counts[Status.SKIP]} skipped")
    if worst is not None:
        parts.append(f"closest to its bound: {worst.scope}, {worst.reason}")
    reason = "; ".join(parts) + "; every period's verdict is in period-verdicts.csv"
    return CheckResult(
        f"{kind}[{route}]@periods",
        kind,
        route,
        status,
        reason,
        scope="periods",
        observed={
            "periods": float(total),
            "passed": float(counts.get(Status.PASS, 0)),
            "failed": float(len(failed)),
            "errors": float(len(errors)),
            "skipped": float(counts.get(Status.SKIP, 0)),
        },
    )


#: the most points one chart draws; longer windows are drawn in bins of whole periods
MAX_CHART_POINTS = 150
#: the most routes the report charts (those with a failed or unjudged period first)
MAX_CHARTED_ROUTES = 30
_SUMMED = ("cw_count", "cw_sum", "prom_count", "prom_sum")


def chart_periods(aligned: Any, verdicts: PeriodVerdicts | None) -> dict[str, Any]:
    """The per-period series the report draws, bounded in size whatever the window.

    Routes with a failed or unjudged period come first; at most MAX_CHARTED_ROUTES are drawn.
    A route with more than MAX_CHART_POINTS periods is drawn in bins of consecutive periods:
    counts and sums add up, and a bin's uncertainty is that of its two outer boundaries (the
    inner ones cancel, as in judge/blocks.py); ``<kind>_failed`` counts its failed periods.
    """
    if aligned is None or aligned.grid is None or not aligned.routes:
        rows = _exact_rows(aligned) if aligned is not None else []
        return {"rows": rows, "routes": len({r["route"] for r in rows}), "bin_periods": 1}
    routes = list(aligned.routes)
    troubled = _troubled_routes(verdicts)
    order = sorted(range(len(routes)), key=lambda i: (routes[i] not in troubled, i))
    chosen = order[:MAX_CHARTED_ROUTES]
    periods = aligned.grid["cw_count"].shape[1]
    size = max(1, math.ceil(periods / MAX_CHART_POINTS))
    starts = aligned.window.period_starts()
    failed = _failed_counts(verdicts, starts)
    rows = []
    for index in chosen:
        for begin in range(0, periods, size):
            end = min(begin + size, periods)
            rows.append(_bin_row(aligned.grid, routes[index], index, begin, end, starts, failed))
    return {"rows": rows, "routes": len(routes), "charted": len(chosen), "bin_periods": size}


def _bin_row(grid, route, index, begin, end, starts, failed) -> dict[str, Any]:
    row: dict[str, Any] = {"route": route, "period_start": starts[begin].isoformat()}
    for name in _SUMMED:
        row[name] = _finite(grid[name][index, begin:end].sum())
    row["prom_count_u"] = _finite(
        grid["prom_count_u_start"][index, begin] + grid["prom_count_u_end"][index, end - 1]
    )
    row["prom_sum_u"] = _finite(
        grid["prom_sum_u_start"][index, begin] + grid["prom_sum_u_end"][index, end - 1]
    )
    if end - begin > 1:
        row["periods"] = end - begin
        for kind, counts in failed.get(route, {}).items():
            row[f"{kind}_failed"] = int(counts[begin:end].sum())
    return row


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _troubled_routes(verdicts: PeriodVerdicts | None) -> set[str]:
    if verdicts is None:
        return set()
    bad = verdicts.rows[verdicts.rows["status"].isin(["fail", "error"])]
    found = set(bad["route"])
    for grid in verdicts.grids:
        found |= {str(r) for r in grid.routes[grid.bad().any(axis=1)]}
    return found


def _failed_counts(verdicts: PeriodVerdicts | None, starts) -> dict[str, dict[str, np.ndarray]]:
    """Per route and kind, 1 where a period failed or could not be judged."""
    return {} if verdicts is None else verdicts.bad_marks(starts)


def _failed_rows(rows: pd.DataFrame, starts) -> dict[str, dict[str, np.ndarray]]:
    if rows.empty:
        return {}
    position = {_label(t): i for i, t in enumerate(starts)}
    bad = rows[rows["status"].isin(["fail", "error"])]
    found: dict[str, dict[str, np.ndarray]] = {}
    for (kind, route), chosen in bad.groupby(["kind", "route"], sort=False):
        marks = np.zeros(len(starts), dtype=int)
        where = chosen["period_start"].map(position).dropna().astype(int).to_numpy()
        marks[where] = 1
        found.setdefault(str(route), {})[str(kind)] = marks
    return found


def _exact_rows(aligned: Any) -> list[dict[str, Any]]:
    if aligned.periods.empty:
        return []
    frame = aligned.periods.copy()
    frame["period_start"] = frame["period_start"].map(lambda t: t.isoformat())
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
