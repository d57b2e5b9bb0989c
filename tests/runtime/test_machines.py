"""The machine tracker: state and since, the shift timeline, counts and live OEE, replayed after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.runtime.engine import Engine
from linesight.storage import Historian

from .scripted import ScriptedFactory
from .test_coordinator import FAST, wait_for


def plant_with_oee() -> PlantConfig:
    machine: dict[str, Any] = {
        "id": "m",
        "driver": "scripted",
        "poll_interval": 0.05,
        "tags": [
            {"name": "state", "address": "state", "type": "int16"},
            {"name": "parts", "address": "parts", "type": "uint32"},
            {"name": "rejects", "address": "rejects", "type": "uint32"},
        ],
        "oee": {
            "state": {"from": "state_code", "tag": "state", "map": {1: "running", 3: "stopped"}},
            "part_count": "parts",
            "reject_count": "rejects",
            "ideal_cycle_time": "1s",
        },
    }
    all_day = {
        "shifts": [
            {
                "name": "D",
                "start": "00:00",
                "end": "00:00",
                "days": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
            }
        ]
    }
    return PlantConfig.model_validate(
        {
            "id": "t",
            "calendars": {"day": all_day},
            "sites": [{"id": "s", "calendar": "day", "lines": [{"id": "l", "machines": [machine]}]}],
        }
    )


def recording(historian: Historian, factory: ScriptedFactory) -> Engine:
    """The OEE plant on scripted machines, flushed to the historian often."""
    return Engine(
        plant_with_oee(),
        historian=historian,
        factories={"scripted": factory},
        backoff=FAST,
        flush_interval=0.1,
    )


def unrecorded() -> tuple[Engine, ScriptedFactory]:
    factory = ScriptedFactory()
    return Engine(plant_with_oee(), historian=None, factories={"scripted": factory}, backoff=FAST), factory


async def test_state_timeline_counts_and_oee_follow_the_machine() -> None:
    engine, factory = unrecorded()
    async with engine:
        await wait_for(lambda: "m" in factory.drivers)
        driver = factory.drivers["m"]
        driver.values.update({"m.state": 1, "m.parts": 1000, "m.rejects": 10})
        await wait_for(lambda: engine.machines.status("m").state is MachineState.RUNNING)
        driver.values.update({"m.parts": 1040, "m.rejects": 12})
        await wait_for(lambda: engine.machines.status("m").parts == 40)
        driver.values["m.state"] = 3
        await wait_for(lambda: engine.machines.status("m").state is MachineState.STOPPED)
        driver.values["m.parts"] = 5  # the counter was reset at the machine: production goes on from there
        await wait_for(lambda: engine.machines.status("m").parts == 45)
        status = engine.machines.status("m")
    assert status.rejects == 2
    assert status.shift is not None and status.shift.name == "D"
    states = [span.state for span in status.timeline]
    assert MachineState.RUNNING in states and states[-1] is MachineState.STOPPED
    assert status.since is not None and status.since == status.timeline[-1].start
    assert status.oee is not None and status.oee.produced == 45 and status.oee.good == 43
    assert status.oee.availability is not None and 0 < status.oee.availability < 1


async def test_a_counter_set_back_a_little_holds_the_count_instead_of_jumping() -> None:
    engine, factory = unrecorded()
    async with engine:
        await wait_for(lambda: "m" in factory.drivers)
        driver = factory.drivers["m"]
        driver.values.update({"m.state": 1, "m.parts": 80_000, "m.rejects": 0})
        await wait_for(lambda: engine.machines.status("m").parts == 0)
        driver.values["m.parts"] = 80_050
        await wait_for(lambda: engine.machines.status("m").parts == 50)
        driver.values["m.parts"] = 79_990  # preset, or a controller that came back with an older value
        await wait_for(lambda: engine.machines._machines["m"].parts.last == 79_990)
        assert engine.machines.status("m").parts == 50
        driver.values["m.parts"] = 80_000
        await wait_for(lambda: engine.machines.status("m").parts == 60)
        driver.values["m.parts"] = 60_000  # a reset while the link was down: 60,000 parts since
        await wait_for(lambda: engine.machines.status("m").parts == 60_060)


async def test_a_restart_mid_shift_replays_the_shift_from_the_historian(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    factory = ScriptedFactory()
    with Historian(path) as historian:
        engine = recording(historian, factory)
        async with engine:
            await wait_for(lambda: "m" in factory.drivers)
            factory.drivers["m"].values.update({"m.state": 1, "m.parts": 500, "m.rejects": 0})
            await wait_for(lambda: engine.machines.status("m").state is MachineState.RUNNING)
            factory.drivers["m"].values["m.parts"] = 530
            await wait_for(lambda: engine.machines.status("m").parts == 30)
    restarted = ScriptedFactory()
    with Historian(path) as historian:
        engine = Engine(
            plant_with_oee(), historian=historian, factories={"scripted": restarted}, backoff=FAST
        )
        async with engine:
            # Right after the start, the shift's history is already there (a first poll of the
            # restarted machine, reading 0, would only count as a counter reset).
            status = engine.machines.status("m")
            assert status.parts == 30
            assert status.timeline and status.timeline[0].state is MachineState.RUNNING


async def test_the_replay_after_a_restart_keeps_every_state_change_of_the_shift(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    factory = ScriptedFactory()
    with Historian(path) as historian:
        engine = recording(historian, factory)
        async with engine:
            await wait_for(lambda: "m" in factory.drivers)
            values = factory.drivers["m"].values
            for state, wanted in (
                (1, MachineState.RUNNING),
                (3, MachineState.STOPPED),
                (1, MachineState.RUNNING),
            ):
                values.update({"m.state": state, "m.parts": 100, "m.rejects": 0})
                await wait_for(lambda wanted=wanted: engine.machines.status("m").state is wanted)
            before = [span.state for span in engine.machines.status("m").timeline]
    assert before == [MachineState.RUNNING, MachineState.STOPPED, MachineState.RUNNING]
    with Historian(path) as historian:
        engine = Engine(
            plant_with_oee(), historian=historian, factories={"scripted": ScriptedFactory()}, backoff=FAST
        )
        async with engine:
            # The whole shift comes back as one batch: each change in it is a span, at its own time.
            replayed = engine.machines.status("m").timeline
    assert [span.state for span in replayed][:3] == before
    assert replayed[0].end <= replayed[1].start < replayed[1].end  # each at its own time, in order
