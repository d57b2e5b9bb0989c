"""The cloud-sync switch in a running engine: who may switch it, the audit trail, off means nothing
leaves the machine, the choice survives a restart; state events and the local /metrics."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from linesight.domain.errors import LineSightError, PermissionDenied
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Sample, TagSpec, TagValue
from linesight.domain.users import Role
from linesight.runtime.backoff import Backoff
from linesight.runtime.cloud_sync import CloudSync
from linesight.runtime.commands import Actor, Commands
from linesight.runtime.engine import Engine
from linesight.storage.historian import Historian, RetentionPolicy

from .broker import Collector, Mosquitto

MANAGER = Actor(name="marta", role=Role.MANAGER)
OPERATOR = Actor(name="ana", role=Role.OPERATOR)


class CountingDriver:
    """A machine that runs and counts parts: every read gives ``run`` = 1 and the next count."""

    def __init__(self, tags: Sequence[TagSpec]) -> None:
        self.tags = tags
        self.count = 0

    async def connect(self) -> None:
        return None

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        self.count += 1
        now = int(time.time() * 1e6)
        return [
            Sample(tag=t.key, ts_us=now, value=1.0 if t.name == "run" else float(self.count)) for t in tags
        ]

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        return None

    async def close(self) -> None:
        return None


class CountingFactory:
    name = "counting"

    def validate(
        self, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        return []

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> CountingDriver:
        return CountingDriver(tags)


def plant(broker: Mosquitto | None, **cloud: Any) -> PlantConfig:
    document: dict[str, Any] = {
        "id": "t",
        "sites": [
            {
                "id": "s",
                "lines": [
                    {
                        "id": "l",
                        "machines": [
                            {
                                "id": "press-01",
                                "driver": "counting",
                                "poll_interval": 0.05,
                                "tags": [{"name": "run", "address": "r"}, {"name": "parts", "address": "p"}],
                                "oee": {
                                    "state": {"from": "running_bit", "tag": "run"},
                                    "ideal_cycle_time": 1,
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    if broker is not None:
        document["cloud"] = {
            "host": broker.host,
            "port": broker.port,
            "tenant": "acme",
            "site": "plant-1",
            "edge": "edge-01",
            "reconnect": {"initial": 0.2, "cap": 1.0},
            **cloud,
        }
    return PlantConfig.model_validate(document)


def engine_for(config: PlantConfig, historian: Historian) -> Engine:
    return Engine(
        config,
        historian=historian,
        factories={"counting": CountingFactory()},
        backoff=Backoff(initial=0.05, cap=0.2, jitter=0.0),
        flush_interval=0.1,
    )


def audit_of(historian: Historian) -> list[tuple[str, str, str, str, str]]:
    return [
        (e.user, e.outcome, e.old, e.new, e.detail)
        for e in reversed(historian.audit_entries())
        if e.action == "switch_cloud_sync"
    ]


@pytest.mark.slow
async def test_only_a_manager_switches_sync_every_switch_is_audited_and_off_sends_nothing(
    broker: Mosquitto, tmp_path: Path
) -> None:
    path = tmp_path / "edge.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=None, minute=None)) as historian:
        engine = engine_for(plant(broker), historian)
        commands = Commands(engine, historian)
        async with Collector(broker) as seen, engine:
            assert engine.cloud_sync is not None and not engine.cloud_sync.enabled  # off by default
            await seen.wait_for(lambda: historian.last_seq > 20)
            await asyncio.sleep(0.5)
            assert seen.messages == 0  # off: nothing left the machine
            with pytest.raises(PermissionDenied, match="ana \\(operator\\) may not switch cloud sync"):
                await commands.cloud_sync(OPERATOR, True)
            await commands.cloud_sync(MANAGER, True)
            # The backlog since the watermark goes, live data follows, and the machine's state.
            await seen.wait_for(lambda: len(seen.seqs) > historian.last_seq // 2 and seen.seqs.get(1) == 1)
            await seen.wait_for(lambda: ("state", 1) in seen.events)
            await commands.cloud_sync(MANAGER, False)
            assert not engine.cloud_sync.forwarder.running
            received = seen.messages
            await asyncio.sleep(0.5)
            assert seen.messages == received  # off again: nothing more
        assert audit_of(historian) == [
            ("ana", "refused", "", "", "not allowed for this role"),
            ("marta", "done", "off", "on", ""),
            ("marta", "done", "on", "off", ""),
        ]
        assert historian.outbox_meta("cloud.sync") == "off"

        # The choice survives a restart: on again, then a new engine starts with sync on.
        engine = engine_for(plant(broker), historian)
        async with engine:
            assert engine.cloud_sync is not None
            await Commands(engine, historian).cloud_sync(Actor(name="root", role=Role.ADMIN), True)
        engine = engine_for(plant(broker), historian)
        async with Collector(broker, identifier="second") as seen, engine:
            assert engine.cloud_sync is not None and engine.cloud_sync.enabled
            last = historian.last_seq
            await seen.wait_for(lambda: max(seen.seqs, default=0) > last)
            health = engine.cloud_sync.health()
            assert health.connected and health.published_samples > 0


async def test_switching_without_a_cloud_section_fails_and_is_audited(tmp_path: Path) -> None:
    with Historian(tmp_path / "edge.duckdb") as historian:
        engine = engine_for(plant(None), historian)
        commands = Commands(engine, historian)
        async with engine:
            assert engine.cloud_sync is None
            with pytest.raises(LineSightError, match="no cloud: section"):
                await commands.cloud_sync(MANAGER, True)
        assert audit_of(historian) == [("marta", "failed", "", "on", "the plant file has no cloud: section")]


async def test_metrics_are_served_locally_when_asked_for(broker: Mosquitto, tmp_path: Path) -> None:
    with Historian(tmp_path / "edge.duckdb") as historian:
        engine = engine_for(plant(broker, enabled=True, metrics_listen="127.0.0.1:0"), historian)
        async with Collector(broker) as seen, engine:
            sync = engine.cloud_sync
            assert sync is not None and sync.metrics_address is not None
            await seen.wait_for(lambda: len(seen.seqs) > 10)
            host, port = sync.metrics_address
            await seen.wait_for(
                lambda: sync.health().backlog_rows >= 0 and sync.health().published_samples > 10
            )

            def scrape() -> str:
                with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
                    return str(response.read().decode())

            text = await asyncio.to_thread(scrape)
        for name in (
            "backlog_rows",
            "backlog_oldest_age_seconds",
            "publish_retry_total",
            "published_samples_total",
            "broker_connected 1.0",
            "cloud_sync_enabled 1.0",
        ):
            assert name in text, name


class ShiftsSeen:
    """Stands in for the machine tracker: the statuses a test sets, one machine."""

    def __init__(self) -> None:
        self.current: list[Any] = []

    def statuses(self) -> list[Any]:
        return self.current

    def subscribe_states(self, listener: Any) -> Any:
        return lambda: None


def shift_status(name: str, start_h: int, oee: float) -> Any:
    start = datetime(2026, 11, 25, start_h, tzinfo=UTC)
    figures = SimpleNamespace(
        availability=0.9, performance=0.8, quality=oee / 0.72, oee=oee, produced=100, good=95
    )
    return SimpleNamespace(
        machine="press-01",
        shift=SimpleNamespace(name=name, start=start, end=start + timedelta(hours=8)),
        oee=figures,
        parts=100,
        rejects=5,
    )


async def test_a_shift_oee_result_is_kept_once_when_the_shift_ends(broker: Mosquitto, tmp_path: Path) -> None:
    with Historian(tmp_path / "edge.duckdb") as historian:
        for _restart in range(2):
            tracker = ShiftsSeen()
            sync = CloudSync(plant(broker), historian, tracker=tracker)  # type: ignore[arg-type]
            await sync.start()
            tracker.current = [shift_status("morning", 6, 0.5)]
            sync.check_shifts()
            tracker.current = [shift_status("morning", 6, 0.6)]
            sync.check_shifts()
            tracker.current = [shift_status("afternoon", 14, 0.1)]
            sync.check_shifts()
            sync.check_shifts()
            await sync.stop()
        (event,) = historian.outbox_events("shift_oee", 0)
    assert event.machine == "press-01" and event.ts_us == int(
        datetime(2026, 11, 25, 14, tzinfo=UTC).timestamp() * 1e6
    )
    assert event.data["shift"] == "morning" and event.data["oee"] == 0.6 and event.data["rejects"] == 5
