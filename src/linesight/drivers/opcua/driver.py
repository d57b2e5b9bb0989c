"""OPC UA through asyncua: subscriptions with per-tag sampling, queue and deadband; polling as fallback."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from linesight.domain.errors import BadAddress, ConfigError, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.plant import validation_problems
from linesight.domain.tags import Quality, Sample, TagSpec, TagValue
from linesight.domain.units import parse_duration
from linesight.drivers.base import SampleSink
from linesight.drivers.opcua.codec import (
    NodeError,
    convert,
    overflowed,
    parse_node,
    quality_of,
    timestamp_us,
    variant_for,
)

log = logging.getLogger(__name__)


class _OutageNoise(logging.Filter):
    """asyncua's session logs a traceback when its publish loop finds the connection gone; the
    coordinator reports that outage once, so the traceback would only repeat it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Publish iteration crashed")


# asyncua logs every lost connection and failed request as a warning; the same reasoning applies.
logging.getLogger("asyncua").setLevel(logging.ERROR)
logging.getLogger("asyncua.client.ua_session").addFilter(_OutageNoise())

Location = tuple[str | int, ...]
Seconds = Annotated[float, BeforeValidator(parse_duration)]

# Statuses that mean the address itself is wrong (as opposed to a value that is bad right now).
_REFUSED = {
    StatusCodes.BadNodeIdUnknown,
    StatusCodes.BadNodeIdInvalid,
    StatusCodes.BadAttributeIdInvalid,
    StatusCodes.BadNotReadable,
    StatusCodes.BadUserAccessDenied,
    StatusCodes.BadNotSupported,
    StatusCodes.BadFilterNotAllowed,
}
_TAG_OPTIONS = {"mode", "sampling_interval", "queue_size"}


# Notifications waiting for the runtime; beyond this the oldest are dropped, and counted.
NOTIFICATION_QUEUE = 50_000


class _CountingQueue(asyncio.Queue[Any]):
    """asyncua's notification queue, made to count what it drops: when full, the oldest goes."""

    def __init__(self, maxsize: int, on_drop: Callable[[], None]) -> None:
        super().__init__(maxsize)
        self._on_drop = on_drop

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self.get_nowait()
            self._on_drop()
        super().put_nowait(item)


class OpcUaConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    security: Literal["none", "sign", "sign_and_encrypt"] = "none"
    username: str | None = None
    password: str | None = None
    # Where the client's certificate and key are kept (created on first use); default: the user data dir.
    certificate_dir: str | None = None
    # A server certificate (DER or PEM) to trust; without it the server's certificate is not checked.
    server_certificate: str | None = None
    subscribe: bool = True
    publishing_interval: Seconds | None = Field(default=None, gt=0.0)

    @field_validator("endpoint")
    @classmethod
    def _opc_tcp(cls, value: str) -> str:
        if not value.startswith("opc.tcp://"):
            raise ValueError(f"an endpoint is an opc.tcp:// URL, e.g. opc.tcp://plc:4840, got {value!r}")
        return value


def _model_at(location: Location) -> type[BaseModel] | None:
    return OpcUaConnection if location == () else None


def _tag_problem(spec: TagSpec) -> str | None:
    unknown = sorted(name for name, _value in spec.options if name not in _TAG_OPTIONS)
    if unknown:
        return f"unknown option {', '.join(unknown)}; OPC UA tags take: {', '.join(sorted(_TAG_OPTIONS))}"
    mode = spec.option("mode", "subscribe")
    if mode not in ("subscribe", "poll"):
        return f"option mode is {mode!r}; allowed: subscribe, poll"
    queue = spec.option("queue_size", 1)
    if isinstance(queue, bool) or not isinstance(queue, int) or not 1 <= queue <= 10_000:
        return f"option queue_size must be a number from 1 to 10000, got {queue!r}"
    sampling = spec.option("sampling_interval")
    if sampling is not None:
        try:
            parse_duration(sampling)
        except ValueError as err:
            return f"option sampling_interval: {err}"
    return None


class OpcUaDriver:
    """One session with one OPC UA server."""

    def __init__(self, machine_id: str, settings: OpcUaConnection, tags: Sequence[TagSpec]) -> None:
        self.machine_id = machine_id
        self.settings = settings
        self._refs = {spec.key: parse_node(spec.address) for spec in tags}
        self._specs = {spec.key: spec for spec in tags}
        self._client: Client | None = None
        self._nodes: dict[str, Node] = {}
        self._subscription: Subscription | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._broken: str | None = None
        self._unresolved: dict[str, str] = {}  # tags whose namespace URI the server does not know
        self._lock = asyncio.Lock()
        self.requests = 0
        self.dropped = 0  # notifications the server discarded (queue overflow) before sending

    def _where(self, text: str) -> str:
        return f"{self.machine_id}: OPC UA {self.settings.endpoint}: {text}"

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        await self.close()
        client = Client(self.settings.endpoint, timeout=30)
        if self.settings.username:
            client.set_user(self.settings.username)
        if self.settings.password:
            client.set_password(self.settings.password)
        try:
            if self.settings.security != "none":
                await self._secure(client)
            await client.connect()
        except (OSError, TimeoutError, UaError) as err:
            raise DeviceUnreachable(self._where(f"cannot connect: {_describe(err)}")) from err
        self._client = client
        self._broken = None
        try:
            namespaces = await client.get_namespace_array()
        except (OSError, TimeoutError, UaError) as err:
            await self.close()
            raise DeviceUnreachable(
                self._where(f"cannot read the namespace array: {_describe(err)}")
            ) from err
        self._nodes = {}
        missing: dict[str, str] = {}
        for key, ref in self._refs.items():
            try:
                self._nodes[key] = client.get_node(ref.resolve(namespaces))
            except NodeError as err:
                missing[key] = str(err)
        self._unresolved = missing

    async def _secure(self, client: Client) -> None:
        folder = Path(
            self.settings.certificate_dir or platformdirs.user_data_path("linesight", appauthor=False) / "pki"
        )
        host = socket.gethostname()
        client.application_uri = f"urn:{host}:linesight"
        client.name = "LineSight"
        cert, key = await client.setup_self_signed_certificate(
            folder / "linesight-client-key.pem", folder / "linesight-client-cert.der", host_name=host
        )
        mode = (
            ua.MessageSecurityMode.Sign
            if self.settings.security == "sign"
            else ua.MessageSecurityMode.SignAndEncrypt
        )
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            certificate=str(cert),
            private_key=str(key),
            server_certificate=self.settings.server_certificate,
            mode=mode,
        )

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        self._subscription = None
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (OSError, TimeoutError, UaError, asyncio.CancelledError) as err:
                log.debug("disconnect from %s failed: %s", self.settings.endpoint, err)

    def _connected(self) -> Client:
        if self._client is None:
            raise DeviceUnreachable(self._where("not connected"))
        return self._client

    # ------------------------------------------------------------------ polling

    def _node(self, spec: TagSpec) -> Node:
        node = self._nodes.get(spec.key)
        if node is None:
            reason = self._unresolved.get(spec.key, "not connected")
            raise BadAddress(self._where(f"{spec.name} ({spec.address}): {reason}"), tags=(spec.key,))
        return node

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        client = self._connected()
        unresolved = [spec.key for spec in tags if spec.key in self._unresolved]
        if unresolved:
            raise BadAddress(self._where(f"cannot resolve {', '.join(unresolved)}"), tags=tuple(unresolved))
        nodes = [self._node(spec) for spec in tags]
        async with self._lock:
            self.requests += 1
            try:
                values = await client.read_attributes(nodes)
            except (OSError, TimeoutError, UaError) as err:
                raise _lost(self._where(f"read failed: {_describe(err)}"), err) from err
        now = int(time.time() * 1_000_000)
        refused = {
            spec.key: ua.StatusCode(value.StatusCode.value).name
            for spec, value in zip(tags, values, strict=True)
            if value.StatusCode is not None and value.StatusCode.value in _REFUSED
        }
        if refused:
            details = "; ".join(
                f"{key} ({self._specs[key].address}): {reason}" for key, reason in refused.items()
            )
            raise BadAddress(self._where(f"refused {details}"), tags=tuple(refused))
        return [self._sample(spec, value, now) for spec, value in zip(tags, values, strict=True)]

    @staticmethod
    def _sample(spec: TagSpec, value: ua.DataValue, now_us: int) -> Sample:
        quality = quality_of(value.StatusCode)
        raw = value.Value.Value if value.Value is not None else None
        converted = None if quality is Quality.BAD else convert(raw, spec.data_type)
        return Sample(spec.key, timestamp_us(value, now_us), converted, quality)

    # ------------------------------------------------------------------ subscriptions

    def pushes(self, tag: TagSpec) -> bool:
        return self.settings.subscribe and tag.option("mode", "subscribe") == "subscribe"

    async def subscribe(
        self, tags: Sequence[TagSpec], sink: SampleSink
    ) -> tuple[Callable[[], Awaitable[None]], dict[str, str]]:
        client = self._connected()
        refused: dict[str, str] = {
            key: self._unresolved[key] for key in (t.key for t in tags) if key in self._unresolved
        }
        wanted = [spec for spec in tags if spec.key not in refused]
        interval = (
            self.settings.publishing_interval or min(_sampling(spec) for spec in wanted) if wanted else 1.0
        )
        try:
            subscription = await client.create_subscription(interval * 1000.0, handler=None)
            # asyncua 2.1 drops silently when its queue is full; this one counts (a private attribute:
            # asyncua is pinned, and tests/drivers/test_opcua.py checks the count).
            subscription._event_queue = _CountingQueue(NOTIFICATION_QUEUE, self._count_drop)
            requests = [self._monitored_item(subscription, spec) for spec in wanted]
            handles = await subscription.create_monitored_items(requests) if requests else []
        except (OSError, TimeoutError, UaError) as err:
            raise _lost(self._where(f"cannot subscribe: {_describe(err)}"), err) from err
        self.requests += 2
        by_node: dict[ua.NodeId, list[TagSpec]] = {}
        for spec, handle in zip(wanted, handles, strict=True):
            if isinstance(handle, ua.StatusCode):
                refused[spec.key] = handle.name
            else:
                by_node.setdefault(self._nodes[spec.key].nodeid, []).append(spec)
        self._subscription = subscription
        self._consumer = asyncio.create_task(
            self._consume(subscription, by_node, sink), name=f"opcua:{self.machine_id}"
        )

        async def unsubscribe() -> None:
            consumer, self._consumer = self._consumer, None
            if consumer is not None:
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
            try:
                await subscription.delete()
            except (OSError, TimeoutError, UaError) as err:
                log.debug("deleting the subscription of %s failed: %s", self.machine_id, err)

        return unsubscribe, refused

    def _count_drop(self) -> None:
        self.dropped += 1

    def _monitored_item(self, subscription: Subscription, spec: TagSpec) -> ua.MonitoredItemCreateRequest:
        item = ua.MonitoredItemCreateRequest()
        item.ItemToMonitor = ua.ReadValueId()
        item.ItemToMonitor.NodeId = self._nodes[spec.key].nodeid
        item.ItemToMonitor.AttributeId = AttributeIds.Value
        item.MonitoringMode = ua.MonitoringMode.Reporting
        parameters = ua.MonitoringParameters()
        subscription._client_handle += 1  # asyncua matches notifications to items by this handle
        parameters.ClientHandle = subscription._client_handle
        parameters.SamplingInterval = _sampling(spec) * 1000.0
        queue = spec.option("queue_size", 1)
        parameters.QueueSize = int(queue) if isinstance(queue, int) else 1
        parameters.DiscardOldest = True
        if spec.deadband > 0:
            change = ua.DataChangeFilter()
            change.Trigger = ua.DataChangeTrigger.StatusValue
            change.DeadbandType = ua.DeadbandType.Absolute
            change.DeadbandValue = spec.deadband
            parameters.Filter = change
        item.RequestedParameters = parameters
        return item

    async def _consume(
        self, subscription: Subscription, by_node: dict[ua.NodeId, list[TagSpec]], sink: SampleSink
    ) -> None:
        """Turn notifications into batches: everything queued when the loop gets to it goes together."""
        loop = asyncio.get_running_loop()
        pending: list[Sample] = []

        def flush() -> None:
            batch = pending[:]
            pending.clear()
            sink(batch)

        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                value = event.data.monitored_item.Value
                if overflowed(value.StatusCode):
                    self.dropped += 1
                now = int(time.time() * 1_000_000)
                if not pending:
                    loop.call_soon(flush)
                pending.extend(self._sample(spec, value, now) for spec in by_node.get(event.node.nodeid, ()))
            elif isinstance(event, StatusChangeEvent):
                status = event.notification.Status
                if status is not None and not status.is_good():
                    self._broken = f"subscription ended by the server: {status.name}"

    async def check(self) -> None:
        """Raise once the session or the subscription is gone (the runtime then reconnects)."""
        client = self._connected()
        if self._broken:
            raise DeviceUnreachable(self._where(self._broken))
        if self._consumer is not None and self._consumer.done():
            raise DeviceUnreachable(self._where("the notification stream stopped"))
        async with self._lock:
            self.requests += 1
            try:
                state = await client.get_node(f"i={ObjectIds.Server_ServerStatus_State}").read_value()
            except (OSError, TimeoutError, UaError) as err:
                raise _lost(self._where(f"server status read failed: {_describe(err)}"), err) from err
        if state != ua.ServerState.Running:
            raise DeviceUnreachable(
                self._where(f"the server is {state.name if hasattr(state, 'name') else state}")
            )

    # ------------------------------------------------------------------ writes

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        client = self._connected()
        node = self._nodes.get(tag.key) or client.get_node(parse_node(tag.address).node_id)
        try:
            variant = variant_for(value, tag.data_type)
        except ValueError as err:
            raise BadAddress(self._where(f"{tag.name}: {err}"), tags=(tag.key,)) from None
        async with self._lock:
            self.requests += 1
            try:
                await node.write_value(ua.DataValue(variant))
            except UaStatusCodeError as err:
                raise BadAddress(
                    self._where(f"writing {tag.name} ({tag.address}): {_describe(err)}"), tags=(tag.key,)
                ) from err
            except (OSError, TimeoutError, UaError) as err:
                raise _lost(self._where(f"writing {tag.name} failed: {_describe(err)}"), err) from err


def _sampling(spec: TagSpec) -> float:
    sampling = spec.option("sampling_interval")
    return parse_duration(sampling) if sampling is not None else spec.poll_interval


def _describe(err: BaseException) -> str:
    if isinstance(err, UaStatusCodeError):
        return ua.StatusCode(err.code).name
    return str(err) or type(err).__name__


def _lost(message: str, err: BaseException) -> DriverError:
    return DeviceTimeout(message) if isinstance(err, TimeoutError) else DeviceUnreachable(message)


class OpcUaFactory:
    name = "opcua"

    def parse(self, connection: Mapping[str, Any]) -> OpcUaConnection:
        try:
            return OpcUaConnection.model_validate(dict(connection))
        except ValidationError as err:
            raise ConfigError(str(err)) from None

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[tuple[Location, str]]:
        problems: list[tuple[Location, str]] = []
        try:
            OpcUaConnection.model_validate(dict(connection))
        except ValidationError as err:
            problems.extend(
                (("connection", *loc), message) for loc, message in validation_problems(err, _model_at)
            )
        for index, spec in enumerate(tags):
            try:
                parse_node(spec.address)
            except NodeError as err:
                problems.append((("tags", index, "address"), str(err)))
            problem = _tag_problem(spec)
            if problem:
                problems.append((("tags", index, "options"), problem))
        return problems

    def create(self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> OpcUaDriver:
        try:
            return OpcUaDriver(machine_id, self.parse(connection), tags)
        except NodeError as err:
            raise ConfigError(f"{machine_id}: {err}") from None
