"""Modbus addresses, every data type in every byte and word order, and read planning."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linesight.domain.tags import DataType, TagSpec
from linesight.drivers.modbus.codec import (
    Address,
    AddressError,
    Table,
    make_point,
    parse_address,
    plan_reads,
    split_block,
)


def tag(address: str, data_type: DataType = DataType.UINT16, name: str = "t", **options: object) -> TagSpec:
    return TagSpec(
        machine="m",
        name=name,
        address=address,
        data_type=data_type,
        options=tuple(sorted(options.items())),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hr:100", Address(table=Table.HOLDING_REGISTERS, offset=100)),
        ("holding:0", Address(table=Table.HOLDING_REGISTERS, offset=0)),
        ("IR:7", Address(table=Table.INPUT_REGISTERS, offset=7)),
        ("coil:12", Address(table=Table.COILS, offset=12)),
        ("di:3", Address(table=Table.DISCRETE_INPUTS, offset=3)),
        ("hr:100.15", Address(table=Table.HOLDING_REGISTERS, offset=100, bit=15)),
        ("40001", Address(table=Table.HOLDING_REGISTERS, offset=0)),
        ("40101", Address(table=Table.HOLDING_REGISTERS, offset=100)),
        ("30001", Address(table=Table.INPUT_REGISTERS, offset=0)),
        ("00001", Address(table=Table.COILS, offset=0)),
        ("10005", Address(table=Table.DISCRETE_INPUTS, offset=4)),
        ("465536", Address(table=Table.HOLDING_REGISTERS, offset=65535)),
        ("40011.2", Address(table=Table.HOLDING_REGISTERS, offset=10, bit=2)),
    ],
)
def test_addresses_are_read_in_both_notations(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hx:1", "unknown Modbus table 'hx'"),
        ("40000", "starts at 1"),
        ("hr:70000", "0 to 65535"),
        ("co:1.2", "registers only"),
        ("hr:1.16", "registers only"),
        ("register 5", "cannot read Modbus address"),
    ],
)
def test_bad_addresses_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        parse_address(text)


# Known register images: the value as a big-endian device sends it, words in order.
KNOWN = [
    (DataType.INT16, -2, [0xFFFE]),
    (DataType.UINT16, 65535, [0xFFFF]),
    (DataType.INT32, -123456789, [0xF8A4, 0x32EB]),
    (DataType.UINT32, 3_000_000_000, [0xB2D0, 0x5E00]),
    (DataType.FLOAT32, 1.5, [0x3FC0, 0x0000]),
    (DataType.INT64, -2, [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE]),
    (DataType.UINT64, 2**63 + 5, [0x8000, 0x0000, 0x0000, 0x0005]),
    (DataType.FLOAT64, -0.1, list(struct.unpack(">4H", struct.pack(">d", -0.1)))),
]


@pytest.mark.parametrize(("data_type", "value", "words"), KNOWN)
def test_known_register_images_decode_in_every_byte_and_word_order(
    data_type: DataType, value: float, words: list[int]
) -> None:
    swap = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    images = {
        ("big", "big"): words,
        ("big", "little"): list(reversed(words)),
        ("little", "big"): swap,
        ("little", "little"): list(reversed(swap)),
    }
    for (byte_order, word_order), image in images.items():
        point = make_point(tag("hr:10", data_type, byte_order=byte_order, word_order=word_order), 1)
        assert point.size == len(words)
        assert point.decode(image) == value, (byte_order, word_order)
        assert point.encode(value) == image


@given(
    st.sampled_from([d for d, _v, _w in KNOWN]),
    st.sampled_from(["big", "little"]),
    st.sampled_from(["big", "little"]),
    st.data(),
)
def test_every_value_survives_encode_then_decode(
    data_type: DataType, byte_order: str, word_order: str, data: st.DataObject
) -> None:
    bits = {
        DataType.INT16: 16,
        DataType.UINT16: 16,
        DataType.INT32: 32,
        DataType.UINT32: 32,
        DataType.INT64: 64,
        DataType.UINT64: 64,
    }
    if data_type is DataType.FLOAT32:
        value: float = data.draw(st.floats(width=32, allow_nan=False))
    elif data_type is DataType.FLOAT64:
        value = data.draw(st.floats(allow_nan=False))
    else:
        width = bits[data_type]
        signed = data_type.value.startswith("int")
        low, high = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if signed else (0, 2**width - 1)
        value = data.draw(st.integers(low, high))
    point = make_point(tag("hr:0", data_type, byte_order=byte_order, word_order=word_order), 1)
    words = point.encode(value)
    assert all(0 <= w <= 0xFFFF for w in words)  # type: ignore[operator]
    decoded = point.decode(words)
    assert decoded == value or (isinstance(decoded, float) and math.isclose(decoded, value))


def test_strings_bits_and_flags() -> None:
    text = make_point(tag("hr:0", DataType.STRING, length=6), 1)
    assert text.size == 3
    assert text.decode([0x4F31, 0x3233, 0x0000]) == "O123"  # NUL-padded
    assert text.encode("AB") == [0x4142, 0x0000, 0x0000]
    swapped = make_point(tag("hr:0", DataType.STRING, length=4, byte_order="little"), 1)
    assert swapped.decode([0x314F, 0x3332]) == "O123"
    bit = make_point(tag("hr:5.3", DataType.BOOL), 1)
    assert bit.decode([0b1000]) is True and bit.decode([0b0111]) is False
    coil = make_point(tag("co:5", DataType.BOOL), 1)
    assert coil.decode([True]) is True and coil.encode(False) == [False]
    flag = make_point(tag("hr:5", DataType.BOOL), 1)
    assert flag.decode([7]) is True and flag.encode(True) == [1]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (tag("co:1", DataType.UINT16), "holds a bool: declare type: bool"),
        (tag("hr:1.2", DataType.INT16), "one bit of a register holds a bool"),
        (tag("hr:1", DataType.STRING), "needs option length"),
        (
            tag("hr:1", DataType.INT32, word_order="middle"),
            "option word_order is 'middle'; allowed: big, little",
        ),
        (tag("hr:1", DataType.INT32, device_id=300), "device_id must be a number from 0 to 255"),
        (tag("hr:1", DataType.INT32, wordorder="big"), "unknown option wordorder"),
    ],
)
def test_tag_mistakes_are_explained(spec: TagSpec, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        make_point(spec, 1)


def test_reads_coalesce_within_the_gap_and_the_request_limit() -> None:
    points = [
        make_point(tag(address, data_type, name=f"t{i}"), 1)
        for i, (address, data_type) in enumerate(
            [
                ("hr:0", DataType.UINT16),
                ("hr:1", DataType.FLOAT32),  # 1-2
                ("hr:10", DataType.UINT16),  # gap of 7: joins
                ("hr:40", DataType.UINT16),  # gap of 29: a new request
                ("hr:1.4", DataType.BOOL),  # inside an existing range
                ("ir:0", DataType.UINT16),  # another table
                ("co:0", DataType.BOOL),
                ("co:9", DataType.BOOL),
            ]
        )
    ]
    points.append(make_point(tag("hr:0", DataType.UINT16, name="other-device", device_id=2), 1))
    blocks = plan_reads(points, max_gap=16)
    summary = sorted((b.device_id, b.table.value, b.start, b.count, len(b.points)) for b in blocks)
    assert summary == [
        (1, "co", 0, 10, 2),
        (1, "hr", 0, 11, 4),
        (1, "hr", 40, 1, 1),
        (1, "ir", 0, 1, 1),
        (2, "hr", 0, 1, 1),
    ]
    coils = [make_point(tag(f"co:{i}", DataType.BOOL, name=f"c{i}"), 1) for i in (0, 1999, 2000)]
    assert [b.count for b in plan_reads(coils, max_gap=2000)] == [2000, 1]  # 2,000 bits per request at most
    long_run = [make_point(tag(f"hr:{i * 2}", DataType.UINT32, name=f"r{i}"), 1) for i in range(100)]
    blocks = plan_reads(long_run, max_gap=0)
    assert [b.count for b in blocks] == [124, 76]  # 62 values of two registers fit in 125
    first, second = split_block(blocks[0])
    assert (first.start, first.count, second.start, second.count) == (0, 62, 62, 62)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 60),
            st.sampled_from([d for d, _v, _w in KNOWN] + [DataType.BOOL, DataType.STRING]),
            st.sampled_from(["big", "little"]),
            st.sampled_from(["big", "little"]),
            st.integers(0, 15),
        ),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.integers(0, 0xFFFF), min_size=70, max_size=70),
)
def test_a_block_decodes_every_point_as_the_point_alone_would(
    specs: list[tuple[int, DataType, str, str, int]], registers: list[int]
) -> None:
    # Overlapping points, gaps, bits, strings and swapped orders, decoded together by the block's Struct.
    points = []
    for index, (offset, data_type, byte_order, word_order, bit) in enumerate(specs):
        if data_type is DataType.BOOL:
            spec = tag(f"hr:{offset}.{bit}", data_type, name=f"p{index}")
        elif data_type is DataType.STRING:
            spec = tag(f"hr:{offset}", data_type, name=f"p{index}", length=5, byte_order=byte_order)
        else:
            spec = tag(
                f"hr:{offset}", data_type, name=f"p{index}", byte_order=byte_order, word_order=word_order
            )
        points.append(make_point(spec, 1))
    for block in plan_reads(points, max_gap=125):
        data = registers[block.start : block.start + block.count]
        expected = {
            p.key: p.decode(data[p.address.offset - block.start : p.address.offset - block.start + p.size])
            for p in block.points
        }
        decoded = block.values(data)
        assert decoded.keys() == expected.keys()
        for key, value in expected.items():
            assert decoded[key] == value or (value != value and decoded[key] != decoded[key])  # NaN == NaN
