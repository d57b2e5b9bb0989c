"""A driver whose device is a script: values, hangs and failures on demand (for runtime unit tests)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from linesight.domain.errors import BadAddress, ConfigError, DeviceUnreachable
from linesight.domain.tags import Sample, TagSpec, TagValue


class ScriptedDriver:
    def __init__(self, machine_id: str, tags: Sequence[TagSpec]) -> None:
        self.machine_id = machine_id
        self.values: dict[str, TagValue] = {tag.key: 0.0 for tag in tags}
        self.unreachable = False
        self.refused: set[str] = set()
        self.hang = asyncio.Event()  # set = every read hangs until released
        self.release = asyncio.Event()
        self.reads: list[tuple[float, tuple[str, ...]]] = []
        self.connects = 0
        self.closes = 0

    async def connect(self) -> None:
        self.connects += 1
        if self.unreachable:
            raise DeviceUnreachable(f"{self.machine_id}: connection refused (scripted)")

    async def read(self, tags: Sequence[TagSpec]) -> list[Sample]:
        self.reads.append((time.monotonic(), tuple(tag.key for tag in tags)))
        if self.hang.is_set():
            await self.release.wait()
        if self.unreachable:
            raise DeviceUnreachable(f"{self.machine_id}: connection reset (scripted)")
        refused = tuple(tag.key for tag in tags if tag.key in self.refused)
        if refused:
            raise BadAddress(f"illegal data address for {', '.join(refused)}", tags=refused)
        now = int(time.time() * 1e6)
        return [Sample(tag=tag.key, ts_us=now, value=self.values[tag.key]) for tag in tags]

    async def write(self, tag: TagSpec, value: TagValue) -> None:
        self.values[tag.key] = value

    async def close(self) -> None:
        self.closes += 1


class ScriptedFactory:
    name = "scripted"

    def __init__(self) -> None:
        self.drivers: dict[str, ScriptedDriver] = {}

    def validate(
        self, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> list[tuple[tuple[str | int, ...], str]]:
        return []

    def create(
        self, machine_id: str, connection: Mapping[str, Any], tags: Sequence[TagSpec]
    ) -> ScriptedDriver:
        if connection.get("broken"):
            raise ConfigError(f"{machine_id}: cannot create driver (scripted)")
        driver = self.drivers[machine_id] = ScriptedDriver(machine_id, tags)
        return driver
