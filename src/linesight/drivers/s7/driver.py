"""Siemens S7 (S7-300/400/1200/1500, PUT/GET) through python-snap7: planned multi-variable reads.

snap7 is synchronous: every call runs in a worker thread, one request at a time per connection.
Requests are built and answers parsed by snap7's protocol layer; the driver sends each one itself
(``iso_exchange_buffer``) so that it decides how many requests a poll takes and sees the return code
of every variable of a multi-variable read, not only the first failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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
from snap7.client import Client
from snap7.datatypes import S7Area, S7WordLen
from snap7.error import S7ConnectionError, S7Error, S7ProtocolError, S7TimeoutError
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
    Request,
    S7Type,
    collect,
    layout_problems,
    make_point,
    max_write_bytes,
    parse_s7_type,
    plan_reads,
    refusal_reason,
    split_reply,
)

log = logging.getLogger(__name__)
# snap7 logs every connect, disconnect and negotiation at INFO; the coordinator already reports a
# connection's life once per change. Its warnings (stale answers, odd PDU sizes) still come through.
logging.getLogger("snap7").setLevel(logging.WARNING)

Location = tuple[str | int, ...]
T = TypeVar("T")

_CONNECTION_TYPES = {"pg": 1, "op": 2, "basic": 3}
_MAX_PLANS = 256


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
        self._client: Client | None = None
        # Clients whose call was cancelled (the coordinator's timeout) while their thread still runs:
        # nobody may use them again, and close() disconnects them.
        self._dropped: list[Client] = []
        self._pdu_size = 0
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
        client = Client()
        client.set_connection_type(_CONNECTION_TYPES[settings.connection_type])
        client.set_param(Parameter.PDURequest, settings.pdu_size)
        cancelled = threading.Event()

        def open_connection() -> None:
            client.connect(settings.host, settings.rack, settings.slot, tcp_port=settings.port)
            if cancelled.is_set():  # the caller gave up while this thread was connecting
                _disconnect(client, wake=False)

        try:
            await asyncio.to_thread(open_connection)
        except asyncio.CancelledError:
            cancelled.set()
            self._dropped.append(client)
            raise
        except S7TimeoutError as err:
            raise DeviceTimeout(self._where(f"no answer to the connection request ({err})")) from err
        except (S7Error, OSError) as err:
            raise DeviceUnreachable(
                self._where(f"cannot connect (rack {settings.rack}, slot {settings.slot}): {err}")
            ) from err
        pdu_size = client.get_pdu_length()
        if pdu_size != self._pdu_size:
            self._plans.clear()  # the plans were cut for another PDU size
            self._pdu_size = pdu_size
        self._client = client

    async def close(self) -> None:
        client, self._client = self._client, None
        dropped, self._dropped = self._dropped, []
        if client is None and not dropped:
            return

        def disconnect_all() -> None:
            if client is not None:
                _disconnect(client, wake=False)
            for other in dropped:
                _disconnect(other, wake=True)

        await asyncio.to_thread(disconnect_all)

    def _connected(self) -> Client:
        client = self._client
        if client is None or not client.connected:
            raise DeviceUnreachable(self._where("not connected"))
        return client

    async def _in_thread(self, client: Client, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except asyncio.CancelledError:
            # The thread carries on with this socket; a write must not start on it meanwhile.
            if self._client is client:
                self._client = None
                self._dropped.append(client)
            raise
        except DriverError as err:
            if not isinstance(err, BadAddress) and self._client is client:
                # A lost or confused connection: the next call reconnects rather than reusing it.
                self._client = None
                self._dropped.append(client)
            raise

    def _exchange(self, client: Client, pdu: bytes, doing: str) -> dict[str, Any]:
        """Send one request PDU and parse its answer (in the worker thread)."""
        self.requests += 1
        try:
            reply = client.iso_exchange_buffer(bytearray(pdu))
            response = client.protocol.parse_response(bytes(reply))
            client.protocol.validate_pdu_reference(response["sequence"])
        except S7TimeoutError as err:
            raise DeviceTimeout(self._where(f"no answer {doing} ({err})")) from err
        except S7ConnectionError as err:
            raise DeviceUnreachable(self._where(f"connection lost {doing}: {err}")) from err
        except OSError as err:
            raise DeviceUnreachable(self._where(f"connection lost {doing}: {err}")) from err
        except S7ProtocolError as err:
            if err.error_code:  # the PLC's answer carries an error class and code: it refused the request
                raise _Refused(err) from err
            raise DriverError(self._where(f"unexpected answer {doing}: {err}")) from err
        return response

    # ------------------------------------------------------------------ reads

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        keys = tuple(spec.key for spec in tags)
        async with self._lock:
            client = self._connected()
            outcome = await self._read_plan(client, self._plan(keys, isolate=False))
            if outcome.suspects:
                # A variable shared by several tags was refused: read those tags one by one to find
                # which of them the PLC refuses, so that only they are set aside.
                again = await self._read_plan(client, self._plan(tuple(outcome.suspects), isolate=True))
                outcome.values.update(again.values)
                outcome.undecodable.update(again.undecodable)
                outcome.refused.update(again.refused)
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

    async def _read_plan(self, client: Client, plan: ReadPlan) -> Outcome:
        results = await self._in_thread(client, lambda: self._read_requests(client, plan.requests))
        return collect(plan, results)

    def _read_requests(self, client: Client, requests: Sequence[Request]) -> list[list[ItemResult]]:
        found: list[list[ItemResult]] = []
        for request in requests:
            items = request.items
            doing = f"reading {', '.join(str(item) for item in items)}"
            pdu = client.protocol.build_multi_read_request(
                [(item.area.value, item.db, item.start, item.size) for item in items]
            )
            try:
                response = self._exchange(client, pdu, doing)
            except _Refused as refused:
                raise DriverError(
                    self._where(f"the PLC refused the request {doing}: {refused.error}")
                ) from None
            try:
                if (response.get("parameters") or {}).get("item_count") != len(items):
                    raise ReplyError(f"the answer does not hold the {len(items)} variables asked for")
                found.append(split_reply(response.get("raw_data", b""), [item.size for item in items]))
            except ReplyError as err:
                raise DriverError(self._where(f"unexpected answer {doing}: {err}")) from None
        return found

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
            await self._in_thread(client, lambda: self._write_point(client, point, data))

    def _write_point(self, client: Client, point: Point, data: bytes) -> None:
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
            pdu = client.protocol.build_write_request(area, address.db, start, word_len, chunk)
            try:
                response = self._exchange(client, pdu, doing)
            except _Refused as refused:
                raise BadAddress(self._where(f"{doing}: {refused.error}"), tags=(point.key,)) from None
            code = (response.get("data") or {}).get("return_code")
            if code != OK:
                reason = refusal_reason(point, code) if isinstance(code, int) else "no acknowledgement"
                raise BadAddress(self._where(f"{doing}: {reason}"), tags=(point.key,))


class _Refused(Exception):
    """The PLC answered a request with an error in its header (the whole request refused)."""

    def __init__(self, error: S7ProtocolError) -> None:
        super().__init__(str(error))
        self.error = error


def _disconnect(client: Client, *, wake: bool) -> None:
    """Close a client (in a worker thread); ``wake`` first shuts its socket down, which ends a
    receive another thread may still be blocked in."""
    connection = client.connection
    if wake and connection is not None and connection.socket is not None:
        with contextlib.suppress(OSError):
            connection.socket.shutdown(socket.SHUT_RDWR)
    try:
        client.disconnect()
    except (S7Error, OSError) as err:
        log.debug("disconnecting from %s failed: %s", client.host, err)


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
