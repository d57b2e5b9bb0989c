"""What a driver finds on a device, written as plant-file YAML an integrator can paste in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from linesight.domain.tags import DataType

_NOT_NAME = re.compile(r"[^A-Za-z0-9_\-]+")


@dataclass(frozen=True, kw_only=True)
class DiscoveredTag:
    name: str  # a suggestion; made a valid, unique tag name when written
    address: str
    data_type: DataType
    unit: str = ""
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


def tag_name(text: str) -> str:
    """A plant-file tag name from a device's own naming (browse paths, data item names)."""
    name = _NOT_NAME.sub("_", text.strip()).strip("_-").lower()
    if not name or not name[0].isalnum():
        name = f"t_{name}".strip("_") or "tag"
    return name[:64]


def machine_yaml(
    machine_id: str, driver: str, connection: Mapping[str, Any], tags: Iterable[DiscoveredTag]
) -> str:
    """A machine entry for a plant file's ``machines:`` list, with every tag found."""
    used: set[str] = set()
    entries = []
    for found in tags:
        name = base = tag_name(found.name)
        suffix = 2
        while name in used:
            name = f"{base[:60]}_{suffix}"
            suffix += 1
        used.add(name)
        entry: dict[str, Any] = {"name": name, "address": found.address, "type": found.data_type.value}
        if found.unit:
            entry["unit"] = found.unit
        if found.description:
            entry["description"] = found.description
        if found.options:
            entry["options"] = dict(found.options)
        entries.append(entry)
    machine = {"id": tag_name(machine_id), "driver": driver, "connection": dict(connection), "tags": entries}
    return yaml.safe_dump([machine], sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
