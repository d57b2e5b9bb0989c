"""The MTConnect driver against the virtual plant's agent and a stand-in that answers anything.

Following the stream without gaps, agent restarts, buffer overruns, refused addresses, malformed and
hostile answers, and the runtime's view of it all (values, unavailable, recovery, dropped).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from linesight.domain.errors import BadAddress, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.tags import DataType, Quality, Sample, TagSpec
from linesight.drivers.mtconnect import FACTORY, MTConnectDriver
from linesight.drivers.mtconnect.codec import Streams, parse_document
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState
from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine

from ..runtime.test_coordinator import FAST, Recorder, plant, wait_for
from .mtconnect_server import CURRENT_13, ERROR_13, PROBE_13, Canned, FakeAgent, endless, streams

T0 = 1_777_881_600.0  # 2026-05-04 08:00:00 UTC


def spec(name: str, address: str, data_type: DataType = DataType.FLOAT64, **options: Any) -> TagSpec:
    return TagSpec(
        machine="lathe",
        name=name,
        address=address,
        data_type=data_type,
        poll_interval=0.05,
        options=tuple(sorted(options.items())),
    )


def cnc(name: str = "lathe1", start: float | None = None) -> SimulatedMachine:
    return SimulatedMachine.from_profile(name, "cnc", seed=3, start=start)


def values(got: list[Sample], key: str) -> list[object]:
    return [s.value for s in got if s.tag == key]


class Recording(httpx.AsyncBaseTransport):
    """Every request the driver sends, with the answer it got (so that a test can check sequences)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[tuple[httpx.URL, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((request.url, body))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def samples(self) -> list[tuple[int, Streams]]:
        """Each /sample request's ``from`` and its answer, in order."""
        found = []
        for url, body in self.exchanges:
            if url.path.endswith("/sample"):
                document = parse_document(body, "Streams")
                assert isinstance(document, Streams)
                found.append((int(url.params["from"]), document))
        return found


async def failure_of(driver: MTConnectDriver) -> DriverError:
    """The error ``check`` raises once following the stream has stopped."""
    caught: list[DriverError] = []

    async def failed() -> bool:
        try:
            await driver.check()
        except DriverError as err:
            caught.append(err)
        return bool(caught)

    for _ in range(1000):
        if await failed():
            return caught[0]
        await asyncio.sleep(0.01)
    raise AssertionError("following never stopped")


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


# ---------------------------------------------------------------------- values


async def test_values_come_typed_with_the_agents_timestamps_and_unavailable_is_bad() -> None:
    clock = [T0 + 5.25]
    agent = MTConnectAgent([cnc(start=T0)], sample_every=None, clock=lambda: clock[0])
    async with agent:
        tags = [
            spec("execution", "execution", DataType.STRING),
            spec("mode", "ControllerMode", DataType.STRING),
            spec("parts", "lathe1_pc", DataType.UINT32),
            spec("spindle", "RotaryVelocity"),
            spec("feed", "PathFeedrate.ACTUAL"),
            spec("alarm", "lathe1:system", DataType.STRING),
        ]
        driver = FACTORY.create("lathe", {"url": agent.url, "sample_interval": "20ms"}, tags)
        await driver.connect()
        got: list[Sample] = []
        unsubscribe, refused = await driver.subscribe(tags, got.extend)
        assert refused == {}
        first = {s.tag.removeprefix("lathe."): s for s in got}  # the /current it started from
        assert set(first) == {t.name for t in tags}
        assert first["execution"].value in ("ACTIVE", "READY", "STOPPED", "INTERRUPTED")
        assert first["mode"].value in ("AUTOMATIC", "MANUAL")
        assert isinstance(first["parts"].value, int) and first["parts"].value > 10_000
        assert isinstance(first["spindle"].value, float) and isinstance(first["feed"].value, float)
        assert first["alarm"].value in ("NORMAL", "WARNING", "FAULT")
        assert {s.ts_us for s in got} == {int((T0 + 5.25) * 1e6)}  # the agent's time, not the poll's

        clock[0] = T0 + 60.5
        agent.record("lathe1", "part_count", "40001")
        agent.record("lathe1", "system", "FAULT", native_code="1002")
        await wait_for(lambda: 40001 in values(got, "lathe.parts") and "FAULT" in values(got, "lathe.alarm"))
        changed = [s for s in got if s.value in (40001, "FAULT")]
        assert {s.ts_us for s in changed} == {int((T0 + 60.5) * 1e6)}

        agent.set_available("lathe1", False)  # the machine's adapter went away
        await wait_for(lambda: len([s for s in got if s.quality is Quality.BAD]) == len(tags))
        bad = got[-len(tags) :]
        assert {s.tag for s in bad} == {t.key for t in tags}
        assert all(s.value is None and s.quality is Quality.BAD for s in bad)
        await unsubscribe()
        await driver.close()
    assert driver.gaps == 0 and driver.dropped == 0


async def test_the_stream_is_followed_from_next_sequence_without_gaps_across_many_requests() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        tags = [spec("parts", "part_count", DataType.INT32), spec("execution", "execution", DataType.STRING)]
        recording = Recording()
        settings = FACTORY.parse({"url": agent.url, "count": 7, "sample_interval": "10ms"})
        driver = MTConnectDriver("lathe", settings, tags, transport=recording)
        await driver.connect()
        got: list[Sample] = []
        unsubscribe, _refused = await driver.subscribe(tags, got.extend)
        started = len(got)
        for value in range(1, 301):
            agent.record("lathe1", "part_count", str(value))
            if value % 25 == 0:
                agent.record("lathe1", "execution", "READY" if value % 50 else "ACTIVE")
                await asyncio.sleep(0.005)  # let the driver ask a few times in between
        await wait_for(lambda: 300 in values(got, "lathe.parts"))
        await unsubscribe()
        await driver.close()
    assert values(got[started:], "lathe.parts") == list(range(1, 301))  # each once, in order
    exchanges = recording.samples()
    assert len(exchanges) >= 300 // 7
    for (_asked, answer), (asked_next, _answer) in itertools.pairwise(exchanges):
        assert asked_next == answer.next_sequence  # every request starts where the last one ended
    received = [o.sequence for _asked, answer in exchanges for o in answer.observations]
    assert received == list(range(exchanges[0][0], exchanges[-1][1].next_sequence))  # contiguous, no repeats
    assert driver.gaps == 0 and driver.dropped == 0 and driver.restarts == 0


async def test_an_agent_restart_is_followed_by_a_new_probe_and_current_without_duplicates() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        tags = [spec("parts", "part_count", DataType.INT32), spec("alarm", "system", DataType.STRING)]
        driver = FACTORY.create("lathe", {"url": agent.url, "sample_interval": "10ms"}, tags)
        await driver.connect()
        got: list[Sample] = []
        unsubscribe, _refused = await driver.subscribe(tags, got.extend)
        before = agent.instance_id
        for value in range(1, 51):
            agent.record("lathe1", "part_count", str(value))
        await wait_for(lambda: 50 in values(got, "lathe.parts"))
        agent.restart()  # a new instance whose sequence numbers start again at 1
        assert agent.instance_id != before
        restarted_at = len(got)
        await wait_for(lambda: driver.restarts == 1 and len(got) > restarted_at)
        for value in range(51, 101):
            agent.record("lathe1", "part_count", str(value))
        await wait_for(lambda: 100 in values(got, "lathe.parts"))
        await unsubscribe()
        await driver.close()
    parts = values(got, "lathe.parts")[1:]  # after the first /current
    assert parts[:50] == list(range(1, 51))
    assert parts[50] not in range(1, 101)  # the new instance's /current: the machine's own count
    assert parts[51:] == list(range(51, 101))
    assert len({(s.tag, s.ts_us, s.value) for s in got}) == len(got)  # nothing delivered twice
    assert driver.gaps == 0 and driver.dropped == 0


@pytest.mark.expect_log_warnings
async def test_a_stream_that_fell_out_of_the_buffer_resyncs_from_current_and_counts_the_gap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with MTConnectAgent([cnc()], buffer_size=16, sample_every=None) as agent:
        machine = {
            "id": "lathe",
            "driver": "mtconnect",
            "poll_interval": 0.05,
            "timeout": 2.0,
            "connection": {"url": agent.url},
            "tags": [{"name": "parts", "address": "part_count", "type": "int32"}],
        }
        engine = Engine(plant(machine), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: len(recorder.of("lathe.parts")) >= 1)
            # 100 changes at once: far more than the 16 the agent keeps, so some are gone for good.
            for value in range(1000, 1100):
                agent.record("lathe1", "part_count", str(value))
            await wait_for(lambda: engine.machine_health("lathe").dropped > 0)
            await wait_for(lambda: any(s.value == 1099 for _at, s in recorder.of("lathe.parts")))
            health = engine.machine_health("lathe")
            assert health.state is ConnectionState.ONLINE
    delivered = [s.value for _at, s in recorder.of("lathe.parts") if s.value in range(1000, 1100)]
    assert delivered == sorted(set(delivered)) and delivered[-1] == 1099
    assert len(delivered) + health.dropped == 100  # every change either arrived or was counted lost
    gaps = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "fell out of the agent's buffer" in r.message
    ]
    assert len(gaps) == 1
    assert f"{health.dropped} lost, resynchronised from /current" in gaps[0].message


# ---------------------------------------------------------------------- the runtime


@pytest.mark.expect_log_warnings
async def test_through_the_runtime_values_flow_an_unknown_item_is_refused_and_an_outage_recovers() -> None:
    agent = MTConnectAgent([cnc(), cnc("mill2")], sample_every=0.02)
    await agent.__aenter__()
    try:
        machine = {
            "id": "lathe",
            "driver": "mtconnect",
            "poll_interval": 0.05,
            "timeout": 2.0,
            "connection": {"url": agent.url, "device": "lathe1"},
            "tags": [
                {"name": "execution", "address": "Execution", "type": "string"},
                {"name": "parts", "address": "part_count", "type": "uint32"},
                {"name": "spindle", "address": "lathe1_srpm", "unit": "rpm"},
                {"name": "ghost", "address": "no_such_item"},
            ],
        }
        engine = Engine(plant(machine), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: engine.machine_health("lathe").state is ConnectionState.ONLINE)
            await wait_for(lambda: len(recorder.of("lathe.parts")) >= 1)
            agent.record("lathe1", "part_count", "777")
            await wait_for(lambda: any(s.value == 777 for _at, s in recorder.of("lathe.parts")))
            health = engine.machine_health("lathe")
            assert "no data item 'no_such_item'" in health.tag_errors["lathe.ghost"]
            assert "known ids: lathe1_avail" in health.tag_errors["lathe.ghost"]
            assert all(s.quality is Quality.BAD for _at, s in recorder.of("lathe.ghost"))
            assert health.requests_per_s > 0

            await asyncio.to_thread(agent.stop)  # the agent goes away
            await wait_for(lambda: engine.machine_health("lathe").state is ConnectionState.UNAVAILABLE)
            assert "127.0.0.1" in (engine.machine_health("lathe").last_error or "")
            await asyncio.to_thread(agent.start)  # and comes back on the same port, a new instance
            await wait_for(lambda: engine.machine_health("lathe").state is ConnectionState.ONLINE, within=20)
            agent.record("lathe1", "part_count", "778")
            await wait_for(lambda: any(s.value == 778 for _at, s in recorder.of("lathe.parts")))
    finally:
        await agent.__aexit__(None, None, None)
    parts = [(s.value, s.quality) for _at, s in recorder.of("lathe.parts")]
    went_bad = parts.index((None, Quality.BAD))  # marked bad when the agent went away
    assert parts.index((777, Quality.GOOD)) < went_bad < parts.index((778, Quality.GOOD))
    assert recorder.of("lathe.execution")[-1][1].quality is Quality.GOOD


async def test_polling_reads_current_with_conditions_and_unavailable_values() -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(PROBE_13)
        fake.routes["/current"] = Canned(CURRENT_13)
        tags = [
            spec("execution", "execution", DataType.STRING),
            spec("parts", "PartCount", DataType.UINT32),
            spec("spindle", "SpindleSpeed"),
            spec("load", "Sload"),
            spec("alarm", "system", DataType.STRING),
            spec("travel", "Xtravel", DataType.STRING),
            spec("vars", "vars", DataType.STRING),
        ]
        driver = FACTORY.create("lathe", {"url": fake.url, "mode": "current"}, tags)
        assert not driver.pushes(tags[0])
        await driver.connect()
        samples = {s.tag.removeprefix("lathe."): s for s in await driver.read(tags)}
        with pytest.raises(BadAddress, match=r"tag ghost \(ghost\): no data item 'ghost'") as refused:
            await driver.read([*tags[:2], spec("ghost", "ghost")])
        assert refused.value.tags == ("lathe.ghost",)
        with pytest.raises(BadAddress, match=r"tag state \(Execution\): execution \(EVENT, EXECUTION"):
            await driver.read([spec("state", "Execution", DataType.INT16)])
        await driver.close()
    assert {name: s.value for name, s in samples.items()} == {
        "execution": "ACTIVE",
        "parts": 33757,
        "spindle": None,
        "load": 38.5,
        "alarm": "FAULT",
        "travel": None,
        "vars": "offset=1.5 tool=T12",
    }
    assert samples["spindle"].quality is Quality.BAD and samples["travel"].quality is Quality.BAD
    assert samples["parts"].ts_us == 1_777_881_604_250_000  # 2026-05-04T08:00:04.25Z, from the document
    assert driver.requests == 4  # the probe, then one /current per read


@pytest.mark.expect_log_warnings
async def test_a_value_that_does_not_fit_the_tag_is_bad_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(PROBE_13)
        fake.routes["/current"] = Canned(
            streams(
                '<PartCount dataItemId="pc" timestamp="2026-05-04T08:00:04Z" sequence="9">lots</PartCount>'
            )
        )
        tags = [spec("parts", "pc", DataType.UINT32)]
        driver = FACTORY.create("lathe", {"url": fake.url}, tags)
        await driver.connect()
        first = await driver.read(tags)
        second = await driver.read(tags)
        await driver.close()
    assert first[0].quality is Quality.BAD and first[0].value is None and second == first
    said = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "value 'lots' is not a uint32" in said[0].message


async def test_a_subscription_refuses_unknown_items_and_follows_the_others() -> None:
    async with MTConnectAgent([cnc()], sample_every=None) as agent:
        tags = [spec("parts", "part_count", DataType.INT32), spec("ghost", "lathe1:Ghost")]
        driver = FACTORY.create("lathe", {"url": agent.url, "sample_interval": "10ms"}, tags)
        await driver.connect()
        got: list[Sample] = []
        unsubscribe, refused = await driver.subscribe(tags, got.extend)
        assert list(refused) == ["lathe.ghost"]
        assert (
            "no data item 'Ghost' in the probe of device lathe1; known ids: lathe1_avail"
            in refused["lathe.ghost"]
        )
        agent.record("lathe1", "part_count", "5")
        await wait_for(lambda: 5 in values(got, "lathe.parts"))
        await driver.check()
        await unsubscribe()
        await driver.close()
    assert {s.tag for s in got} == {"lathe.parts"}


# ---------------------------------------------------------------------- refusals and hostile answers


@pytest.mark.parametrize(
    ("probe", "error", "message"),
    [
        (
            Canned(
                b'<?xml version="1.0"?>\n'
                b'<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.0">\n<Hea'
            ),
            DriverError,
            r"/probe: not well-formed XML: unclosed token at line 3, column 1",
        ),
        (
            Canned(b'<MTConnectDevices xmlns="urn:example:devices"><Header/></MTConnectDevices>'),
            DriverError,
            r"/probe: received a <MTConnectDevices> document in namespace 'urn:example:devices'",
        ),
        (Canned(CURRENT_13), DriverError, "expected an MTConnectDevices document, received MTConnectStreams"),
        (Canned(ERROR_13, status=400), DriverError, r"/probe: refused: OUT_OF_RANGE: 'from' must be"),
        (
            Canned(b"<html>Not here</html>", status=404),
            DeviceUnreachable,
            r"/probe: HTTP 404 \(received a <html>",
        ),
    ],
)
async def test_a_bad_probe_is_a_driver_error_naming_the_url(
    probe: Canned, error: type[DriverError], message: str
) -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = probe
        driver = FACTORY.create("lathe", {"url": fake.url}, [spec("parts", "pc")])
        with pytest.raises(error, match=message) as raised:
            await driver.connect()
        await driver.close()
    assert f"{fake.url}probe" in str(raised.value)


async def test_an_oversized_answer_is_not_read_past_the_limit() -> None:
    total = 256 * 1024 * 1024
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(endless(b"<a>" + b"x" * 65533, total))  # no Content-Length
        fake.routes["/current"] = Canned(b"x" * 100_000)  # one that says its size up front
        driver = FACTORY.create("lathe", {"url": fake.url, "max_response_bytes": 65536}, [spec("a", "pc")])
        with (
            peak_memory() as peak,
            pytest.raises(DriverError, match=r"larger than max_response_bytes \(65536\)"),
        ):
            await driver.connect()
        await driver.close()
        assert fake.sent < total  # the agent could not send it all: nobody was reading
        fake.routes["/probe"] = Canned(PROBE_13)
        await driver.connect()
        with pytest.raises(DriverError, match=r"has 100000 bytes, more than max_response_bytes \(65536\)"):
            await driver.read([spec("a", "pc")])
        await driver.close()
    assert peak[0] < 16 * 1024 * 1024


# A billion laughs: ten levels of ten references each, 3 GB of "lol" if it were ever expanded.
LOL = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' if n else '<!ENTITY lol0 "lol">' for n in range(10)
)


async def test_entity_bombs_and_external_entities_are_refused_and_nothing_is_fetched() -> None:
    bomb = (
        f'<?xml version="1.0"?>\n<!DOCTYPE b [{LOL}]>\n'
        '<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.0">&lol9;</MTConnectDevices>'
    )
    async with FakeAgent() as fake:
        external = (
            f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "{fake.url}secret">]>\n'
            '<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.0">&xxe;</MTConnectDevices>'
        )
        driver = FACTORY.create("lathe", {"url": fake.url}, [spec("a", "pc")])
        for document in (bomb, external):
            fake.routes["/probe"] = Canned(document.encode())
            with (
                peak_memory() as peak,
                pytest.raises(DriverError, match=r"/probe: the document has a DOCTYPE"),
            ):
                await driver.connect()
            await driver.close()
            assert peak[0] < 16 * 1024 * 1024
    assert fake.requests == ["/probe", "/probe"]  # the external entity was never fetched


async def test_entity_bombs_in_current_and_sample_answers_are_refused_too() -> None:
    """The same refusals on the Streams path, whose documents are parsed as they are read (no tree)."""
    streams_root = '<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:1.3">'
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE b [{LOL}]>\n{streams_root}&lol9;</MTConnectStreams>'
    async with FakeAgent() as fake:
        external = (
            f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "{fake.url}secret">]>\n'
            f"{streams_root}&xxe;</MTConnectStreams>"
        )
        fake.routes["/probe"] = Canned(PROBE_13)
        tags = [spec("a", "Xact")]
        driver = FACTORY.create("lathe", {"url": fake.url, "sample_interval": "10ms"}, tags)
        await driver.connect()
        for document in (bomb, external):
            fake.routes["/current"] = Canned(document.encode())
            with (
                peak_memory() as peak,
                pytest.raises(DriverError, match=r"/current: the document has a DOCTYPE"),
            ):
                await driver.read(tags)
            assert peak[0] < 16 * 1024 * 1024
        fake.routes["/current"] = Canned(CURRENT_13)
        for document in (bomb, external):
            fake.routes["/sample"] = Canned(document.encode())
            await driver.subscribe(tags, lambda _batch: None)
            error = await failure_of(driver)
            assert "/sample?from=120&count=1000: the document has a DOCTYPE" in str(error)
        await driver.close()
    assert "/secret" not in fake.requests  # the external entity was never fetched


async def test_an_agent_that_is_not_there_or_does_not_answer_is_unreachable() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, but nothing ever answers
        port = silent.getsockname()[1]
        driver = FACTORY.create(
            "lathe", {"url": f"http://127.0.0.1:{port}/", "request_timeout": "100ms"}, [spec("a", "pc")]
        )
        with pytest.raises(DeviceTimeout, match=rf"http://127.0.0.1:{port}/probe: no answer within 0.1 s"):
            await driver.connect()
        await driver.close()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound but not listening: connections are refused
        driver = FACTORY.create("lathe", {"url": f"http://127.0.0.1:{port}/"}, [spec("a", "pc")])
        with pytest.raises(DeviceUnreachable, match=rf"http://127.0.0.1:{port}/probe: cannot connect"):
            await driver.connect()
        await driver.close()


async def test_an_agent_that_hangs_up_is_asked_once_more_then_it_is_unreachable() -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(PROBE_13, hang_up=1)  # as a kept-alive connection closed at reuse
        driver = FACTORY.create("lathe", {"url": fake.url}, [spec("a", "pc")])
        await driver.connect()
        assert driver.requests == 2
        fake.routes["/probe"] = Canned(PROBE_13, hang_up=2)
        with pytest.raises(
            DeviceUnreachable, match=r"/probe: Server disconnected without sending a response"
        ):
            await driver.connect()
        await driver.close()


async def test_an_out_of_range_refusal_for_a_sequence_still_held_stops_the_stream_with_the_reason() -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(PROBE_13)
        fake.routes["/current"] = Canned(CURRENT_13)  # holds 1 to 119: from=120 is fine
        fake.routes["/sample"] = Canned(ERROR_13, status=400)
        driver = FACTORY.create("lathe", {"url": fake.url, "sample_interval": "10ms"}, [spec("a", "Xact")])
        await driver.connect()
        await driver.subscribe([spec("a", "Xact")], lambda _batch: None)
        error = await failure_of(driver)
        await driver.close()
    assert "refused /sample?from=120: OUT_OF_RANGE" in str(error)
    assert driver.gaps == 0


async def test_a_malformed_sample_stops_the_stream_and_check_says_why() -> None:
    async with FakeAgent() as fake:
        fake.routes["/probe"] = Canned(PROBE_13)
        fake.routes["/current"] = Canned(CURRENT_13)
        fake.routes["/sample"] = Canned(
            b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:1.3">\n<Header'
        )
        driver = FACTORY.create("lathe", {"url": fake.url, "sample_interval": "10ms"}, [spec("a", "Xact")])
        await driver.connect()
        await driver.subscribe([spec("a", "Xact")], lambda _batch: None)
        error = await failure_of(driver)
        await driver.close()
    assert f"{fake.url}sample?from=120&count=1000: not well-formed XML" in str(error)
    assert "unclosed token at line 2, column 1" in str(error)


# ---------------------------------------------------------------------- configuration


def test_the_plant_file_check_names_mtconnect_mistakes() -> None:
    problems = dict(
        FACTORY.validate(
            {"url": "opc.tcp://agent:5000", "mode": "stream", "count": 0, "colour": "red"},
            [
                spec("a", "two words"),
                spec("b", "Execution", DataType.INT32),
                spec("c", "Xact", unit_id=3),
                spec("d", "dev1:PartCount", DataType.UINT32),
            ],
        )
    )
    assert "an http:// URL" in problems[("connection", "url")]
    assert "'sample' or 'current'" in problems[("connection", "mode")]
    assert "greater than or equal to 1" in problems[("connection", "count")]
    assert "unknown field 'colour'; allowed: url, device" in problems[("connection", "colour")]
    assert "cannot read MTConnect address 'two words'" in problems[("tags", 0, "address")]
    assert problems[("tags", 1, "type")] == "'Execution' is text: declare type: string"
    assert "MTConnect tags take no options" in problems[("tags", 2, "options")]
    assert not [location for location in problems if location[:2] == ("tags", 3)]
    assert FACTORY.validate({"url": "http://agent:5000/VMC-3Axis"}, [spec("a", "Xact")]) == []


async def test_writes_are_refused_because_agents_are_read_only() -> None:
    driver = FACTORY.create("lathe", {"url": "http://agent:5000/"}, [spec("a", "Xact")])
    with pytest.raises(BadAddress, match="read-only") as refused:
        await driver.write(spec("a", "Xact"), 1.0)
    assert refused.value.tags == ("lathe.a",)
