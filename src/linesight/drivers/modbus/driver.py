"""Modbus TCP through pymodbus: planned, coalesced reads; one request at a time per connection."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from itertools import repeat
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ExceptionResponse, ModbusPDU

from linesight.domain.errors import BadAddress, ConfigError, DeviceTimeout, DeviceUnreachable, DriverError
from linesight.domain.plant import validation_problems
from linesight.domain.tags import Quality, Sample, TagSpec, TagValue
from linesight.drivers.modbus.codec import (
    MAX_BITS,
    MAX_REGISTERS,
    AddressError,
    Block,
    Point,
    Table,
    make_point,
    plan_reads,
    split_block,
)

log = logging.getLogger(__name__)
# pymodbus logs every failed connect and request as a warning; this driver turns each into an error the
# coordinator reports once per outage, so pymodbus's own copies would only repeat it.
logging.getLogger("pymodbus").setLevel(logging.ERROR)

Location = tuple[str | int, ...]

# Modbus exception codes (the protocol's numbers) and what they mean to a person.
ILLEGAL_ADDRESS, ILLEGAL_VALUE = 2, 3
_EXCEPTION_TEXT = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class ModbusConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    device_id: int = Field(default=1, ge=0, le=255)
    # Unused registers (or bits) a request may include to save a round trip.
    max_gap: int = Field(default=16, ge=0, le=MAX_REGISTERS)
    max_registers: int = Field(default=MAX_REGISTERS, ge=1, le=MAX_REGISTERS)
    max_bits: int = Field(default=MAX_BITS, ge=1, le=MAX_BITS)


def _model_at(location: Location) -> type[BaseModel] | None:
    return ModbusConnection if location == () else None


def _exception_text(code: int) -> str:
    return f"Modbus exception {code} ({_EXCEPTION_TEXT.get(code, 'unknown')})"


class ModbusDriver:
    """One TCP connection to one Modbus device (or gateway: device ids per tag)."""

    def __init__(self, machine_id: str, settings: ModbusConnection, tags: Sequence[TagSpec]) -> None:
        self.machine_id = machine_id
        self.settings = settings
        self._points = {spec.key: make_point(spec, settings.device_id) for spec in tags}
        self._specs = {spec.key: spec for spec in tags}
        self._plans: dict[tuple[str, ...], list[Block]] = {}
        self._client: AsyncModbusTcpClient | None = None
        self._calls: dict[Table, Callable[..., Awaitable[ModbusPDU]]] = {}
        # Requests on one connection are strictly sequential: reads and writes take turns.
        self._lock = asyncio.Lock()
        self.requests = 0  # every request sent, for the health screen's requests/s

    # ------------------------------------------------------------------ connection

    async def connect(self) -> None:
        await self.close()
        client = AsyncModbusTcpClient(
            self.settings.host,
            port=self.settings.port,
            timeout=_request_timeout,
            retries=0,
            reconnect_delay=0,  # the coordinator decides when to reconnect
            name=self.machine_id,
        )
        try:
            connected = await client.connect()
        except (ModbusException, OSError) as err:
            client.close()
            raise DeviceUnreachable(self._where(f"cannot connect: {err}")) from err
        if not connected:
            client.close()
            raise DeviceUnreachable(self._where("connection refused or no answer"))
        self._client = client
        self._calls = {
            Table.HOLDING_REGISTERS: client.read_holding_registers,
            Table.INPUT_REGISTERS: client.read_input_registers,
            Table.COILS: client.read_coils,
            Table.DISCRETE_INPUTS: client.read_discrete_inputs,
        }

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _where(self, text: str) -> str:
        return f"{self.machine_id}: Modbus {self.settings.host}:{self.settings.port}: {text}"

    # ------------------------------------------------------------------ reads

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        keys = tuple(spec.key for spec in tags)
        blocks = self._plans.get(keys)
        if blocks is None:
            blocks = self._plans[keys] = plan_reads(
                (self._points[key] for key in keys),
                max_gap=self.settings.max_gap,
                max_registers=self.settings.max_registers,
                max_bits=self.settings.max_bits,
            )
        keys_read: list[str] = []
        values: list[TagValue] = []
        refused: dict[str, str] = {}
        async with self._lock:
            for block in blocks:
                await self._read_block(block, keys_read, values, refused)
        if refused:
            details = "; ".join(
                f"{key} ({self._points[key].address}): {reason}" for key, reason in refused.items()
            )
            raise BadAddress(self._where(f"refused {details}"), tags=tuple(refused))
        now = int(time.time() * 1_000_000)
        # Samples built in C: zip makes each (key, now, value, good) and tuple.__new__ types it a Sample.
        rows = zip(keys_read, repeat(now), values, repeat(Quality.GOOD))
        return list(map(tuple.__new__, repeat(Sample), rows))

    async def _read_block(
        self, block: Block, keys: list[str], values: list[TagValue], refused: dict[str, str]
    ) -> None:
        response = await self._request(block)
        if isinstance(response, ExceptionResponse):
            code = response.exception_code
            if code not in (ILLEGAL_ADDRESS, ILLEGAL_VALUE):
                raise DriverError(
                    self._where(f"{_exception_text(code)} reading {block.table.value}:{block.start}")
                )
            if len(block.points) == 1:
                refused[block.points[0].key] = _exception_text(code)
                return
            # Narrow the refusal down to the tags that cause it by splitting the request.
            for half in split_block(block):
                await self._read_block(half, keys, values, refused)
            return
        data = response.bits if block.table.is_bits else response.registers
        if len(data) < block.count:
            raise DriverError(
                self._where(
                    f"short answer: {len(data)} of {block.count} values at {block.table.value}:{block.start}"
                )
            )
        block_keys, block_values = block.decode(data)
        keys.extend(block_keys)
        values.extend(block_values)

    async def _request(self, block: Block) -> ModbusPDU:
        self._connected()
        self.requests += 1
        try:
            response: ModbusPDU = await self._calls[block.table](
                block.start, count=block.count, device_id=block.device_id
            )
        except ModbusException as err:
            await self.close()
            raise _translate(err, self._where(f"reading {block.table.value}:{block.start}")) from err
        return response

    def _connected(self) -> AsyncModbusTcpClient:
        client = self._client
        if client is None or not client.connected:
            raise DeviceUnreachable(self._where("not connected"))
        return client

    # ------------------------------------------------------------------ writes

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        point = self._points.get(tag.key) or make_point(tag, self.settings.device_id)
        table = point.address.table
        if not table.writable:
            raise BadAddress(self._where(f"{tag.name} ({point.address}) is read-only"), tags=(tag.key,))
        try:
            payload = point.encode(value)
        except AddressError as err:
            raise BadAddress(self._where(f"{tag.name}: {err}"), tags=(tag.key,)) from None
        async with self._lock:
            client = self._connected()
            self.requests += 1
            try:
                if table is Table.COILS:
                    response = await client.write_coils(
                        point.address.offset, [bool(bit) for bit in payload], device_id=point.device_id
                    )
                else:
                    response = await client.write_registers(
                        point.address.offset, [int(word) for word in payload], device_id=point.device_id
                    )
            except ModbusException as err:
                await self.close()
                raise _translate(err, self._where(f"writing {tag.name}")) from err
        if isinstance(response, ExceptionResponse):
            raise BadAddress(
                self._where(
                    f"writing {tag.name} ({point.address}): {_exception_text(response.exception_code)}"
                ),
                tags=(tag.key,),
            )


# Each request's own time limit inside pymodbus; the coordinator's timeout around the whole read is
# what a person configures, so this only has to be long enough not to fire first.
_request_timeout = 30.0


def _translate(err: ModbusException, where: str) -> DriverError:
    text = str(err).lower()
    if "timeout" in text or "no response" in text:
        return DeviceTimeout(f"{where}: no answer ({err})")
    return DeviceUnreachable(f"{where}: {err}")


class ModbusFactory:
    name = "modbus"

    def parse(self, connection: Mapping[str, Any]) -> ModbusConnection:
        try:
            return ModbusConnection.model_validate(dict(connection))
        except ValidationError as err:
            raise ConfigError(str(err)) from None

    def validate(self, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> list[tuple[Location, str]]:
        try:
            settings = ModbusConnection.model_validate(dict(connection))
        except ValidationError as err:
            return [(("connection", *loc), message) for loc, message in validation_problems(err, _model_at)]
        problems: list[tuple[Location, str]] = []
        points: list[Point] = []
        for index, spec in enumerate(tags):
            try:
                points.append(make_point(spec, settings.device_id))
            except AddressError as err:
                problems.append((("tags", index, "address"), str(err)))
        for point in points:
            limit = settings.max_bits if point.address.table.is_bits else settings.max_registers
            if point.size > limit:
                problems.append(
                    (
                        ("tags", next(i for i, s in enumerate(tags) if s.key == point.key), "options"),
                        f"{point.size} registers do not fit in one request of at most {limit}",
                    )
                )
        return problems

    def create(self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]) -> ModbusDriver:
        try:
            return ModbusDriver(machine_id, self.parse(connection), tags)
        except AddressError as err:
            raise ConfigError(f"{machine_id}: {err}") from None
