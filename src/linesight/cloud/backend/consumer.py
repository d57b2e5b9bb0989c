"""The MQTT consumer: a shared subscription that several instances split, validation, tenant checks,
dead letters, and the bulk store.

Each message is acknowledged (PUBACK) only after it is stored or dead-lettered, so that a crash in
between leaves it with the broker to deliver again; the store de-duplicates.

Confirmations: a broker's PUBACK to the edge does not mean the backend will ever see the message
(Mosquitto 2.0.11 forgets a persistent session's shared subscription over a restart and drops what
arrives before the consumer subscribes again). So after a group is stored, the consumer publishes
to each edge it touched, at QoS 1 on ``linesight/v1/<tenant>/<site>/<edge>/ack``, what is now in the
database: the [first_seq, last_seq] of every sample message stored (duplicates included: their rows
are stored) and the ids stored per event stream. Messages refused for good (over the daily quota) are
confirmed as *refused*, so the edge does not send them forever; invalid messages are not confirmed.
The confirmations go out before the group's PUBACKs: a confirmation that fails leaves the group with
the broker, to be stored (de-duplicated) and confirmed again. Mosquitto does not tell
a subscriber who published, so tenant isolation is enforced twice: the broker's ACL lets each edge
user write only below its own ``linesight/v1/<tenant>/<site>/<edge>/``, and here the topic's
(tenant, site, edge) must be an edge registered to that tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import signal
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiomqtt
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from linesight.cloud import codec
from linesight.cloud.backend import db
from linesight.cloud.backend.ingest import (
    METRICS,
    IngestError,
    IngestMetrics,
    Ingestor,
    QuotaExceeded,
    UnknownTenant,
)
from linesight.cloud.mqtt import reading_disconnects

log = logging.getLogger(__name__)

SHARED_KINDS = ("samples", "events")
# A shared subscription gets no retained message, so a backend started after an edge's birth would not
# know the edge is online: every instance reads the status topics itself (Ingestor orders them).
STATUS_SUBSCRIPTION = "linesight/v1/+/+/+/status"
REGISTRY_REFRESH_SECONDS = 5.0
MISS_MEMORY_SECONDS = 2.0


@dataclass(frozen=True, kw_only=True)
class ConsumerConfig:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    group: str = "linesight-backend"
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # MQTT client id prefix; each instance appends "-<index>". Ids must be stable (persistent
    # sessions keep the group's messages while an instance restarts) and unique across instances.
    client_id: str | None = None
    max_bytes: int = codec.MAX_PAYLOAD_BYTES
    workers: int = 2  # groups decoded/stored at the same time (database I/O overlaps decoding)
    group_size: int = 20  # messages waiting together are stored in one transaction
    keepalive: int = 30
    confirm: bool = True  # publish confirmations on each edge's ack topic (docs/cloud/backend.md)

    @property
    def topics(self) -> list[tuple[str, int]]:
        """The subscriptions (filter, QoS): the data kinds shared by the group, the status topics not."""
        shared = [(f"$share/{self.group}/linesight/v1/+/+/+/{kind}", 1) for kind in SHARED_KINDS]
        return [*shared, (STATUS_SUBSCRIPTION, 1)]

    def identifier(self, index: int) -> str:
        prefix = self.client_id or f"linesight-backend-{socket.gethostname()}"
        return f"{prefix}-{index}"

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.ca_file and not self.cert_file:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass
class _Registry:
    """Registered edges: (tenant, edge) → site. A miss asks the database about that one edge (a new
    edge is known from its first message on); a miss is remembered for a moment only, so that a flood
    from an unknown edge does not become a flood of queries."""

    engine: Engine
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    misses: dict[tuple[str, str], float] = field(default_factory=dict)
    loaded_at: float = float("-inf")

    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.loaded_at < REGISTRY_REFRESH_SECONDS:
            return
        with self.engine.connect() as conn:
            rows = conn.execute(select(db.edges.c.tenant_id, db.edges.c.id, db.edges.c.site_id))
            self.edges = {(r.tenant_id, r.id): r.site_id for r in rows}
        self.loaded_at = now

    def _lookup(self, tenant: str, edge: str) -> str | None:
        key = (tenant, edge)
        site = self.edges.get(key)
        if site is not None:
            return site
        now = time.monotonic()
        if now - self.misses.get(key, float("-inf")) < MISS_MEMORY_SECONDS:
            return None
        with self.engine.connect() as conn:
            site = conn.execute(
                select(db.edges.c.site_id).where(db.edges.c.tenant_id == tenant, db.edges.c.id == edge)
            ).scalar()
        if site is None:
            if len(self.misses) > 10_000:
                self.misses.clear()
            self.misses[key] = now
            return None
        self.edges[key] = site
        return str(site)

    def _owners(self, edge: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(db.edges.c.tenant_id).where(db.edges.c.id == edge)).scalars())

    def check(self, topic: codec.Topic) -> tuple[str, str] | None:
        """None when the topic's edge is registered to its tenant at its site, else (reason, detail)."""
        site = self._lookup(topic.tenant, topic.edge)
        if site == topic.site:
            return None
        if site is not None:
            return (
                "unknown_edge",
                f"edge {topic.edge!r} of tenant {topic.tenant!r} is registered at site {site!r}, "
                f"not {topic.site!r}",
            )
        if self._owners(topic.edge):
            return (
                "tenant_mismatch",
                f"edge {topic.edge!r} is not an edge of tenant {topic.tenant!r} (it is registered to another "
                "tenant): publishing into another tenant's topics is refused",
            )
        return "unknown_edge", f"edge {topic.edge!r} is not registered for tenant {topic.tenant!r}"


@dataclass
class _Confirmation:
    """What one group stored (or refused for good) of one edge's messages."""

    origin: codec.Origin
    samples: list[tuple[int, int]] = field(default_factory=list)
    events: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    refused_samples: list[tuple[int, int]] = field(default_factory=list)
    refused_events: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    refused_reason: str = ""

    def add(self, message: codec.Message, *, refused: str | None = None) -> None:
        samples = self.samples if refused is None else self.refused_samples
        events = self.events if refused is None else self.refused_events
        if refused is not None:
            self.refused_reason = refused
        if isinstance(message, codec.SampleBatch):
            samples.append((message.first_seq, message.last_seq))
        elif isinstance(message, codec.EventBatch):
            for event in message.events:
                events.setdefault(event.stream, []).append((event.id, event.id))

    def __bool__(self) -> bool:
        return bool(self.samples or self.events or self.refused_samples or self.refused_events)

    def payload(self, batch: int) -> bytes:
        return codec.encode_ack(
            self.origin,
            samples=self.samples,
            events=self.events,
            refused_samples=self.refused_samples,
            refused_events=self.refused_events,
            refused_reason=self.refused_reason,
            batch=batch,
        )


class Consumer:
    """One consumer instance: subscribe, handle, acknowledge; reconnects with jittered backoff."""

    def __init__(
        self,
        engine: Engine,
        config: ConsumerConfig,
        *,
        index: int = 0,
        ingestor: Ingestor | None = None,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.index = index
        self.metrics = metrics or (ingestor.metrics if ingestor else METRICS)
        self.ingestor = ingestor or Ingestor(engine, metrics=self.metrics)
        self.registry = _Registry(engine)
        self.subscribed = asyncio.Event()
        self.handled = 0
        self.confirmations = 0  # ack messages published
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    # -- one message (synchronous: runs in a worker thread)

    def handle(self, topic: str, payload: bytes, received_at: datetime | None = None) -> str:
        """Store one message or dead-letter it; returns "stored" or the dead letter's reason.
        Raises only when the database is unreachable (the message stays unacknowledged)."""
        return self.handle_many([(topic, payload)], received_at)[0]

    def handle_many(
        self, items: Sequence[tuple[str, bytes]], received_at: datetime | None = None
    ) -> list[str]:
        """``handle`` for several messages; their sample batches are stored in one transaction."""
        return self.handle_group(items, received_at)[0]

    def handle_group(
        self, items: Sequence[tuple[str, bytes]], received_at: datetime | None = None
    ) -> tuple[list[str], list[tuple[str, bytes]]]:
        """``handle_many`` that also returns the confirmations to publish: (ack topic, payload) per edge
        touched. An outcome is "stored", "ignored" (an ack: the backend's own kind) or a dead letter's
        reason."""
        received = received_at or datetime.now(UTC)
        outcome: list[str] = [""] * len(items)
        tenants: list[str | None] = [None] * len(items)
        decoded: list[tuple[int, codec.Message]] = []
        for index, (topic, payload) in enumerate(items):
            try:
                where = codec.parse_topic(topic)
                tenants[index] = where.tenant
                if where.kind == "ack":
                    # The backend's own confirmations come back through "+" (its ACL lets it read them).
                    outcome[index] = "ignored"
                    continue
                refused = self.registry.check(where)
                if refused is not None:
                    outcome[index] = self._dead(topic, payload, where.tenant, received, *refused)
                    continue
                decoded.append((index, codec.decode(topic, payload, max_bytes=self.config.max_bytes)))
            except codec.InvalidMessage as err:
                outcome[index] = self._dead(topic, payload, tenants[index], received, err.reason, str(err))
        results = self.ingestor.store_many([m for _, m in decoded], received_at=received)
        confirmations: dict[codec.Origin, _Confirmation] = {}
        for (index, message), result in zip(decoded, results, strict=True):
            topic, payload = items[index]
            confirmation = confirmations.get(message.origin)
            if confirmation is None:
                confirmation = confirmations[message.origin] = _Confirmation(message.origin)
            if isinstance(result, QuotaExceeded):
                outcome[index] = self._dead(
                    topic, payload, tenants[index], received, "quota_exceeded", str(result)
                )
                confirmation.add(message, refused="quota_exceeded")
            elif isinstance(result, UnknownTenant):
                outcome[index] = self._dead(
                    topic, payload, tenants[index], received, "unknown_edge", str(result)
                )
            elif isinstance(result, IngestError):
                outcome[index] = self._dead(
                    topic, payload, tenants[index], received, "store_error", str(result)
                )
            else:
                outcome[index] = "stored"
                confirmation.add(message)
        acks: list[tuple[str, bytes]] = []
        if self.config.confirm:
            for origin, confirmation in confirmations.items():
                if confirmation:
                    self.confirmations += 1
                    acks.append((origin.topic("ack"), confirmation.payload(self.confirmations)))
        return outcome, acks

    def _dead(
        self, topic: str, payload: bytes, tenant: str | None, received: datetime, reason: str, detail: str
    ) -> str:
        log.info("dead letter (%s) on %s: %s", reason, topic, detail)
        self.ingestor.dead_letter(
            topic=topic, reason=reason, detail=detail, payload=payload, tenant=tenant, received_at=received
        )
        return reason

    # -- the MQTT loop

    async def run(self) -> None:
        """Consume until stop(); reconnect after broker outages."""
        delay = 0.5
        await asyncio.to_thread(self.registry.refresh, force=True)
        while not self._stop.is_set():
            try:
                await self._session()
                delay = 0.5
            except aiomqtt.MqttError as err:
                self.subscribed.clear()
                if self._stop.is_set():
                    break
                pause = delay * (0.5 + random.random())
                log.warning(
                    "consumer %d: broker connection lost (%s); reconnecting in %.1f s", self.index, err, pause
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)
                delay = min(delay * 2, 10.0)

    async def _session(self) -> None:
        config = self.config
        client = aiomqtt.Client(
            config.host,
            config.port,
            username=config.username,
            password=config.password,
            identifier=config.identifier(self.index),
            clean_session=False,
            keepalive=config.keepalive,
            tls_context=config.tls_context(),
        )
        # PUBACK after the message is stored, not on arrival (aiomqtt has no switch of its own).
        client._client.manual_ack_set(True)
        await self._connected(reading_disconnects(client))

    async def _connected(self, client: aiomqtt.Client) -> None:
        config = self.config
        queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        async with client:
            await client.subscribe(config.topics)
            self.subscribed.set()
            log.info("consumer %d subscribed to %s", self.index, ", ".join(t for t, _q in config.topics))
            reader = asyncio.create_task(self._read(client, queue))
            workers = [asyncio.create_task(self._work(client, queue)) for _ in range(max(config.workers, 1))]
            stopper = asyncio.create_task(self._stop.wait())
            try:
                await asyncio.wait({reader, stopper, *workers}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                reader.cancel()
                for worker in workers:
                    worker.cancel()  # a worker in the middle of a group finishes it (see _work)
                ended = await asyncio.gather(*workers, return_exceptions=True)
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            for error in ended:
                if isinstance(error, aiomqtt.MqttError):
                    raise error  # a confirmation could not be published: reconnect

    async def _read(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        async for message in client.messages:
            queue.put_nowait(message)

    async def _work(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        while True:
            group = [await queue.get()]
            while len(group) < self.config.group_size and not queue.empty():
                group.append(queue.get_nowait())
            # A stop lets the group finish and be acknowledged rather than leave it half-handled.
            task = asyncio.create_task(self._process(client, group))
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                await task
                raise

    async def _process(self, client: aiomqtt.Client, group: list[aiomqtt.Message]) -> None:
        items = [(str(m.topic), _payload_bytes(m.payload)) for m in group]
        delay = 0.2
        while True:
            try:
                outcome, acks = await asyncio.to_thread(self.handle_group, items)
                break
            except SQLAlchemyError as err:
                # The database is away: keep the messages (unacknowledged) and try again.
                log.warning("consumer %d: database error, retrying in %.1f s: %s", self.index, delay, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.handled += sum(1 for result in outcome if result != "ignored")  # not our own confirmations
        for topic, payload in acks:
            # Before the PUBACKs: if this fails, the group is delivered, stored and confirmed again.
            await client.publish(topic, payload, qos=1)
        for message in group:
            if message.qos > 0:
                client._client.ack(message.mid, message.qos)


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return str(payload).encode("utf-8")


# ---------------------------------------------------------------- running instances


def _run_one(target: str | None, config: ConsumerConfig, index: int, metrics_port: int | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = db.make_engine(target)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port + index, registry=METRICS.registry)
    consumer = Consumer(engine, config, index=index)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # finish the groups in hand, acknowledge them, disconnect
            loop.add_signal_handler(sig, consumer.stop)
        await consumer.run()

    asyncio.run(main())
    engine.dispose()
    log.info("consumer %d stopped after %d messages", index, consumer.handled)


def run_instances(
    target: str | None, config: ConsumerConfig, *, instances: int = 1, metrics_port: int | None = None
) -> None:
    """Run ``instances`` consumers, each its own process (one Python process is one core), on one
    shared subscription; returns when they all end (SIGTERM or Ctrl-C stops them cleanly)."""
    if instances < 1:
        raise ValueError(f"--instances must be at least 1, not {instances}")
    if instances == 1:
        _run_one(target, config, 0, metrics_port)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_run_one, args=(target, config, i, metrics_port), name=f"consumer-{i}")
        for i in range(instances)
    ]
    for process in processes:
        process.start()

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
