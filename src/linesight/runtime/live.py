"""Latest value and a short ring buffer per tag, for screens that read once per frame from another thread.

The rings of all tags live in two time-major 2-D arrays (a row per ring slot, a column per tag) and
each batch is written with a few vectorised NumPy operations: at hundreds of thousands of samples a
second, a Python-level append per sample cost more than everything else the runtime does with a
sample. Tags get columns in the order they are first seen, so the tags of one poll sit side by side
and, polled in step, a batch lands in one contiguous stretch of one row: one cache line for every
eight samples instead of a cache miss for each.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from linesight.domain.tags import Quality, Sample, TagValue

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_Cell = TypeVar("_Cell", np.int64, np.float64)
_NAN = math.nan
_NEVER = np.iinfo(np.int64).min
# Points kept per tag: 10 minutes at 1 Hz. Memory is tags x points x 16 bytes (48 MB for 5,000 tags);
# longer live windows come from the historian.
RING_POINTS = 600


def _ring_value(value: TagValue) -> float:
    """A value as the ring stores it: numbers as floats; text and missing values as NaN (not drawn)."""
    if value is None or value.__class__ is str:
        return _NAN
    return float(value)


class LiveCache:
    """Thread-safe: the runtime writes batches, any thread reads immutable snapshots and array copies."""

    def __init__(self, ring_capacity: int = RING_POINTS, expected_tags: int = 0) -> None:
        """``expected_tags`` sizes the arrays up front: growing them later copies every ring."""
        if ring_capacity < 2:
            raise ValueError("a live ring needs room for at least 2 points")
        self._capacity = ring_capacity
        self._lock = threading.Lock()
        self._index: dict[str, int] = {}
        self._latest: list[Sample | None] = []
        self._latest_ts: IntArray = np.zeros(0, dtype=np.int64)
        self._ts: IntArray = np.zeros((ring_capacity, 0), dtype=np.int64)
        self._values: FloatArray = np.zeros((ring_capacity, 0), dtype=np.float64)
        self._head: IntArray = np.zeros(0, dtype=np.int64)  # next write position per tag
        self._count: IntArray = np.zeros(0, dtype=np.int64)
        self._version = 0
        if expected_tags:
            self._reserve(expected_tags)

    def _add_tags(self, keys: Sequence[str]) -> None:
        new = [key for key in dict.fromkeys(keys) if key not in self._index]
        for key in new:
            self._index[key] = len(self._latest)
            self._latest.append(None)
        self._reserve(len(self._latest))

    def _reserve(self, columns: int) -> None:
        if columns > self._ts.shape[1]:
            # Grow by doubling; np.zeros pages are only committed when first written.
            allocated = max(columns, 2 * self._ts.shape[1], 64)
            self._ts = _grown(self._ts, allocated)
            self._values = _grown(self._values, allocated)
            self._latest_ts = np.concatenate(
                (self._latest_ts, np.full(allocated - self._latest_ts.shape[0], _NEVER, dtype=np.int64))
            )
            self._head = np.concatenate(
                (self._head, np.zeros(allocated - self._head.shape[0], dtype=np.int64))
            )
            self._count = np.concatenate(
                (self._count, np.zeros(allocated - self._count.shape[0], dtype=np.int64))
            )

    def update(self, batch: Sequence[Sample]) -> None:
        if not batch:
            return
        keys = [s[0] for s in batch]
        with self._lock:
            index = self._index
            try:
                positions = [index[key] for key in keys]
            except KeyError:
                self._add_tags(keys)
                positions = [index[key] for key in keys]
            if len(set(positions)) != len(positions):
                # A tag twice in one batch (a burst of notifications): vectorised writes would keep
                # only one of them, so take the batch one sample at a time.
                for sample, position in zip(batch, positions, strict=True):
                    self._write([sample], [position])
            else:
                self._write(batch, positions)
            self._version += 1

    def _write(self, batch: Sequence[Sample], positions: list[int]) -> None:
        rows = np.array(positions, dtype=np.int64)
        ts = np.array([s[1] for s in batch], dtype=np.int64)
        newer = ts >= self._latest_ts[rows]
        latest = self._latest
        if newer.all():
            # latest[position] = sample for each pair, looped in C.
            deque(map(latest.__setitem__, positions, batch), maxlen=0)
            self._latest_ts[rows] = ts
        else:
            for position, sample, is_newer in zip(positions, batch, newer.tolist(), strict=True):
                if is_newer:
                    latest[position] = sample
            self._latest_ts[rows[newer]] = ts[newer]
        values = np.array(
            [v if v.__class__ is float else _ring_value(v) for v in [s[2] for s in batch]], dtype=np.float64
        )
        keep = ~np.isnan(values)
        bad = [s[3] is Quality.BAD for s in batch]
        if any(bad):
            keep &= ~np.array(bad)
        if not keep.all():
            rows, ts, values = rows[keep], ts[keep], values[keep]
        if rows.size == 0:
            return
        heads = self._head[rows]
        self._ts[heads, rows] = ts
        self._values[heads, rows] = values
        heads += 1
        heads[heads == self._capacity] = 0
        self._head[rows] = heads
        counts = self._count[rows] + 1
        self._count[rows] = np.minimum(counts, self._capacity)

    @property
    def version(self) -> int:
        """Increases with every update, so a reader can skip a frame when nothing changed."""
        return self._version

    def latest(self, tag: str) -> Sample | None:
        with self._lock:
            position = self._index.get(tag)
            return None if position is None else self._latest[position]

    def snapshot(self) -> Mapping[str, Sample]:
        """An immutable copy of the latest sample of every tag."""
        with self._lock:
            latest = self._latest
            found = {key: latest[position] for key, position in self._index.items()}
        return MappingProxyType({key: sample for key, sample in found.items() if sample is not None})

    def trend(self, tag: str, since_us: int | None = None) -> tuple[IntArray, FloatArray]:
        """Copies of the ring buffer of one numeric tag, oldest first (empty if none)."""
        with self._lock:
            position = self._index.get(tag)
            count = 0 if position is None else int(self._count[position])
            if position is None or count == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            head = int(self._head[position])
            order = np.arange(head - count, head) % self._capacity
            ts = self._ts[order, position]
            values = self._values[order, position]
        if since_us is not None:
            keep = ts >= since_us
            ts, values = ts[keep], values[keep]
        return ts, values


def _grown(array: npt.NDArray[_Cell], columns: int) -> npt.NDArray[_Cell]:
    bigger = np.zeros((array.shape[0], columns), dtype=array.dtype)
    bigger[:, : array.shape[1]] = array
    return bigger
