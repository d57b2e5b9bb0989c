"""Siemens S7 (S7-300/400/1200/1500, PUT/GET) through python-snap7's asyncio client: planned reads.

The connection is snap7's ``AsyncClient`` (asyncio streams, on the event loop; no worker thread):
snap7 opens it and negotiates the PDU size, and the driver sends each request itself
(``iso_exchange_buffer``), one at a time per connection, so that it decides how many requests a poll
takes and sees the return code of every variable of a multi-variable read, not only the first
failure. A plan's read requests are built once (codec) and each send stamps a fresh PDU reference in;
write requests are built by snap7's protocol layer. Every answer is checked by the codec (PDU type,
reference, error class and code, lengths, function, variable count) before it is used. A request
cancelled midway (the coordinator's timeout) closes the connection at once: it is never read from
again, and the next connect starts on a new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from snap7.async_client import AsyncClient
from snap7.datatypes import S7Area, S7WordLen
from snap7.error import S7ConnectionError, S7Error, S7TimeoutError, get_protocol_error_message
from snap7.type import Parameter

from linesight.domain.errors import BadAddress, ConfigError, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.plant import validation_problems
from linesight.domain.tags import Quality, Sample, TagSpec, TagValue
from linesight.drivers.s7.codec import (
    MAX_ITEMS,
    MAX_OFFSET,
    MAX_STRING,
    OK,
    AddressError,
    Area,
    ItemResult,
    LayoutField,
    Outcome,
    Point,
    ReadPlan,
    ReplyError,
    RequestRefused,
    S7Type,
    collect,
    layout_problems,
    make_point,
    max_write_bytes,
    parse_s7_type,
    plan_reads,
    read_answer,
    refusal_reason,
    split_reply,
    with_reference,
    write_answer,
)

log = logging.getLogger(__name__)
# snap7 logs every connect, disconnect and negotiation at INFO; the coordinator already reports a
# connection's life once per change. Its warnings (odd PDU sizes) still come through.
logging.getLogger("snap7").setLevel(logging.WARNING)

Location = tuple[str | int, ...]
T = TypeVar("T")

_CONNECTION_TYPES = {"pg": 1, "op": 2, "basic": 3}
_MAX_PLANS = 256
# A request unanswered this long fails even when no caller set a time limit (as snap7's own default);
# the coordinator's timeout (the machine's, default 2 s) normally fires first.
ANSWER_TIMEOUT_S = 5.0


def _identifier(name: str) -> str:
    if not name.isidentifier() or not name.isascii():
        raise ValueError(
            f"'{name}' cannot name a layout or field: use letters, digits and '_', starting with a letter"
        )
    return name


Identifier = Annotated[str, AfterValidator(_identifier)]


class LayoutFieldConfig(BaseModel):
    """One field of a layout in the plant file: ``part_count: {offset: 0, type: DINT}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset: int = Field(ge=0, le=MAX_OFFSET)
    type: Annotated[S7Type, BeforeValidator(parse_s7_type)]
    bit: int | None = Field(default=None, ge=0, le=7)
    length: int | None = Field(default=None, ge=1, le=MAX_STRING)

    @model_validator(mode="after")
    def _complete(self) -> LayoutFieldConfig:
        if self.type is S7Type.BOOL and self.bit is None:
            raise ValueError("a BOOL field needs bit: its number in the byte at offset, 0 to 7")
        if self.type is not S7Type.BOOL and self.bit is not None:
            raise ValueError(f"bit applies to a BOOL field only, not to {self.type.value}")
        if self.type is S7Type.STRING and self.length is None:
            raise ValueError(f"a STRING field needs length: its declared maximum, 1 to {MAX_STRING}")
        if self.type is not S7Type.STRING and self.length is not None:
            raise ValueError(f"length applies to a STRING field only, not to {self.type.value}")
        return self

    def to_codec(self) -> LayoutField:
        return LayoutField(s7_type=self.type, offset=self.offset, bit=self.bit, length=self.length)


class S7Connection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=102, ge=1, le=65535)
    rack: int = Field(default=0, ge=0, le=7)
    slot: int = Field(default=1, ge=0, le=31)
    # PG (programming device), OP (operator panel) or basic: S7-300/400 keep a few of each kind.
    connection_type: Literal["pg", "op", "basic"] = "pg"
    # The PDU size asked for; the PLC answers with what it can do (240 S7-300, 480 S7-400/1200, 960 S7-1500).
    pdu_size: int = Field(default=480, ge=240, le=960)
    max_items: int = Field(default=MAX_ITEMS, ge=1, le=MAX_ITEMS)
    # Unused bytes between two values that a read may include to save a variable of the request.
    max_gap: int = Field(default=32, ge=0, le=1024)
    layouts: dict[Identifier, Annotated[dict[Identifier, LayoutFieldConfig], Field(min_length=1)]] = Field(
        default_factory=dict
    )

    def codec_layouts(self) -> dict[str, dict[str, LayoutField]]:
        return {
            name: {field: item.to_codec() for field, item in fields.items()}
            for name, fields in self.layouts.items()
        }


def _model_at(location: Location) -> type[BaseModel] | None:
    if location == ():
        return S7Connection
    if len(location) == 3 and location[0] == "layouts":
        return LayoutFieldConfig
    return None


class S7Driver:
    """One ISO-on-TCP connection to one S7 CPU."""

    def __init__(self, machine_id: str, settings: S7Connection, tags: Sequence[TagSpec]) -> None:
        self.machine_id = machine_id
        self.settings = settings
        self._layouts = settings.codec_layouts()
        self._points = {spec.key: make_point(spec, self._layouts) for spec in tags}
        self._plans: dict[tuple[tuple[str, ...], bool], ReadPlan] = {}
        self._client: AsyncClient | None = None
        self._pdu_size = 0
        self._reference = 0  # the PDU reference of the last request sent; its answer must repeat it
        self._undecodable: set[str] = set()
        # Requests on one connection are strictly sequential: reads and writes take turns.
        self._lock = asyncio.Lock()
        self.requests = 0  # every request sent, for the health screen's requests/s

    @property
    def pdu_size(self) -> int:
        """The PDU size the PLC agreed to at the last connect (0 before the first)."""
        return self._pdu_size

    def _where(self, text: str) -> str:
        return f"{self.machine_id}: S7 {self.settings.host}:{self.settings.port}: {text}"

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        await self.close()
        settings = self.settings
        client = AsyncClient()
        client.set_connection_type(_CONNECTION_TYPES[settings.connection_type])
        client.set_param(Parameter.PDURequest, settings.pdu_size)
        try:
            await _unswallowed(
                client.connect(settings.host, settings.rack, settings.slot, tcp_port=settings.port)
            )
        except BaseException as err:
            _abort(client)  # snap7 closes on its own errors, not when cancelled (the coordinator's timeout)
            if isinstance(err, S7TimeoutError):
                raise DeviceTimeout(self._where(f"no answer to the connection request ({err})")) from err
            if isinstance(err, S7Error | OSError):
                raise DeviceUnreachable(
                    self._where(f"cannot connect (rack {settings.rack}, slot {settings.slot}): {err}")
                ) from err
            raise
        connection = client.connection
        assert connection is not None
        # Workaround: snap7 waits for each block it receives with asyncio.wait_for(..., timeout). On
        # Python 3.11 that runs every receive in a task of its own (over a third of the client's CPU
        # a read) and may swallow a cancellation that arrives with the block. Without a timeout,
        # wait_for awaits the receive directly; _exchange bounds each request itself.
        connection.timeout = None  # type: ignore[assignment]
        pdu_size = client.get_pdu_length()
        if pdu_size != self._pdu_size:
            self._plans.clear()  # the plans were cut for another PDU size
            self._pdu_size = pdu_size
        self._reference = 0
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        transport = _transport(client)
        try:
            await client.disconnect()  # a disconnect request to the PLC, then the socket closed
        finally:
            if transport is not None:
                transport.abort()  # cancelled or failed midway: closed all the same (no-op once closed)

    def _connected(self) -> AsyncClient:
        client = self._client
        if client is None or not client.get_connected():
            raise DeviceUnreachable(self._where("not connected"))
        return client

    def _drop(self, client: AsyncClient) -> None:
        """Never use this connection again: its state is unknown (an answer may still be on its way)."""
        if self._client is client:
            self._client = None
        _abort(client)

    async def _exchange(self, client: AsyncClient, pdu: bytearray, doing: str) -> bytearray:
        """Send one request PDU and return its answer PDU."""
        self.requests += 1
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                return await client.iso_exchange_buffer(pdu)
        except (TimeoutError, S7TimeoutError) as err:
            raise DeviceTimeout(self._where(f"no answer {doing} within {ANSWER_TIMEOUT_S:g} s")) from err
        except (S7ConnectionError, OSError) as err:
            raise DeviceUnreachable(self._where(f"connection lost {doing}: {err}")) from err
        except S7Error as err:
            raise DriverError(self._where(f"request failed {doing}: {err}")) from err

    def _next_reference(self) -> int:
        self._reference = self._reference % 0xFFFF + 1
        return self._reference

    # ------------------------------------------------------------------ reads

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        keys = tuple(spec.key for spec in tags)
        async with self._lock:
            client = self._connected()
            try:
                outcome = await self._read_plan(client, self._plan(keys, isolate=False))
                if outcome.suspects:
                    # A variable shared by several tags was refused: read those tags one by one to find
                    # which of them the PLC refuses, so that only they are set aside.
                    again = await self._read_plan(client, self._plan(tuple(outcome.suspects), isolate=True))
                    outcome.values.update(again.values)
                    outcome.undecodable.update(again.undecodable)
                    outcome.refused.update(again.refused)
            except BaseException:
                # Cancelled mid-request, a lost or confused connection: the next call reconnects.
                self._drop(client)
                raise
        if outcome.refused:
            details = "; ".join(
                f"{key} ({self._points[key].text}): {refusal_reason(self._points[key], code)}"
                for key, code in outcome.refused.items()
            )
            raise BadAddress(self._where(f"refused {details}"), tags=tuple(outcome.refused))
        now = int(time.time() * 1_000_000)
        new, good = tuple.__new__, Quality.GOOD
        values = outcome.values
        if self._undecodable or outcome.undecodable:
            self._report_undecodable(keys, outcome.undecodable)
        if not outcome.undecodable:
            return [new(Sample, (key, now, values[key], good)) for key in keys]
        bad = Quality.BAD
        return [
            new(
                Sample, (key, now, None, bad) if key in outcome.undecodable else (key, now, values[key], good)
            )
            for key in keys
        ]

    def _report_undecodable(self, keys: Sequence[str], undecodable: Mapping[str, str]) -> None:
        # Once per tag while it stays undecodable: a PLC that holds no valid date is polled every cycle.
        self._undecodable.difference_update(key for key in keys if key not in undecodable)
        for key, reason in undecodable.items():
            if key not in self._undecodable:
                self._undecodable.add(key)
                log.warning(
                    "machine %s tag %s (%s): %s; shown with bad quality",
                    self.machine_id,
                    key,
                    self._points[key].text,
                    reason,
                )

    def _plan(self, keys: tuple[str, ...], *, isolate: bool) -> ReadPlan:
        plan = self._plans.get((keys, isolate))
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                # Quarantined tags coming and going make new tag sets; keep the memory bounded.
                self._plans.clear()
            plan = self._plans[(keys, isolate)] = plan_reads(
                (self._points[key] for key in keys),
                pdu_size=self._pdu_size,
                max_items=self.settings.max_items,
                max_gap=self.settings.max_gap,
                isolate=isolate,
            )
        return plan

    async def _read_plan(self, client: AsyncClient, plan: ReadPlan) -> Outcome:
        found: list[list[ItemResult]] = []
        for request in plan.requests:
            items = request.items
            reference = self._next_reference()
            doing = f"reading {request.text}"
            answer = await self._exchange(client, with_reference(request.pdu, reference), doing)
            try:
                found.append(
                    split_reply(read_answer(answer, reference, len(items)), [item.size for item in items])
                )
            except RequestRefused as refused:
                raise DriverError(
                    self._where(f"the PLC refused the request {doing}: {_refusal(refused)}")
                ) from None
            except ReplyError as err:
                raise DriverError(self._where(f"unexpected answer {doing}: {err}")) from None
        return collect(plan, found)

    # ------------------------------------------------------------------ writes

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        try:
            point = self._points.get(tag.key) or make_point(tag, self._layouts)
        except AddressError as err:
            raise BadAddress(self._where(f"{tag.key} ({tag.address}): {err}"), tags=(tag.key,)) from None
        if point.address.area is Area.INPUTS:
            raise BadAddress(
                self._where(f"{tag.key} ({point.text}) is an input: the PLC overwrites inputs every cycle"),
                tags=(tag.key,),
            )
        try:
            data = point.encode(value)
        except AddressError as err:
            raise BadAddress(self._where(f"{tag.key} ({point.text}): {err}"), tags=(tag.key,)) from None
        async with self._lock:
            client = self._connected()
            try:
                await self._write_point(client, point, data)
            except BadAddress:
                raise  # the PLC refused this write: the connection is fine
            except BaseException:
                self._drop(client)
                raise

    async def _write_point(self, client: AsyncClient, point: Point, data: bytes) -> None:
        address = point.address
        area = S7Area(address.area.value)
        doing = f"writing {point.key} ({point.text})"
        if point.s7_type is S7Type.BOOL:
            assert address.bit is not None
            # The bit alone (transport size BIT): the PLC changes that bit and no other, with no
            # read-modify-write that could undo a change the PLC program made in between.
            pieces = [(address.start * 8 + address.bit, S7WordLen.BIT, data)]
        else:
            start = address.start + point.write_skip
            step = max_write_bytes(self._pdu_size)
            pieces = [
                (start + offset, S7WordLen.BYTE, data[offset : offset + step])
                for offset in range(0, len(data), step)
            ]
        for start, word_len, chunk in pieces:
            reference = self._next_reference()
            pdu = with_reference(
                client.protocol.build_write_request(area, address.db, start, word_len, chunk), reference
            )
            answer = await self._exchange(client, pdu, doing)
            try:
                code = write_answer(answer, reference)
            except RequestRefused as refused:
                raise BadAddress(
                    self._where(f"{doing}: the PLC refused the request: {_refusal(refused)}"),
                    tags=(point.key,),
                ) from None
            except ReplyError as err:
                raise DriverError(self._where(f"unexpected answer {doing}: {err}")) from None
            if code != OK:
                raise BadAddress(self._where(f"{doing}: {refusal_reason(point, code)}"), tags=(point.key,))


def _refusal(refused: RequestRefused) -> str:
    code = refused.error_class << 8 | refused.error_code
    return f"{refused} ({get_protocol_error_message(code)})"


async def _unswallowed(call: Awaitable[T]) -> T:
    """Await snap7's connect; raise the cancellation it may have swallowed.

    Workaround: while connecting, snap7 waits for each block it receives with ``asyncio.wait_for``,
    which on Python 3.11 returns the block instead of raising when the task is cancelled just as the
    block arrives: the coordinator's timeout, or the engine's stop, would be lost. The task still
    counts the cancellation request, so it is raised here, and ``connect`` closes the connection as
    for any other cancellation. (Once connected, the driver turns that ``wait_for`` off: see connect.)
    """
    task = asyncio.current_task()
    pending = task.cancelling() if task is not None else 0
    result = await call
    if task is not None and task.cancelling() > pending:
        raise asyncio.CancelledError
    return result


def _transport(client: AsyncClient) -> asyncio.WriteTransport | None:
    # snap7 keeps its stream private and has no synchronous close: the driver closes the transport.
    connection = client.connection
    writer = connection._writer if connection is not None else None
    return writer.transport if writer is not None else None


def _abort(client: AsyncClient) -> None:
    """Close a client's socket at once, whatever snap7 was doing on it.

    A connection whose request was cancelled or went wrong is closed now, before anything else runs
    (snap7's own close sends a disconnect request and waits), so that an answer still on its way is
    never read as the answer to a later request.
    """
    transport = _transport(client)
    if transport is not None:
        transport.abort()
    if client.connection is not None:
        client.connection.connected = False
    client.connected = False


class S7Factory:
    name = "s7"

    def parse(self, connection: Mapping[str, Any]) -> S7Connection:
        try:
            return S7Connection.model_validate(dict(connection))
        except ValidationError as err:
            raise ConfigError(str(err)) from None

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[tuple[Location, str]]:
        problems: list[tuple[Location, str]] = []
        layouts: dict[str, dict[str, LayoutField]] | None = None
        try:
            settings = S7Connection.model_validate(dict(connection))
        except ValidationError as err:
            problems.extend(
                (("connection", *loc), message) for loc, message in validation_problems(err, _model_at)
            )
        else:
            layouts = settings.codec_layouts()
            for name, fields in layouts.items():
                for field, message in layout_problems(fields):
                    problems.append((("connection", "layouts", name, field, "offset"), message))
        for index, spec in enumerate(tags):
            if layouts is None and ":" in spec.address:
                continue  # its layout could not be read: the connection's problems say why
            try:
                make_point(spec, layouts or {})
            except AddressError as err:
                problems.append((("tags", index, *err.field), str(err)))
        return problems

    def create(self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> S7Driver:
        try:
            return S7Driver(machine_id, self.parse(connection), tags)
        except AddressError as err:
            raise ConfigError(f"{machine_id}: {err}") from None
