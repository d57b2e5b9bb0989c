"""An S7 connection test: the CPU, and the data blocks it holds with their sizes, as a plant-file start."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from snap7.client import Client
from snap7.error import S7Error
from snap7.type import Block

from linesight.domain.errors import DeviceUnreachable
from linesight.domain.tags import DataType
from linesight.drivers.discovery import DiscoveredTag

MAX_BLOCKS = 1024


def _probe(host: str, port: int, rack: int, slot: int) -> tuple[str, list[tuple[int, int]]]:
    client = Client()
    try:
        client.connect(host, rack, slot, tcp_port=port)
        cpu = client.get_cpu_info()
        name = bytes(cpu.ModuleTypeName).decode("latin-1").strip("\x00 ")
        blocks = []
        for number in client.list_blocks_of_type(Block.DB, MAX_BLOCKS):
            info = client.get_block_info(Block.DB, number)
            blocks.append((int(number), int(info.MC7Size)))
        return name, blocks
    finally:
        with contextlib.suppress(S7Error, OSError):
            client.disconnect()


async def probe(host: str, port: int, rack: int, slot: int) -> tuple[dict[str, Any], list[DiscoveredTag]]:
    """Connect, name the CPU, list its DBs; each DB becomes a placeholder tag on its first word.

    S7 absolute addresses carry no names or types, so the tags are a start to edit with the PLC
    program at hand, not a finished list.
    """
    try:
        cpu, blocks = await asyncio.to_thread(_probe, host, port, rack, slot)
    except (S7Error, OSError, RuntimeError) as err:
        raise DeviceUnreachable(f"S7 {host}:{port} rack {rack} slot {slot}: {err}") from err
    connection: dict[str, Any] = {"host": host, "port": port, "rack": rack, "slot": slot}
    tags = [
        DiscoveredTag(
            name=f"db{number}_w0",
            address=f"DB{number}.DBW0",
            data_type=DataType.INT16,
            description=f"{cpu}: DB{number} holds {size} bytes; replace with its real fields",
        )
        for number, size in blocks
    ]
    return connection, tags
