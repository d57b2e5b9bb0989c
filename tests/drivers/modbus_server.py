"""A real pymodbus TCP server on a free loopback port, counting the requests it answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

HOLDING, INPUT, COILS, DISCRETE = 3, 4, 1, 2  # function codes that address each table


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TestServer:
    server: ModbusTcpServer
    port: int
    requests: list[ModbusPDU] = field(default_factory=list)

    async def set_registers(self, offset: int, words: list[int], *, table: int = HOLDING) -> None:
        await self.server.async_setValues(1, table, offset, words)

    async def set_bits(self, offset: int, bits: list[bool], *, table: int = COILS) -> None:
        await self.server.async_setValues(1, table, offset, bits)

    async def registers(self, offset: int, count: int) -> list[int]:
        return list(await self.server.async_getValues(1, HOLDING, offset, count))  # type: ignore[arg-type]


def device(holding: int = 1000) -> SimDevice:
    """Device 1: ``holding`` holding registers, 100 input registers, 100 coils, 100 discrete inputs."""
    return SimDevice(
        1,
        simdata=(
            [SimData(0, count=100, values=False, datatype=DataType.BITS)],
            [SimData(0, count=100, values=False, datatype=DataType.BITS)],
            [SimData(0, count=holding, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=100, values=0, datatype=DataType.REGISTERS)],
        ),
    )


@asynccontextmanager
async def modbus_server(port: int | None = None, holding: int = 1000) -> AsyncIterator[TestServer]:
    port = port or free_port()
    requests: list[ModbusPDU] = []

    def trace(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            requests.append(pdu)
        return pdu

    server = ModbusTcpServer(context=device(holding), address=("127.0.0.1", port), trace_pdu=trace)
    await server.serve_forever(background=True)
    try:
        yield TestServer(server=server, port=port, requests=requests)
    finally:
        await server.shutdown()
        await asyncio.sleep(0)
