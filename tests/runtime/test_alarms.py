"""The alarm service: wired into the engine, journalled, restored after a restart, role-limited, and
robust against listeners that fail."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from linesight.domain.alarms import AlarmAction, AlarmEvent, AlarmState
from linesight.domain.errors import PermissionDenied
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Sample, TagSpec
from linesight.domain.users import Role
from linesight.runtime.alarms import AlarmService
from linesight.runtime.engine import Engine
from linesight.storage import Historian

from .scripted import ScriptedDriver, ScriptedFactory
from .test_coordinator import FAST, wait_for

US = 1_000_000
HOT = "m.hot.h"


def plant(
    *rules: dict[str, Any], driver: str = "scripted", connection: dict[str, Any] | None = None
) -> PlantConfig:
    machine: dict[str, Any] = {
        "id": "m",
        "driver": driver,
        "connection": connection or {},
        "poll_interval": 0.05,
        "tags": [
            {"name": "temp", "address": "temp", "unit": "°C"},
            {"name": "state", "address": "state", "type": "int16"},
            {"name": "fault", "address": "fault", "type": "bool"},
        ],
        "oee": {
            "state": {"from": "state_code", "tag": "state", "map": {1: "running", 3: "stopped"}},
            "ideal_cycle_time": "1s",
        },
        "alarms": list(rules),
    }
    return PlantConfig.model_validate(
        {"id": "t", "sites": [{"id": "s", "lines": [{"id": "l", "machines": [machine]}]}]}
    )


HIGH = {"id": "hot", "kind": "limit", "tag": "temp", "h": 100}


class Listener:
    def __init__(self) -> None:
        self.events: list[AlarmEvent] = []
        self.threads: set[int] = set()

    def __call__(self, events: Sequence[AlarmEvent]) -> None:
        self.threads.add(threading.get_ident())
        self.events.extend(events)

    def of(self, alarm_id: str) -> list[tuple[AlarmAction, AlarmState]]:
        return [(e.action, e.to_state) for e in self.events if e.alarm_id == alarm_id]


def sample(key: str, value: Any, seconds: float = 0.0) -> Sample:
    """A sample taken now (plus ``seconds``): the service's clock is the wall clock."""
    return Sample(key, int((time.time() + seconds) * US), value)


# ---------------------------------------------------------------------- the service on its own


def test_listeners_hear_every_event_and_unsubscribe() -> None:
    service = AlarmService(plant(HIGH))
    heard = Listener()
    unsubscribe = service.subscribe(heard)
    service.update([sample("m.temp", 150.0)])
    assert heard.of(HOT) == [(AlarmAction.RAISE, AlarmState.UNACK)]
    unsubscribe()
    service.update([sample("m.temp", 50.0, 1)])
    assert len(heard.events) == 1
    assert service.status(HOT).state is AlarmState.RTN_UNACK


@pytest.mark.expect_log_warnings
def test_a_listener_that_raises_is_logged_and_never_stops_evaluation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = AlarmService(plant(HIGH, {"id": "f", "kind": "discrete", "tag": "fault"}))

    def broken(events: Sequence[AlarmEvent]) -> None:
        raise RuntimeError("listener bug")

    heard = Listener()
    service.subscribe(broken)
    service.subscribe(heard)
    service.update([sample("m.temp", 150.0)])
    service.update([sample("m.fault", True, 1)])
    assert [e.alarm_id for e in heard.events] == [HOT, "m.f"]  # the next listener and the next batch
    assert service.counts().unacked == 2
    assert sum("alarm listener" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records) == 2


def test_operators_may_acknowledge_but_not_shelve() -> None:
    service = AlarmService(plant(HIGH))
    service.update([sample("m.temp", 150.0)])
    with pytest.raises(PermissionDenied, match=r"ana \(operator\) may not shelve alarms.*supervisor"):
        service.shelve(HOT, user="ana", role=Role.OPERATOR, duration=600)
    with pytest.raises(PermissionDenied, match="may not take alarms out of service"):
        service.remove_from_service(HOT, user="ana", role=Role.OPERATOR)
    with pytest.raises(PermissionDenied, match="not logged in"):
        service.acknowledge(HOT, user="", role=None)
    assert service.status(HOT).state is AlarmState.UNACK  # nothing happened
    (ack,) = service.acknowledge(HOT, user="ana", role=Role.OPERATOR)
    assert ack.user == "ana" and ack.to_state is AlarmState.ACKED
    (shelved,) = service.shelve(HOT, user="bia", role=Role.SUPERVISOR, duration=600, comment="known")
    assert shelved.to_state is AlarmState.SHELVED and shelved.shelved_until is not None
    (back,) = service.unshelve(HOT, user="bia", role=Role.SUPERVISOR)
    assert back.to_state is AlarmState.UNACK


def test_snapshot_holds_the_list_counts_and_the_banners_alarm() -> None:
    service = AlarmService(
        plant(HIGH, {"id": "f", "kind": "discrete", "tag": "fault", "priority": "critical"})
    )
    service.update([sample("m.temp", 150.0), sample("m.fault", 1)])
    service.acknowledge("m.f", user="ana", role=Role.OPERATOR)
    snapshot = service.snapshot()
    assert [s.alarm_id for s in snapshot.alarms] == [HOT, "m.f"]  # unacknowledged first
    assert snapshot.top_unacked is not None and snapshot.top_unacked.alarm_id == HOT
    assert snapshot.counts.active == 2 and snapshot.counts.unacked == 1 and not snapshot.flood
    assert service.kpis().raised == 2


def test_machine_states_from_the_tracker_suppress_and_stop_alarms() -> None:
    service = AlarmService(
        plant({**HIGH, "suppress_when": ["not_running"]}, {"id": "stop", "kind": "machine_stopped"})
    )
    heard = Listener()
    service.subscribe(heard)
    service.machine_state("m", MachineState.STOPPED, int(time.time() * US))
    assert heard.of(HOT) == [(AlarmAction.SUPPRESS, AlarmState.SUPPRESSED)]
    assert heard.of("m.stop") == [(AlarmAction.RAISE, AlarmState.UNACK)]


# ---------------------------------------------------------------------- journal and restart


async def test_the_journal_keeps_events_and_a_restart_restores_the_alarms(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    rules = (HIGH, {"id": "f", "kind": "discrete", "tag": "fault"})
    with Historian(path) as historian:
        service = AlarmService(plant(*rules), journal=historian)
        service.update([sample("m.temp", 150.0), sample("m.fault", True)])
        service.acknowledge("m.f", user="ana", role=Role.OPERATOR)
        await service.flush()
        assert service.journal_stats().recorded == 3 and service.journal_stats().pending == 0
    with Historian(path) as historian:
        again = AlarmService(plant(*rules), journal=historian)
        assert await again.restore() == 2
        assert again.status(HOT).state is AlarmState.UNACK
        assert again.status("m.f").state is AlarmState.ACKED and again.status("m.f").acked_by == "ana"
        heard = Listener()
        again.subscribe(heard)
        again.update([sample("m.temp", 160.0, 5)])
        assert heard.events == []  # still active: not raised a second time


@pytest.mark.expect_log_warnings
async def test_a_failing_journal_keeps_the_events_and_retries(tmp_path: Path) -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = True
            self.recorded: list[AlarmEvent] = []

        def record_alarm_events(self, events: Sequence[AlarmEvent]) -> int:
            from linesight.domain.errors import HistorianError

            if self.fail:
                raise HistorianError("disk full")
            self.recorded.extend(events)
            return len(events)

        def latest_alarm_events(self) -> list[AlarmEvent]:
            return []

    journal = Flaky()
    service = AlarmService(plant(HIGH), journal=journal)
    service.update([sample("m.temp", 150.0)])
    await service.flush()
    assert service.journal_stats().pending == 1 and service.journal_stats().failed_flushes == 1
    service.update([sample("m.temp", 50.0, 1)])
    journal.fail = False
    await service.flush()
    assert [e.to_state for e in journal.recorded] == [AlarmState.UNACK, AlarmState.RTN_UNACK]  # in order


# ---------------------------------------------------------------------- in the engine


def scripted_engine(
    config: PlantConfig, factory: ScriptedFactory, historian: Historian | None = None
) -> Engine:
    return Engine(
        config, historian=historian, factories={"scripted": factory}, backoff=FAST, flush_interval=0.1
    )


async def test_an_engine_run_raises_journals_and_clears_an_alarm(tmp_path: Path) -> None:
    factory = ScriptedFactory()
    with Historian(tmp_path / "h.duckdb") as historian:
        engine = scripted_engine(plant(HIGH), factory, historian)
        heard = Listener()
        engine.alarms.subscribe(heard)
        async with engine:
            await wait_for(lambda: "m" in factory.drivers)
            factory.drivers["m"].values["m.temp"] = 150.0
            await wait_for(lambda: engine.alarms.status(HOT).state is AlarmState.UNACK)
            loop_thread = threading.get_ident()
            # A command from another thread (the HMI's): its events reach listeners on the runtime loop.
            await asyncio.to_thread(engine.alarms.acknowledge, HOT, user="ana", role=Role.OPERATOR)
            await wait_for(lambda: len(heard.events) == 2)
            factory.drivers["m"].values["m.temp"] = 20.0
            await wait_for(lambda: engine.alarms.status(HOT).state is AlarmState.NORMAL)
        journal = historian.latest_alarm_events()
    assert heard.of(HOT) == [
        (AlarmAction.RAISE, AlarmState.UNACK),
        (AlarmAction.ACKNOWLEDGE, AlarmState.ACKED),
        (AlarmAction.CLEAR, AlarmState.NORMAL),
    ]
    assert heard.threads == {loop_thread}
    assert [(e.alarm_id, e.to_state) for e in journal] == [(HOT, AlarmState.NORMAL)]  # stop flushed it


class HotOven(ScriptedFactory):
    """Scripted machines whose temperature reads 150 °C from the very first poll."""

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> ScriptedDriver:
        driver = super().create(machine_id, connection, tags)
        driver.values["m.temp"] = 150.0
        return driver


async def test_an_unacknowledged_alarm_stays_so_across_an_engine_restart(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Historian(path) as historian:
        async with scripted_engine(plant(HIGH), HotOven(), historian) as engine:
            await wait_for(lambda: engine.alarms.status(HOT).state is AlarmState.UNACK)
    second = HotOven()
    with Historian(path) as historian:
        engine = scripted_engine(plant(HIGH), second, historian)
        heard = Listener()
        engine.alarms.subscribe(heard)
        async with engine:
            assert engine.alarms.status(HOT).state is AlarmState.UNACK  # restored before any new sample
            await wait_for(lambda: len(second.drivers["m"].reads) >= 3)
            assert engine.alarms.status(HOT).state is AlarmState.UNACK
        events = historian.alarm_events(
            datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1)
        )
    assert heard.events == []  # still active: not raised a second time
    assert [e.action for e in events] == [AlarmAction.RAISE]


async def test_machine_state_changes_reach_the_alarms_through_the_tracker() -> None:
    factory = ScriptedFactory()
    config = plant({"id": "stop", "kind": "machine_stopped"}, {**HIGH, "suppress_when": ["stopped"]})
    engine = scripted_engine(config, factory)
    async with engine:
        await wait_for(lambda: "m" in factory.drivers)
        driver = factory.drivers["m"]
        driver.values.update({"m.state": 1, "m.temp": 150.0})
        await wait_for(lambda: engine.alarms.status(HOT).state is AlarmState.UNACK)
        driver.values["m.state"] = 3
        await wait_for(lambda: engine.alarms.status("m.stop").state is AlarmState.UNACK)
        assert engine.alarms.status(HOT).state is AlarmState.SUPPRESSED


@pytest.mark.expect_log_warnings
async def test_the_engines_tick_raises_a_stale_alarm_when_the_machine_goes_quiet() -> None:
    factory = ScriptedFactory()
    engine = scripted_engine(plant({"id": "st", "kind": "stale", "tag": "temp", "after": "300ms"}), factory)
    async with engine:
        await wait_for(lambda: "m" in factory.drivers and len(factory.drivers["m"].reads) >= 2)
        assert engine.alarms.status("m.st").state is AlarmState.NORMAL
        factory.drivers["m"].unreachable = True  # bad samples only: no fresh value
        await wait_for(lambda: engine.alarms.status("m.st").state is AlarmState.UNACK)
        factory.drivers["m"].unreachable = False
        await wait_for(lambda: engine.alarms.status("m.st").state is AlarmState.RTN_UNACK)


async def test_a_simulated_oven_raises_its_temperature_alarm() -> None:
    oven = {
        "id": "oven",
        "driver": "simulator",
        "connection": {"profile": "oven", "seed": 7},
        "poll_interval": 0.1,
        "tags": [{"name": "zone1_temp", "address": "zone1_temp", "unit": "°C"}],
        "alarms": [{"id": "hot", "kind": "limit", "tag": "zone1_temp", "h": 100, "priority": "high"}],
    }
    config = PlantConfig.model_validate(
        {"id": "t", "sites": [{"id": "s", "lines": [{"id": "l", "machines": [oven]}]}]}
    )
    engine = Engine(config, historian=None, backoff=FAST)
    heard = Listener()
    engine.alarms.subscribe(heard)
    async with engine:
        await wait_for(lambda: heard.events)
    (raised,) = heard.events
    assert (raised.alarm_id, raised.to_state) == ("oven.hot.h", AlarmState.UNACK)
    assert isinstance(raised.value, float) and raised.value > 100
    assert raised.message.startswith("oven: zone1_temp high at ")
