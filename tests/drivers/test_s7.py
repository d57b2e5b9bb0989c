"""The S7 driver against a real snap7 server: types, layouts, planning, refusals, restarts, writes."""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from snap7 import util
from snap7.type import SrvArea

from linesight.domain.errors import BadAddress, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.plant import PlantFileError, parse_plant
from linesight.domain.tags import DataType, Quality, TagSpec
from linesight.drivers import registry
from linesight.drivers.s7 import FACTORY, S7Driver
from linesight.drivers.s7 import driver as s7_driver
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState

from ..runtime.test_coordinator import FAST, Recorder, plant, wait_for
from .s7_server import free_port, s7_server

DB, FLAGS = 0x84, 0x83

# The DB500 record of the issue: 14 bytes declared once as a layout.
RECORD_LAYOUT = {
    "record": {
        "part_count": {"offset": 0, "type": "DINT"},
        "reject_count": {"offset": 4, "type": "DINT"},
        "status": {"offset": 8, "type": "WORD"},
        "temperature": {"offset": 10, "type": "REAL"},
    }
}


def spec(name: str, address: str, data_type: DataType = DataType.UINT16, **options: Any) -> TagSpec:
    return TagSpec(
        machine="press",
        name=name,
        address=address,
        data_type=data_type,
        options=tuple(sorted(options.items())),
    )


def driver(port: int, tags: list[TagSpec], **connection: Any) -> S7Driver:
    return FACTORY.create("press", {"host": "127.0.0.1", "port": port, **connection}, tags)


def values(samples: list[Any]) -> dict[str, Any]:
    return {s.tag.removeprefix("press."): s.value for s in samples}


def fill_record(db: bytearray, start: int, parts: int, rejects: int, status: int, temperature: float) -> None:
    util.set_dint(db, start, parts)
    util.set_dint(db, start + 4, rejects)
    util.set_word(db, start + 8, status)
    util.set_real(db, start + 10, temperature)


async def test_every_data_type_reads_from_a_real_plc() -> None:
    tags = [
        spec("bit", "DB10.DBX0.3", DataType.BOOL),
        spec("byte", "DB10.DBB1", DataType.UINT16),
        spec("sint", "DB10.DBB2", DataType.INT16),
        spec("word", "DB10.DBW4", DataType.UINT16),
        spec("int", "DB10.DBW6", DataType.INT16),
        spec("dword", "DB10.DBD8", DataType.UINT32),
        spec("dint", "DB10.DBD12", DataType.INT32),
        spec("real", "DB10.DBD16", DataType.FLOAT32),
        spec("lreal", "DB10.DBB20", DataType.FLOAT64, s7_type="LREAL"),
        spec("lint", "DB10.DBB28", DataType.INT64, s7_type="LINT"),
        spec("ulint", "DB10.DBB36", DataType.UINT64, s7_type="ULINT"),
        spec("udint", "DB10.DBD44", DataType.UINT32, s7_type="UDINT"),
        spec("text", "DB10.DBX48.0", DataType.STRING, length=10),
        spec("moment", "DB10.DBB60", DataType.STRING, s7_type="DATE_AND_TIME"),
        spec("int_as_float", "DB10.DBW68", DataType.FLOAT64, s7_type="INT"),
        spec("flag", "M5.7", DataType.BOOL),
        spec("flag_word", "MW6", DataType.INT16),
        spec("input", "E0.1", DataType.BOOL),
        spec("input_word", "IW2", DataType.UINT16),
        spec("output", "A1.0", DataType.BOOL),
        spec("output_dword", "QD4", DataType.FLOAT32, s7_type="REAL"),
    ]
    async with s7_server() as (plc, port):
        db = plc.db(10, 70)
        util.set_bool(db, 0, 3, True)
        util.set_byte(db, 1, 200)
        util.set_sint(db, 2, -100)
        util.set_word(db, 4, 0xBEEF)
        util.set_int(db, 6, -12345)
        util.set_dword(db, 8, 4_000_000_000)
        util.set_dint(db, 12, -2_000_000_000)
        util.set_real(db, 16, 123.5)
        util.set_lreal(db, 20, 3.141592653589793)
        util.set_lint(db, 28, -5_000_000_000)
        util.set_ulint(db, 36, 2**63 + 1)
        util.set_udint(db, 44, 4_294_967_295)
        util.set_string(db, 48, "O4410", 10)
        util.set_dt(db, 60, datetime(2024, 5, 17, 8, 30, 15, 250_000))
        util.set_int(db, 68, -7)
        flags = plc.area(SrvArea.MK, 16)
        util.set_bool(flags, 5, 7, True)
        util.set_int(flags, 6, -1)
        inputs = plc.area(SrvArea.PE, 8)
        util.set_bool(inputs, 0, 1, True)
        util.set_word(inputs, 2, 64)
        outputs = plc.area(SrvArea.PA, 8)
        util.set_bool(outputs, 1, 0, True)
        util.set_real(outputs, 4, -2.25)
        s7 = driver(port, tags)
        await s7.connect()
        samples = await s7.read(tags)
        await s7.close()
    assert values(samples) == {
        "bit": True,
        "byte": 200,
        "sint": -100,
        "word": 0xBEEF,
        "int": -12345,
        "dword": 4_000_000_000,
        "dint": -2_000_000_000,
        "real": 123.5,
        "lreal": 3.141592653589793,
        "lint": -5_000_000_000,
        "ulint": 2**63 + 1,
        "udint": 4_294_967_295,
        "text": "O4410",
        "moment": "2024-05-17T08:30:15.250",
        "int_as_float": -7.0,
        "flag": True,
        "flag_word": -1,
        "input": True,
        "input_word": 64,
        "output": True,
        "output_dword": -2.25,
    }
    assert all(s.quality is Quality.GOOD for s in samples)
    assert len({s.ts_us for s in samples}) == 1  # one poll, one time


async def test_the_db500_record_reads_through_its_layout_in_one_request() -> None:
    tags = [
        spec("parts", "DB500:record.part_count", DataType.INT32),
        spec("rejects", "DB500:record.reject_count", DataType.FLOAT64),  # the default type holds any DINT
        spec("status", "DB500:record.status"),
        spec("temperature", "DB500:record.temperature", DataType.FLOAT32),
        spec("parts_2", "DB500.DBB14:record.part_count", DataType.INT64),  # a second record after it
    ]
    async with s7_server() as (plc, port):
        db = plc.db(500, 28)
        fill_record(db, 0, parts=123_456, rejects=17, status=0x8001, temperature=71.25)
        fill_record(db, 14, parts=-1, rejects=0, status=0, temperature=0.0)
        s7 = driver(port, tags, layouts=RECORD_LAYOUT)
        await s7.connect()
        plc.reads.clear()
        samples = await s7.read(tags)
        await s7.close()
    assert values(samples) == {
        "parts": 123_456,
        "rejects": 17.0,
        "status": 0x8001,
        "temperature": 71.25,
        "parts_2": -1,
    }
    # Both records' fields, bytes 0-17 of DB500, as one variable of one request.
    assert [[(v.area, v.db, v.start, v.count) for v in request] for request in plc.reads] == [
        [(DB, 500, 0, 18)]
    ]


async def test_nearby_values_are_read_with_few_multi_variable_requests_within_the_pdu() -> None:
    # 60 REALs in DB1 (bytes 0-239), 30 words spread over 30 DBs, 10 flag bits: a PDU of 240.
    tags = [spec(f"r{i}", f"DB1.DBD{4 * i}", DataType.FLOAT32) for i in range(60)]
    tags += [spec(f"w{n}", f"DB{n}.DBW0") for n in range(100, 130)]
    tags += [spec(f"m{i}", f"M{i}.{i % 8}", DataType.BOOL) for i in range(10)]
    async with s7_server() as (plc, port):
        plc.db(1, 240)
        for n in range(100, 130):
            util.set_word(plc.db(n, 2), 0, n)
        plc.area(SrvArea.MK, 10)
        s7 = driver(port, tags, pdu_size=240)
        await s7.connect()
        assert s7.pdu_size == 240
        plc.reads.clear()
        plc.replies.clear()
        for _poll in range(3):
            samples = await s7.read(tags)
        await s7.close()
    assert {f"w{n}": n for n in range(100, 130)}.items() <= values(samples).items()
    per_poll = len(plc.reads) // 3
    assert len(plc.reads) == 3 * per_poll and s7.requests == len(plc.reads)
    # 33 variables: DB1 in two (an answer carries at most 222 bytes at this PDU), 30 DBs, the flags.
    # The first piece of DB1 (220 bytes) fills one answer; the other 32 fit in two more requests.
    variables = [v for request in plc.reads[:per_poll] for v in request]
    assert len(variables) == 33
    assert per_poll == 3
    assert all(len(request) <= 20 for request in plc.reads)
    assert all(12 + 12 * len(request) <= 240 for request in plc.reads)
    assert max(plc.replies) <= 240
    assert sorted((v.start, v.count) for v in variables if v.area == DB and v.db == 1) == [
        (0, 220),
        (220, 20),
    ]
    assert [(v.start, v.count) for v in variables if v.area == FLAGS] == [(0, 10)]


async def test_a_missing_db_and_an_offset_beyond_a_db_refuse_only_those_tags() -> None:
    tags = [
        spec("parts", "DB500:record.part_count", DataType.INT32),
        spec("beyond", "DB500.DBW14", DataType.UINT16),  # DB500 has 14 bytes: coalesced with the record
        spec("status", "DB500.DBW8"),
        spec("missing", "DB501.DBX0.0", DataType.BOOL),
        spec("flag", "M0.0", DataType.BOOL),
    ]
    async with s7_server() as (plc, port):
        fill_record(plc.db(500, 14), 0, parts=42, rejects=0, status=7, temperature=0.0)
        plc.area(SrvArea.MK, 4)
        s7 = driver(port, tags, layouts=RECORD_LAYOUT)
        await s7.connect()
        with pytest.raises(BadAddress) as refused:
            await s7.read(tags)
        assert sorted(refused.value.tags) == ["press.beyond", "press.missing"]
        message = str(refused.value)
        assert message.startswith(f"press: S7 127.0.0.1:{port}: refused ")
        assert (
            "press.missing (DB501.DBX0.0): the PLC has no DB501 (code 0x0a: object does not exist)" in message
        )
        assert (
            "press.beyond (DB500.DBW14): beyond the end of DB500 (code 0x05: address out of range)" in message
        )
        good = [t for t in tags if t.name not in ("beyond", "missing")]
        assert values(await s7.read(good)) == {"parts": 42, "status": 7, "flag": False}
        await s7.close()


@pytest.mark.expect_log_warnings
async def test_only_the_refused_tag_goes_bad_and_the_machine_stays_online() -> None:
    async with s7_server() as (plc, port):
        fill_record(plc.db(500, 14), 0, parts=11, rejects=0, status=0, temperature=0.0)
        machine = {
            "id": "press",
            "driver": "s7",
            "poll_interval": 0.05,
            "connection": {"host": "127.0.0.1", "port": port, "layouts": RECORD_LAYOUT},
            "tags": [
                {"name": "parts", "address": "DB500:record.part_count", "type": "int32"},
                {"name": "missing", "address": "DB777.DBW0", "type": "uint16"},
            ],
        }
        engine = Engine(plant(machine), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: "press.missing" in engine.machine_health("press").tag_errors)
            await wait_for(lambda: len(recorder.of("press.parts")) >= 3)
            health = engine.machine_health("press")
            assert health.state is ConnectionState.ONLINE
            assert "the PLC has no DB777" in health.tag_errors["press.missing"]
    assert {s.quality for _at, s in recorder.of("press.missing")} == {Quality.BAD}
    assert {s.value for _at, s in recorder.of("press.parts")} == {11}


@pytest.mark.expect_log_warnings
async def test_a_plc_that_restarts_goes_bad_then_good_and_never_shows_a_stale_value_as_good() -> None:
    port = free_port()
    machine = {
        "id": "press",
        "driver": "s7",
        "poll_interval": 0.05,
        "timeout": 0.5,
        "connection": {"host": "127.0.0.1", "port": port},
        "tags": [{"name": "count", "address": "DB500.DBD0", "type": "int32"}],
    }
    engine = Engine(plant(machine), historian=None, backoff=FAST)
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    async with s7_server(port) as (plc, _port):
        util.set_dint(plc.db(500, 4), 0, 1)
        await engine.start()
        await wait_for(lambda: any(s.value == 1 for _at, s in recorder.of("press.count")))
    try:
        # The PLC is gone: its tag goes bad, once.
        await wait_for(lambda: engine.machine_health("press").state is ConnectionState.UNAVAILABLE)
        gone = len(recorder.samples)
        async with s7_server(port) as (plc, _port):  # it restarts with a new value
            util.set_dint(plc.db(500, 4), 0, 2)
            await wait_for(lambda: engine.machine_health("press").state is ConnectionState.ONLINE)
            await wait_for(lambda: any(s.value == 2 for _at, s in recorder.samples[gone:]))
            await engine.stop()  # before this PLC stops too
    finally:
        await engine.stop()
    history = [(s.value, s.quality) for _at, s in recorder.of("press.count")]
    first_bad = history.index((None, Quality.BAD))
    assert all(value == 1 for value, _q in history[:first_bad])
    after = history[first_bad + 1 :]
    assert after and all(value == 2 and quality is Quality.GOOD for value, quality in after)


async def test_a_plc_that_is_not_there_is_unreachable() -> None:
    port = free_port()
    with pytest.raises(
        DeviceUnreachable, match=rf"press: S7 127\.0\.0\.1:{port}: cannot connect \(rack 0, slot 1\)"
    ):
        await driver(port, [spec("a", "DB1.DBW0")]).connect()


async def test_reads_before_connecting_or_after_closing_say_not_connected() -> None:
    s7 = driver(free_port(), [spec("a", "DB1.DBW0")])
    with pytest.raises(DeviceUnreachable, match="not connected"):
        await s7.read([spec("a", "DB1.DBW0")])
    await s7.close()  # closing what never opened is harmless


async def test_writes_of_every_type_reach_the_plc() -> None:
    tags = {
        t.name: t
        for t in [
            spec("bit", "DB10.DBX0.3", DataType.BOOL),
            spec("byte", "DB10.DBB1", DataType.UINT16),
            spec("int", "DB10.DBW2", DataType.INT16),
            spec("word", "DB10.DBW4", DataType.UINT16),
            spec("dint", "DB10.DBD6", DataType.INT32),
            spec("dword", "DB10.DBD10", DataType.UINT32),
            spec("real", "DB10.DBD14", DataType.FLOAT32),
            spec("lreal", "DB10.DBB18", DataType.FLOAT64, s7_type="LREAL"),
            spec("text", "DB10.DBB26", DataType.STRING, length=10),
            spec("moment", "DB10.DBB38", DataType.STRING, s7_type="DT"),
            spec("flag", "M2.6", DataType.BOOL),
            spec("output", "QW0", DataType.INT16),
            spec("setpoint", "DB500:record.temperature", DataType.FLOAT32),
        ]
    }
    written: dict[str, Any] = {
        "bit": True,
        "byte": 250,
        "int": -300,
        "word": 60000,
        "dint": -70000,
        "dword": 3_000_000_000,
        "real": 72.5,
        "lreal": -1e100,
        "text": "O1234",
        "moment": "2024-12-24T18:00:00.500",
        "flag": True,
        "output": -2,
        "setpoint": 80.25,
    }
    async with s7_server() as (plc, port):
        db = plc.db(10, 48)
        db[0] = 0b1111_0111  # every bit but the one written, which must not disturb them
        util.set_string(db, 26, "old text", 10)
        record = plc.db(500, 14)
        flags = plc.area(SrvArea.MK, 4)
        outputs = plc.area(SrvArea.PA, 2)
        s7 = driver(port, list(tags.values()), layouts=RECORD_LAYOUT)
        await s7.connect()
        for name, value in written.items():
            await s7.write(tags[name], value)
        assert values(await s7.read(list(tags.values()))) == written
        assert db[0] == 0xFF
        assert db[26:28] == bytes((10, 5))  # the PLC's maximum length stays; the current one is new
        assert util.get_real(record, 10) == 80.25
        assert flags[2] == 0b0100_0000 and util.get_int(outputs, 0) == -2
        # A bit goes to the PLC as a single bit, not as a byte read, changed and written back.
        bit_writes = [v for v, _data in plc.writes if v.word_len == 0x01]
        assert [(v.area, v.db, v.start) for v in bit_writes] == [(DB, 10, 3), (FLAGS, 0, 2 * 8 + 6)]
        await s7.write(tags["bit"], False)
        assert db[0] == 0b1111_0111
        await s7.close()


async def test_writes_the_plc_or_the_value_cannot_take_are_refused_for_that_tag() -> None:
    tags = [
        spec("missing", "DB501.DBW0"),
        spec("input", "I0.0", DataType.BOOL),
        spec("word", "DB10.DBW0"),
        spec("text", "DB10.DBB2", DataType.STRING, length=4),
    ]
    async with s7_server() as (plc, port):
        plc.db(10, 8)
        s7 = driver(port, tags)
        await s7.connect()
        with pytest.raises(BadAddress, match=r"writing press\.missing \(DB501\.DBW0\)") as refused:
            await s7.write(tags[0], 1)
        assert refused.value.tags == ("press.missing",)
        with pytest.raises(BadAddress, match="is an input: the PLC overwrites inputs every cycle"):
            await s7.write(tags[1], True)
        with pytest.raises(BadAddress, match=r"press\.word \(DB10\.DBW0\): 70000 is out of range for WORD"):
            await s7.write(tags[2], 70000)
        with pytest.raises(BadAddress, match=r"5 characters do not fit in a STRING\[4\]"):
            await s7.write(tags[3], "12345")
        assert values(await s7.read(tags[2:])) == {"word": 0, "text": ""}  # still connected
        await s7.close()


@pytest.mark.expect_log_warnings
async def test_a_date_the_plc_never_set_shows_bad_quality_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tags = [spec("moment", "DB10.DBB0", DataType.STRING, s7_type="DT"), spec("word", "DB10.DBW8")]
    async with s7_server() as (plc, port):
        db = plc.db(10, 10)
        util.set_word(db, 8, 5)
        s7 = driver(port, tags)
        await s7.connect()
        for _poll in range(3):
            samples = await s7.read(tags)
        assert [(s.value, s.quality) for s in samples] == [(None, Quality.BAD), (5, Quality.GOOD)]
        util.set_dt(db, 0, datetime(2025, 1, 2, 3, 4, 5))
        assert [s.value for s in await s7.read(tags)] == ["2025-01-02T03:04:05.000", 5]
        await s7.close()
    logged = [r for r in caplog.records if "not a valid DATE_AND_TIME" in r.getMessage()]
    assert len(logged) == 1 and "press.moment (DB10.DBB0)" in logged[0].getMessage()


@pytest.mark.expect_log_warnings
async def test_a_plc_that_accepts_but_never_answers_times_out_without_holding_up_others() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(-1)  # read requests forever, answer none
        writer.close()

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    async with s7_server() as (plc, port):
        util.set_word(plc.db(1, 2), 0, 5)
        machines = [
            {
                "id": name,
                "driver": "s7",
                "poll_interval": 0.05,
                "timeout": 0.3,
                "connection": {"host": "127.0.0.1", "port": machine_port},
                "tags": [{"name": "a", "address": "DB1.DBW0", "type": "uint16"}],
            }
            for name, machine_port in (("silent", silent_port), ("healthy", port))
        ]
        engine = Engine(plant(*machines), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: engine.machine_health("silent").failures >= 2)
            await wait_for(lambda: len(recorder.of("healthy.a")) >= 10)
            health = engine.machine_health("silent")
            assert health.state is ConnectionState.UNAVAILABLE
            assert "no connection within 0.3 s" in (health.last_error or "")
            assert engine.machine_health("healthy").state is ConnectionState.ONLINE
    silent.close()
    for writer in accepted:  # a connect the engine's stop abandoned may still hold one open
        writer.close()
    await silent.wait_closed()


def test_the_plant_file_check_names_s7_mistakes_in_the_connection_block() -> None:
    problems = dict(
        FACTORY.validate(
            {
                "host": "plc",
                "port": 70000,
                "slot": 40,
                "pdusize": 240,
                "layouts": {
                    "record": {
                        "part_count": {"offset": 0, "type": "DINTT"},
                        "running": {"offset": 8, "type": "BOOL"},
                        "name": {"offset": 20, "type": "STRING"},
                        "status": {"offset": 8, "type": "WORD", "bit": 2},
                        "extra": {"offset": 2, "typ": "INT"},
                    },
                    "bad name": {"x": {"offset": 0, "type": "INT"}},
                },
            },
            [spec("a", "DB1.DBW0")],
        )
    )
    assert "less than or equal to 65535" in problems[("connection", "port")]
    assert "less than or equal to 31" in problems[("connection", "slot")]
    assert problems[("connection", "pdusize")].startswith(
        "unknown field 'pdusize'; allowed: host, port, rack"
    )
    record = ("connection", "layouts", "record")
    assert "unknown S7 type 'DINTT'; allowed: BOOL" in problems[(*record, "part_count", "type")]
    assert "a BOOL field needs bit" in problems[(*record, "running")]
    assert "a STRING field needs length" in problems[(*record, "name")]
    assert "bit applies to a BOOL field only, not to WORD" in problems[(*record, "status")]
    assert "unknown field 'typ'; allowed: offset, type, bit, length" in problems[(*record, "extra", "typ")]
    assert (
        "'bad name' cannot name a layout or field" in problems[("connection", "layouts", "bad name", "[key]")]
    )


def test_the_plant_file_check_names_s7_mistakes_in_tags_and_layouts() -> None:
    layouts = {
        "record": {
            "part_count": {"offset": 0, "type": "DINT"},
            "status": {"offset": 2, "type": "WORD"},
        }
    }
    problems = dict(
        FACTORY.validate(
            {"host": "plc", "layouts": layouts},
            [
                spec("a", "DB1.DBQ0"),
                spec("b", "DB1.DBD0", DataType.FLOAT64),
                spec("c", "DB1:record.parts"),
                spec("d", "DB1.DBB0", DataType.STRING),
                spec("e", "DB1.DBW0", DataType.INT16, s7_type="DINT"),
            ],
        )
    )
    assert "cannot read S7 address 'DB1.DBQ0'" in problems[("tags", 0, "address")]
    assert "option s7_type (DWORD, UDINT, DINT, REAL)" in problems[("tags", 1, "type")]
    assert "has no field 'parts'; its fields: part_count, status" in problems[("tags", 2, "address")]
    assert "needs option length" in problems[("tags", 3, "options")]
    assert "s7_type DINT is 4 bytes: address it as DB1.DBD0" in problems[("tags", 4, "address")]
    overlap = problems[("connection", "layouts", "record", "status", "offset")]
    assert overlap == "field 'status' (bytes 2-3) overlaps field 'part_count' (bytes 0-3)"


def test_plant_file_problems_point_at_their_lines() -> None:
    text = textwrap.dedent(
        """\
        id: plant
        sites:
          - id: site
            lines:
              - id: line
                machines:
                  - id: press
                    driver: s7
                    connection:
                      host: 10.0.0.5
                      layouts:
                        record:
                          part_count: {offset: 0, type: DINT}
                          temperature: {offset: 10, type: REEL}
                    tags:
                      - {name: parts, address: "DB500:record.part_count", type: int32}
                      - {name: status, address: "DB500.DBW8", type: float32}
                      - {name: flag, address: "M10", type: bool}
        """
    )
    with pytest.raises(PlantFileError) as refused:
        parse_plant(text, "plant.yaml", drivers=registry.validators())
    lines = {(issue.line, issue.field.rsplit(".", 1)[-1]): issue.message for issue in refused.value.issues}
    assert "unknown S7 type 'REEL'" in lines[(14, "type")]
    assert "declare type uint16 (WORD) or int16 (INT)" in lines[(17, "type")]
    assert "names a bit: add its number (M10.0 to M10.7)" in lines[(18, "address")]


async def test_the_documented_example_is_a_valid_plant_read_in_one_request_a_poll() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "drivers" / "s7.md").read_text(encoding="utf-8")
    found = re.search(r"```yaml\n(- id: press-01.*?)```", doc, re.DOTALL)
    assert found is not None
    machines = textwrap.indent(found.group(1), " " * 10)
    text = f"id: plant\nsites:\n  - id: s\n    lines:\n      - id: l\n        machines:\n{machines}"
    machine = parse_plant(text, "s7.md", drivers=registry.validators()).machine("press-01")
    async with s7_server() as (plc, port):
        db = plc.db(500, 32)
        fill_record(db, 0, parts=1200, rejects=3, status=0b10, temperature=180.5)
        fill_record(db, 14, parts=900, rejects=0, status=0, temperature=0.0)
        util.set_real(db, 28, 42.0)
        util.set_bool(plc.area(SrvArea.MK, 16), 10, 2, True)
        s7 = FACTORY.create(
            "press-01", {**machine.connection, "host": "127.0.0.1", "port": port}, machine.tag_specs()
        )
        await s7.connect()
        plc.reads.clear()
        samples = await s7.read(machine.tag_specs())
        await s7.close()
    assert {s.tag.removeprefix("press-01."): s.value for s in samples} == {
        "parts": 1200,
        "rejects": 3,
        "status": 2,
        "running": True,
        "temperature": 180.5,
        "parts_2": 900,
        "door_open": True,
        "speed_setpoint": 42.0,
    }
    assert len(plc.reads) == 1


async def test_reads_and_writes_from_many_tasks_take_turns_on_the_connection() -> None:
    counter, word = spec("counter", "DB1.DBD0", DataType.INT32), spec("word", "DB1.DBW4")
    async with s7_server() as (plc, port):
        plc.db(1, 6)
        s7 = driver(port, [counter, word], pdu_size=960)
        await s7.connect()
        assert s7.pdu_size == 480  # asked for 960; this CPU offers 480, and the plans follow its answer
        reads = [s7.read([counter, word]) for _ in range(20)]
        writes = [s7.write(word, n) for n in range(20)]
        results = await asyncio.gather(*reads, *writes)
        assert all(len(samples) == 2 for samples in results[:20])
        assert values(await s7.read([word])) == {"word": 19}
        assert s7.requests == len(plc.reads) + len(plc.writes) == 41
        await s7.close()


async def test_a_read_cut_short_by_the_timeout_closes_the_connection_and_a_reconnect_starts_clean() -> None:
    word = spec("word", "DB1.DBW0")
    async with s7_server() as (plc, port):
        db = plc.db(1, 2)
        util.set_word(db, 0, 1)
        s7 = driver(port, [word])
        await s7.connect()
        plc.read_delay = 0.5  # slower than the machine's timeout
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):  # as the coordinator bounds every read
                await s7.read([word])
        # Closed at once: the answer still on its way can never be taken for the answer to another read.
        with pytest.raises(DeviceUnreachable, match="not connected"):
            await s7.read([word])
        await wait_for(lambda: plc.connections == 0)
        util.set_word(db, 0, 2)
        plc.read_delay = 0.0
        await s7.connect()
        assert values(await s7.read([word])) == {"word": 2}
        assert s7.requests == 2 and len(plc.reads) == 2
        await s7.close()


async def test_a_connect_cut_short_by_the_timeout_closes_its_socket() -> None:
    ended = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)  # never answers the connection request; returns once the client closes
        ended.set()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    s7 = driver(server.sockets[0].getsockname()[1], [spec("a", "DB1.DBW0")])
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await s7.connect()
    await asyncio.wait_for(ended.wait(), 5)
    await s7.close()
    server.close()
    await server.wait_closed()


def _with_reference_plus_one(answer: bytes) -> bytes:
    return answer[:4] + (int.from_bytes(answer[4:6], "big") + 1).to_bytes(2, "big") + answer[6:]


@pytest.mark.parametrize(
    ("rewrite", "problem"),
    [
        (
            _with_reference_plus_one,
            "unexpected answer reading DB1 bytes 0-1: the answer to request 2, not to request 1",
        ),
        (
            lambda answer: answer[:13] + b"\x02" + answer[14:],
            "unexpected answer reading DB1 bytes 0-1: 2 variables, not the 1 asked for",
        ),
        (
            lambda answer: answer[:-1],
            "unexpected answer reading DB1 bytes 0-1: 19 bytes where the header announces 20",
        ),
        (
            lambda answer: answer[:10] + b"\x85\x00" + answer[12:],
            "the PLC refused the request reading DB1 bytes 0-1: error class 0x85, code 0x00",
        ),
    ],
)
async def test_an_answer_that_does_not_match_its_request_fails_the_read_and_the_connection(
    rewrite: Callable[[bytes], bytes], problem: str
) -> None:
    word = spec("word", "DB1.DBW0")
    async with s7_server() as (plc, port):
        util.set_word(plc.db(1, 2), 0, 7)
        s7 = driver(port, [word])
        await s7.connect()
        plc.rewrite = rewrite
        with pytest.raises(DriverError) as failed:
            await s7.read([word])
        assert str(failed.value).startswith(f"press: S7 127.0.0.1:{port}: {problem}")
        assert not isinstance(failed.value, BadAddress)  # the connection is at fault, not the tag
        with pytest.raises(DeviceUnreachable, match="not connected"):
            await s7.read([word])
        plc.rewrite = None
        await s7.connect()
        assert values(await s7.read([word])) == {"word": 7}
        await s7.close()


async def test_a_request_left_unanswered_fails_even_when_no_caller_set_a_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(s7_driver, "ANSWER_TIMEOUT_S", 0.2)
    word = spec("word", "DB1.DBW0")
    async with s7_server() as (plc, port):
        plc.db(1, 2)
        s7 = driver(port, [word])
        await s7.connect()
        plc.read_delay = 0.6
        with pytest.raises(DeviceTimeout, match=r"no answer reading DB1 bytes 0-1 within 0\.2 s"):
            await s7.read([word])
        with pytest.raises(DeviceUnreachable, match="not connected"):
            await s7.write(word, 1)
        await wait_for(lambda: plc.connections == 0)  # the late answer went to a closed connection
        await s7.close()


async def test_a_cancellation_swallowed_while_connecting_is_raised_all_the_same() -> None:
    # What Python 3.11's asyncio.wait_for (which snap7 uses while connecting) does when the task is
    # cancelled just as the awaited read completes: it returns the read's result.
    async def swallowing() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "the answer"
        return "no answer"

    task = asyncio.create_task(s7_driver._unswallowed(swallowing()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
