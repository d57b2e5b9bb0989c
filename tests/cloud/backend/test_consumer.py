"""The consumer against a real Mosquitto whose password and ACL files provisioning wrote."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiomqtt
import pytest
import zstandard
from sqlalchemy import Engine, func, select

from linesight.cloud import codec
from linesight.cloud.backend import db
from linesight.cloud.backend.consumer import Consumer, ConsumerConfig
from linesight.cloud.backend.control import init_schema
from linesight.cloud.backend.ingest import IngestMetrics
from linesight.cloud.backend.provision import (
    BrokerFiles,
    EdgeCredentials,
    create_backend_user,
    create_edge,
    create_site,
    create_tenant,
)

from ..broker import Mosquitto
from .ingest_fixtures import T0_US, _pg_url_fixture, empty_pg, origin, sample_batch  # noqa: F401

ADMIN, ADMIN_PASSWORD = (
    "test-admin",
    "admin-secret",
)  # a broker user allowed everywhere: plays a broker without ACLs


@dataclass
class Plant:
    engine: Engine
    broker: Mosquitto
    backend_password: str
    acme: EdgeCredentials
    globex: EdgeCredentials

    def config(self, **kwargs: object) -> ConsumerConfig:
        return ConsumerConfig(
            host=self.broker.host,
            port=self.broker.port,
            username="linesight-backend",
            password=self.backend_password,
            **kwargs,  # type: ignore[arg-type]
        )


def _provisioned(engine: Engine, folder: Path) -> Plant:
    init_schema(engine)
    # The test broker writes its own files first; provisioning then adds its users to those same files.
    broker = Mosquitto(folder, users={ADMIN: ADMIN_PASSWORD}, acl=f"user {ADMIN}\ntopic readwrite #\n")
    files = BrokerFiles(password_file=folder / "passwords", acl_file=folder / "acl")
    create_tenant(engine, "acme", plan="standard")
    create_tenant(engine, "globex", plan="standard")
    create_site(engine, "acme", "plant1")
    create_site(engine, "globex", "plant9")
    acme = create_edge(engine, "acme", "plant1", "edge1", broker=files)
    globex = create_edge(engine, "globex", "plant9", "edge9", broker=files)
    backend_password = create_backend_user(files)
    broker.start()
    return Plant(engine=engine, broker=broker, backend_password=backend_password, acme=acme, globex=globex)


@pytest.fixture
def plant(tmp_path: Path) -> Iterator[Plant]:
    engine = db.make_engine(tmp_path / "cloud.db")
    plant = _provisioned(engine, tmp_path / "broker")
    yield plant
    plant.broker.stop()
    engine.dispose()


@contextlib.asynccontextmanager
async def consuming(consumers: list[Consumer]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    try:
        for consumer in consumers:
            await asyncio.wait_for(consumer.subscribed.wait(), 10)
        yield
    finally:
        for consumer in consumers:
            consumer.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


def _client(plant: Plant, username: str, password: str, identifier: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        plant.broker.host, plant.broker.port, username=username, password=password, identifier=identifier
    )


async def wait_until(predicate: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {limit} s")
        await asyncio.sleep(0.05)


def _count(engine: Engine, table: db.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _dead(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(db.dead_letters).order_by(db.dead_letters.c.id)).all()
    return [(r.topic, r.reason, r.detail) for r in rows]


async def test_valid_messages_are_stored_and_bad_ones_dead_lettered_while_the_consumer_keeps_running(
    plant: Plant,
) -> None:
    metrics = IngestMetrics()
    consumer = Consumer(plant.engine, plant.config(max_bytes=256 * 1024), metrics=metrics)
    acme_topic = "linesight/v1/acme/plant1/edge1"
    good = codec.encode(sample_batch(1, 100), compress=True)
    events = codec.encode_events(
        origin(),
        batch=2,
        events=[codec.Event(stream="state", id=1, ts_us=T0_US, machine="m1", data={"state": "running"})],
    )
    bomb = zstandard.ZstdCompressor().compress(b'{"schema":"linesight/v1","pad":"' + b" " * 400_000 + b'"}')
    wrong_schema = json.loads(codec.encode(sample_batch(101, 110)))
    wrong_schema["quality"] = ["good"] * 10
    other_tenant = codec.encode(sample_batch(1, 10, src=origin(tenant="globex", site="plant1")))
    async with consuming([consumer]):
        async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge:
            await edge.publish(f"{acme_topic}/samples", good, qos=1)
            await edge.publish(f"{acme_topic}/events", events, qos=1)
            await edge.publish(f"{acme_topic}/samples", b"{not json", qos=1)
            await edge.publish(f"{acme_topic}/samples", bomb, qos=1)
            await edge.publish(f"{acme_topic}/samples", json.dumps(wrong_schema).encode(), qos=1)
            await edge.publish(f"{acme_topic}/samples", other_tenant, qos=1)  # envelope says globex
        async with _client(plant, ADMIN, ADMIN_PASSWORD, "admin") as admin:
            # a broker without ACLs would let these through: the backend refuses them itself
            await admin.publish("linesight/v1/acme/plant1/edge7/samples", good, qos=1)  # not registered
            await admin.publish("linesight/v1/acme/plant1/edge9/samples", good, qos=1)  # globex's edge
            await admin.publish("linesight/v1/acme/plant2/edge1/samples", good, qos=1)  # wrong site
        await wait_until(lambda: len(_dead(plant.engine)) >= 7, "seven dead letters")
        # ... and it is still consuming
        async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge:
            await edge.publish(f"{acme_topic}/samples", codec.encode(sample_batch(101, 150)), qos=1)
        await wait_until(lambda: _count(plant.engine, db.samples) == 150, "150 samples stored")

    reasons = {(topic.split("/")[3], topic.split("/")[4], reason) for topic, reason, _ in _dead(plant.engine)}
    assert reasons == {
        ("plant1", "edge1", "bad_json"),
        ("plant1", "edge1", "too_large"),
        ("plant1", "edge1", "schema"),
        ("plant1", "edge1", "tenant_mismatch"),
        ("plant1", "edge7", "unknown_edge"),
        ("plant1", "edge9", "tenant_mismatch"),
        ("plant2", "edge1", "unknown_edge"),
    }
    details = {reason: detail for _, reason, detail in _dead(plant.engine)}
    assert "$.quality[0]" in details["schema"]
    assert _count(plant.engine, db.events) == 1
    assert metrics.registry.get_sample_value("parse_error_total", {"reason": "tenant_mismatch"}) == 2
    assert (
        metrics.registry.get_sample_value("ingest_messages_total", {"kind": "samples", "result": "stored"})
        == 2
    )
    assert (metrics.registry.get_sample_value("ingest_lag_ms_count") or 0) >= 3
    with plant.engine.connect() as conn:
        assert conn.execute(select(db.samples.c.tenant_id).distinct()).scalars().all() == ["acme"]


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_two_consumers_on_one_shared_subscription_store_every_message_exactly_once(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dialect == "sqlite":
        engine = db.make_engine(tmp_path / "cloud.db")
    else:
        engine = empty_pg(request.getfixturevalue("pg_url"))
    plant = _provisioned(engine, tmp_path / "broker")
    try:
        metrics = IngestMetrics()
        consumers = [
            Consumer(engine, plant.config(client_id="test-backend"), index=i, metrics=metrics)
            for i in range(2)
        ]
        messages, per_message = 200, 50
        async with consuming(consumers):
            async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge:
                for n in range(messages):
                    first = n * per_message + 1
                    payload = codec.encode(
                        sample_batch(first, first + per_message - 1, batch=n), compress=True
                    )
                    await edge.publish("linesight/v1/acme/plant1/edge1/samples", payload, qos=1)
            await wait_until(
                lambda: _count(engine, db.samples) == messages * per_message, "all samples stored"
            )
            await wait_until(lambda: sum(c.handled for c in consumers) == messages, "all messages handled")
        assert all(c.handled > 0 for c in consumers), [c.handled for c in consumers]
        assert sum(c.handled for c in consumers) == messages  # none delivered twice
        assert (metrics.registry.get_sample_value("dedupe_total", {"kind": "samples"}) or 0) == 0
        with engine.connect() as conn:
            assert conn.execute(select(func.count(func.distinct(db.samples.c.seq)))).scalar_one() == 10_000
            usage = conn.execute(select(func.sum(db.usage.c.samples))).scalar_one()
        assert usage == messages * per_message
        assert _dead(engine) == []
    finally:
        plant.broker.stop()
        engine.dispose()


async def test_broker_acls_keep_an_edge_out_of_another_tenants_topics(plant: Plant) -> None:
    globex_topic = "linesight/v1/globex/plant9/edge9/samples"
    seen: list[bytes] = []
    spy: list[bytes] = []

    async def collect(client: aiomqtt.Client, into: list[bytes]) -> None:
        async for message in client.messages:
            into.append(bytes(message.payload))  # type: ignore[arg-type]

    async with (
        _client(plant, ADMIN, ADMIN_PASSWORD, "watcher") as watcher,
        _client(plant, plant.acme.username, plant.acme.password, "edge1-spy") as edge,
    ):
        await watcher.subscribe("linesight/v1/#", qos=1)
        # Mosquitto grants the subscription but never feeds it anything the ACL does not let it read
        await edge.subscribe("linesight/v1/globex/#", qos=1)
        tasks = [asyncio.create_task(collect(watcher, seen)), asyncio.create_task(collect(edge, spy))]
        try:
            # acme's edge writes into globex's topic: Mosquitto 2.0 drops the message and the connection
            refused: aiomqtt.MqttError | None = None
            try:
                async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as intruder:
                    await intruder.publish(globex_topic, b"intruder", qos=1)
                    await intruder.publish("linesight/v1/acme/plant1/edge1/status", b"after", qos=1)
            except aiomqtt.MqttError as err:
                refused = err
            assert refused is not None, "the broker let acme's edge publish into globex's topic"
            # globex's own edge publishes: the watcher sees it, acme's subscription does not
            async with _client(plant, plant.globex.username, plant.globex.password, "edge9") as other:
                await other.publish(globex_topic, b"globex data", qos=1)
            async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as own:
                await own.publish("linesight/v1/acme/plant1/edge1/status", b"acme data", qos=1)
            await wait_until(
                lambda: b"acme data" in seen and b"globex data" in seen, "both tenants' data seen"
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert b"intruder" not in seen
    assert spy == []  # acme's edge received nothing of globex, though globex's message went out first


async def test_only_the_backend_writes_an_edges_ack_topic_and_only_that_edge_reads_it(plant: Plant) -> None:
    acme_ack = "linesight/v1/acme/plant1/edge1/ack"
    confirmation = codec.encode_ack(origin(), samples=[(1, 10)])
    got: list[bytes] = []
    spy: list[bytes] = []

    async def collect(client: aiomqtt.Client, into: list[bytes]) -> None:
        async for message in client.messages:
            into.append(bytes(message.payload))  # type: ignore[arg-type]

    async with (
        _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge,
        _client(plant, plant.globex.username, plant.globex.password, "edge9-spy") as other,
        _client(plant, "linesight-backend", plant.backend_password, "backend") as backend,
    ):
        await edge.subscribe(acme_ack, qos=1)
        await other.subscribe(acme_ack, qos=1)  # granted, and never fed
        tasks = [asyncio.create_task(collect(edge, got)), asyncio.create_task(collect(other, spy))]
        try:
            refused: aiomqtt.MqttError | None = None
            try:
                # globex's edge forges a confirmation for acme's edge: dropped with its connection
                async with _client(plant, plant.globex.username, plant.globex.password, "edge9") as forger:
                    await forger.publish(acme_ack, b"forged", qos=1)
                    await forger.publish("linesight/v1/globex/plant9/edge9/status", b"after", qos=1)
            except aiomqtt.MqttError as err:
                refused = err
            assert refused is not None, "the broker let globex's edge write acme's ack topic"
            await backend.publish(acme_ack, confirmation, qos=1)
            await wait_until(lambda: got == [confirmation], "the backend's confirmation at acme's edge")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert spy == []


async def test_the_consumer_confirms_to_each_edge_what_it_stored_or_refused_for_good(plant: Plant) -> None:
    with plant.engine.begin() as conn:  # a daily quota of 150 samples
        conn.execute(db.plans.update().where(db.plans.c.id == "standard").values(samples_per_day=150))
    consumer = Consumer(plant.engine, plant.config(client_id="confirming"), metrics=IngestMetrics())
    acme = "linesight/v1/acme/plant1/edge1"
    acks: list[codec.Ack] = []
    events = codec.encode_events(
        origin(),
        batch=2,
        events=[
            codec.Event(stream="state", id=i, ts_us=T0_US, machine="m1", data={"state": "running"})
            for i in (1, 2)
        ],
    )

    async def collect(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            acks.append(codec.decode_ack(str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]

    def seen(field: str) -> list[tuple[int, int]]:
        return sorted(pair for ack in acks for pair in getattr(ack, field))

    async with (
        consuming([consumer]),
        _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge,
    ):
        await edge.subscribe(f"{acme}/ack", qos=1)
        reader = asyncio.create_task(collect(edge))
        try:
            await edge.publish(f"{acme}/samples", codec.encode(sample_batch(1, 100)), qos=1)
            await edge.publish(f"{acme}/samples", codec.encode(sample_batch(1, 100)), qos=1)  # again
            await edge.publish(f"{acme}/events", events, qos=1)
            await edge.publish(f"{acme}/samples", b"{not json", qos=1)
            await wait_until(lambda: len(_dead(plant.engine)) == 1, "the invalid message dead-lettered")
            await edge.publish(f"{acme}/samples", codec.encode(sample_batch(101, 200)), qos=1)  # quota
            await wait_until(lambda: seen("refused_samples") != [], "the refusal confirmed")
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
    assert codec.merge_ranges(seen("samples")) == ((1, 100),)  # stored, and its duplicate
    assert [r for ack in acks for r in ack.events.get("state", ())] == [(1, 2)]
    assert seen("refused_samples") == [(101, 200)]
    assert {ack.refused_reason for ack in acks if ack.refused_samples} == {"quota_exceeded"}
    assert all(ack.origin == origin() for ack in acks)  # nothing of the invalid message
    assert _count(plant.engine, db.samples) == 100


async def test_a_consumer_started_after_the_edges_birth_learns_it_from_the_retained_status(
    plant: Plant,
) -> None:
    acme = "linesight/v1/acme/plant1/edge1"
    globex = "linesight/v1/globex/plant9/edge9"
    async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge:
        birth = codec.encode_status(origin(), online=True, version="9.9", session_us=T0_US)
        await edge.publish(f"{acme}/status", birth, qos=1, retain=True)
    async with _client(plant, plant.globex.username, plant.globex.password, "edge9") as edge:
        gone = codec.encode_status(
            origin(tenant="globex", site="plant9", edge="edge9"), online=False, session_us=T0_US
        )
        await edge.publish(f"{globex}/status", gone, qos=1, retain=True)
    with plant.engine.begin() as conn:  # what a database that missed both would say
        conn.execute(db.edges.update().values(online=False, version=None))
        conn.execute(db.edges.update().where(db.edges.c.id == "edge9").values(online=True))

    def edges() -> dict[str, tuple[bool, str | None]]:
        with plant.engine.connect() as conn:
            rows = conn.execute(select(db.edges.c.id, db.edges.c.online, db.edges.c.version)).all()
        return {row.id: (row.online, row.version) for row in rows}

    first = Consumer(plant.engine, plant.config(client_id="late-a"), metrics=IngestMetrics())
    second = Consumer(plant.engine, plant.config(client_id="late-b"), metrics=IngestMetrics())
    async with consuming([first, second]):
        await wait_until(lambda: edges()["edge1"] == (True, "9.9"), "edge1 online from its retained birth")
        await wait_until(lambda: edges()["edge9"][0] is False, "edge9 offline from its retained will")
        await wait_until(lambda: first.handled >= 2 and second.handled >= 2, "both instances read both")
    assert _dead(plant.engine) == []


async def test_a_wrong_password_is_refused_by_the_broker(plant: Plant) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with _client(plant, plant.acme.username, plant.acme.password + "x", "edge1"):
            pass
    async with _client(plant, plant.acme.username, plant.acme.password, "edge1"):
        pass


@pytest.mark.slow
async def test_consume_command_runs_two_instances_that_split_the_messages_and_stop_on_sigterm(
    plant: Plant, tmp_path: Path
) -> None:
    url = plant.engine.url.render_as_string(hide_password=False)
    command = [
        sys.executable, "-m", "linesight.cloud.backend.cli", "--db", url, "consume",
        "--host", plant.broker.host, "--port", str(plant.broker.port), "--username", "linesight-backend",
        "--password", plant.backend_password, "--instances", "2", "--client-id", "cli-test",
    ]  # fmt: skip
    log = (tmp_path / "consume.log").open("w+")
    process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=subprocess.STDOUT)
    try:
        await wait_until(
            lambda: log_text(log).count("subscribed to $share/") == 2, "both instances subscribed"
        )
        async with _client(plant, plant.acme.username, plant.acme.password, "edge1") as edge:
            for n in range(40):
                payload = codec.encode(sample_batch(n * 50 + 1, n * 50 + 50, batch=n), compress=True)
                await edge.publish("linesight/v1/acme/plant1/edge1/samples", payload, qos=1)
        await wait_until(lambda: _count(plant.engine, db.samples) == 2000, "2000 samples stored")
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
        output = log_text(log)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()
    assert code == 0, output
    handled = [int(n) for n in re.findall(r"consumer \d stopped after (\d+) messages", output)]
    assert len(handled) == 2 and sum(handled) == 40 and min(handled) > 0, output


def log_text(handle: TextIO) -> str:
    handle.flush()
    handle.seek(0)
    return handle.read()


async def test_an_edge_provisioned_while_the_consumer_runs_is_accepted_from_its_first_message(
    plant: Plant,
) -> None:
    consumer = Consumer(plant.engine, plant.config(), metrics=IngestMetrics())
    async with consuming([consumer]):
        create_edge(plant.engine, "acme", "plant1", "edge3")
        async with _client(plant, ADMIN, ADMIN_PASSWORD, "admin") as admin:
            payload = codec.encode(sample_batch(1, 20, src=origin(edge="edge3")))
            await admin.publish("linesight/v1/acme/plant1/edge3/samples", payload, qos=1)
        await wait_until(lambda: consumer.handled == 1, "the message handled")
    assert _dead(plant.engine) == []
    assert _count(plant.engine, db.samples) == 20
