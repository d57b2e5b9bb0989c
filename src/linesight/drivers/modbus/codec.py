"""Modbus addresses, register decoding and read planning: pure functions, no I/O.

Addresses name a table and a 0-based offset (``hr:100``, ``ir:7``, ``co:12``, ``di:3``, a bit of a
register ``hr:100.3``) or use Modicon numbering (``40101`` is holding register 100, ``30001`` input
register 0, ``00001`` coil 0, ``10001`` discrete input 0; six digits for offsets above 9998).
Registers are 16-bit words sent big-endian; ``byte_order`` swaps the two bytes of each word and
``word_order`` the order of the words of a 32- or 64-bit value.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from linesight.domain.tags import DataType, TagSpec, TagValue

MAX_REGISTERS = 125  # per read request, by the protocol
MAX_BITS = 2000


class Table(StrEnum):
    COILS = "co"
    DISCRETE_INPUTS = "di"
    HOLDING_REGISTERS = "hr"
    INPUT_REGISTERS = "ir"

    @property
    def is_bits(self) -> bool:
        return self in (Table.COILS, Table.DISCRETE_INPUTS)

    @property
    def writable(self) -> bool:
        return self in (Table.COILS, Table.HOLDING_REGISTERS)


_TABLE_NAMES = {
    "co": Table.COILS,
    "coil": Table.COILS,
    "di": Table.DISCRETE_INPUTS,
    "discrete": Table.DISCRETE_INPUTS,
    "hr": Table.HOLDING_REGISTERS,
    "holding": Table.HOLDING_REGISTERS,
    "ir": Table.INPUT_REGISTERS,
    "input": Table.INPUT_REGISTERS,
}
_MODICON = {
    "0": Table.COILS,
    "1": Table.DISCRETE_INPUTS,
    "3": Table.INPUT_REGISTERS,
    "4": Table.HOLDING_REGISTERS,
}
_EXPLICIT = re.compile(r"^\s*([a-z]+)\s*:\s*(\d+)(?:\.(\d+))?\s*$")
_NUMERIC = re.compile(r"^\s*([0134])(\d{4,5})(?:\.(\d+))?\s*$")

ADDRESS_HELP = (
    "hr:<offset>, ir:<offset>, co:<offset> or di:<offset> (0-based; also holding:, input:, coil:, "
    "discrete:), hr:<offset>.<bit> for one bit of a register, or Modicon numbers such as 40001"
)

# Registers per value of each type (strings: from their length).
_WORDS = {
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.FLOAT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT64: 4,
}
_STRUCT = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.FLOAT32: "f",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT64: "d",
}


class AddressError(ValueError):
    """A tag's address or options cannot be used; the message says what is allowed."""


@dataclass(frozen=True, kw_only=True)
class Address:
    table: Table
    offset: int
    bit: int | None = None

    def __str__(self) -> str:
        return f"{self.table.value}:{self.offset}" + ("" if self.bit is None else f".{self.bit}")


def parse_address(text: str) -> Address:
    """``hr:100``, ``holding:100.3``, ``40101`` … as a table, 0-based offset and optional bit."""
    lowered = text.lower()
    if match := _EXPLICIT.match(lowered):
        name, offset, bit = match.groups()
        table = _TABLE_NAMES.get(name)
        if table is None:
            raise AddressError(f"unknown Modbus table '{name}' in address '{text}'; use {ADDRESS_HELP}")
        address = Address(table=table, offset=int(offset), bit=None if bit is None else int(bit))
    elif match := _NUMERIC.match(lowered):
        prefix, number, bit = match.groups()
        if int(number) == 0:
            raise AddressError(f"Modicon address '{text}' starts at 1 (e.g. 40001 is holding register 0)")
        address = Address(
            table=_MODICON[prefix], offset=int(number) - 1, bit=None if bit is None else int(bit)
        )
    else:
        raise AddressError(f"cannot read Modbus address '{text}'; use {ADDRESS_HELP}")
    if address.offset > 65535:
        raise AddressError(f"address '{text}': offsets go from 0 to 65535")
    if address.bit is not None and (address.table.is_bits or address.bit > 15):
        raise AddressError(f"address '{text}': a bit number (0-15) applies to registers only")
    return address


@dataclass(frozen=True, kw_only=True)
class Point:
    """One tag as the driver reads it: where, how many registers or bits, and how to decode them."""

    key: str
    device_id: int
    address: Address
    size: int  # registers (register tables) or bits (bit tables)
    decode: Callable[[Sequence[int] | Sequence[bool]], TagValue]
    encode: Callable[[TagValue], list[int] | list[bool]]
    # The struct code of a number, with its byte and word order: the numbers of a block are decoded
    # together by a few precompiled Structs (see Block.decode); None for bits and strings.
    struct_code: str | None = None
    orders: tuple[str, str] = ("big", "big")

    @property
    def end(self) -> int:
        return self.address.offset + self.size


def _option(spec: TagSpec, name: str, default: str, allowed: Iterable[str]) -> str:
    value = str(spec.option(name, default)).lower()
    if value not in allowed:
        raise AddressError(f"option {name} is '{value}'; allowed: {', '.join(allowed)}")
    return value


def make_point(spec: TagSpec, default_device_id: int) -> Point:
    """Check a tag against Modbus and build its decoder; raise AddressError naming what is wrong."""
    address = parse_address(spec.address)
    device = spec.option("device_id", spec.option("unit", default_device_id))
    if isinstance(device, bool) or not isinstance(device, int) or not 0 <= device <= 255:
        raise AddressError(f"option device_id must be a number from 0 to 255, got {device!r}")
    known = {"byte_order", "word_order", "device_id", "unit", "length"}
    unknown = sorted(name for name, _value in spec.options if name not in known)
    if unknown:
        raise AddressError(
            f"unknown option {', '.join(unknown)}; Modbus tags take: {', '.join(sorted(known))}"
        )
    data_type = spec.data_type
    if address.table.is_bits or address.bit is not None:
        if data_type is not DataType.BOOL:
            where = "a coil or discrete input" if address.table.is_bits else "one bit of a register"
            raise AddressError(f"{where} holds a bool: declare type: bool, not {data_type.value}")
        return _bit_point(spec.key, device, address)
    byte_order = _option(spec, "byte_order", "big", ("big", "little"))
    word_order = _option(spec, "word_order", "big", ("big", "little"))
    if data_type is DataType.STRING:
        length = spec.option("length")
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 2 * MAX_REGISTERS:
            raise AddressError(f"a string needs option length: its size in bytes (1 to {2 * MAX_REGISTERS})")
        return _string_point(spec.key, device, address, length, byte_order)
    if data_type is DataType.BOOL:  # a whole register read as a flag: non-zero is true
        return Point(
            key=spec.key,
            device_id=device,
            address=address,
            size=1,
            decode=lambda words: bool(words[0]),
            encode=lambda value: [1 if value else 0],
        )
    return _number_point(spec.key, device, address, data_type, byte_order, word_order)


def _bit_point(key: str, device: int, address: Address) -> Point:
    if address.bit is None:
        return Point(
            key=key,
            device_id=device,
            address=address,
            size=1,
            decode=lambda bits: bool(bits[0]),
            encode=lambda value: [bool(value)],
        )
    mask = 1 << address.bit
    return Point(
        key=key,
        device_id=device,
        address=address,
        size=1,
        decode=lambda words: bool(int(words[0]) & mask),
        encode=_refuse_bit_write,
    )


def _refuse_bit_write(_value: TagValue) -> list[int]:
    raise AddressError("one bit of a register cannot be written on its own (it would overwrite the others)")


def _to_bytes(words: Sequence[int] | Sequence[bool], byte_order: str, word_order: str) -> bytes:
    ordered = list(words) if word_order == "big" else list(reversed(words))
    packed = struct.pack(f">{len(ordered)}H", *ordered)
    if byte_order == "little":
        packed = b"".join(packed[i + 1 : i + 2] + packed[i : i + 1] for i in range(0, len(packed), 2))
    return packed


def _to_words(raw: bytes, byte_order: str, word_order: str) -> list[int]:
    if byte_order == "little":
        raw = b"".join(raw[i + 1 : i + 2] + raw[i : i + 1] for i in range(0, len(raw), 2))
    words = list(struct.unpack(f">{len(raw) // 2}H", raw))
    return words if word_order == "big" else list(reversed(words))


def _number_point(
    key: str, device: int, address: Address, data_type: DataType, byte_order: str, word_order: str
) -> Point:
    words = _WORDS[data_type]
    fmt = ">" + _STRUCT[data_type]
    plain = byte_order == "big" and word_order == "big"

    def decode(registers: Sequence[int] | Sequence[bool]) -> TagValue:
        if plain:
            return struct.unpack(fmt, struct.pack(f">{words}H", *registers))[0]  # type: ignore[no-any-return]
        return struct.unpack(fmt, _to_bytes(registers, byte_order, word_order))[0]  # type: ignore[no-any-return]

    def encode(value: TagValue) -> list[int]:
        if value is None or isinstance(value, str):
            raise AddressError(f"a {data_type.value} register takes a number, not {value!r}")
        number = float(value) if data_type in (DataType.FLOAT32, DataType.FLOAT64) else int(value)
        try:
            raw = struct.pack(fmt, number)
        except struct.error as err:
            raise AddressError(f"{value!r} does not fit in a {data_type.value}: {err}") from None
        return _to_words(raw, byte_order, word_order)

    return Point(
        key=key,
        device_id=device,
        address=address,
        size=words,
        decode=decode,
        encode=encode,
        struct_code=_STRUCT[data_type],
        orders=(byte_order, word_order),
    )


def _string_point(key: str, device: int, address: Address, length: int, byte_order: str) -> Point:
    words = (length + 1) // 2

    def decode(registers: Sequence[int] | Sequence[bool]) -> TagValue:
        raw = _to_bytes(registers, byte_order, "big")[:length]
        return raw.split(b"\x00", 1)[0].decode("latin-1").rstrip()

    def encode(value: TagValue) -> list[int]:
        text = "" if value is None else str(value)
        raw = text.encode("latin-1", errors="replace")[:length].ljust(2 * words, b"\x00")
        return _to_words(raw, byte_order, "big")

    return Point(key=key, device_id=device, address=address, size=words, decode=decode, encode=encode)


# ---------------------------------------------------------------------- read planning


@dataclass(frozen=True, kw_only=True)
class Block:
    """One read request: a contiguous range of one table of one device, and the points in it."""

    device_id: int
    table: Table
    start: int
    count: int
    points: tuple[Point, ...]

    def values(self, data: Sequence[int] | Sequence[bool]) -> dict[str, TagValue]:
        keys, values = self.decode(data)
        return dict(zip(keys, values, strict=True))

    def decode(self, data: Sequence[int] | Sequence[bool]) -> tuple[list[str], list[TagValue]]:
        """The block's tag keys and their values, from the registers or bits it read.

        The big-endian numbers of a register block come out of one precompiled Struct over the whole
        answer (pad bytes for the gaps): a call per tag cost more than the request itself.
        """
        if self.table.is_bits:
            start = self.start
            return [point.key for point in self.points], [
                point.decode(data[point.address.offset - start :][: point.size]) for point in self.points
            ]
        images, one_by_one = self._compiled
        keys: list[str] = []
        values: list[TagValue] = []
        for image, layout, image_keys in images:
            keys.extend(image_keys)
            values.extend(layout.unpack(image(data[: self.count])))
        for point, first in one_by_one:
            keys.append(point.key)
            values.append(point.decode(data[first : first + point.size]))
        return keys, values

    @cached_property
    def _compiled(
        self,
    ) -> tuple[
        list[tuple[Callable[[Sequence[Any]], bytes], struct.Struct, list[str]]], list[tuple[Point, int]]
    ]:
        """Per byte/word order, how to lay the answer out as bytes and a Struct that reads all its numbers.

        Each order becomes big-endian in one image of the answer: as sent (big, big); each register's
        bytes swapped (little, big); the registers in reverse order (big, little); every byte in reverse
        order (little, little). In the last two a value sits at the mirrored position.
        """
        count = self.count
        big, little = struct.Struct(f">{count}H"), struct.Struct(f"<{count}H")
        builders: dict[tuple[str, str], Callable[[Sequence[Any]], bytes]] = {
            ("big", "big"): lambda data: big.pack(*data),
            ("little", "big"): lambda data: little.pack(*data),
            ("big", "little"): lambda data: big.pack(*reversed(data)),
            ("little", "little"): lambda data: big.pack(*data)[::-1],
        }
        placed: dict[tuple[str, str], list[tuple[int, Point]]] = {}
        one_by_one: list[tuple[Point, int]] = []
        for point in self.points:
            first = point.address.offset - self.start
            if point.struct_code is None:
                one_by_one.append((point, first))
                continue
            mirrored = point.orders[1] == "little"
            at = count - first - point.size if mirrored else first
            placed.setdefault(point.orders, []).append((2 * at, point))
        images = []
        for orders, members in placed.items():
            codes: list[str] = []
            keys: list[str] = []
            covered = 0  # bytes of the image the Struct has read so far
            for at, point in sorted(members, key=lambda member: member[0]):
                if at < covered:  # overlaps a value already read: decoded on its own
                    one_by_one.append((point, point.address.offset - self.start))
                    continue
                codes.append(f"{at - covered}x" if at > covered else "")
                codes.append(str(point.struct_code))
                keys.append(point.key)
                covered = at + 2 * point.size
            codes.append(f"{2 * count - covered}x" if 2 * count > covered else "")
            images.append((builders[orders], struct.Struct(">" + "".join(codes)), keys))
        return images, one_by_one


def plan_reads(
    points: Iterable[Point], *, max_gap: int, max_registers: int = MAX_REGISTERS, max_bits: int = MAX_BITS
) -> list[Block]:
    """Coalesce points into as few requests as the limits allow.

    Points of one device and table are read together when the unused gap between them is at most
    ``max_gap`` registers (or bits) and the request stays within ``max_registers`` (``max_bits``).
    """
    groups: dict[tuple[int, Table], list[Point]] = {}
    for point in points:
        groups.setdefault((point.device_id, point.address.table), []).append(point)
    blocks: list[Block] = []
    for (device, table), members in sorted(groups.items()):
        limit = max_bits if table.is_bits else max_registers
        members.sort(key=lambda p: (p.address.offset, p.end))
        current: list[Point] = []
        start = end = 0
        for point in members:
            if current and point.address.offset - end <= max_gap and max(end, point.end) - start <= limit:
                current.append(point)
                end = max(end, point.end)
                continue
            if current:
                blocks.append(
                    Block(
                        device_id=device, table=table, start=start, count=end - start, points=tuple(current)
                    )
                )
            current, start, end = [point], point.address.offset, point.end
        if current:
            blocks.append(
                Block(device_id=device, table=table, start=start, count=end - start, points=tuple(current))
            )
    return blocks


def split_block(block: Block) -> tuple[Block, Block]:
    """Two smaller requests covering the block's points (to find the one address a device refuses)."""
    half = len(block.points) // 2
    if half == 0:
        raise ValueError("a block of one point cannot be split")
    return _span(block, block.points[:half]), _span(block, block.points[half:])


def _span(block: Block, points: Sequence[Point]) -> Block:
    start = min(p.address.offset for p in points)
    end = max(p.end for p in points)
    return Block(
        device_id=block.device_id, table=block.table, start=start, count=end - start, points=tuple(points)
    )


def describe_points(points: Mapping[str, Point]) -> str:
    return ", ".join(f"{key} ({point.address})" for key, point in points.items())
