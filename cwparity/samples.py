"""The arrays the sources hand to align: raw counter samples and CloudWatch statistics.

Columnar, so that a week of ten thousand series is a few arrays rather than a hundred million
rows: ``SeriesSet`` holds every series' samples back to back (CSR: series ``i`` owns
``timestamps[offsets[i]:offsets[i + 1]]``) with one label row per series; ``StatGrid`` holds
CloudWatch's statistics as one routes × periods array per statistic, NaN where CloudWatch
returned no datum. Plain values: no I/O, no cwparity imports beyond the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cwparity.window import Window

#: one row per series: its full label set as text, and the labels the engine reads
LABEL_COLUMNS = ["series", "path", "method", "le"]
#: the long form (one row per sample), for small runs' CSVs and for tests
SAMPLE_COLUMNS = ["series", "path", "method", "le", "timestamp", "value"]
#: a run folder keeps raw samples as CSV up to this many samples per metric, beyond as .npz
CSV_SAMPLE_LIMIT = 2_000_000


@dataclass(frozen=True, eq=False)
class SeriesSet:
    """Raw samples of many series. Each series' samples are in time order."""

    labels: pd.DataFrame
    offsets: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.labels) + 1 or self.offsets[-1] != len(self.values):
            raise ValueError("offsets must have one entry per series plus one, ending at the size")
        if len(self.timestamps) != len(self.values):
            raise ValueError("timestamps and values must have the same length")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def samples(self) -> int:
        return len(self.values)

    @property
    def nbytes(self) -> int:
        """The bytes of the sample arrays (timestamps, values and offsets)."""
        return self.timestamps.nbytes + self.values.nbytes + self.offsets.nbytes

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def routes(self) -> np.ndarray:
        """Each series' route, "METHOD path", as CloudWatch's dimensions name it."""
        if not len(self):
            return np.array([], dtype=object)
        return (self.labels["method"] + " " + self.labels["path"]).to_numpy(dtype=object)

    @classmethod
    def empty(cls) -> SeriesSet:
        return cls(
            pd.DataFrame({c: pd.Series(dtype=object) for c in LABEL_COLUMNS}),
            np.zeros(1, dtype=np.int64),
            np.zeros(0),
            np.zeros(0),
        )

    @classmethod
    def from_arrays(
        cls, labels: Sequence[dict[str, str]], stamps: Sequence[np.ndarray], values: Sequence
    ) -> SeriesSet:
        """From per-series arrays (label rows with the LABEL_COLUMNS keys)."""
        if not labels:
            return cls.empty()
        offsets = np.zeros(len(labels) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in stamps], out=offsets[1:])
        return cls(
            pd.DataFrame(list(labels), columns=LABEL_COLUMNS),
            offsets,
            np.concatenate(stamps).astype(float, copy=False),
            np.concatenate(values).astype(float, copy=False),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> SeriesSet:
        """From the long form (SAMPLE_COLUMNS), each series sorted by time."""
        if frame.empty:
            return cls.empty()
        ordered = frame.sort_values(["series", "timestamp"], kind="stable")
        names = ordered["series"].to_numpy()
        starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        offsets = np.append(starts, len(ordered)).astype(np.int64)
        labels = ordered.iloc[starts][LABEL_COLUMNS].reset_index(drop=True)
        return cls(
            labels,
            offsets,
            ordered["timestamp"].to_numpy(float),
            ordered["value"].to_numpy(float),
        )

    @classmethod
    def concat(cls, parts: Sequence[SeriesSet]) -> SeriesSet:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        shifts = np.cumsum([0, *(p.samples for p in parts[:-1])])
        offsets = np.concatenate(
            [[0], *((p.offsets[1:] + shift) for p, shift in zip(parts, shifts, strict=True))]
        )
        return cls(
            pd.concat([p.labels for p in parts], ignore_index=True),
            offsets.astype(np.int64),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def to_frame(self) -> pd.DataFrame:
        repeat = self.lengths()
        frame = self.labels.loc[self.labels.index.repeat(repeat), LABEL_COLUMNS]
        frame = frame.reset_index(drop=True)
        frame["timestamp"] = self.timestamps
        frame["value"] = self.values
        return frame

    def same_as(self, other: SeriesSet) -> bool:
        return (
            len(self) == len(other)
            and np.array_equal(self.offsets, other.offsets)
            and np.array_equal(self.timestamps, other.timestamps)
            and np.array_equal(self.values, other.values, equal_nan=True)
            and self.labels["series"].tolist() == other.labels["series"].tolist()
        )

    def save(self, path_stem: Path) -> Path:
        """As ``STEM.csv`` (one row per sample) when small, else ``STEM.npz`` (the arrays)."""
        if self.samples <= CSV_SAMPLE_LIMIT:
            path = path_stem.with_suffix(".csv")
            self.to_frame().to_csv(path, index=False)
            return path
        path = path_stem.with_suffix(".npz")
        np.savez(
            path,
            offsets=self.offsets,
            timestamps=self.timestamps,
            values=self.values,
            **{f"label_{c}": self.labels[c].to_numpy(dtype=str) for c in LABEL_COLUMNS},
        )
        return path


@dataclass(frozen=True, eq=False)
class StatGrid:
    """CloudWatch statistics on the window's grid: ``stats[name][route, period]``, NaN = no datum.

    ``name`` is the engine's column name (count, sum, p50…), values in seconds for latencies.
    """

    routes: tuple[str, ...]
    window: Window
    stats: dict[str, np.ndarray]

    @classmethod
    def empty_for(cls, routes: Sequence[str], window: Window, names: Sequence[str]) -> StatGrid:
        shape = (len(routes), len(window.period_starts()))
        return cls(tuple(routes), window, {n: np.full(shape, np.nan) for n in names})

    def filled(self, name: str) -> np.ndarray:
        """A count or sum: CloudWatch omits empty periods, which are zero requests."""
        if name not in self.stats:
            return np.zeros((len(self.routes), len(self.window.period_starts())))
        return np.nan_to_num(self.stats[name], nan=0.0)

    def same_as(self, other: StatGrid) -> bool:
        return (
            self.routes == other.routes
            and set(self.stats) == set(other.stats)
            and all(
                np.array_equal(a, other.stats[n], equal_nan=True) for n, a in self.stats.items()
            )
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, routes: Sequence[str], window: Window) -> StatGrid:
        """From the long form (route, period_start, stat, value); rows of one cell are summed."""
        names = sorted(set(frame["stat"])) if not frame.empty else ["count", "sum"]
        grid = cls.empty_for(routes, window, names)
        if frame.empty:
            return grid
        row = pd.Index(list(routes)).get_indexer(frame["route"])
        starts = np.array([t.timestamp() for t in frame["period_start"]])
        column = np.floor((starts - window.start.timestamp()) / window.period).astype(int)
        inside = (row >= 0) & (column >= 0) & (column < grid.stats[names[0]].shape[1])
        values = frame["value"].to_numpy(float)
        stat = frame["stat"].to_numpy()
        for name in names:
            chosen = inside & (stat == name)
            total = np.zeros_like(grid.stats[name])
            seen = np.zeros(total.shape, dtype=bool)
            np.add.at(total, (row[chosen], column[chosen]), values[chosen])
            seen[row[chosen], column[chosen]] = True
            grid.stats[name] = np.where(seen, total, np.nan)
        return grid

    def to_frame(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The long form, one row per datum CloudWatch returned."""
        starts = pd.DatetimeIndex(self.window.period_starts())
        parts = []
        for name in names or list(self.stats):
            cells = self.stats.get(name)
            if cells is None:
                continue
            row, column = np.nonzero(~np.isnan(cells))
            parts.append(
                pd.DataFrame(
                    {
                        "route": np.asarray(self.routes, dtype=object)[row],
                        "period_start": starts[column],
                        "stat": name,
                        "value": cells[row, column],
                    }
                )
            )
        if not parts:
            return pd.DataFrame(columns=["route", "period_start", "stat", "value"])
        return pd.concat(parts, ignore_index=True).sort_values(
            ["route", "stat", "period_start"], kind="stable", ignore_index=True
        )
