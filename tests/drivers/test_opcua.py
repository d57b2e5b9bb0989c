"""The OPC UA driver against a real asyncua server: polling, subscriptions, restarts, security, drops."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from linesight.domain.errors import BadAddress, DeviceUnreachable
from linesight.domain.tags import DataType, Quality, Sample, TagSpec
from linesight.drivers.opcua import FACTORY
from linesight.drivers.opcua import driver as opcua_driver
from linesight.runtime.engine import Engine
from linesight.runtime.health import ConnectionState
from linesight.storage import to_us

from ..runtime.test_coordinator import FAST, Recorder, plant, wait_for
from .opcua_server import free_port, opcua_server


def spec(name: str, address: str, data_type: DataType = DataType.FLOAT64, **options: Any) -> TagSpec:
    return TagSpec(
        machine="pack",
        name=name,
        address=address,
        data_type=data_type,
        poll_interval=0.05,
        options=tuple(sorted(options.items())),
    )


def machine(endpoint: str, tags: list[dict[str, Any]], **connection: Any) -> dict[str, Any]:
    return {
        "id": "pack",
        "driver": "opcua",
        "poll_interval": 0.1,
        "timeout": 2.0,
        "connection": {"endpoint": endpoint, **connection},
        "tags": tags,
    }


async def test_polled_reads_give_every_type_the_device_time_and_its_status_as_quality() -> None:
    async with opcua_server() as server:
        taken = datetime(2026, 5, 4, 3, 2, 1, 500000, tzinfo=UTC)
        await server.set("Speed", 98.5, source=taken)
        await server.set("Temperature", 0.0, status=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
        await server.set("State", 3, status=ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue))
        tags = [
            spec("running", server.node_id("Running"), DataType.BOOL),
            spec("state", server.node_id("State"), DataType.INT16),
            spec("count", server.node_id("Count"), DataType.UINT32),
            spec("big", server.node_id("Big"), DataType.INT64),
            spec("speed", server.node_id("Speed"), DataType.FLOAT32),
            spec("temp", server.node_id("Temperature")),
            spec("program", server.node_id("Program"), DataType.STRING),
            spec("by_uri", "nsu=urn:linesight:test:packaging;s=Packaging.Count", DataType.UINT32),
        ]
        driver = FACTORY.create("pack", {"endpoint": server.endpoint, "subscribe": False}, tags)
        await driver.connect()
        samples = {s.tag.removeprefix("pack."): s for s in await driver.read(tags)}
        await driver.close()
    assert {name: s.value for name, s in samples.items()} == {
        "running": True,
        "state": 3,
        "count": 100,
        "big": -(2**40),
        "speed": 98.5,
        "temp": None,
        "program": "PCT-500G",
        "by_uri": 100,
    }
    assert samples["speed"].ts_us == to_us(taken)  # the device's own timestamp, not the poll's
    assert samples["temp"].quality is Quality.BAD
    assert samples["state"].quality is Quality.UNCERTAIN
    assert samples["count"].quality is Quality.GOOD


@pytest.mark.expect_log_warnings
async def test_subscribed_changes_arrive_scaled_and_an_unknown_node_is_polled_from_quarantine() -> None:
    async with opcua_server() as server:
        tags = [
            {"name": "speed", "address": server.node_id("Speed"), "type": "float32", "scale": 2.0},
            {"name": "count", "address": server.node_id("Count"), "type": "uint32", "poll_interval": 0.05},
            {"name": "ghost", "address": f"ns={server.namespace};s=Packaging.Ghost"},
        ]
        engine = Engine(plant(machine(server.endpoint, tags)), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        async with engine:
            await wait_for(lambda: any(s.value == 221.0 for _at, s in recorder.of("pack.speed")))  # 110.5 x 2
            await server.set("Speed", 50.0)
            await server.set("Count", 101)
            await wait_for(lambda: any(s.value == 100.0 for _at, s in recorder.of("pack.speed")))
            await wait_for(lambda: any(s.value == 101 for _at, s in recorder.of("pack.count")))
            health = engine.machine_health("pack")
            assert health.state is ConnectionState.ONLINE
            assert "BadNodeIdUnknown" in health.tag_errors["pack.ghost"]
            assert health.requests_per_s > 0  # the keep-alive checks
    assert {s.quality for _at, s in recorder.of("pack.ghost")} == {Quality.BAD}


@pytest.mark.expect_log_warnings
async def test_a_server_restart_goes_bad_then_the_subscription_is_recreated() -> None:
    port = free_port()
    async with opcua_server(port) as server:
        tags = [{"name": "count", "address": server.node_id("Count"), "type": "uint32"}]
        engine = Engine(plant(machine(server.endpoint, tags)), historian=None, backoff=FAST)
        recorder = Recorder()
        engine.bus.subscribe(recorder)
        await engine.start()
        await wait_for(lambda: any(s.value == 100 for _at, s in recorder.of("pack.count")))
    try:
        await wait_for(lambda: engine.machine_health("pack").state is ConnectionState.UNAVAILABLE)
        async with opcua_server(port) as server:
            await wait_for(lambda: engine.machine_health("pack").state is ConnectionState.ONLINE, within=20)
            await server.set("Count", 555)
            await wait_for(lambda: any(s.value == 555 for _at, s in recorder.of("pack.count")))
            await engine.stop()
    finally:
        await engine.stop()
    history = [(s.value, s.quality) for _at, s in recorder.of("pack.count")]
    first_bad = history.index((None, Quality.BAD))
    assert all(quality is Quality.GOOD and value == 100 for value, quality in history[:first_bad])
    assert all(quality is Quality.GOOD for _value, quality in history[first_bad + 1 :])


@pytest.mark.expect_log_warnings  # the test server logs the refused password as an error
async def test_sign_and_encrypt_with_a_client_certificate_made_on_first_use_and_a_password(
    tmp_path: Path,
) -> None:
    pki = tmp_path / "server-pki"
    pki.mkdir()
    client_pki = tmp_path / "client-pki"
    async with opcua_server(secure=True, pki=pki, users={"operator": "s3cret"}) as server:
        tags = [spec("count", server.node_id("Count"), DataType.UINT32)]
        for security in ("sign", "sign_and_encrypt"):
            settings = {
                "endpoint": server.endpoint,
                "security": security,
                "username": "operator",
                "password": "s3cret",
                "certificate_dir": str(client_pki),
                "subscribe": False,
            }
            driver = FACTORY.create("pack", settings, tags)
            await driver.connect()
            assert [s.value for s in await driver.read(tags)] == [100]
            await driver.close()
        assert (client_pki / "linesight-client-cert.der").exists()
        wrong = FACTORY.create("pack", {**settings, "password": "guess"}, tags)
        with pytest.raises(DeviceUnreachable, match="cannot connect"):
            await wrong.connect()
        await wrong.close()
        plain = FACTORY.create("pack", {"endpoint": server.endpoint}, tags)
        with pytest.raises(DeviceUnreachable):  # the server offers no unsecured endpoint
            await plain.connect()
        await plain.close()


async def test_notifications_the_client_cannot_keep_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opcua_driver, "NOTIFICATION_QUEUE", 5)
    async with opcua_server() as server:
        tags = [
            spec("count", server.node_id("Count"), DataType.UINT32, queue_size=500, sampling_interval="10ms")
        ]
        driver = FACTORY.create("pack", {"endpoint": server.endpoint, "publishing_interval": "1s"}, tags)
        await driver.connect()
        got: list[Sample] = []
        unsubscribe, refused = await driver.subscribe(tags, got.extend)
        assert refused == {}
        await wait_for(lambda: len(got) >= 1)
        # 200 changes between two publishes arrive in one burst, far more than the queue of 5 holds.
        for value in range(1000, 1200):
            await server.set("Count", value)
        await wait_for(lambda: got[-1].value == 1199)
        await unsubscribe()
        await driver.close()
    delivered = len([s for s in got if isinstance(s.value, int) and s.value >= 1000])
    assert driver.dropped > 0
    assert delivered + driver.dropped == 200  # every change either arrived or was counted


def test_the_plant_file_check_names_opcua_mistakes() -> None:
    problems = dict(
        FACTORY.validate(
            {"endpoint": "http://plc:4840", "security": "encrypt"},
            [spec("a", "ns=2;x=1"), spec("b", "ns=2;s=B", mode="push"), spec("c", "ns=2;i=5", queue=4)],
        )
    )
    assert "opc.tcp:// URL" in problems[("connection", "endpoint")]
    assert "'none', 'sign' or 'sign_and_encrypt'" in problems[("connection", "security")]
    assert "cannot read node id 'ns=2;x=1'" in problems[("tags", 0, "address")]
    assert "option mode is 'push'; allowed: subscribe, poll" in problems[("tags", 1, "options")]
    assert "unknown option queue" in problems[("tags", 2, "options")]


async def test_writes_reach_the_server_and_a_wrong_node_is_refused() -> None:
    async with opcua_server() as server:
        tags = [
            spec("speed", server.node_id("Speed"), DataType.FLOAT32),
            spec("ghost", f"ns={server.namespace};s=Nope"),
        ]
        driver = FACTORY.create("pack", {"endpoint": server.endpoint, "subscribe": False}, tags)
        await driver.connect()
        await driver.write(tags[0], 77.25)
        assert [s.value for s in await driver.read(tags[:1])] == [77.25]
        # asyncua's server checks write access before existence; a real PLC says BadNodeIdUnknown.
        with pytest.raises(BadAddress, match=r"BadUserAccessDenied|BadNodeIdUnknown"):
            await driver.write(tags[1], 1.0)
        await driver.close()
