"""Ask an MTConnect agent what it offers (its probe) and suggest a tag for every data item."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from linesight.domain.tags import DataType
from linesight.drivers.discovery import DiscoveredTag
from linesight.drivers.mtconnect.codec import DataItem, type_problem
from linesight.drivers.mtconnect.driver import MTConnectConnection, MTConnectDriver

_COUNTERS = {"PART_COUNT", "LINE_NUMBER", "TOOL_NUMBER"}


def _data_type(item: DataItem) -> DataType:
    if type_problem(item, DataType.FLOAT64) is not None or (
        item.category == "EVENT" and item.type not in _COUNTERS
    ):
        return DataType.STRING
    return DataType.INT64 if item.type in _COUNTERS else DataType.FLOAT64


async def browse(url: str) -> tuple[dict[str, Any], list[DiscoveredTag]]:
    """``mtconnect://host:port/`` (or http://) → the connection block and a tag per data item."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "https" else "http"
    agent = urlunsplit((scheme, parts.netloc, parts.path or "/", "", ""))
    driver = MTConnectDriver("browse", MTConnectConnection(url=agent), [])
    try:
        await driver.connect()
        items = [item for item in driver.data_items() if not item.agent]
    finally:
        await driver.close()
    tags = [
        DiscoveredTag(
            name=f"{item.device}_{item.name or item.id}",
            address=f"{item.device}:{item.id}",
            data_type=_data_type(item),
            unit=item.units.lower(),
            description=item.describe(),
        )
        for item in items
    ]
    return {"url": agent}, tags
