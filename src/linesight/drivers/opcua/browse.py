"""Browse an OPC UA server's address space for variables that can become tags."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.uaerrors import UaError

from linesight.domain.errors import DeviceUnreachable
from linesight.domain.tags import DataType
from linesight.drivers.discovery import DiscoveredTag

_TYPES = {
    ua.VariantType.Boolean: DataType.BOOL,
    ua.VariantType.SByte: DataType.INT16,
    ua.VariantType.Byte: DataType.UINT16,
    ua.VariantType.Int16: DataType.INT16,
    ua.VariantType.UInt16: DataType.UINT16,
    ua.VariantType.Int32: DataType.INT32,
    ua.VariantType.UInt32: DataType.UINT32,
    ua.VariantType.Int64: DataType.INT64,
    ua.VariantType.UInt64: DataType.UINT64,
    ua.VariantType.Float: DataType.FLOAT32,
    ua.VariantType.Double: DataType.FLOAT64,
}


@dataclass(frozen=True, kw_only=True)
class BrowseLimits:
    depth: int = 8
    nodes: int = 5000


async def browse(
    endpoint: str, limits: BrowseLimits | None = None, wait_s: float = 10.0
) -> list[DiscoveredTag]:
    """Every variable under Objects (the server's own diagnostics left out), as tag suggestions."""
    limits = limits or BrowseLimits()
    client = Client(endpoint, timeout=wait_s)
    try:
        await client.connect()
    except (OSError, TimeoutError, UaError) as err:
        raise DeviceUnreachable(f"OPC UA {endpoint}: cannot connect: {err}") from err
    try:
        namespaces = await client.get_namespace_array()
        found: list[DiscoveredTag] = []
        await _walk(client.nodes.objects, [], limits.depth, namespaces, found, limits.nodes)
        return found
    except (OSError, TimeoutError, UaError) as err:
        raise DeviceUnreachable(f"OPC UA {endpoint}: browsing failed: {err}") from err
    finally:
        with contextlib.suppress(OSError, TimeoutError, UaError, asyncio.CancelledError):
            await client.disconnect()


async def _walk(
    node: Node, path: list[str], depth: int, namespaces: list[str], found: list[DiscoveredTag], limit: int
) -> None:
    if depth < 0 or len(found) >= limit:
        return
    for child in await node.get_children():
        if len(found) >= limit:
            return
        if child.nodeid.NamespaceIndex == 0:
            continue  # the standard Server object and friends: not machine data
        name = (await child.read_browse_name()).Name
        node_class = await child.read_node_class()
        if node_class == ua.NodeClass.Variable:
            found.append(await _describe(child, [*path, name], namespaces))
        if node_class in (ua.NodeClass.Object, ua.NodeClass.Variable):
            await _walk(child, [*path, name], depth - 1, namespaces, found, limit)


async def _describe(node: Node, path: list[str], namespaces: list[str]) -> DiscoveredTag:
    try:
        variant = await node.read_data_type_as_variant_type()
    except (UaError, ValueError):
        variant = ua.VariantType.String
    data_type = _TYPES.get(variant, DataType.STRING)
    description = (await node.read_description()).Text or ""
    node_id = node.nodeid
    uri = namespaces[node_id.NamespaceIndex] if node_id.NamespaceIndex < len(namespaces) else None
    plain = node_id.to_string()
    # The namespace URI form keeps working when a server renumbers its namespaces.
    address = f"nsu={uri};{plain.split(';', 1)[1]}" if uri and ";" in plain else plain
    return DiscoveredTag(
        name="_".join(path[-2:]), address=address, data_type=data_type, description=description
    )
