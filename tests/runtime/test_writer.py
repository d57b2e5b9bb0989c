"""The historian writer: batches at its interval, keeps samples through failures, bounds memory."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from linesight.domain.errors import HistorianError
from linesight.domain.tags import Sample
from linesight.runtime.engine import Engine
from linesight.runtime.writer import HistorianWriter
from linesight.storage import Historian

from .test_coordinator import FAST, plant, wait_for


class FlakyStore:
    """A store that fails while ``broken`` is set, like a full disk."""

    def __init__(self) -> None:
        self.broken = False
        self.batches: list[list[Sample]] = []

    def append(self, samples: Sequence[Sample]) -> tuple[int, int] | None:
        if self.broken:
            raise HistorianError("disk full (simulated)")
        self.batches.append(list(samples))
        return None


def samples(first: int, count: int) -> list[Sample]:
    return [Sample(tag="m.a", ts_us=i, value=float(i)) for i in range(first, first + count)]


@pytest.mark.expect_log_warnings
async def test_a_failing_historian_keeps_every_sample_in_order_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FlakyStore()
    writer = HistorianWriter(store, flush_interval=0.05)
    store.broken = True
    writer.add(samples(0, 10))
    await writer.flush()
    writer.add(samples(10, 5))
    await writer.flush()
    assert writer.stats().pending == 15 and writer.stats().failed_flushes == 2
    store.broken = False
    writer.add(samples(15, 5))
    await writer.flush()
    stored = [s.ts_us for batch in store.batches for s in batch]
    assert stored == list(range(20))
    errors = [r for r in caplog.records if "historian write failed" in r.getMessage()]
    assert len(errors) == 1
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_a_backlog_is_stored_in_bounded_transactions() -> None:
    store = FlakyStore()
    writer = HistorianWriter(store, max_batch=100)
    writer.add(samples(0, 250))
    await writer.flush()
    assert [len(batch) for batch in store.batches] == [100, 100, 50]
    assert writer.stats().stored == 250


@pytest.mark.expect_log_warnings
async def test_memory_stays_bounded_when_the_historian_stays_away(caplog: pytest.LogCaptureFixture) -> None:
    store = FlakyStore()
    store.broken = True
    writer = HistorianWriter(store, max_pending=100)
    writer.add(samples(0, 150))
    await writer.flush()
    assert writer.stats().pending == 100 and writer.stats().dropped == 50
    store.broken = False
    await writer.flush()
    assert [s.ts_us for s in store.batches[0]] == list(range(50, 150))  # the newest were kept
    assert any("dropped the 50 oldest" in r.getMessage() for r in caplog.records)


async def test_the_writer_flushes_on_its_interval_while_running() -> None:
    store = FlakyStore()
    writer = HistorianWriter(store, flush_interval=0.05)
    task = asyncio.create_task(writer.run())
    try:
        for chunk in range(5):
            writer.add(samples(chunk * 10, 10))
            await wait_for(lambda chunk=chunk: writer.stats().stored == (chunk + 1) * 10, within=5)
    finally:
        task.cancel()
    assert writer.stats().flushes == 5


async def test_a_clean_stop_stores_every_sample_the_machines_produced(tmp_path: Path) -> None:
    machines = [
        {
            "id": f"m{i}",
            "driver": "simulator",
            "poll_interval": 0.02,
            "connection": {"profile": profile, "seed": i},
            "tags": [
                {"name": "parts", "address": "part_count", "type": "uint32"},
                {"name": "energy", "address": "energy_kwh"},
                {"name": "alarm", "address": "alarm_text", "type": "string"},
            ],
        }
        for i, profile in enumerate(("cnc", "press", "oven"))
    ]
    published: list[Sample] = []
    with Historian(tmp_path / "h.duckdb") as historian:
        # A long flush interval: whatever is stored at the end was flushed by the stop itself.
        engine = Engine(plant(*machines), historian=historian, backoff=FAST, flush_interval=30.0)
        engine.bus.subscribe(published.extend)
        async with engine:
            await wait_for(lambda: len(published) >= 600)
        stats = historian.stats()
        assert stats.raw_rows == len(published) > 0
        assert stats.last_seq == len(published)
        units = {tag.key: tag.data_type for tag in historian.tags()}
    assert units["m0.alarm"] == "string" and units["m1.parts"] == "uint32"  # the plant's tags were registered
