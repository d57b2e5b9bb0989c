"""S7 addresses, values, multi-variable read planning, read requests and answers: pure, no I/O.

Addresses use the Siemens absolute notation: ``DB500.DBX0.3`` (a bit), ``DB500.DBB2`` / ``DBW4`` /
``DBD6`` (1, 2 or 4 bytes), ``M10.2``, ``MW20``, ``I0.1`` (German ``E0.1``), ``IW64``, ``Q4.0``
(German ``A4.0``). A value longer than 4 bytes (LREAL, LINT, ULINT, STRING, DATE_AND_TIME) starts at
a byte: ``DB500.DBB10`` (``DB500.DBX10.0`` is accepted too). A field of a struct layout declared in the
connection is ``<start>:<layout>.<field>``: ``DB500:record.part_count`` (the layout at byte 0 of DB500)
or ``DB500.DBB28:record.part_count`` (at byte 28). Everything the PLC sends is big-endian.
"""

from __future__ import annotations

import functools
import itertools
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from linesight.domain.tags import DataType, TagSpec, TagValue

MAX_ITEMS = 20  # variables per read request: the limit S7-300/400 CPUs set and snap7 keeps
MAX_OFFSET = 65535  # absolute (PUT/GET) access reaches 64 KiB of a DB or area
MAX_DB = 65535
MAX_STRING = 254

# Sizes of the parts of a PDU, to keep every request and its answer within the negotiated PDU size.
REQUEST_HEADER = 10  # a job header carries no error bytes
REPLY_HEADER = 12  # an ack-data header adds error class and code
PARAMETER_HEAD = 2  # function code and item count
ITEM_SPEC = 12  # one variable's address in a read or write request
ITEM_HEADER = 4  # return code, transport size and length before each item's data in a reply
WRITE_OVERHEAD = REQUEST_HEADER + PARAMETER_HEAD + ITEM_SPEC + ITEM_HEADER

# Header fields of the PDUs the driver builds and checks itself (the read path).
PROTOCOL_ID = 0x32
JOB, ACK, ACK_DATA = 0x01, 0x02, 0x03  # PDU types: a request, an answer without data, one with data
READ_VAR, WRITE_VAR = 0x04, 0x05  # function codes

OK = 0xFF  # an item's return code when the PLC delivered it
RETURN_CODES = {
    0x01: "hardware fault",
    0x03: "access to the object not allowed",
    0x05: "address out of range",
    0x06: "data type not supported",
    0x07: "data type inconsistent",
    0x0A: "object does not exist",
}


def return_code_text(code: int) -> str:
    return f"code 0x{code:02x}: {RETURN_CODES.get(code, 'refused')}"


class AddressError(ValueError):
    """A tag's address or options cannot be used; the message says what is allowed.

    ``field`` names the part of the tag at fault (``("address",)``, ``("type",)``,
    ``("options", "length")``), so that the plant check can point at its line.
    """

    def __init__(self, message: str, field: tuple[str, ...] = ("address",)) -> None:
        super().__init__(message)
        self.field = field


class Area(IntEnum):
    """The memory areas, by the code the protocol uses for them."""

    INPUTS = 0x81
    OUTPUTS = 0x82
    FLAGS = 0x83
    DB = 0x84


_REGION_NAMES = {Area.INPUTS: "the inputs (I)", Area.OUTPUTS: "the outputs (Q)", Area.FLAGS: "the flags (M)"}
_AREA_LETTERS = {"I": Area.INPUTS, "E": Area.INPUTS, "Q": Area.OUTPUTS, "A": Area.OUTPUTS, "M": Area.FLAGS}


class S7Type(StrEnum):
    BOOL = "BOOL"
    BYTE = "BYTE"
    USINT = "USINT"
    SINT = "SINT"
    WORD = "WORD"
    UINT = "UINT"
    INT = "INT"
    DWORD = "DWORD"
    UDINT = "UDINT"
    DINT = "DINT"
    REAL = "REAL"
    LREAL = "LREAL"
    LINT = "LINT"
    ULINT = "ULINT"
    STRING = "STRING"
    DATE_AND_TIME = "DATE_AND_TIME"

    @property
    def letter(self) -> str:
        """The size letter of its address: X, B, W, D, or '' for values longer than 4 bytes."""
        return _LETTER.get(self, "")

    @property
    def size(self) -> int:
        """Bytes it occupies (a STRING: 2 header bytes plus its declared length)."""
        return _SIZE[self]


_LETTER = {
    S7Type.BOOL: "X",
    S7Type.BYTE: "B",
    S7Type.USINT: "B",
    S7Type.SINT: "B",
    S7Type.WORD: "W",
    S7Type.UINT: "W",
    S7Type.INT: "W",
    S7Type.DWORD: "D",
    S7Type.UDINT: "D",
    S7Type.DINT: "D",
    S7Type.REAL: "D",
}
_SIZE = {
    S7Type.BOOL: 1,
    S7Type.LREAL: 8,
    S7Type.LINT: 8,
    S7Type.ULINT: 8,
    S7Type.STRING: 2,
    S7Type.DATE_AND_TIME: 8,
    **{t: {"B": 1, "W": 2, "D": 4}[letter] for t, letter in _LETTER.items() if letter != "X"},
}
_STRUCT = {
    S7Type.BYTE: "B",
    S7Type.USINT: "B",
    S7Type.SINT: "b",
    S7Type.WORD: "H",
    S7Type.UINT: "H",
    S7Type.INT: "h",
    S7Type.DWORD: "I",
    S7Type.UDINT: "I",
    S7Type.DINT: "i",
    S7Type.REAL: "f",
    S7Type.LREAL: "d",
    S7Type.LINT: "q",
    S7Type.ULINT: "Q",
}
_ALIASES = {"DT": S7Type.DATE_AND_TIME}

_I = DataType
# The declared types that hold every value of an S7 type exactly (the first is its natural one).
_HOLDERS: dict[S7Type, tuple[DataType, ...]] = {
    S7Type.BOOL: (_I.BOOL,),
    S7Type.BYTE: (_I.UINT16, _I.INT16, _I.UINT32, _I.INT32, _I.UINT64, _I.INT64, _I.FLOAT32, _I.FLOAT64),
    S7Type.SINT: (_I.INT16, _I.INT32, _I.INT64, _I.FLOAT32, _I.FLOAT64),
    S7Type.WORD: (_I.UINT16, _I.UINT32, _I.INT32, _I.UINT64, _I.INT64, _I.FLOAT32, _I.FLOAT64),
    S7Type.INT: (_I.INT16, _I.INT32, _I.INT64, _I.FLOAT32, _I.FLOAT64),
    S7Type.DWORD: (_I.UINT32, _I.UINT64, _I.INT64, _I.FLOAT64),
    S7Type.DINT: (_I.INT32, _I.INT64, _I.FLOAT64),
    S7Type.REAL: (_I.FLOAT32, _I.FLOAT64),
    S7Type.LREAL: (_I.FLOAT64,),
    S7Type.LINT: (_I.INT64,),
    S7Type.ULINT: (_I.UINT64,),
    S7Type.STRING: (_I.STRING,),
    S7Type.DATE_AND_TIME: (_I.STRING,),
}
_HOLDERS[S7Type.USINT] = _HOLDERS[S7Type.BYTE]
_HOLDERS[S7Type.UINT] = _HOLDERS[S7Type.WORD]
_HOLDERS[S7Type.UDINT] = _HOLDERS[S7Type.DWORD]

# Without option s7_type, the size letter and the declared type name the S7 type (natural pairs only).
_INFERRED = {
    ("X", DataType.BOOL): S7Type.BOOL,
    ("B", DataType.UINT16): S7Type.BYTE,
    ("B", DataType.INT16): S7Type.SINT,
    ("B", DataType.STRING): S7Type.STRING,
    ("W", DataType.UINT16): S7Type.WORD,
    ("W", DataType.INT16): S7Type.INT,
    ("D", DataType.UINT32): S7Type.DWORD,
    ("D", DataType.INT32): S7Type.DINT,
    ("D", DataType.FLOAT32): S7Type.REAL,
}

S7_TYPES_HELP = ", ".join(t.value for t in S7Type) + " (DT for DATE_AND_TIME)"
ADDRESS_HELP = (
    "DB<n>.DBX<byte>.<bit>, DB<n>.DBB<byte>, DB<n>.DBW<byte> or DB<n>.DBD<byte> (e.g. DB500.DBX0.3, "
    "DB500.DBW4); M, I or Q (German E, A) with a bit (M10.2, I0.1, Q4.0) or a size letter (MB10, MW20, "
    "MD24, IW64); or <start>:<layout>.<field> for a layout field (DB500:record.part_count)"
)
_TAG_OPTIONS = ("length", "s7_type")


def parse_s7_type(text: object) -> S7Type:
    """``DINT``, ``dint``, ``DT`` … as an S7 type; AddressError listing the known ones otherwise."""
    name = str(text).strip().upper()
    found = _ALIASES.get(name)
    if found is not None:
        return found
    try:
        return S7Type(name)
    except ValueError:
        raise AddressError(f"unknown S7 type '{text}'; allowed: {S7_TYPES_HELP}") from None


# ---------------------------------------------------------------------- addresses


@dataclass(frozen=True, kw_only=True)
class Address:
    """Where a tag's bytes sit: an area (and DB number), the first byte, a bit for a BOOL."""

    area: Area
    db: int = 0
    start: int
    bit: int | None = None
    # How the address was written, to suggest a fix in the user's own notation ("DB500.DB", "E").
    prefix: str = ""
    letter: str = ""
    layout: str | None = None
    field: str | None = None

    def region(self) -> str:
        return f"DB{self.db}" if self.area is Area.DB else _REGION_NAMES[self.area]

    def spelled(self, letter: str, start: int | None = None) -> str:
        """This address with another size letter (and start), as a suggestion in the user's notation."""
        return f"{self.prefix}{letter}{self.start if start is None else start}"


_DB = re.compile(r"^DB(\d+)\.DB([XBWD])(\d+)(?:\.(\d+))?$")
_OTHER = re.compile(r"^([MIEQA])([XBWD]?)(\d+)(?:\.(\d+))?$")
_LAYOUT_START = re.compile(r"^DB(\d+)(?:\.DBB(\d+))?$|^([MIEQA])B(\d+)$")
_LAYOUT_REF = re.compile(r"^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$")


def parse_address(text: str) -> Address:
    """``DB500.DBW4``, ``M10.2``, ``E0.1``, ``DB500:record.part_count`` … as an Address."""
    raw = text.strip()
    if ":" in raw:
        return _parse_layout_address(text, raw)
    upper = raw.upper()
    if match := _DB.match(upper):
        db_text, letter, start_text, bit_text = match.groups()
        address = Address(
            area=Area.DB,
            db=_db_number(text, db_text),
            start=int(start_text),
            bit=None if bit_text is None else int(bit_text),
            prefix=f"DB{int(db_text)}.DB",
            letter=letter,
        )
    elif match := _OTHER.match(upper):
        area_letter, letter, start_text, bit_text = match.groups()
        address = Address(
            area=_AREA_LETTERS[area_letter],
            start=int(start_text),
            bit=None if bit_text is None else int(bit_text),
            prefix=raw[0],
            letter=letter or "X",
        )
    else:
        raise AddressError(f"cannot read S7 address '{text}'; use {ADDRESS_HELP}")
    if address.start > MAX_OFFSET:
        raise AddressError(f"address '{text}': byte offsets go from 0 to {MAX_OFFSET}")
    if address.letter == "X":
        if address.bit is None:
            example = address.spelled("X") if address.area is Area.DB else f"{address.prefix}{address.start}"
            raise AddressError(
                f"address '{text}' names a bit: add its number ({example}.0 to {example}.7), or use a size "
                f"letter for a whole byte, word or double word ({address.spelled('B')}, "
                f"{address.spelled('W')}, {address.spelled('D')})"
            )
        if address.bit > 7:
            raise AddressError(f"address '{text}': a bit number goes from 0 to 7")
    elif address.bit is not None:
        raise AddressError(
            f"address '{text}': only a bit address (X, e.g. {address.spelled('X')}.{address.bit}) has a bit "
            f"number; {address.spelled(address.letter)} is a whole {_LETTER_WORDS[address.letter]}"
        )
    return address


_LETTER_WORDS = {"B": "byte", "W": "word (2 bytes)", "D": "double word (4 bytes)"}


def _db_number(text: str, digits: str) -> int:
    number = int(digits)
    if not 1 <= number <= MAX_DB:
        raise AddressError(f"address '{text}': DB numbers go from 1 to {MAX_DB}")
    return number


def _parse_layout_address(text: str, raw: str) -> Address:
    start_text, _colon, reference = raw.partition(":")
    start_match = _LAYOUT_START.match(start_text.strip().upper())
    ref_match = _LAYOUT_REF.match(reference.strip())
    if start_match is None or ref_match is None:
        raise AddressError(
            f"cannot read S7 layout address '{text}'; use <start>:<layout>.<field> where <start> is "
            "DB<n> (the layout at byte 0), DB<n>.DBB<byte>, MB<byte>, IB<byte> or QB<byte>, e.g. "
            "DB500:record.part_count or DB500.DBB28:record.part_count"
        )
    db_text, db_start, area_letter, area_start = start_match.groups()
    layout, field_name = ref_match.groups()
    if db_text is not None:
        address = Address(
            area=Area.DB,
            db=_db_number(text, db_text),
            start=int(db_start or 0),
            prefix=f"DB{int(db_text)}.DB",
            layout=layout,
            field=field_name,
        )
    else:
        address = Address(
            area=_AREA_LETTERS[area_letter],
            start=int(area_start),
            prefix=start_text.strip()[0],
            layout=layout,
            field=field_name,
        )
    if address.start > MAX_OFFSET:
        raise AddressError(f"address '{text}': byte offsets go from 0 to {MAX_OFFSET}")
    return address


# ---------------------------------------------------------------------- layouts


@dataclass(frozen=True, kw_only=True)
class LayoutField:
    """One field of a struct layout: its S7 type, byte offset from the layout's start, bit, length."""

    s7_type: S7Type
    offset: int
    bit: int | None = None
    length: int | None = None  # a STRING's declared maximum

    @property
    def size(self) -> int:
        return self.s7_type.size + (self.length or 0)


Layouts = Mapping[str, Mapping[str, LayoutField]]


def layout_problems(fields: Mapping[str, LayoutField]) -> list[tuple[str, str]]:
    """Fields that overlap another (a BOOL may sit inside a WORD or another field): (field, message)."""
    problems: list[tuple[str, str]] = []
    spans = sorted(
        (item.offset, item.offset + item.size, name)
        for name, item in fields.items()
        if item.s7_type is not S7Type.BOOL
    )
    for (start, end, name), (next_start, next_end, next_name) in itertools.pairwise(spans):
        if next_start < end:
            problems.append(
                (
                    next_name,
                    f"field '{next_name}' (bytes {next_start}-{next_end - 1}) overlaps field '{name}' "
                    f"(bytes {start}-{end - 1})",
                )
            )
    return problems


# ---------------------------------------------------------------------- points


@dataclass(frozen=True, kw_only=True)
class Point:
    """One tag as the driver reads and writes it: where, how many bytes, how to decode and encode."""

    key: str
    text: str  # the address as the plant file writes it, for messages
    address: Address
    s7_type: S7Type
    size: int
    decode: Callable[[bytes], TagValue]
    encode: Callable[[TagValue], bytes]
    # Writes start this many bytes after the value (a STRING keeps the PLC's own maximum-length byte).
    write_skip: int = 0

    @property
    def start(self) -> int:
        return self.address.start

    @property
    def end(self) -> int:
        return self.address.start + self.size

    @property
    def region(self) -> tuple[Area, int]:
        return (self.address.area, self.address.db)


def make_point(spec: TagSpec, layouts: Layouts) -> Point:
    """Check a tag against S7 and build its decoder; raise AddressError naming what is wrong."""
    address = parse_address(spec.address)
    unknown = sorted(name for name, _value in spec.options if name not in _TAG_OPTIONS)
    if unknown:
        raise AddressError(
            f"unknown option {', '.join(unknown)}; S7 tags take: {', '.join(_TAG_OPTIONS)}",
            ("options", unknown[0]),
        )
    if address.layout is not None:
        s7_type, address, length = _layout_field(spec, address, layouts)
    else:
        s7_type = _s7_type(spec, address)
        length = _string_length(spec, s7_type)
    holders = _HOLDERS[s7_type]
    if spec.data_type not in holders:
        raise AddressError(
            f"{s7_type.value} at {spec.address} needs type {_either(h.value for h in holders)}, "
            f"not {spec.data_type.value}",
            ("type",),
        )
    return _point(spec, address, s7_type, length)


def _either(names: Iterable[str]) -> str:
    items = list(names)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _s7_type(spec: TagSpec, address: Address) -> S7Type:
    named = spec.option("s7_type")
    letter = address.letter
    if named is None:
        found = _INFERRED.get((letter, spec.data_type))
        if found is None and letter == "X" and address.bit == 0 and spec.data_type is DataType.STRING:
            found = S7Type.STRING  # DB500.DBX10.0 as the start of a string, the ANY-pointer way
        if found is None:
            raise AddressError(_which_type(spec, address), ("type",))
        return found
    try:
        s7_type = parse_s7_type(named)
    except AddressError as err:
        raise AddressError(str(err), ("options", "s7_type")) from None
    if s7_type.letter == letter:
        return s7_type
    if not s7_type.letter and (letter == "B" or (letter == "X" and address.bit == 0)):
        return s7_type
    if s7_type.letter:
        better = address.spelled(s7_type.letter) + (".0" if s7_type.letter == "X" else "")
        raise AddressError(
            f"s7_type {s7_type.value} is {_size_words(s7_type)}: address it as {better}, not {spec.address}",
            ("address",),
        )
    raise AddressError(
        f"s7_type {s7_type.value} is longer than 4 bytes and has no size letter: give the byte where it "
        f"starts, {address.spelled('B')}",
        ("address",),
    )


def _size_words(s7_type: S7Type) -> str:
    return "one bit" if s7_type is S7Type.BOOL else f"{s7_type.size} byte{'s' if s7_type.size > 1 else ''}"


def _which_type(spec: TagSpec, address: Address) -> str:
    """The message for a size letter and declared type that do not name one S7 type."""
    letter, declared = address.letter, spec.data_type.value
    if letter == "X":
        if address.bit == 0:
            return (
                f"{spec.address} is one bit: declare type: bool; for a value starting at that byte give "
                f"type: string (an S7 STRING) or option s7_type (LREAL, LINT, ULINT, DATE_AND_TIME)"
            )
        return f"{spec.address} is one bit: declare type: bool, not {declared}"
    natural = [
        f"{declared_type.value} ({s7.value})" for (lt, declared_type), s7 in _INFERRED.items() if lt == letter
    ]
    named = [t.value for t in S7Type if t.letter == letter]
    if letter == "B":
        named += [t.value for t in S7Type if not t.letter and t is not S7Type.STRING]
    return (
        f"{spec.address} with type {declared}: declare type {_either(natural)}, or name the PLC's type "
        f"with option s7_type ({', '.join(named)})"
    )


def _string_length(spec: TagSpec, s7_type: S7Type) -> int | None:
    length = spec.option("length")
    if s7_type is not S7Type.STRING:
        if length is not None:
            raise AddressError(
                f"option length applies to an S7 STRING only, not {s7_type.value}", ("options", "length")
            )
        return None
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_STRING:
        raise AddressError(
            f"an S7 STRING needs option length: its declared maximum, 1 to {MAX_STRING} "
            "(length: 20 for a STRING[20]); it is 2 bytes longer in the PLC",
            ("options", "length") if length is not None else ("options",),
        )
    return length


def _layout_field(spec: TagSpec, address: Address, layouts: Layouts) -> tuple[S7Type, Address, int | None]:
    assert address.layout is not None and address.field is not None
    fields = layouts.get(address.layout)
    if fields is None:
        known = ", ".join(sorted(layouts)) or "none (declare them under connection.layouts)"
        raise AddressError(f"no layout '{address.layout}' in the connection; layouts: {known}")
    item = fields.get(address.field)
    if item is None:
        raise AddressError(
            f"layout '{address.layout}' has no field '{address.field}'; its fields: {', '.join(fields)}"
        )
    for option in ("s7_type", "length"):
        if spec.option(option) is not None:
            raise AddressError(
                f"option {option} is given by the layout's field ({item.s7_type.value}); remove it here",
                ("options", option),
            )
    start = address.start + item.offset
    if start + item.size - 1 > MAX_OFFSET:
        raise AddressError(f"address '{spec.address}' ends beyond byte {MAX_OFFSET}")
    placed = Address(
        area=address.area,
        db=address.db,
        start=start,
        bit=item.bit,
        prefix=address.prefix,
        letter=item.s7_type.letter,
        layout=address.layout,
        field=address.field,
    )
    return item.s7_type, placed, item.length


# ---------------------------------------------------------------------- values


def _point(spec: TagSpec, address: Address, s7_type: S7Type, length: int | None) -> Point:
    size, skip = s7_type.size, 0
    if s7_type is S7Type.BOOL:
        assert address.bit is not None
        decode, encode = _bit_codec(address.bit)
    elif s7_type is S7Type.STRING:
        assert length is not None
        decode, encode = _string_codec(length)
        size, skip = 2 + length, 1
    elif s7_type is S7Type.DATE_AND_TIME:
        decode, encode = decode_date_and_time, encode_date_and_time
    else:
        decode, encode = _number_codec(s7_type, spec.data_type)
    return Point(
        key=spec.key,
        text=spec.address,
        address=address,
        s7_type=s7_type,
        size=size,
        decode=decode,
        encode=encode,
        write_skip=skip,
    )


def _bit_codec(bit: int) -> tuple[Callable[[bytes], TagValue], Callable[[TagValue], bytes]]:
    mask = 1 << bit

    def decode(raw: bytes) -> TagValue:
        return bool(raw[0] & mask)

    def encode(value: TagValue) -> bytes:
        if value is None or isinstance(value, str) or value not in (0, 1):
            raise AddressError(f"BOOL takes true or false, not {value!r}")
        # One byte holding 0 or 1: the PLC writes that single bit (transport size BIT).
        return b"\x01" if value else b"\x00"

    return decode, encode


def _number_codec(
    s7_type: S7Type, declared: DataType
) -> tuple[Callable[[bytes], TagValue], Callable[[TagValue], bytes]]:
    packer = struct.Struct(">" + _STRUCT[s7_type])
    is_float = s7_type in (S7Type.REAL, S7Type.LREAL)
    as_float = declared in (DataType.FLOAT32, DataType.FLOAT64) and not is_float
    unpack = packer.unpack

    if as_float:

        def decode(raw: bytes) -> TagValue:
            return float(unpack(raw)[0])
    else:

        def decode(raw: bytes) -> TagValue:
            return unpack(raw)[0]  # type: ignore[no-any-return]

    def encode(value: TagValue) -> bytes:
        if value is None or isinstance(value, str):
            raise AddressError(f"{s7_type.value} takes a number, not {value!r}")
        number: int | float
        if is_float:
            number = float(value)
        elif isinstance(value, float) and not value.is_integer():
            raise AddressError(f"{s7_type.value} takes a whole number, not {value!r}")
        else:
            number = int(value)
        try:
            return packer.pack(number)
        except (struct.error, OverflowError):
            raise AddressError(f"{value!r} is out of range for {s7_type.value}") from None

    return decode, encode


def _string_codec(length: int) -> tuple[Callable[[bytes], TagValue], Callable[[TagValue], bytes]]:
    def decode(raw: bytes) -> TagValue:
        # Byte 0 is the declared maximum, byte 1 the current length; trust neither beyond the bytes read.
        current = min(raw[1], raw[0] or length, length)
        return raw[2 : 2 + current].decode("latin-1")

    def encode(value: TagValue) -> bytes:
        if not isinstance(value, str):
            raise AddressError(f"STRING takes text, not {value!r}")
        try:
            text = value.encode("latin-1")
        except UnicodeEncodeError:
            raise AddressError(f"{value!r} has characters an S7 STRING cannot hold (Latin-1 only)") from None
        if len(text) > length:
            raise AddressError(f"{len(text)} characters do not fit in a STRING[{length}]")
        # From byte 1: the current length, then the characters; byte 0 (the maximum) stays the PLC's.
        return bytes((len(text),)) + text

    return decode, encode


def _from_bcd(byte: int) -> int:
    high, low = byte >> 4, byte & 0x0F
    if high > 9 or low > 9:
        raise ValueError(f"byte 0x{byte:02x} is not a BCD number")
    return high * 10 + low


def _to_bcd(number: int) -> int:
    return ((number // 10) << 4) | (number % 10)


def decode_date_and_time(raw: bytes) -> TagValue:
    """An S7 DATE_AND_TIME (8 BCD bytes) as ISO 8601 text, as the PLC's clock shows it (no zone)."""
    try:
        year = _from_bcd(raw[0])
        millis = _from_bcd(raw[6]) * 10 + _from_bcd(raw[7] >> 4)
        moment = datetime(
            1900 + year if year >= 90 else 2000 + year,
            _from_bcd(raw[1]),
            _from_bcd(raw[2]),
            _from_bcd(raw[3]),
            _from_bcd(raw[4]),
            _from_bcd(raw[5]),
            millis * 1000,
        )
    except ValueError as err:
        raise ValueError(f"not a valid DATE_AND_TIME ({raw[:8].hex(' ')}): {err}") from None
    return moment.isoformat(timespec="milliseconds")


def encode_date_and_time(value: TagValue) -> bytes:
    if not isinstance(value, str):
        raise AddressError(f"DATE_AND_TIME takes ISO 8601 text (2024-05-17T08:30:00), not {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise AddressError(f"{value!r} is not an ISO 8601 date and time (2024-05-17T08:30:00)") from None
    if moment.tzinfo is not None:
        raise AddressError(
            f"{value!r} has a time zone; a DATE_AND_TIME has none: write the PLC's local time without one"
        )
    if not 1990 <= moment.year <= 2089:
        raise AddressError(f"a DATE_AND_TIME holds the years 1990 to 2089, not {moment.year}")
    millis = moment.microsecond // 1000
    weekday = moment.isoweekday() % 7 + 1  # S7 counts 1 = Sunday … 7 = Saturday
    return bytes(
        (
            _to_bcd(moment.year % 100),
            _to_bcd(moment.month),
            _to_bcd(moment.day),
            _to_bcd(moment.hour),
            _to_bcd(moment.minute),
            _to_bcd(moment.second),
            _to_bcd(millis // 10),
            ((millis % 10) << 4) | weekday,
        )
    )


# ---------------------------------------------------------------------- read planning


@dataclass(frozen=True, kw_only=True)
class Item:
    """One variable of a multi-variable read: a byte range of one area (or DB)."""

    area: Area
    db: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def __str__(self) -> str:
        where = f"DB{self.db}" if self.area is Area.DB else _REGION_NAMES[self.area]
        return f"{where} bytes {self.start}-{self.end - 1}"


def request_size(items: int) -> int:
    """Bytes of a read request for this many variables."""
    return REQUEST_HEADER + PARAMETER_HEAD + ITEM_SPEC * items


def reply_size(sizes: Sequence[int]) -> int:
    """Bytes of the answer to a read of these item sizes (odd items but the last get a fill byte)."""
    last = len(sizes) - 1
    return (
        REPLY_HEADER
        + PARAMETER_HEAD
        + sum(ITEM_HEADER + size + (size % 2 if i < last else 0) for i, size in enumerate(sizes))
    )


def max_item_bytes(pdu_size: int) -> int:
    """The most bytes one read answer can carry for a single variable."""
    return pdu_size - REPLY_HEADER - PARAMETER_HEAD - ITEM_HEADER


def max_write_bytes(pdu_size: int) -> int:
    return pdu_size - WRITE_OVERHEAD


@dataclass(frozen=True, kw_only=True)
class Request:
    items: tuple[Item, ...]

    @property
    def request_bytes(self) -> int:
        return request_size(len(self.items))

    @functools.cached_property
    def pdu(self) -> bytes:
        """This read's request PDU with PDU reference 0, built once: ``with_reference`` stamps each send."""
        return read_request(self.items)

    @functools.cached_property
    def text(self) -> str:
        """What it reads, for messages: ``DB500 bytes 0-17, the flags (M) bytes 10-10``."""
        return ", ".join(str(item) for item in self.items)

    @property
    def reply_bytes(self) -> int:
        return reply_size([item.size for item in self.items])


# Where a point's bytes are in the answers: (request, item, first byte, end) in that item's data.
Part = tuple[int, int, int, int]


@dataclass(frozen=True, kw_only=True)
class ReadPlan:
    requests: tuple[Request, ...]
    points: tuple[Point, ...]
    parts: Mapping[str, tuple[Part, ...]]
    # How many points each (request, item) serves: a refused item of one point refuses that point.
    owners: Mapping[tuple[int, int], int]


def plan_reads(
    points: Iterable[Point],
    *,
    pdu_size: int,
    max_items: int = MAX_ITEMS,
    max_gap: int = 0,
    isolate: bool = False,
) -> ReadPlan:
    """Coalesce points into as few multi-variable read requests as the PDU size allows.

    Points of one area (or DB) are read as one variable when the unused gap between them is at most
    ``max_gap`` bytes and the variable fits in one answer; variables are packed into requests of at most
    ``max_items`` whose request and answer both fit in ``pdu_size`` bytes. A point too long for one
    answer is read as several variables. ``isolate`` reads every point on its own (no coalescing), to
    find which of them a PLC refuses.
    """
    points = tuple(points)
    limit = max_item_bytes(pdu_size)
    if limit < 1 or request_size(1) > pdu_size:
        raise ValueError(f"a PDU of {pdu_size} bytes cannot carry a read")
    by_region: dict[tuple[Area, int], list[Point]] = {}
    for point in points:
        by_region.setdefault(point.region, []).append(point)
    spans: list[tuple[Area, int, int, int, list[Point]]] = []  # area, db, start, end, points
    for (area, db), members in sorted(by_region.items()):
        members.sort(key=lambda p: (p.start, p.end))
        current: list[Point] = []
        start = end = 0
        for point in members:
            if (
                current
                and not isolate
                and point.start - end <= max_gap
                and max(end, point.end) - start <= limit
            ):
                current.append(point)
                end = max(end, point.end)
                continue
            if current:
                spans.append((area, db, start, end, current))
            current, start, end = [point], point.start, point.end
        if current:
            spans.append((area, db, start, end, current))

    # Cut spans longer than one answer, then pack the variables first-fit into requests.
    packed: list[list[Item]] = []
    located: list[tuple[list[tuple[Item, int, int]], list[Point]]] = []  # (item, request, index), points
    for area, db, start, end, members in spans:
        pieces: list[tuple[Item, int, int]] = []
        for offset in range(start, end, limit):
            item = Item(area=area, db=db, start=offset, size=min(limit, end - offset))
            request_index = _fit(packed, item, pdu_size, max_items)
            pieces.append((item, request_index, len(packed[request_index]) - 1))
        located.append((pieces, members))

    parts: dict[str, tuple[Part, ...]] = {}
    owners: dict[tuple[int, int], int] = {}
    for pieces, members in located:
        for point in members:
            found: list[Part] = []
            for item, request_index, item_index in pieces:
                low, high = max(point.start, item.start), min(point.end, item.end)
                if low < high:
                    found.append((request_index, item_index, low - item.start, high - item.start))
                    owners[(request_index, item_index)] = owners.get((request_index, item_index), 0) + 1
            parts[point.key] = tuple(found)
    return ReadPlan(
        requests=tuple(Request(items=tuple(items)) for items in packed),
        points=points,
        parts=parts,
        owners=owners,
    )


def _fit(packed: list[list[Item]], item: Item, pdu_size: int, max_items: int) -> int:
    for index, items in enumerate(packed):
        if len(items) >= max_items or request_size(len(items) + 1) > pdu_size:
            continue
        if reply_size([*(i.size for i in items), item.size]) <= pdu_size:
            items.append(item)
            return index
    packed.append([item])
    return len(packed) - 1


# ---------------------------------------------------------------------- PDUs

_HEADER = struct.Struct(">BBHHHH")  # protocol id, PDU type, reserved, reference, parameter and data length
_REPLY = struct.Struct(">BBHHHHBB")  # the same, then the error class and code of an answer
_READ_ITEM = struct.Struct(">BBBBHHB")  # specification, length, syntax id, transport, count, DB, area
_SPEC, _SPEC_LENGTH, _ANY, _BYTES = 0x12, 0x0A, 0x10, 0x02


def read_request(items: Sequence[Item]) -> bytes:
    """The request PDU reading these variables as bytes (S7-ANY addresses), with PDU reference 0."""
    parameters = bytes((READ_VAR, len(items))) + b"".join(
        _READ_ITEM.pack(_SPEC, _SPEC_LENGTH, _ANY, _BYTES, item.size, item.db, item.area)
        + (item.start * 8).to_bytes(3, "big")  # a bit address
        for item in items
    )
    return _HEADER.pack(PROTOCOL_ID, JOB, 0, 0, len(parameters), 0) + parameters


def with_reference(pdu: bytes, reference: int) -> bytearray:
    """A copy of a request PDU carrying this PDU reference (1 to 65535), which its answer repeats."""
    request = bytearray(pdu)
    request[4:6] = reference.to_bytes(2, "big")
    return request


class ReplyError(ValueError):
    """An answer that does not match its request (too short, another reference, wrong item count)."""


class RequestRefused(Exception):
    """The PLC refused a whole request: the answer's header carries an error class and code."""

    def __init__(self, error_class: int, error_code: int) -> None:
        super().__init__(f"error class 0x{error_class:02x}, code 0x{error_code:02x}")
        self.error_class = error_class
        self.error_code = error_code


def read_answer(answer: bytes | bytearray, reference: int, count: int) -> bytes | bytearray:
    """The data section of the answer to the read request with this PDU reference and ``count`` variables.

    Raises RequestRefused when the PLC refused the request, and ReplyError naming what does not match
    when the answer is not the one to this request: not S7, not an answer, another reference, lengths
    that do not add up, another function or number of variables.
    """
    return _answer_data(answer, reference, READ_VAR, count)


def write_answer(answer: bytes | bytearray, reference: int) -> int:
    """The return code in the answer to the write request (of one variable) with this PDU reference;
    RequestRefused or ReplyError as for ``read_answer``."""
    data = _answer_data(answer, reference, WRITE_VAR, 1)
    if len(data) != 1:
        raise ReplyError(f"{len(data)} bytes of data, not the one return code of a write")
    return data[0]


def _answer_data(answer: bytes | bytearray, reference: int, function: int, count: int) -> bytes | bytearray:
    if len(answer) < REPLY_HEADER:
        raise ReplyError(f"{len(answer)} bytes, too short for an S7 answer header ({REPLY_HEADER})")
    header = _REPLY.unpack_from(answer)
    protocol, kind, _reserved, answered, parameters, data, error_class, error_code = header
    if protocol != PROTOCOL_ID:
        raise ReplyError(f"protocol id 0x{protocol:02x}, not S7 (0x{PROTOCOL_ID:02x})")
    if kind not in (ACK, ACK_DATA):
        raise ReplyError(f"PDU type 0x{kind:02x}, not an answer (0x{ACK_DATA:02x})")
    if answered != reference:
        raise ReplyError(f"the answer to request {answered}, not to request {reference}")
    if error_class or error_code:
        raise RequestRefused(error_class, error_code)
    if kind != ACK_DATA:
        raise ReplyError(f"an acknowledgement without data (PDU type 0x{kind:02x})")
    if REPLY_HEADER + parameters + data != len(answer):
        raise ReplyError(
            f"{len(answer)} bytes where the header announces {REPLY_HEADER + parameters + data}"
            f" ({parameters} of parameters, {data} of data)"
        )
    if parameters != PARAMETER_HEAD:
        raise ReplyError(f"{parameters} bytes of parameters, not {PARAMETER_HEAD}")
    answered_function, items = answer[REPLY_HEADER], answer[REPLY_HEADER + 1]
    if answered_function != function:
        raise ReplyError(f"function 0x{answered_function:02x}, not 0x{function:02x}")
    if items != count:
        raise ReplyError(f"{items} variables, not the {count} asked for")
    return answer[REPLY_HEADER + PARAMETER_HEAD :]


# ---------------------------------------------------------------------- answers


ItemResult = tuple[int, bytes]  # return code, data


def split_reply(data: bytes | bytearray, sizes: Sequence[int]) -> list[ItemResult]:
    """The data section of a read answer as (return code, bytes) per requested variable."""
    results: list[ItemResult] = []
    offset = 0
    last = len(sizes) - 1
    for index, size in enumerate(sizes):
        if offset + ITEM_HEADER > len(data):
            raise ReplyError(f"the answer stops before variable {index + 1} of {len(sizes)}")
        code, transport, length = (
            data[offset],
            data[offset + 1],
            int.from_bytes(data[offset + 2 : offset + 4]),
        )
        offset += ITEM_HEADER
        if code != OK:
            results.append((code, b""))
            continue
        # Transport sizes 3 (bit), 4 (byte/word/dword) and 5 (integer) count bits, the others bytes.
        count = (length + 7) // 8 if transport in (0x03, 0x04, 0x05) else length
        chunk = bytes(data[offset : offset + count])
        if count != size or len(chunk) != size:
            raise ReplyError(f"variable {index + 1} of {len(sizes)} came with {len(chunk)} of {size} bytes")
        offset += count + (count % 2 if index < last else 0)
        results.append((code, chunk))
    return results


@dataclass(kw_only=True)
class Outcome:
    values: dict[str, TagValue] = field(default_factory=dict)
    # Read but not decodable (a DATE_AND_TIME that is no date): the tag shows bad quality.
    undecodable: dict[str, str] = field(default_factory=dict)
    # Refused by the PLC: the return code of the variable that held only this point.
    refused: dict[str, int] = field(default_factory=dict)
    # In a refused variable shared with other points: read them again one by one to find the culprit.
    suspects: list[str] = field(default_factory=list)


def collect(plan: ReadPlan, results: Sequence[Sequence[ItemResult]]) -> Outcome:
    """Each point's value from the answers of the plan's requests (in order)."""
    outcome = Outcome()
    values = outcome.values
    for point in plan.points:
        key = point.key
        parts = plan.parts[key]
        if len(parts) == 1:
            request_index, item_index, low, high = parts[0]
            code, data = results[request_index][item_index]
            if code == OK:
                raw = data[low:high]
            else:
                _refusal(outcome, plan, key, [(code, (request_index, item_index))])
                continue
        else:
            failed = [(results[r][i][0], (r, i)) for r, i, _low, _high in parts if results[r][i][0] != OK]
            if failed:
                _refusal(outcome, plan, key, failed)
                continue
            raw = b"".join(results[r][i][1][low:high] for r, i, low, high in parts)
        try:
            values[key] = point.decode(raw)
        except ValueError as err:
            outcome.undecodable[key] = str(err)
    return outcome


def _refusal(
    outcome: Outcome, plan: ReadPlan, key: str, failed: Sequence[tuple[int, tuple[int, int]]]
) -> None:
    for code, where in failed:
        if plan.owners[where] == 1:
            outcome.refused[key] = code
            return
    outcome.suspects.append(key)


def refusal_reason(point: Point, code: int) -> str:
    """What a refused variable means for this point, in words a person can act on."""
    address = point.address
    region = address.region()
    if code == 0x0A:
        if address.area is Area.DB:
            return f"the PLC has no {region} ({return_code_text(code)})"
        return f"the PLC does not offer {region} ({return_code_text(code)})"
    if code == 0x05:
        return f"beyond the end of {region} ({return_code_text(code)})"
    if code == 0x03:
        fix = "allow PUT/GET access"
        if address.area is Area.DB:
            fix += f" and turn off 'optimized block access' for {region}"
        return f"access denied ({return_code_text(code)}): on an S7-1200/1500 {fix}"
    return return_code_text(code)
