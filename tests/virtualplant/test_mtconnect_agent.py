"""The virtual plant's MTConnect agent over real HTTP: documents, the sequence buffer, errors, restarts."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from linesight.drivers.mtconnect.codec import AgentError, Devices, Streams, latest, parse_document
from linesight.drivers.mtconnect.codec import ConditionStates as Conditions
from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine

T0 = 1_777_881_600.0  # 2026-05-04 08:00:00 UTC


def cnc(name: str = "lathe1", *, start: float | None = None, time_scale: float = 1.0) -> SimulatedMachine:
    return SimulatedMachine.from_profile(name, "cnc", seed=3, start=start, time_scale=time_scale)


async def get(agent: MTConnectAgent, target: str) -> tuple[int, Devices | Streams | AgentError]:
    async with httpx.AsyncClient() as client:
        response = await client.get(agent.url + target.lstrip("/"))
    probe = target.split("?")[0].endswith("probe")
    document = parse_document(response.content, "Devices" if probe else "Streams")
    return response.status_code, document


async def streams(agent: MTConnectAgent, target: str) -> Streams:
    status, document = await get(agent, target)
    assert status == 200 and isinstance(document, Streams), document
    return document


async def refusal(agent: MTConnectAgent, target: str) -> tuple[int, str]:
    status, document = await get(agent, target)
    assert isinstance(document, AgentError), document
    return status, document.describe()


async def test_the_probe_describes_each_machine_with_unique_ids_types_and_units() -> None:
    async with MTConnectAgent([cnc(), SimulatedMachine.from_profile("press1", "press")]) as agent:
        status, document = await get(agent, "probe")
    assert status == 200 and isinstance(document, Devices)
    assert document.device_names == ("lathe1", "press1")
    assert document.header.instance_id == agent.instance_id
    assert document.header.buffer_size == agent.buffer_size
    ids = [item.id for item in document.items]
    assert len(ids) == len(set(ids))
    lathe = {item.name: item for item in document.items if item.device == "lathe1"}
    assert (lathe["execution"].category, lathe["execution"].type) == ("EVENT", "EXECUTION")
    assert (lathe["part_count"].type, lathe["part_count"].sub_type) == ("PART_COUNT", "ALL")
    assert (lathe["spindle_speed"].type, lathe["spindle_speed"].units) == (
        "ROTARY_VELOCITY",
        "REVOLUTION/MINUTE",
    )
    assert lathe["feed_rate"].units == "MILLIMETER/SECOND"
    assert lathe["system"].category == "CONDITION"
    press = {item.name for item in document.items if item.device == "press1"}
    assert "spindle_speed" not in press and {"execution", "part_count", "system"} <= press


async def test_current_has_every_data_item_with_the_machines_values() -> None:
    clock = [T0 + 30.0]
    machine = cnc(start=T0)
    async with MTConnectAgent([machine], sample_every=None, clock=lambda: clock[0]) as agent:
        document = await streams(agent, "current")
        probe = await get(agent, "probe")
    assert isinstance(probe[1], Devices)
    assert {o.item_id for o in document.observations} == {item.id for item in probe[1].items}
    values = {o.item_id: o for o in latest(document.observations, Conditions()).values()}
    model = machine.model
    assert values["lathe1_exec"].text == model.value("execution")
    assert values["lathe1_pc"].text == str(model.value("part_count"))
    assert values["lathe1_avail"].text == "AVAILABLE"
    assert values["lathe1_system"].text in ("NORMAL", "WARNING", "FAULT")
    assert float(values["lathe1_feed"].text or "nan") == pytest.approx(
        float(model.value("feed_rate")) / 60, abs=0.01
    )
    assert {o.ts_us for o in document.observations} == {int((T0 + 30.0) * 1e6)}


async def test_a_running_agent_records_changes_as_the_simulated_machine_moves() -> None:
    async with MTConnectAgent([cnc(time_scale=3600.0)], sample_every=0.01) as agent:
        first = await streams(agent, "current")
        parts = {o.item_id: o.text for o in first.observations}["lathe1_pc"]

        async def counted() -> bool:
            now = await streams(agent, "current")
            return {o.item_id: o.text for o in now.observations}["lathe1_pc"] != parts

        deadline = time.monotonic() + 10
        while not await counted():
            assert time.monotonic() < deadline, "the part count never moved"
            await asyncio.sleep(0.02)


async def test_samples_are_contiguous_and_next_sequence_says_where_to_go_on() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        first, following = agent.sequences()
        for value in range(10):
            agent.record("lathe1", "part_count", str(value))
        page = await streams(agent, f"sample?from={first}&count=5")
        assert [o.sequence for o in page.observations] == list(range(first, first + 5))
        assert page.next_sequence == first + 5
        assert page.last_sequence == following + 9
        rest = await streams(agent, f"sample?from={page.next_sequence}&count=1000")
        assert [o.sequence for o in rest.observations] == list(range(first + 5, following + 10))
        assert rest.next_sequence == following + 10
        empty = await streams(agent, f"sample?from={rest.next_sequence}")
        assert empty.observations == () and empty.next_sequence == following + 10
        default = await streams(agent, "sample")  # from the first held, 100 at most
        assert default.observations[0].sequence == first and len(default.observations) <= 100


async def test_the_buffer_is_fixed_size_and_a_from_outside_it_is_out_of_range() -> None:
    async with MTConnectAgent([cnc()], buffer_size=16, sample_every=None) as agent:
        for value in range(100):
            agent.record("lathe1", "part_count", str(value))
        first, following = agent.sequences()
        assert following - first == 16
        held = await streams(agent, f"sample?from={first}&count=16")
        assert [o.text for o in held.observations] == [str(v) for v in range(84, 100)]
        assert held.first_sequence == first
        assert await refusal(agent, f"sample?from={first - 1}") == (
            400,
            f"OUT_OF_RANGE: 'from' must be from {first} (firstSequence) to {following} (nextSequence), "
            f"got {first - 1}",
        )
        status, reason = await refusal(agent, f"sample?from={following + 1}")
        assert status == 400 and reason.startswith("OUT_OF_RANGE")
        status, reason = await refusal(agent, "sample?count=17")
        assert reason == "OUT_OF_RANGE: 'count' must be less than or equal to 16"


async def test_requests_it_cannot_answer_are_mtconnect_errors() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        assert await refusal(agent, "nope/current") == (404, "NO_DEVICE: Could not find the device 'nope'")
        status, reason = await refusal(agent, "assets")
        assert (status, reason.split(":")[0]) == (404, "INVALID_URI")
        status, reason = await refusal(agent, "sample?from=x")
        assert (status, reason.split(":")[0]) == (400, "INVALID_REQUEST")
        status, reason = await refusal(agent, "sample?count=0")
        assert (status, reason.split(":")[0]) == (400, "INVALID_REQUEST")
        status, reason = await refusal(agent, "sample?interval=100")
        assert (status, reason.split(":")[0]) == (400, "UNSUPPORTED")


async def test_a_device_path_answers_for_that_device_only() -> None:
    async with MTConnectAgent([cnc(), cnc("mill2")], sample_every=None) as agent:
        first, _following = agent.sequences()
        _status, probe = await get(agent, "mill2/probe")
        assert isinstance(probe, Devices) and probe.device_names == ("mill2",)
        current = await streams(agent, "linesight-mill2/current")  # by uuid too
        assert {o.item_id.split("_")[0] for o in current.observations} == {"mill2"}
        agent.record("lathe1", "part_count", "1")
        agent.record("mill2", "part_count", "2")
        page = await streams(agent, f"mill2/sample?from={first}&count=1000")
        assert {o.item_id.split("_")[0] for o in page.observations} == {"mill2"}
        assert page.next_sequence == agent.sequences()[1]  # it scanned everything, skipping lathe1's


async def test_unavailable_machines_and_conditions_are_reported_as_mtconnect_does() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        agent.record("lathe1", "system", "WARNING", native_code="2051")
        agent.record("lathe1", "system", "FAULT", native_code="1002")
        current = await streams(agent, "current")
        assert latest(current.observations, Conditions())["lathe1_system"].text == "FAULT"
        agent.set_available("lathe1", False)
        current = await streams(agent, "current")
        assert {o.text for o in current.observations} == {None}  # UNAVAILABLE, and <Unavailable/>
        agent.set_available("lathe1", True)
        current = await streams(agent, "current")
        values = {o.item_id: o.text for o in current.observations}
        assert values["lathe1_avail"] == "AVAILABLE" and values["lathe1_system"] is not None


async def test_every_start_is_a_new_instance_whose_buffer_starts_again() -> None:
    agent = MTConnectAgent([cnc()], sample_every=None)
    async with agent:
        port, before = agent.port, agent.instance_id
        for value in range(50):
            agent.record("lathe1", "part_count", str(value))
        agent.restart()
        assert agent.instance_id != before and agent.sequences()[0] == 1
        restarted = await streams(agent, "current")
        assert restarted.header.instance_id == agent.instance_id
        assert restarted.next_sequence < 50
    async with agent:  # started again: the same address, yet another instance
        assert agent.port == port
        assert (await streams(agent, "current")).header.instance_id not in (
            before,
            restarted.header.instance_id,
        )


async def test_it_stops_cleanly_and_frees_its_port() -> None:
    agent = MTConnectAgent([cnc()], sample_every=0.01)
    async with agent:
        port = agent.port
        await streams(agent, "current")
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    with pytest.raises(RuntimeError, match="not running"):
        _ = agent.url
    async with MTConnectAgent([cnc()], port=port, sample_every=None) as again:  # the port is free again
        assert (await streams(again, "current")).header.instance_id == again.instance_id


def test_it_runs_without_an_event_loop_and_speaks_older_versions() -> None:
    with MTConnectAgent([cnc()], sample_every=None, version="1.3") as agent:
        response = httpx.get(agent.url + "current")
    assert b'xmlns="urn:mtconnect.org:MTConnectStreams:1.3"' in response.content
    assert isinstance(parse_document(response.content, "Streams"), Streams)


def test_bad_settings_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least one machine"):
        MTConnectAgent([])
    with pytest.raises(ValueError, match="must be unique"):
        MTConnectAgent([cnc(), cnc()])
    with pytest.raises(ValueError, match="device name 'a b'"):
        MTConnectAgent([cnc("a b")])
    with pytest.raises(ValueError, match="buffer_size"):
        MTConnectAgent([cnc()], buffer_size=0)
    with pytest.raises(ValueError, match="schema version"):
        MTConnectAgent([cnc()], version="3")
