"""Latest value and a short ring buffer per tag, for screens that read once per frame from another thread."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from linesight.domain.tags import Quality, Sample

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _Ring:
    """Fixed-capacity ring of (timestamp, value) that grows its arrays on demand up to the capacity."""

    __slots__ = ("_count", "_head", "_ts", "_values", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        size = min(capacity, 64)
        self._ts: IntArray = np.zeros(size, dtype=np.int64)
        self._values: FloatArray = np.zeros(size, dtype=np.float64)
        self._head = 0  # next write position
        self._count = 0

    def append(self, ts_us: int, value: float) -> None:
        size = self._ts.shape[0]
        if self._count == size and size < self.capacity:
            # Still linear (never wrapped while growing): enlarge in place.
            new_size = min(self.capacity, size * 4)
            self._ts = np.resize(self._ts, new_size)
            self._values = np.resize(self._values, new_size)
            size = new_size
        self._ts[self._head] = ts_us
        self._values[self._head] = value
        self._head = (self._head + 1) % size
        if self._count < size:
            self._count += 1

    def arrays(self, since_us: int | None) -> tuple[IntArray, FloatArray]:
        size = self._ts.shape[0]
        if self._count < size:
            ts, values = self._ts[: self._count].copy(), self._values[: self._count].copy()
        else:
            order = np.r_[self._head : size, 0 : self._head]
            ts, values = self._ts[order], self._values[order]
        if since_us is not None:
            keep = ts >= since_us
            ts, values = ts[keep], values[keep]
        return ts, values


class LiveCache:
    """Thread-safe: the runtime writes batches, any thread reads immutable snapshots and array copies."""

    def __init__(self, ring_capacity: int = 1024) -> None:
        self._ring_capacity = ring_capacity
        self._lock = threading.Lock()
        self._latest: dict[str, Sample] = {}
        self._rings: dict[str, _Ring] = {}
        self._version = 0

    def update(self, batch: Sequence[Sample]) -> None:
        with self._lock:
            latest = self._latest
            rings = self._rings
            for sample in batch:
                previous = latest.get(sample.tag)
                if previous is None or sample.ts_us >= previous.ts_us:
                    latest[sample.tag] = sample
                value = sample.value
                if value is None or isinstance(value, str) or sample.quality is Quality.BAD:
                    continue
                ring = rings.get(sample.tag)
                if ring is None:
                    ring = rings[sample.tag] = _Ring(self._ring_capacity)
                ring.append(sample.ts_us, float(value))
            self._version += 1

    @property
    def version(self) -> int:
        """Increases with every update, so a reader can skip a frame when nothing changed."""
        return self._version

    def latest(self, tag: str) -> Sample | None:
        with self._lock:
            return self._latest.get(tag)

    def snapshot(self) -> Mapping[str, Sample]:
        """An immutable copy of the latest sample of every tag."""
        with self._lock:
            return MappingProxyType(dict(self._latest))

    def trend(self, tag: str, since_us: int | None = None) -> tuple[IntArray, FloatArray]:
        """Copies of the ring buffer of one numeric tag, oldest first (empty if none)."""
        with self._lock:
            ring = self._rings.get(tag)
            if ring is None:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            return ring.arrays(since_us)
