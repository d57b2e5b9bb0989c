"""S7 addresses, types, layouts, value images and multi-variable read planning (no network)."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snap7.datatypes import S7Area, S7WordLen
from snap7.s7protocol import S7Protocol

from linesight.domain.tags import DataType, TagSpec
from linesight.drivers.s7.codec import (
    OK,
    Address,
    AddressError,
    Area,
    Item,
    LayoutField,
    Point,
    ReplyError,
    RequestRefused,
    S7Type,
    collect,
    layout_problems,
    make_point,
    max_item_bytes,
    max_write_bytes,
    parse_address,
    parse_s7_type,
    plan_reads,
    read_answer,
    read_request,
    reply_size,
    request_size,
    split_reply,
    with_reference,
    write_answer,
)

RECORD = {
    "record": {
        "part_count": LayoutField(s7_type=S7Type.DINT, offset=0),
        "reject_count": LayoutField(s7_type=S7Type.DINT, offset=4),
        "status": LayoutField(s7_type=S7Type.WORD, offset=8),
        "running": LayoutField(s7_type=S7Type.BOOL, offset=9, bit=1),
        "temperature": LayoutField(s7_type=S7Type.REAL, offset=10),
        "order": LayoutField(s7_type=S7Type.STRING, offset=14, length=10),
    }
}


def tag(address: str, data_type: DataType = DataType.UINT16, name: str = "t", **options: object) -> TagSpec:
    return TagSpec(
        machine="m",
        name=name,
        address=address,
        data_type=data_type,
        options=tuple(sorted(options.items())),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("text", "area", "db", "start", "bit", "letter"),
    [
        ("DB500.DBX0.3", Area.DB, 500, 0, 3, "X"),
        ("db500.dbx0.3", Area.DB, 500, 0, 3, "X"),
        ("DB500.DBB2", Area.DB, 500, 2, None, "B"),
        ("DB500.DBW4", Area.DB, 500, 4, None, "W"),
        (" DB500.DBD6 ", Area.DB, 500, 6, None, "D"),
        ("M10.2", Area.FLAGS, 0, 10, 2, "X"),
        ("MX10.2", Area.FLAGS, 0, 10, 2, "X"),
        ("MB7", Area.FLAGS, 0, 7, None, "B"),
        ("MW20", Area.FLAGS, 0, 20, None, "W"),
        ("MD24", Area.FLAGS, 0, 24, None, "D"),
        ("I0.1", Area.INPUTS, 0, 0, 1, "X"),
        ("E0.1", Area.INPUTS, 0, 0, 1, "X"),
        ("IW64", Area.INPUTS, 0, 64, None, "W"),
        ("EW64", Area.INPUTS, 0, 64, None, "W"),
        ("Q4.0", Area.OUTPUTS, 0, 4, 0, "X"),
        ("A4.0", Area.OUTPUTS, 0, 4, 0, "X"),
        ("AB4", Area.OUTPUTS, 0, 4, None, "B"),
        ("QD8", Area.OUTPUTS, 0, 8, None, "D"),
    ],
)
def test_siemens_notation_in_english_and_german(
    text: str, area: Area, db: int, start: int, bit: int | None, letter: str
) -> None:
    address = parse_address(text)
    assert (address.area, address.db, address.start, address.bit, address.letter) == (
        area,
        db,
        start,
        bit,
        letter,
    )


def test_layout_addresses_name_a_start_a_layout_and_a_field() -> None:
    at_zero = parse_address("DB500:record.part_count")
    assert (at_zero.area, at_zero.db, at_zero.start, at_zero.layout, at_zero.field) == (
        Area.DB,
        500,
        0,
        "record",
        "part_count",
    )
    at_28 = parse_address("DB500.DBB28:record.part_count")
    assert (at_28.db, at_28.start) == (500, 28)
    flags = parse_address("MB100:record.status")
    assert (flags.area, flags.start, flags.field) == (Area.FLAGS, 100, "status")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DB500.DBQ4", "cannot read S7 address 'DB500.DBQ4'; use DB<n>.DBX<byte>.<bit>"),
        ("DB0.DBW0", "DB numbers go from 1 to 65535"),
        ("DB500.DBX0.8", "a bit number goes from 0 to 7"),
        ("DB500.DBX4", r"names a bit: add its number \(DB500.DBX4.0 to DB500.DBX4.7\)"),
        ("M10", r"add its number \(M10.0 to M10.7\), or use a size letter .* \(MB10, MW10, MD10\)"),
        ("DB500.DBW4.1", r"only a bit address \(X, e.g. DB500.DBX4.1\) has a bit number"),
        ("MW70000", "byte offsets go from 0 to 65535"),
        ("T5", "cannot read S7 address 'T5'"),
        ("DB500:record", r"use <start>:<layout>.<field>"),
        ("DB500.DBW2:record.part_count", r"<start> is DB<n> \(the layout at byte 0\), DB<n>.DBB<byte>"),
    ],
)
def test_bad_addresses_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        parse_address(text)


@pytest.mark.parametrize(
    ("address", "data_type", "options", "expected"),
    [
        ("DB1.DBX0.0", DataType.BOOL, {}, S7Type.BOOL),
        ("DB1.DBB0", DataType.UINT16, {}, S7Type.BYTE),
        ("DB1.DBB0", DataType.INT16, {}, S7Type.SINT),
        ("DB1.DBW0", DataType.UINT16, {}, S7Type.WORD),
        ("DB1.DBW0", DataType.INT16, {}, S7Type.INT),
        ("DB1.DBD0", DataType.UINT32, {}, S7Type.DWORD),
        ("DB1.DBD0", DataType.INT32, {}, S7Type.DINT),
        ("DB1.DBD0", DataType.FLOAT32, {}, S7Type.REAL),
        ("DB1.DBB0", DataType.STRING, {"length": 8}, S7Type.STRING),
        ("DB1.DBX10.0", DataType.STRING, {"length": 8}, S7Type.STRING),
        ("DB1.DBD0", DataType.FLOAT64, {"s7_type": "real"}, S7Type.REAL),
        ("DB1.DBW0", DataType.FLOAT64, {"s7_type": "INT"}, S7Type.INT),
        ("DB1.DBW0", DataType.INT32, {"s7_type": "UINT"}, S7Type.UINT),
        ("DB1.DBB0", DataType.FLOAT64, {"s7_type": "LREAL"}, S7Type.LREAL),
        ("DB1.DBX0.0", DataType.FLOAT64, {"s7_type": "LREAL"}, S7Type.LREAL),
        ("MB0", DataType.INT64, {"s7_type": "LINT"}, S7Type.LINT),
        ("DB1.DBB0", DataType.STRING, {"s7_type": "DT"}, S7Type.DATE_AND_TIME),
    ],
)
def test_the_size_letter_and_the_type_name_the_s7_type(
    address: str, data_type: DataType, options: dict[str, object], expected: S7Type
) -> None:
    assert make_point(tag(address, data_type, **options), {}).s7_type is expected


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (tag("DB1.DBX0.3", DataType.FLOAT64), ("type",), "DB1.DBX0.3 is one bit: declare type: bool"),
        (
            tag("DB1.DBW4", DataType.FLOAT64),
            ("type",),
            r"DB1.DBW4 with type float64: declare type uint16 \(WORD\) or int16 \(INT\), or name the "
            r"PLC's type with option s7_type \(WORD, UINT, INT\)",
        ),
        (
            tag("DB1.DBD4", DataType.INT64),
            ("type",),
            r"declare type uint32 \(DWORD\), int32 \(DINT\) or float32 \(REAL\)",
        ),
        (tag("DB1.DBB4", DataType.FLOAT64), ("type",), r"s7_type \(BYTE, USINT, SINT, LREAL, LINT, ULINT,"),
        (tag("DB1.DBW4", DataType.FLOAT32, s7_type="REAL"), ("address",), "address it as DB1.DBD4"),
        (tag("MD4", DataType.FLOAT64, s7_type="LREAL"), ("address",), "give the byte where it starts, MB4"),
        (tag("DB1.DBW4", DataType.INT16, s7_type="WORD"), ("type",), "WORD at DB1.DBW4 needs type uint16,"),
        (tag("DB1.DBD4", DataType.INT16, s7_type="DINT"), ("type",), "needs type int32, int64 or float64"),
        (tag("DB1.DBD4", DataType.FLOAT32, s7_type="FLOAT"), ("options", "s7_type"), "unknown S7 type"),
        (tag("DB1.DBB4", DataType.STRING), ("options",), "an S7 STRING needs option length"),
        (tag("DB1.DBB4", DataType.STRING, length=300), ("options", "length"), "1 to 254"),
        (tag("DB1.DBW4", DataType.INT16, length=3), ("options", "length"), "applies to an S7 STRING only"),
        (tag("DB1.DBW4", DataType.INT16, s7type="INT"), ("options", "s7type"), "unknown option s7type"),
        (tag("DB1:recrd.status"), ("address",), "no layout 'recrd' in the connection; layouts: record"),
        (tag("DB1:record.stat"), ("address",), "layout 'record' has no field 'stat'; its fields: part_count"),
        (tag("DB1:record.running"), ("type",), "BOOL at DB1:record.running needs type bool"),
        (tag("DB1:record.status", s7_type="INT"), ("options", "s7_type"), "given by the layout's field"),
        (tag("DB1.DBB65530:record.temperature", DataType.FLOAT32), ("address",), "ends beyond byte 65535"),
    ],
)
def test_tag_mistakes_are_explained_where_they_are(
    spec: TagSpec, field: tuple[str, ...], message: str
) -> None:
    with pytest.raises(AddressError, match=message) as refused:
        make_point(spec, RECORD)
    assert refused.value.field == field


def test_s7_type_names_are_read_in_any_case_and_unknown_ones_listed() -> None:
    assert parse_s7_type("dint") is S7Type.DINT
    assert parse_s7_type("Date_And_Time") is S7Type.DATE_AND_TIME
    with pytest.raises(AddressError, match=r"allowed: BOOL, BYTE, .*DATE_AND_TIME"):
        parse_s7_type("DOUBLE")


def test_a_layout_field_lands_at_the_layouts_start_plus_its_offset() -> None:
    parts = make_point(tag("DB500:record.part_count", DataType.FLOAT64), RECORD)
    assert (parts.address.db, parts.start, parts.size, parts.s7_type) == (500, 0, 4, S7Type.DINT)
    second = make_point(tag("DB500.DBB28:record.temperature", DataType.FLOAT64), RECORD)
    assert (second.start, second.size) == (38, 4)
    running = make_point(tag("DB500:record.running", DataType.BOOL), RECORD)
    assert (running.start, running.address.bit) == (9, 1)
    order = make_point(tag("DB500:record.order", DataType.STRING), RECORD)
    assert (order.start, order.size) == (14, 12)
    # A DINT read into a float64 tag (the default type) arrives as a float.
    assert parts.decode(struct.pack(">i", -7)) == -7.0 and isinstance(parts.decode(b"\0\0\0\1"), float)


def test_overlapping_layout_fields_are_found_but_a_bool_may_sit_in_a_word() -> None:
    fields = dict(RECORD["record"])
    assert layout_problems(fields) == []
    fields["alarm"] = LayoutField(s7_type=S7Type.WORD, offset=12)
    assert layout_problems(fields) == [
        ("alarm", "field 'alarm' (bytes 12-13) overlaps field 'temperature' (bytes 10-13)")
    ]


# Known images: (address, declared type, options, the value, the bytes the PLC holds).
KNOWN = [
    ("DB1.DBB0", DataType.UINT16, {}, 200, b"\xc8"),
    ("DB1.DBB0", DataType.INT16, {}, -56, b"\xc8"),
    ("DB1.DBB0", DataType.UINT16, {"s7_type": "USINT"}, 255, b"\xff"),
    ("DB1.DBW0", DataType.UINT16, {}, 0xABCD, b"\xab\xcd"),
    ("DB1.DBW0", DataType.INT16, {}, -2, b"\xff\xfe"),
    ("DB1.DBW0", DataType.UINT32, {"s7_type": "UINT"}, 65535, b"\xff\xff"),
    ("DB1.DBD0", DataType.UINT32, {}, 3_000_000_000, b"\xb2\xd0\x5e\x00"),
    ("DB1.DBD0", DataType.INT32, {}, -123456789, b"\xf8\xa4\x32\xeb"),
    ("DB1.DBD0", DataType.UINT32, {"s7_type": "UDINT"}, 4_294_967_295, b"\xff\xff\xff\xff"),
    ("DB1.DBD0", DataType.FLOAT32, {}, 1.5, b"\x3f\xc0\x00\x00"),
    ("DB1.DBB0", DataType.FLOAT64, {"s7_type": "LREAL"}, -0.1, struct.pack(">d", -0.1)),
    ("DB1.DBB0", DataType.INT64, {"s7_type": "LINT"}, -2, b"\xff" * 7 + b"\xfe"),
    ("DB1.DBB0", DataType.UINT64, {"s7_type": "ULINT"}, 2**63 + 5, b"\x80" + b"\0" * 6 + b"\x05"),
    # 12 July 2020 17:32:02.854, a Sunday: S7 counts the weekday from 1 = Sunday.
    (
        "DB1.DBB0",
        DataType.STRING,
        {"s7_type": "DT"},
        "2020-07-12T17:32:02.854",
        bytes.fromhex("2007121732028541"),
    ),
]


@pytest.mark.parametrize(("address", "data_type", "options", "value", "image"), KNOWN)
def test_known_images_decode_and_encode(
    address: str, data_type: DataType, options: dict[str, object], value: object, image: bytes
) -> None:
    point = make_point(tag(address, data_type, **options), {})
    assert point.size == len(image)
    assert point.decode(image) == value
    assert point.encode(value) == image  # type: ignore[arg-type]


@given(
    st.sampled_from(
        [
            (S7Type.BYTE, 0, 255),
            (S7Type.SINT, -128, 127),
            (S7Type.WORD, 0, 65535),
            (S7Type.INT, -32768, 32767),
            (S7Type.DWORD, 0, 2**32 - 1),
            (S7Type.DINT, -(2**31), 2**31 - 1),
            (S7Type.LINT, -(2**63), 2**63 - 1),
            (S7Type.ULINT, 0, 2**64 - 1),
        ]
    ),
    st.data(),
)
def test_every_integer_survives_encode_then_decode(
    kind: tuple[S7Type, int, int], data: st.DataObject
) -> None:
    s7_type, low, high = kind
    declared = DataType.UINT64 if s7_type is S7Type.ULINT else DataType.INT64
    address = "DB1.DBB0" if not s7_type.letter else f"DB1.DB{s7_type.letter}0"
    point = make_point(tag(address, declared, s7_type=s7_type.value), {})
    value = data.draw(st.integers(low, high))
    assert point.decode(point.encode(value)) == value


@given(st.floats(width=32, allow_nan=False), st.floats(allow_nan=False))
def test_every_real_and_lreal_survives_encode_then_decode(single: float, double: float) -> None:
    real = make_point(tag("DB1.DBD0", DataType.FLOAT32), {})
    lreal = make_point(tag("DB1.DBB0", DataType.FLOAT64, s7_type="LREAL"), {})
    assert real.decode(real.encode(single)) == single
    assert lreal.decode(lreal.encode(double)) == double


def test_values_that_do_not_fit_are_refused_with_the_reason() -> None:
    word = make_point(tag("DB1.DBW0"), {})
    with pytest.raises(AddressError, match="70000 is out of range for WORD"):
        word.encode(70000)
    with pytest.raises(AddressError, match=r"WORD takes a whole number, not 2\.5"):
        word.encode(2.5)
    with pytest.raises(AddressError, match="WORD takes a number"):
        word.encode("7")
    assert word.encode(7.0) == b"\x00\x07"
    real = make_point(tag("DB1.DBD0", DataType.FLOAT32), {})
    with pytest.raises(AddressError, match="out of range for REAL"):
        real.encode(1e39)
    bit = make_point(tag("M0.5", DataType.BOOL), {})
    with pytest.raises(AddressError, match="BOOL takes true or false"):
        bit.encode(2)


def test_bits_read_their_own_bit_and_write_one_byte_for_it() -> None:
    bit = make_point(tag("DB1.DBX3.5", DataType.BOOL), {})
    assert (bit.start, bit.size) == (3, 1)
    assert bit.decode(bytes([0b0010_0000])) is True
    assert bit.decode(bytes([0b1101_1111])) is False
    assert bit.encode(True) == b"\x01" and bit.encode(False) == b"\x00"


def test_strings_read_their_header_and_write_from_the_length_byte() -> None:
    text = make_point(tag("DB1.DBB10", DataType.STRING, length=8), {})
    assert (text.start, text.size, text.write_skip) == (10, 10, 1)
    assert text.decode(b"\x08\x05O4410\0\0\0") == "O4410"
    assert text.decode(b"\0\0" + b"\0" * 8) == ""  # a DB never written holds zeros
    assert text.decode(b"\x08\xffABCDEFGH") == "ABCDEFGH"  # a current length above the maximum is capped
    assert text.encode("AB") == b"\x02AB"
    assert text.encode("Müller") == b"\x06M\xfcller"  # Latin-1, one byte a character
    with pytest.raises(AddressError, match="9 characters do not fit in a STRING\\[8\\]"):
        text.encode("123456789")
    with pytest.raises(AddressError, match="Latin-1 only"):
        text.encode("→")


def test_date_and_time_is_iso_text_as_the_plc_clock_shows_it() -> None:
    moment = make_point(tag("DB1.DBB0", DataType.STRING, s7_type="DATE_AND_TIME"), {})
    image = bytes.fromhex("99123123595999") + bytes([0x97])  # 1999-12-31 23:59:59.999, a Friday (6)
    assert moment.decode(image) == "1999-12-31T23:59:59.999"
    assert moment.encode("1999-12-31T23:59:59.999") == bytes.fromhex("99123123595999") + bytes([0x96])
    assert moment.encode("2024-05-17T08:30:00") == bytes.fromhex("2405170830000006")  # a Friday: 6
    with pytest.raises(ValueError, match="not a valid DATE_AND_TIME"):
        moment.decode(bytes(8))  # month 0: a DB never written
    with pytest.raises(ValueError, match="is not a BCD number"):
        moment.decode(bytes.fromhex("2A01010000000001"))
    with pytest.raises(AddressError, match="has a time zone"):
        moment.encode("2024-05-17T08:30:00+02:00")
    with pytest.raises(AddressError, match="years 1990 to 2089"):
        moment.encode("2100-01-01T00:00:00")
    with pytest.raises(AddressError, match="not an ISO 8601 date"):
        moment.encode("yesterday")
    assert datetime.fromisoformat(str(moment.decode(moment.encode("2089-01-01T00:00:00")))).year == 2089


# ---------------------------------------------------------------------- planning


def test_request_and_reply_sizes_match_what_snap7_builds() -> None:
    protocol = S7Protocol()
    for count in (1, 2, 19, 20):
        specs = [(S7Area.DB, 1, 10 * i, 3) for i in range(count)]
        assert len(protocol.build_multi_read_request(specs)) == request_size(count)
    data = b"\x01\x02\x03"
    request = protocol.build_write_request(S7Area.DB, 1, 0, S7WordLen.BYTE, data)
    assert len(request) == 480 - max_write_bytes(480) + len(data)
    # An answer: header 12, function and count 2, then per variable 4 + data (+1 after odd ones but the last).
    assert reply_size([3, 4, 1]) == 12 + 2 + (4 + 3 + 1) + (4 + 4) + (4 + 1)
    assert max_item_bytes(240) == 222


def point(address: str, name: str, data_type: DataType = DataType.UINT16, **options: object) -> Point:
    return make_point(tag(address, data_type, name=name, **options), {})


def test_nearby_values_of_one_db_coalesce_within_the_gap() -> None:
    points = [
        point("DB1.DBW0", "a"),
        point("DB1.DBD2", "b", DataType.FLOAT32),
        point("DB1.DBX2.3", "bit", DataType.BOOL),  # inside b's bytes
        point("DB1.DBW20", "c"),  # 14 unused bytes after b: joins with max_gap 16
        point("DB1.DBW60", "far"),  # 38 unused bytes: a variable of its own
        point("DB2.DBW0", "other_db"),
        point("MW0", "flag_word"),
        point("IW0", "input_word"),
    ]
    plan = plan_reads(points, pdu_size=480, max_gap=16)
    assert len(plan.requests) == 1
    variables = sorted((i.area, i.db, i.start, i.size) for i in plan.requests[0].items)
    assert variables == [
        (Area.INPUTS, 0, 0, 2),
        (Area.FLAGS, 0, 0, 2),
        (Area.DB, 1, 0, 22),
        (Area.DB, 1, 60, 2),
        (Area.DB, 2, 0, 2),
    ]
    isolated = plan_reads(points, pdu_size=480, max_gap=16, isolate=True)
    assert sum(len(r.items) for r in isolated.requests) == len(points)


def test_requests_keep_to_twenty_variables_and_to_the_pdu_size() -> None:
    # 100 words in 100 DBs: no coalescing possible, so 100 variables.
    points = [point(f"DB{n}.DBW0", f"w{n}") for n in range(1, 101)]
    for pdu_size, max_items, expected in ((960, 20, 5), (480, 20, 5), (240, 20, 6), (480, 8, 13)):
        plan = plan_reads(points, pdu_size=pdu_size, max_items=max_items)
        assert len(plan.requests) == expected, pdu_size
        for request in plan.requests:
            assert len(request.items) <= max_items
            assert request.request_bytes <= pdu_size and request.reply_bytes <= pdu_size
    # At a PDU of 240 the request is the limit: 12 + 12 x 19 = 240.
    assert [len(r.items) for r in plan_reads(points, pdu_size=240).requests] == [19] * 5 + [5]


def test_answers_fill_the_pdu_and_a_value_longer_than_one_answer_is_split() -> None:
    # Eleven 100-byte strings at a PDU of 240: two fit in an answer (14 + 2 x 106 = 226).
    strings = [point(f"DB1.DBB{n * 200}", f"s{n}", DataType.STRING, length=98) for n in range(11)]
    plan = plan_reads(strings, pdu_size=240, max_gap=0)
    assert [len(r.items) for r in plan.requests] == [2, 2, 2, 2, 2, 1]
    assert all(r.reply_bytes <= 240 for r in plan.requests)
    # A STRING[254] is 256 bytes: more than the 222 one answer carries at a PDU of 240.
    long = point("DB1.DBB0", "long", DataType.STRING, length=254)
    plan = plan_reads([long], pdu_size=240)
    pieces = [(i.start, i.size) for r in plan.requests for i in r.items]
    assert pieces == [(0, 222), (222, 34)]
    assert len(plan.parts["m.long"]) == 2
    image = b"\xfe\x03abc" + bytes(251)
    results = [[(OK, image[i.start : i.end]) for i in request.items] for request in plan.requests]
    assert collect(plan, results).values == {"m.long": "abc"}


def test_answers_are_split_per_variable_with_fill_bytes_and_refusals() -> None:
    # Three variables of 3, 2 and 1 bytes; the second refused (no data), the first padded to even.
    data = b"\xff\x04\x00\x18ABC\x00" + b"\x0a\x00\x00\x00" + b"\xff\x04\x00\x08Z"
    assert split_reply(data, [3, 2, 1]) == [(OK, b"ABC"), (0x0A, b""), (OK, b"Z")]
    with pytest.raises(ReplyError, match="variable 1 of 1 came with 2 of 4 bytes"):
        split_reply(b"\xff\x04\x00\x10AB", [4])
    with pytest.raises(ReplyError, match="stops before variable 2 of 2"):
        split_reply(b"\xff\x04\x00\x08A", [1, 1])


def test_read_requests_are_the_pdus_snap7_builds_with_the_reference_stamped_in() -> None:
    items = [
        Item(area=Area.DB, db=500, start=0, size=18),
        Item(area=Area.FLAGS, db=0, start=10, size=1),
        Item(area=Area.INPUTS, db=0, start=65535, size=222),
        Item(area=Area.OUTPUTS, db=0, start=4, size=2),
    ]
    protocol = S7Protocol()
    for count in (1, 4):
        built = protocol.build_multi_read_request([(i.area, i.db, i.start, i.size) for i in items[:count]])
        pdu = read_request(items[:count])
        assert len(pdu) == request_size(count)
        assert pdu[4:6] == b"\x00\x00"
        assert with_reference(pdu, protocol.sequence) == built
    plan = plan_reads([point("DB1.DBW0", "a"), point("MW2", "b")], pdu_size=480)
    (request,) = plan.requests
    assert request.pdu is request.pdu  # built once per plan
    assert request.pdu == read_request(request.items)
    assert request.text == "the flags (M) bytes 2-3, DB1 bytes 0-1"
    assert with_reference(request.pdu, 0xBEEF)[4:6] == b"\xbe\xef"


def _answer(reference: int = 7, *, data: bytes = b"\xff\x04\x00\x10AB", items: int = 1) -> bytes:
    """A read answer: header (ACK_DATA, no error), function and count, the data section."""
    return struct.pack(">BBHHHHBB", 0x32, 0x03, 0, reference, 2, len(data), 0, 0) + bytes((4, items)) + data


def test_a_read_answer_gives_its_data_section_once_everything_in_its_header_matches() -> None:
    assert read_answer(_answer(), 7, 1) == b"\xff\x04\x00\x10AB"
    assert split_reply(read_answer(bytearray(_answer()), 7, 1), [2]) == [(OK, b"AB")]
    refused = _answer()[:10] + b"\x85\x00"  # the PLC refused the whole request: error class and code
    with pytest.raises(RequestRefused, match="error class 0x85, code 0x00") as caught:
        read_answer(refused, 7, 1)
    assert (caught.value.error_class, caught.value.error_code) == (0x85, 0x00)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (_answer()[:11], "11 bytes, too short for an S7 answer header (12)"),
        (b"\x33" + _answer()[1:], "protocol id 0x33, not S7 (0x32)"),
        (_answer()[:1] + b"\x01" + _answer()[2:], "PDU type 0x01, not an answer (0x03)"),
        (_answer(reference=6), "the answer to request 6, not to request 7"),
        (_answer()[:1] + b"\x02" + _answer()[2:], "an acknowledgement without data (PDU type 0x02)"),
        (_answer()[:-1], "19 bytes where the header announces 20 (2 of parameters, 6 of data)"),
        (_answer() + b"\x00", "21 bytes where the header announces 20"),
        (_answer()[:12] + b"\x05\x01" + _answer()[14:], "function 0x05, not 0x04"),
        (_answer(items=2), "2 variables, not the 1 asked for"),
    ],
)
def test_a_read_answer_that_is_not_the_one_to_the_request_says_what_does_not_match(
    answer: bytes, problem: str
) -> None:
    with pytest.raises(ReplyError) as caught:
        read_answer(answer, 7, 1)
    assert str(caught.value).startswith(problem)


def test_a_write_answer_gives_its_return_code() -> None:
    def answer(data: bytes) -> bytes:
        return struct.pack(">BBHHHHBB", 0x32, 0x03, 0, 9, 2, len(data), 0, 0) + b"\x05\x01" + data

    assert write_answer(answer(b"\xff"), 9) == OK
    assert write_answer(answer(b"\x0a"), 9) == 0x0A
    with pytest.raises(ReplyError, match="2 bytes of data, not the one return code of a write"):
        write_answer(answer(b"\xff\xff"), 9)
    with pytest.raises(ReplyError, match="function 0x05, not 0x04"):
        read_answer(answer(b"\xff"), 9, 1)
    error = struct.pack(">BBHHHHBB", 0x32, 0x02, 0, 9, 0, 0, 0x84, 0x04)  # as the emulator refuses
    with pytest.raises(RequestRefused, match="error class 0x84, code 0x04"):
        write_answer(error, 9)


def test_a_refused_variable_refuses_its_only_tag_or_makes_its_tags_suspects() -> None:
    points = [
        point("DB1.DBW0", "a"),
        point("DB1.DBW2", "b"),
        point("DB9.DBW0", "alone"),
        point("DB1.DBD4", "c", DataType.FLOAT32),
    ]
    plan = plan_reads(points, pdu_size=480, max_gap=4)
    (request,) = plan.requests
    codes = {(i.db, i.start): (0x05 if i.db == 1 else 0x0A) for i in request.items}
    results = [[(codes[(i.db, i.start)], b"") for i in request.items]]
    outcome = collect(plan, results)
    assert outcome.refused == {"m.alone": 0x0A}
    assert sorted(outcome.suspects) == ["m.a", "m.b", "m.c"]
    assert outcome.values == {}
    good = [[(OK, bytes(i.size)) for i in request.items]]
    assert collect(plan, good).values == {"m.a": 0, "m.b": 0, "m.alone": 0, "m.c": 0.0}


def test_an_undecodable_value_is_reported_not_raised() -> None:
    moment = point("DB1.DBB0", "moment", DataType.STRING, s7_type="DT")
    plan = plan_reads([moment], pdu_size=480)
    outcome = collect(plan, [[(OK, bytes(8))]])
    assert outcome.values == {} and "not a valid DATE_AND_TIME" in outcome.undecodable["m.moment"]


def test_the_address_keeps_the_users_notation_for_suggestions() -> None:
    assert parse_address("EW4").spelled("D") == "ED4"
    assert parse_address("db7.dbw4").spelled("B", 9) == "DB7.DBB9"
    assert isinstance(parse_address("A0.0"), Address)
