"""The Modbus driver against a real pymodbus server: types, coalescing, refusals, restarts, writes."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from linesight.domain.errors import BadAddress, DeviceUnreachable
from linesight.domain.tags import DataType, Quality, TagSpec
from linesight.drivers.modbus import FACTORY, ModbusDriver
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState

from ..runtime.test_coordinator import FAST, Recorder, plant, wait_for
from .modbus_server import DISCRETE, INPUT, free_port, modbus_server


def spec(name: str, address: str, data_type: DataType = DataType.UINT16, **options: Any) -> TagSpec:
    return TagSpec(
        machine="press",
        name=name,
        address=address,
        data_type=data_type,
        options=tuple(sorted(options.items())),
    )


def driver(port: int, tags: list[TagSpec], **connection: Any) -> ModbusDriver:
    return FACTORY.create("press", {"host": "127.0.0.1", "port": port, **connection}, tags)


async def test_every_data_type_and_order_reads_from_a_real_device() -> None:
    tags = [
        spec("i16", "hr:0", DataType.INT16),
        spec("u16", "40002", DataType.UINT16),
        spec("i32", "hr:2", DataType.INT32),
        spec("u32_little_words", "hr:4", DataType.UINT32, word_order="little"),
        spec("f32", "hr:6", DataType.FLOAT32),
        spec("f32_swapped", "hr:8", DataType.FLOAT32, byte_order="little", word_order="little"),
        spec("i64", "hr:10", DataType.INT64),
        spec("u64", "hr:14", DataType.UINT64),
        spec("f64", "hr:18", DataType.FLOAT64),
        spec("text", "hr:22", DataType.STRING, length=8),
        spec("bit3", "hr:26.3", DataType.BOOL),
        spec("input", "ir:5", DataType.INT16),
        spec("coil", "co:7", DataType.BOOL),
        spec("sensor", "di:2", DataType.BOOL),
    ]
    async with modbus_server() as server:
        await server.set_registers(0, [0xFFFE, 40000])
        await server.set_registers(2, list(struct.unpack(">2H", struct.pack(">i", -70000))))
        await server.set_registers(4, list(reversed(struct.unpack(">2H", struct.pack(">I", 4_000_000_000)))))
        await server.set_registers(6, list(struct.unpack(">2H", struct.pack(">f", 123.5))))
        # Little-endian bytes in little-endian words: the registers carry the value's bytes reversed.
        await server.set_registers(8, list(struct.unpack(">2H", struct.pack("<f", -2.25))))
        await server.set_registers(10, list(struct.unpack(">4H", struct.pack(">q", -5_000_000_000))))
        await server.set_registers(14, list(struct.unpack(">4H", struct.pack(">Q", 2**63 + 1))))
        await server.set_registers(18, list(struct.unpack(">4H", struct.pack(">d", 3.141592653589793))))
        await server.set_registers(22, list(struct.unpack(">4H", b"O4410\x00\x00\x00")))
        await server.set_registers(26, [0b1000])
        await server.set_registers(5, [0xFFFF], table=INPUT)
        await server.set_bits(7, [True])
        await server.set_bits(2, [True], table=DISCRETE)
        modbus = driver(server.port, tags)
        await modbus.connect()
        samples = {s.tag.removeprefix("press."): s for s in await modbus.read(tags)}
        await modbus.close()
    values = {name: sample.value for name, sample in samples.items()}
    assert values == {
        "i16": -2,
        "u16": 40000,
        "i32": -70000,
        "u32_little_words": 4_000_000_000,
        "f32": 123.5,
        "f32_swapped": -2.25,
        "i64": -5_000_000_000,
        "u64": 2**63 + 1,
        "f64": 3.141592653589793,
        "text": "O4410",
        "bit3": True,
        "input": -1,
        "coil": True,
        "sensor": True,
    }
    assert all(s.quality is Quality.GOOD for s in samples.values())


async def test_nearby_registers_are_read_in_one_request_each_poll() -> None:
    # 60 float32 values at registers 0..119 plus one at 200: two requests a poll, not 61.
    tags = [spec(f"v{i}", f"hr:{2 * i}", DataType.FLOAT32) for i in range(60)] + [spec("far", "hr:200")]
    async with modbus_server() as server:
        modbus = driver(server.port, tags, max_gap=8)
        await modbus.connect()
        server.requests.clear()
        for _poll in range(3):
            await modbus.read(tags)
        await modbus.close()
        assert len(server.requests) == 6
        assert modbus.requests == 6
        assert sorted({(r.address, r.count) for r in server.requests}) == [(0, 120), (200, 1)]


async def test_a_refused_address_inside_a_block_is_narrowed_to_that_tag() -> None:
    # The device has 150 holding registers: hr:160 does not exist and makes the whole request fail.
    tags = [spec("a", "hr:140"), spec("b", "hr:145"), spec("missing", "hr:160"), spec("c", "hr:149")]
    async with modbus_server(holding=150) as server:
        modbus = driver(server.port, tags, max_gap=32)
        await modbus.connect()
        with pytest.raises(BadAddress) as refused:
            await modbus.read(tags)
        assert refused.value.tags == ("press.missing",)
        assert "press.missing (hr:160): Modbus exception 2 (illegal data address)" in str(refused.value)
        good = [t for t in tags if t.name != "missing"]
        assert [s.quality for s in await modbus.read(good)] == [Quality.GOOD] * 3
        await modbus.close()


@pytest.mark.expect_log_warnings
async def test_only_the_bad_tag_goes_bad_and_the_machine_stays_online() -> None:
    async with modbus_server(holding=150) as server:
        await server.set_registers(140, [11])
        machine = {
            "id": "press",
            "driver": "modbus",
            "poll_interval": 0.05,
            "connection": {"host": "127.0.0.1", "port": server.port},
            "tags": [
                {"name": "a", "address": "hr:140", "type": "uint16"},
                {"name": "missing", "address": "hr:151"},
            ],
        }
        engine = Engine(plant(machine), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: "press.missing" in engine.machine_health("press").tag_errors)
            await wait_for(lambda: len(recorder.of("press.a")) >= 3)
            health = engine.machine_health("press")
            assert health.state is ConnectionState.ONLINE
            assert "illegal data address" in health.tag_errors["press.missing"]
    assert {s.quality for _at, s in recorder.of("press.missing")} == {Quality.BAD}
    assert {s.value for _at, s in recorder.of("press.a")} == {11}


@pytest.mark.expect_log_warnings
async def test_a_device_that_restarts_goes_bad_then_good_and_never_shows_a_stale_value_as_good() -> None:
    port = free_port()
    machine = {
        "id": "press",
        "driver": "modbus",
        "poll_interval": 0.05,
        "timeout": 0.5,
        "connection": {"host": "127.0.0.1", "port": port},
        "tags": [{"name": "count", "address": "hr:0", "type": "uint16"}],
    }
    engine = Engine(plant(machine), historian=None, backoff=FAST)
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with modbus_server(port) as server:
        await server.set_registers(0, [1])
        await engine.start()
        await wait_for(lambda: any(s.value == 1 for _at, s in recorder.of("press.count")))
    try:
        # The device is gone: its tag goes bad, once.
        await wait_for(lambda: engine.machine_health("press").state is ConnectionState.UNAVAILABLE)
        gone = len(recorder.samples)
        async with modbus_server(port) as server:  # it restarts with a new value
            await server.set_registers(0, [2])
            await wait_for(lambda: engine.machine_health("press").state is ConnectionState.ONLINE)
            await wait_for(lambda: any(s.value == 2 for _at, s in recorder.samples[gone:]))
    finally:
        await engine.stop()
    history = [(s.value, s.quality) for _at, s in recorder.of("press.count")]
    first_bad = history.index((None, Quality.BAD))
    assert all(value == 1 for value, _q in history[:first_bad])
    after = history[first_bad + 1 :]
    assert after and all(value == 2 and quality is Quality.GOOD for value, quality in after)


async def test_a_device_that_is_not_there_is_unreachable() -> None:
    tags = [spec("a", "hr:0")]
    with pytest.raises(DeviceUnreachable, match=r"Modbus 127\.0\.0\.1:\d+"):
        await driver(free_port(), tags).connect()


async def test_writes_reach_the_device_and_read_only_tables_are_refused() -> None:
    tags = [
        spec("setpoint", "hr:30", DataType.FLOAT32, word_order="little"),
        spec("run", "co:3", DataType.BOOL),
        spec("speed", "ir:1", DataType.UINT16),
        spec("flag", "hr:40.1", DataType.BOOL),
    ]
    async with modbus_server() as server:
        modbus = driver(server.port, tags)
        await modbus.connect()
        await modbus.write(tags[0], 72.5)
        await modbus.write(tags[1], True)
        assert await server.registers(30, 2) == list(reversed(struct.unpack(">2H", struct.pack(">f", 72.5))))
        values = {s.tag: s.value for s in await modbus.read(tags[:2])}
        assert values == {"press.setpoint": 72.5, "press.run": True}
        with pytest.raises(BadAddress, match="read-only"):
            await modbus.write(tags[2], 5)
        with pytest.raises(BadAddress, match="cannot be written on its own"):
            await modbus.write(tags[3], True)
        await modbus.close()


def test_the_plant_file_check_names_modbus_mistakes() -> None:
    problems = dict(
        FACTORY.validate(
            {"host": "plc", "port": 70000, "maxgap": 3},
            [spec("a", "hr:1")],
        )
    )
    assert "less than or equal to 65535" in problems[("connection", "port")]
    assert "unknown field 'maxgap'" in problems[("connection", "maxgap")]
    problems = dict(
        FACTORY.validate({"host": "plc"}, [spec("a", "hr:x"), spec("b", "co:1", DataType.FLOAT32)])
    )
    assert "cannot read Modbus address 'hr:x'" in problems[("tags", 0, "address")]
    assert "declare type: bool" in problems[("tags", 1, "address")]


@pytest.mark.expect_log_warnings
async def test_a_device_that_accepts_but_never_answers_times_out_without_holding_up_others() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # read requests forever, answer none
        writer.close()

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    async with modbus_server() as server:
        await server.set_registers(0, [5])
        machines = [
            {
                "id": name,
                "driver": "modbus",
                "poll_interval": 0.05,
                "timeout": 0.3,
                "connection": {"host": "127.0.0.1", "port": port},
                "tags": [{"name": "a", "address": "hr:0", "type": "uint16"}],
            }
            for name, port in (("silent", silent_port), ("healthy", server.port))
        ]
        engine = Engine(plant(*machines), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: engine.machine_health("silent").failures >= 2)
            await wait_for(lambda: len(recorder.of("healthy.a")) >= 10)
            health = engine.machine_health("silent")
            assert health.state is ConnectionState.UNAVAILABLE
            assert "no answer within 0.3 s" in (health.last_error or "")
            assert engine.machine_health("healthy").state is ConnectionState.ONLINE
    silent.close()
    await silent.wait_closed()
