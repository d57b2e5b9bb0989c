"""The simulator: deterministic per seed, realistic machine behaviour, validation, faults and writes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from linesight.domain.errors import BadAddress, DeviceUnreachable
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantFileError, parse_plant
from linesight.domain.tags import DataType, Quality, TagSpec
from linesight.drivers import registry
from linesight.drivers.simulator import FACTORY, SimulatorDriver
from linesight.drivers.simulator.model import PROFILES, STATE_CODES, MachineModel
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState

from ..runtime.test_coordinator import FAST, plant, wait_for


def trace(profile: str, seed: int, times: list[float]) -> list[dict[str, Any]]:
    model = MachineModel(PROFILES[profile], seed=seed, start=0.0)
    signals = list(PROFILES[profile].signals())
    rows = []
    for t in times:
        model.advance_to(t)
        rows.append({signal: model.value(signal) for signal in signals})
    return rows


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_same_seed_gives_the_same_machine_and_another_seed_a_different_one(profile: str) -> None:
    times = [i * 7.3 for i in range(2000)]  # about four hours
    assert trace(profile, 11, times) == trace(profile, 11, times)
    assert trace(profile, 11, times) != trace(profile, 12, times)


def test_values_do_not_depend_on_how_often_the_machine_is_read() -> None:
    sparse = [600.0 * i for i in range(1, 49)]  # every 10 minutes for 8 hours
    dense = sorted({*sparse, *(i * 0.5 for i in range(1, 8 * 7200))})
    dense_trace = dict(zip(dense, trace("cnc", 5, dense), strict=True))
    assert [dense_trace[t] for t in sparse] == trace("cnc", 5, sparse)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_simulated_week_looks_like_a_real_machine(profile: str) -> None:
    model = MachineModel(PROFILES[profile], seed=3, start=0.0)
    step = 5.0
    seconds: dict[MachineState, float] = dict.fromkeys(STATE_CODES, 0.0)
    parts_by_state: dict[MachineState, int] = dict.fromkeys(STATE_CODES, 0)
    last = {"part_count": model.value("part_count"), "energy_kwh": model.value("energy_kwh")}
    alarms_in_fault = alarms_elsewhere_with_fault = 0
    t = 0.0
    while t < 7 * 86400:
        t += step
        state_before = model.state
        model.advance_to(t)
        state = model.state
        seconds[state] += step
        parts = model.value("part_count")
        energy = model.value("energy_kwh")
        assert parts >= last["part_count"] and energy >= last["energy_kwh"]  # counters never go back
        if state_before is state:
            parts_by_state[state] += int(parts) - int(last["part_count"])
        last = {"part_count": parts, "energy_kwh": energy}
        assert 0 <= model.value("reject_count") <= parts
        if model.value("fault"):
            assert state is MachineState.STOPPED
            alarms_in_fault += model.value("alarm_code") != 0
        elif state is not MachineState.STOPPED:
            alarms_elsewhere_with_fault += model.segment.alarm is not None
        assert model.value("state_code") == STATE_CODES[state]
        assert model.value("running") is (state is MachineState.RUNNING)
    total = sum(seconds.values())
    share = {state: seconds[state] / total for state in seconds}
    # Every state happens, and the machine runs most of the time but far from always.
    assert all(value > 0 for value in seconds.values()), share
    assert 0.45 < share[MachineState.RUNNING] < 0.92, share
    # Parts are made while running, not while stopped or in setup.
    made = sum(parts_by_state.values())
    assert made > 0 and parts_by_state[MachineState.RUNNING] == made
    # The cycle is a little slower than ideal: at most one part per ideal cycle of running time.
    assert made <= seconds[MachineState.RUNNING] / PROFILES[profile].ideal_cycle_s + 1
    assert made >= 0.6 * seconds[MachineState.RUNNING] / PROFILES[profile].ideal_cycle_s
    assert alarms_in_fault > 0 and alarms_elsewhere_with_fault == 0


def test_temperatures_follow_the_state_with_a_lag_and_speeds_jump() -> None:
    model = MachineModel(PROFILES["cnc"], seed=8, start=0.0)
    running_temps, cold_temps, speeds_stopped = [], [], []
    t = 0.0
    while t < 3 * 86400:
        t += 10.0
        model.advance_to(t)
        in_state_for = t - model.segment.start
        if model.state is MachineState.RUNNING and in_state_for > 3600:
            running_temps.append(model.value("spindle_temp"))
        if model.state is MachineState.PLANNED_STOP and in_state_for > 1200:
            cold_temps.append(model.value("spindle_temp"))
        if model.state is not MachineState.RUNNING:
            speeds_stopped.append(model.value("spindle_speed"))
    assert running_temps and cold_temps
    assert min(running_temps) > max(cold_temps)  # a warm spindle after an hour of cutting
    assert set(speeds_stopped) == {0.0}  # a stopped spindle reads exactly zero


def test_a_setpoint_write_moves_the_temperature_towards_it() -> None:
    model = MachineModel(PROFILES["oven"], seed=4, start=0.0)
    model.advance_to(10.0)
    before = model.value("zone1_temp")
    model.write("zone1_setpoint", 950.0)
    assert model.value("zone1_setpoint") == 950.0
    model.advance_to(10.0 + 3 * 1800.0)
    if model.state is not MachineState.PLANNED_STOP:
        assert model.value("zone1_temp") > before + 50
    with pytest.raises(KeyError):
        model.write("zone1_temp", 1.0)


def spec(name: str, address: str, data_type: DataType = DataType.FLOAT64, poll: float = 1.0) -> TagSpec:
    return TagSpec(machine="m", name=name, address=address, data_type=data_type, poll_interval=poll)


def test_validation_names_the_unknown_signal_the_wrong_type_and_a_too_fast_rate() -> None:
    tags = [
        spec("a", "spindle_speed", poll=0.01),
        spec("b", "spindle_sped"),
        spec("c", "program", DataType.FLOAT32),
        spec("d", "state_code", DataType.STRING),
        spec("e", "feed_rate", poll=0.005),
    ]
    problems = dict(FACTORY.validate({"profile": "cnc"}, tags))
    assert set(problems) == {
        ("tags", 1, "address"),
        ("tags", 2, "type"),
        ("tags", 3, "type"),
        ("tags", 4, "poll_interval"),
    }
    assert "no signal 'spindle_sped'" in problems[("tags", 1, "address")]
    assert "spindle_speed" in problems[("tags", 1, "address")]  # the allowed signals are listed
    assert "declare it as string" in problems[("tags", 2, "type")]
    assert "100 times a second" in problems[("tags", 4, "poll_interval")]


def test_a_bad_connection_block_is_reported_field_by_field() -> None:
    problems = dict(FACTORY.validate({"profile": "lathe", "sed": 3, "comm_loss": {"every": "soon"}}, []))
    assert "'cnc'" in problems[("connection", "profile")]
    assert "unknown field 'sed'; allowed: profile, seed" in problems[("connection", "sed")]
    assert "duration" in problems[("connection", "comm_loss", "every")]
    assert problems[("connection", "comm_loss", "duration")] == "required field is missing"


def test_a_plant_file_with_a_wrong_simulator_address_points_at_its_line() -> None:
    text = """\
id: p
sites:
  - id: s
    lines:
      - id: l
        machines:
          - id: m
            driver: simulator
            connection: {profile: press}
            tags:
              - {name: force, address: tonnage}
              - {name: speed, address: spindle_speed}
"""
    with pytest.raises(PlantFileError) as caught:
        parse_plant(text, "p.yaml", drivers=registry.validators())
    (issue,) = caught.value.issues
    assert issue.line == 12 and issue.field.endswith("tags[1].address")
    assert "simulated press has no signal 'spindle_speed'" in issue.message


async def test_the_driver_reads_typed_values_and_writes_setpoints() -> None:
    now = [1_000_000.0]
    tags = [
        spec("parts", "part_count", DataType.UINT32),
        spec("speed", "spindle_speed", DataType.FLOAT32),
        spec("run", "running", DataType.BOOL),
        spec("prog", "program", DataType.STRING),
        spec("override", "feed_override", DataType.FLOAT64),
        spec("code", "state_code", DataType.FLOAT64),  # an int signal declared as a float
    ]
    driver = SimulatorDriver("m", FACTORY.parse({"profile": "cnc", "seed": 1}), tags, clock=lambda: now[0])
    await driver.connect()
    samples = {s.tag: s for s in await driver.read(tags)}
    assert all(s.ts_us == 1_000_000_000_000 and s.quality is Quality.GOOD for s in samples.values())
    assert type(samples["m.parts"].value) is int and type(samples["m.speed"].value) is float
    assert type(samples["m.run"].value) is bool and type(samples["m.prog"].value) is str
    assert type(samples["m.code"].value) is float
    await driver.write(tags[4], 80.0)
    assert {s.tag: s.value for s in await driver.read(tags)}["m.override"] == 80.0
    with pytest.raises(BadAddress, match="cannot be written; writable signals: feed_override"):
        await driver.write(tags[0], 5)
    await driver.close()
    with pytest.raises(DeviceUnreachable):
        await driver.read(tags)


@pytest.mark.expect_log_warnings
async def test_simulated_communication_loss_marks_the_machine_bad_until_it_comes_back() -> None:
    machines = [
        {
            "id": m,
            "driver": "simulator",
            "poll_interval": 0.05,
            "timeout": 0.5,
            "connection": {"profile": "press", "seed": 1, **extra},
            "tags": [{"name": "parts", "address": "part_count", "type": "uint32"}],
        }
        for m, extra in (("flaky", {"comm_loss": {"every": "300ms", "duration": "300ms"}}), ("steady", {}))
    ]
    engine = Engine(plant(*machines), historian=None, backoff=FAST)
    seen: list[tuple[str, Quality]] = []
    engine.bus.subscribe(lambda batch: seen.extend((s.tag, s.quality) for s in batch))
    async with engine:
        await wait_for(lambda: engine.machine_health("flaky").failures >= 1)
        await wait_for(lambda: engine.machine_health("flaky").state is ConnectionState.ONLINE)
        assert engine.machine_health("steady").failures == 0
        assert "communication loss" in (engine.machine_health("flaky").last_error or "")
    assert ("flaky.parts", Quality.BAD) in seen
    assert ("steady.parts", Quality.BAD) not in seen
    assert seen.index(("flaky.parts", Quality.BAD)) < len(seen) - 1


async def test_latency_makes_reads_take_that_long() -> None:
    tags = [spec("parts", "part_count", DataType.UINT32)]
    driver = SimulatorDriver("m", FACTORY.parse({"profile": "press", "latency": "50ms"}), tags)
    await driver.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await driver.read(tags)
    assert loop.time() - started >= 0.049
