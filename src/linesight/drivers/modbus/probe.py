"""A Modbus connection test: which registers and bits of a device answer, and what they hold."""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ExceptionResponse

from linesight.domain.errors import DeviceUnreachable
from linesight.domain.tags import DataType
from linesight.drivers.discovery import DiscoveredTag
from linesight.drivers.modbus.codec import AddressError, Table, parse_address


@dataclass(frozen=True, kw_only=True)
class Span:
    table: Table
    start: int
    count: int


def parse_span(text: str) -> Span:
    """``hr:0-99`` (inclusive) or ``hr:0`` for one register; any address notation the driver reads."""
    first, _dash, last = text.partition("-")
    start = parse_address(first)
    end = parse_address(f"{start.table.value}:{last}") if last else start
    if end.offset < start.offset:
        raise AddressError(f"range '{text}' ends before it starts")
    return Span(table=start.table, start=start.offset, count=end.offset - start.offset + 1)


async def probe(
    host: str, port: int, unit: int, spans: list[Span], wait_s: float = 3.0
) -> list[DiscoveredTag]:
    """Read each span in requests of up to 100 values; the ones that answer become tag suggestions."""
    client = AsyncModbusTcpClient(host, port=port, timeout=wait_s, retries=0, reconnect_delay=0)
    if not await client.connect():
        client.close()
        raise DeviceUnreachable(f"Modbus {host}:{port}: connection refused or no answer")
    found: list[DiscoveredTag] = []
    try:
        for span in spans:
            for start in range(span.start, span.start + span.count, 100):
                count = min(100, span.start + span.count - start)
                found.extend(await _read(client, span.table, start, count, unit))
    except ModbusException as err:
        raise DeviceUnreachable(f"Modbus {host}:{port}: {err}") from err
    finally:
        client.close()
    return found


async def _read(
    client: AsyncModbusTcpClient, table: Table, start: int, count: int, unit: int
) -> list[DiscoveredTag]:
    calls = {
        Table.HOLDING_REGISTERS: client.read_holding_registers,
        Table.INPUT_REGISTERS: client.read_input_registers,
        Table.COILS: client.read_coils,
        Table.DISCRETE_INPUTS: client.read_discrete_inputs,
    }
    response = await calls[table](start, count=count, device_id=unit)
    if isinstance(response, ExceptionResponse):
        if count == 1:
            return []
        half = count // 2  # find the part of the range that answers
        return [
            *await _read(client, table, start, half, unit),
            *await _read(client, table, start + half, count - half, unit),
        ]
    values = response.bits[:count] if table.is_bits else response.registers[:count]
    kind = DataType.BOOL if table.is_bits else DataType.UINT16
    return [
        DiscoveredTag(
            name=f"{table.value}_{start + index}",
            address=f"{table.value}:{start + index}",
            data_type=kind,
            description=f"read {value!r} when probed",
        )
        for index, value in enumerate(values)
    ]
