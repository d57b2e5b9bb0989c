"""Tags (what to read, frozen from the plant file) and samples (what was read)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import cached_property
from typing import NamedTuple

TagValue = bool | int | float | str | None


class Quality(IntEnum):
    """OPC UA-style quality, ordered so that a larger number is worse."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class DataType(StrEnum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"

    @property
    def is_numeric(self) -> bool:
        return self is not DataType.STRING and self is not DataType.BOOL

    @property
    def is_integer(self) -> bool:
        return self.is_numeric and not self.value.startswith("float")


def tag_key(machine: str, name: str) -> str:
    """The plant-wide name of a tag: ``machine.tag`` (machine ids are unique in a plant)."""
    return f"{machine}.{name}"


@dataclass(frozen=True, kw_only=True)
class TagSpec:
    """One tag of one machine, as the plant file declares it."""

    machine: str
    name: str
    address: str
    data_type: DataType
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    deadband: float = 0.0
    poll_interval: float = 1.0
    description: str = ""
    writable: bool = False  # the plant file allows writes (a setpoint)
    # Protocol-specific extras (byte order, unit id, sampling interval...) left to the driver.
    options: tuple[tuple[str, str | int | float | bool], ...] = field(default=())

    @cached_property
    def key(self) -> str:
        # Cached: read for every sample on the hot path (a frozen dataclass still has a __dict__ for it).
        return tag_key(self.machine, self.name)

    @property
    def scaled(self) -> bool:
        return self.scale != 1.0 or self.offset != 0.0

    def option(
        self, name: str, default: str | int | float | bool | None = None
    ) -> str | int | float | bool | None:
        for key, value in self.options:
            if key == name:
                return value
        return default

    def to_engineering(self, raw: TagValue) -> TagValue:
        """Apply ``value = raw * scale + offset`` to numbers; bools and text pass unchanged."""
        if not self.scaled or raw is None or isinstance(raw, (bool, str)):
            return raw
        return raw * self.scale + self.offset


class Sample(NamedTuple):
    """One value of one tag at one instant (UTC microseconds since the epoch).

    A NamedTuple rather than the usual frozen dataclass: the runtime builds hundreds of thousands of
    these a second, and a tuple built positionally costs a third of a frozen dataclass. It is just as
    immutable; hot paths construct it positionally, everything else by keyword.
    """

    tag: str
    ts_us: int
    value: TagValue
    quality: Quality = Quality.GOOD

    @property
    def numeric(self) -> float | None:
        """The value as a float for trends and rollups, or None for text and missing values."""
        value = self.value
        if value is None or isinstance(value, str):
            return None
        return float(value)


def outside_deadband(previous: TagValue, current: TagValue, deadband: float) -> bool:
    """True when ``current`` differs from ``previous`` by more than the absolute deadband.

    Text, bools and a change to or from no value always count as a change when they differ.
    """
    if deadband <= 0.0:
        return True
    if (
        isinstance(previous, (int, float))
        and isinstance(current, (int, float))
        and not isinstance(previous, bool)
        and not isinstance(current, bool)
    ):
        if math.isnan(current) or math.isnan(previous):
            return not (math.isnan(current) and math.isnan(previous))
        return abs(current - previous) > deadband
    return previous != current
