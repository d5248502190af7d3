"""Per-period verdicts of one kind for many routes at once, as arrays (routes × periods).

A judge that works on all routes and periods at once hands the period table one of these
instead of rows: status as small integer codes, the bound and the observed values as float
matrices. Nothing is formatted per row until a reader asks: results.json's letters come
straight from the codes, and ``period-verdicts.csv`` is written by ``csv_text`` with numpy's
vectorised string operations (a week of 2,500 routes is ten million rows per kind; building a
frame of Python strings for them costs more than judging them).

The rows it stands for are exactly those the long frame (``frame``) shows: one per route and
period, routes in order, periods in time order, ``observed`` as the JSON object the per-period
check would carry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cwparity.results import Status

#: status codes: index into this tuple
STATUSES = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP, Status.WARN)
PASS, FAIL, ERROR, SKIP, WARN = range(len(STATUSES))
_STRING = np.dtypes.StringDType()


@dataclass
class VerdictGrid:
    """``status[r, p]``: code of route ``routes[r]``'s period ``labels[p]``; ``observed``: the
    check's observed values by name (same shape), in the order its JSON lists them."""

    kind: str
    routes: np.ndarray
    labels: np.ndarray
    status: np.ndarray
    bound: np.ndarray
    unit: str
    observed: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.status.size)

    def skip_all(self) -> None:
        """A window not settled: the table says the same as the checks, not judged."""
        self.status[...] = SKIP

    def letters(self, letter_of: dict[Status, str]) -> dict[str, str]:
        """Per route, one letter per period of its row."""
        table = np.array([letter_of.get(s, "-") for s in STATUSES], dtype="<U1")
        cells = table[self.status]
        as_bytes = cells.astype("S1").view(f"S{self.status.shape[1]}").ravel()
        return {str(r): b.decode() for r, b in zip(self.routes, as_bytes, strict=True)}

    def bad(self) -> np.ndarray:
        """1 where a period failed or could not be judged."""
        return ((self.status == FAIL) | (self.status == ERROR)).astype(int)

    def observed_json(self, quote: str = '"') -> np.ndarray:
        """The observed column, routes × periods, as the per-period check's JSON (``quote``:
        how a quote is written; doubled inside a CSV field)."""
        text: np.ndarray | None = None
        for position, (name, values) in enumerate(self.observed.items()):
            opening = "{" if position == 0 else ", "
            part = np.strings.add(f"{opening}{quote}{name}{quote}: ", _as_text(values))
            text = part if text is None else np.strings.add(text, part)
        if text is None:
            return np.full(self.status.shape, "{}", dtype=_STRING)
        return np.strings.add(text, "}")

    def frame(self) -> pd.DataFrame:
        """The rows as the long table (kind, route, period_start, status, …)."""
        n_routes, n_periods = self.status.shape
        codes = pd.Categorical.from_codes(
            self.status.ravel(), categories=[s.value for s in STATUSES]
        )
        return pd.DataFrame(
            {
                "kind": self.kind,
                "route": np.repeat(np.asarray(self.routes, dtype=object), n_periods),
                "period_start": np.tile(np.asarray(self.labels, dtype=object), n_routes),
                "status": np.asarray(codes, dtype=object),
                "bound": self.bound.ravel(),
                "unit": self.unit,
                "reason": "",
                "observed": self.observed_json().ravel().astype(object),
            }
        )

    def csv_chunks(self, cells: int = 1 << 20):
        """The rows as CSV text (the columns and quoting of ``frame().to_csv``), a few routes
        at a time so that the text of ten million rows never sits in memory at once."""
        head = np.array([f"{_field(self.kind)},{_field(str(r))}," for r in self.routes], _STRING)
        labels = np.array([f"{label}," for label in self.labels], dtype=_STRING)
        names = np.array([f"{s.value}," for s in STATUSES], dtype=_STRING)
        step = max(1, cells // max(self.status.shape[1], 1))
        for begin in range(0, len(self.routes), step):
            rows = slice(begin, begin + step)
            part = VerdictGrid(
                self.kind,
                self.routes[rows],
                self.labels,
                self.status[rows],
                self.bound[rows],
                self.unit,
                {name: values[rows] for name, values in self.observed.items()},
            )
            line = np.strings.add(head[rows, None], labels[None, :])
            tails = part.tails()
            if tails is not None:
                yield "".join(np.strings.add(line, tails).ravel().tolist())
                continue
            bound_text = np.where(np.isnan(part.bound), "", _as_text(part.bound))
            observed = part.observed_json(quote='""')
            for piece in (names[part.status], bound_text, f',{_field(self.unit)},,"', observed):
                line = np.strings.add(line, piece)
            yield "".join(np.strings.add(line, '"\n').ravel().tolist())

    def tails(self) -> np.ndarray | None:
        """Each row's text after its period (status, bound, unit, reason, observed, newline).

        Those columns take few distinct combinations (counts repeat, bounds too): each
        combination is written once, with Python's own float repr, and gathered. None when
        the combinations cannot be numbered in one int64 (the caller formats cell by cell)."""
        # + 0.0: a negative zero is written as 0.0 (np.unique cannot tell the two apart)
        columns = [self.status, self.bound + 0.0, *(v + 0.0 for v in self.observed.values())]
        distinct, key, size = [], np.zeros(self.status.shape, dtype=np.int64), 1
        for column in columns:
            values, where = np.unique(column, return_inverse=True)
            size *= len(values)
            if size >= 2**62:
                return None
            key = key * len(values) + where.reshape(self.status.shape)
            distinct.append(values.tolist())
        combinations, inverse = np.unique(key, return_inverse=True)
        unit, names = _field(self.unit), list(self.observed)
        texts = []
        for combined in combinations.tolist():
            digits = []
            for values in reversed(distinct):
                combined, digit = divmod(combined, len(values))
                digits.append(values[digit])
            status, bound, *observed = reversed(digits)
            inner = ", ".join(f'""{n}"": {v!r}' for n, v in zip(names, observed, strict=True))
            bound_text = "" if math.isnan(bound) else repr(bound)
            texts.append(f'{STATUSES[status].value},{bound_text},{unit},,"{{{inner}}}"\n')
        return np.asarray(texts, dtype=_STRING)[inverse.reshape(self.status.shape)]


def _as_text(values: np.ndarray) -> np.ndarray:
    """Each float as Python's repr writes it. Counts and bounds repeat a few values over many
    periods: formatting each distinct value once and gathering is several times faster."""
    values = values + 0.0  # a negative zero as 0.0, whichever way it is formatted
    distinct, where = np.unique(values, return_inverse=True)
    if len(distinct) * 4 > values.size:
        return values.astype(_STRING)
    return np.asarray([repr(v) for v in distinct.tolist()], dtype=_STRING)[where]


def _field(value: str) -> str:
    """One CSV field, quoted when it must be (as the csv module's minimal quoting does)."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
