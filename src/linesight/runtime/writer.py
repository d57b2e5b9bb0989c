"""Batches samples from the bus into the historian at a fixed flush interval, off the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from linesight.domain.errors import HistorianError
from linesight.domain.tags import Sample

log = logging.getLogger(__name__)

# Samples kept in memory while the historian cannot be written (disk full, file gone): about 600 MB,
# 17 hours of the demo plant, 25 s at 200,000 samples/s. Beyond it the oldest go, loudly and counted.
MAX_PENDING = 5_000_000
# One transaction stores at most this many samples, so that a backlog drains in bounded steps.
MAX_BATCH = 250_000


class SampleStore(Protocol):
    """The part of the historian the writer needs."""

    def append(self, samples: Sequence[Sample]) -> tuple[int, int] | None: ...


@dataclass(frozen=True, kw_only=True)
class WriterStats:
    stored: int
    last_seq: int | None
    pending: int
    flushes: int
    failed_flushes: int
    last_flush_at: float | None
    last_flush_ms: float | None
    dropped: int


class HistorianWriter:
    """Collects batches on the runtime loop; appends them in a worker thread once per interval.

    A failed append (disk full, file gone) keeps the samples and retries at the next interval;
    only when ``max_pending`` is exceeded are the oldest dropped, loudly, to protect memory.
    """

    def __init__(
        self,
        store: SampleStore,
        *,
        flush_interval: float = 1.0,
        max_pending: int = MAX_PENDING,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._store = store
        self._interval = flush_interval
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._pending: list[Sample] = []
        self._lock = asyncio.Lock()
        self._stored = 0
        self._last_seq: int | None = None
        self._flushes = 0
        self._failed = 0
        self._failing = False
        self._dropped = 0
        self._last_flush_at: float | None = None
        self._last_flush_ms: float | None = None

    def add(self, batch: Sequence[Sample]) -> None:
        self._pending.extend(batch)

    def stats(self) -> WriterStats:
        return WriterStats(
            stored=self._stored,
            last_seq=self._last_seq,
            pending=len(self._pending),
            flushes=self._flushes,
            failed_flushes=self._failed,
            last_flush_at=self._last_flush_at,
            last_flush_ms=self._last_flush_ms,
            dropped=self._dropped,
        )

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self._interval
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += self._interval
            await self.flush()
            if next_at < loop.time():
                # A flush longer than the interval: start the next one right away, without a backlog of ticks.
                next_at = loop.time()

    async def flush(self) -> None:
        """Store everything collected so far, in transactions of at most ``max_batch`` samples."""
        async with self._lock:
            batch, self._pending = self._pending, []
            started = time.perf_counter()
            for first in range(0, len(batch), self._max_batch):
                chunk = batch[first : first + self._max_batch]
                try:
                    seqs = await asyncio.to_thread(self._store.append, chunk)
                except HistorianError as err:
                    self._failed += 1
                    # Keep what was not stored, oldest first, ahead of what arrived meanwhile.
                    self._pending[:0] = batch[first:]
                    self._trim()
                    if not self._failing:
                        log.error(
                            "historian write failed, keeping %d samples to retry: %s", len(self._pending), err
                        )
                        self._failing = True
                    return
                if self._failing:
                    log.info("historian writes recovered")
                    self._failing = False
                self._flushes += 1
                self._stored += len(chunk)
                if seqs is not None:
                    self._last_seq = seqs[1]
            if batch:
                self._last_flush_at = time.time()
                self._last_flush_ms = (time.perf_counter() - started) * 1000.0

    def _trim(self) -> None:
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            del self._pending[:excess]
            self._dropped += excess
            log.error("historian unreachable too long: dropped the %d oldest samples to bound memory", excess)
