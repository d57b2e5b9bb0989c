"""MTConnect documents, addresses and values: parsing, refusals and conversions without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from linesight.domain.tags import DataType
from linesight.drivers.mtconnect.codec import (
    Address,
    AddressError,
    AgentError,
    ConditionStates,
    DataItem,
    Devices,
    DocumentError,
    ItemIndex,
    Observation,
    Streams,
    address_type_problem,
    convert,
    latest,
    parse_address,
    parse_document,
    parse_timestamp,
    type_problem,
)

from .mtconnect_server import CURRENT_13, ERROR_13, PROBE_13, streams


def us(text: str) -> int:
    when = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def probe() -> Devices:
    document = parse_document(PROBE_13, "Devices")
    assert isinstance(document, Devices)
    return document


def current() -> Streams:
    document = parse_document(CURRENT_13, "Streams")
    assert isinstance(document, Streams)
    return document


# ---------------------------------------------------------------------- documents


def test_a_probe_gives_every_data_item_with_its_device_type_subtype_and_units() -> None:
    devices = probe()
    assert devices.header.instance_id == 1714800000
    assert devices.header.buffer_size == 131072
    assert devices.device_names == ("VMC-3Axis",)
    by_id = {item.id: item for item in devices.items}
    assert len(by_id) == len(devices.items) == 14
    assert by_id["Xact"] == DataItem(
        id="Xact",
        device="VMC-3Axis",
        device_uuid="000",
        category="SAMPLE",
        type="POSITION",
        name="Xact",
        sub_type="ACTUAL",
        units="MILLIMETER",
    )
    assert by_id["Xtravel"].name == "" and by_id["Xtravel"].category == "CONDITION"
    assert by_id["vars"].representation == "DATA_SET"
    assert by_id["avail"].type == "AVAILABILITY"  # a data item of the device itself


def test_a_current_gives_observations_in_sequence_order_with_the_agents_utc_timestamps() -> None:
    document = current()
    assert (document.first_sequence, document.last_sequence, document.next_sequence) == (1, 119, 120)
    sequences = [o.sequence for o in document.observations]
    assert sequences == sorted(sequences) and len(sequences) == 15
    by_id = {o.item_id: o for o in document.observations if not o.condition}
    assert by_id["execution"].text == "ACTIVE"
    assert by_id["execution"].ts_us == us("2026-05-04T08:00:04")
    assert by_id["Fact"].ts_us == us("2026-05-04T08:00:04.987654")  # 7 digits: cut to microseconds
    assert by_id["Sload"].ts_us == us("2026-05-04T08:00:01.250000")  # +02:00 taken back to UTC
    assert by_id["program"].text == "O1002 & O1003"
    assert by_id["vars"].text == "offset=1.5 tool=T12"  # a data set's entries as key=value text


def test_unavailable_values_and_conditions_have_no_text() -> None:
    by_id = {o.item_id: o for o in current().observations}
    assert by_id["Sspeed"].text is None  # UNAVAILABLE
    assert by_id["Xtravel"].condition and by_id["Xtravel"].text is None  # <Unavailable/>


def test_a_current_folds_each_condition_to_its_worst_active_level() -> None:
    values = latest(current().observations, ConditionStates())
    assert values["system"].text == "FAULT"  # a warning and a fault active at once
    assert values["system"].ts_us == us("2026-05-04T08:00:03")
    assert values["Xtravel"].text is None


def test_condition_changes_follow_native_codes_until_a_normal_clears_them() -> None:
    states = ConditionStates()

    def seen(element: str, code: str = "") -> str | None:
        levels = {"Normal": "NORMAL", "Warning": "WARNING", "Fault": "FAULT", "Unavailable": None}
        return states.apply(
            Observation(
                item_id="system",
                sequence=1,
                ts_us=0,
                element=element,
                text=levels[element],
                condition=True,
                native_code=code,
            )
        )

    assert seen("Normal") == "NORMAL"
    assert seen("Warning", "2051") == "WARNING"
    assert seen("Fault", "1002") == "FAULT"
    assert seen("Normal", "1002") == "WARNING"  # the fault cleared, the warning still stands
    assert seen("Fault", "1003") == "FAULT"
    assert seen("Normal") == "NORMAL"  # no code: everything cleared
    assert seen("Fault", "1004") == "FAULT"
    assert seen("Unavailable") is None
    assert seen("Warning", "2051") == "WARNING"  # unavailable forgot the old fault


def test_an_error_document_gives_its_codes_and_texts() -> None:
    document = parse_document(ERROR_13, "Streams")
    assert isinstance(document, AgentError)
    assert document.codes == {"OUT_OF_RANGE"}
    assert "15021" in document.describe()
    assert document.header.instance_id == 1714800000


def test_an_error_document_of_mtconnect_2_5_names_each_error_by_element() -> None:
    data = b"""<?xml version="1.0"?>
<MTConnectError xmlns="urn:mtconnect.org:MTConnectError:2.5">
  <Header creationTime="2026-05-04T08:00:06Z" sender="a" instanceId="7" version="2.5.0.1" bufferSize="16"/>
  <Errors><OutOfRange><ErrorMessage>from is too small</ErrorMessage></OutOfRange></Errors>
</MTConnectError>"""
    document = parse_document(data, "Streams")
    assert isinstance(document, AgentError)
    assert document.codes == {"OUT_OF_RANGE"}
    assert "from is too small" in document.describe()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<MTConnectStreams xmlns="urn:example:other"/>',
            "in namespace 'urn:example:other', not an MTConnect",
        ),
        (b"<MTConnectStreams/>", "without a namespace"),
        (b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:3.0"/>', "not an MTConnect 1.x/2.x"),
        (b'<Other xmlns="urn:mtconnect.org:MTConnectStreams:2.0"/>', "<Other> root element"),
        (PROBE_13, "expected an MTConnectStreams document, received MTConnectDevices"),
        (b'<MTConnectAssets xmlns="urn:mtconnect.org:MTConnectAssets:2.0"/>', "received MTConnectAssets"),
        (b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0"/>', "has no Header"),
        (streams().replace(b'nextSequence="120"', b""), "<Header> has no nextSequence"),
        (
            streams('<Execution dataItemId="e" timestamp="x">ACTIVE</Execution>'),
            "<Execution> has no sequence",
        ),
        (
            streams('<Execution sequence="4" timestamp="2026-05-04T08:00:00Z">ACTIVE</Execution>'),
            "has no dataItemId",
        ),
    ],
)
def test_documents_of_the_wrong_kind_or_shape_are_refused_naming_what_was_received(
    data: bytes, message: str
) -> None:
    with pytest.raises(DocumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_document(data, "Streams")


def test_an_observation_without_a_usable_timestamp_takes_the_documents_not_the_clocks() -> None:
    document = parse_document(streams('<Execution dataItemId="e" sequence="4">READY</Execution>'), "Streams")
    assert isinstance(document, Streams)
    assert document.observations[0].ts_us == us("2026-05-04T08:00:05")


def test_malformed_xml_is_reported_with_line_and_column() -> None:
    data = (
        b'<?xml version="1.0"?>\n'
        b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">\n'
        b"  <Header></Head>"
    )
    with pytest.raises(DocumentError, match=r"mismatched tag at line 3, column 13"):
        parse_document(data, "Streams")


def test_a_doctype_is_refused_before_any_entity_is_expanded() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">&lol9;</MTConnectStreams>"""
    with pytest.raises(DocumentError, match=r"has a DOCTYPE \(line 2\)"):
        parse_document(bomb, "Streams")
    external = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">&xxe;</MTConnectStreams>"""
    with pytest.raises(DocumentError, match="DOCTYPE"):
        parse_document(external, "Streams")


def test_an_entity_without_a_doctype_is_just_malformed() -> None:
    data = b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">&xxe;</MTConnectStreams>'
    with pytest.raises(DocumentError, match="undefined entity at line 1"):
        parse_document(data, "Streams")


def test_deep_nesting_is_refused() -> None:
    data = b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0">' + b"<a>" * 100_000
    with pytest.raises(DocumentError, match="nested deeper than 128"):
        parse_document(data, "Streams")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-04T08:00:04Z", "2026-05-04T08:00:04"),
        ("2026-05-04T08:00:04.5Z", "2026-05-04T08:00:04.500000"),
        ("2026-05-04T08:00:04.123456789Z", "2026-05-04T08:00:04.123456"),
        ("2026-05-04T08:00:04", "2026-05-04T08:00:04"),  # no zone: MTConnect time is UTC
        ("2026-05-04T05:00:04-03:00", "2026-05-04T08:00:04"),
        ("2026-05-04T09:30:04+0130", "2026-05-04T08:00:04"),
    ],
)
def test_timestamps_are_utc_microseconds(text: str, expected: str) -> None:
    assert parse_timestamp(text) == us(expected)


def test_a_bad_timestamp_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp"):
        parse_timestamp("yesterday")


# ---------------------------------------------------------------------- addresses


def index(default_device: str | None = None) -> ItemIndex:
    return ItemIndex(items=probe().items, default_device=default_device)


@pytest.mark.parametrize(
    ("address", "item_id"),
    [
        ("execution", "execution"),  # an id (it is also the name)
        ("Xact", "Xact"),
        ("PartCount", "pc"),  # a name
        ("VMC-3Axis:PartCount", "pc"),  # a device, then a name
        ("000:mode", "mode"),  # a device by its uuid
        ("Execution", "execution"),  # a type, as the element is named
        ("CONTROLLER_MODE", "mode"),  # a type, as the probe names it
        ("PathFeedrate.ACTUAL", "Fact"),  # a type and its subType
        ("path_feedrate.override", "Fovr"),
        ("RotaryVelocity", "Sspeed"),  # the 1.2 name of the 1.0 SPINDLE_SPEED
        ("EmergencyStop", "estop"),
    ],
)
def test_an_address_names_a_data_item_by_id_name_or_type(address: str, item_id: str) -> None:
    assert index().resolve(parse_address(address)).id == item_id


def test_the_agents_own_data_items_are_reached_by_id_or_by_naming_the_agent() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.2">
  <Header creationTime="2026-05-04T08:00:00Z" sender="agent" instanceId="9" version="2.2.0.1"
      bufferSize="4096"/>
  <Devices>
    <Agent id="agent_1" name="Agent" uuid="agent-uuid">
      <DataItems><DataItem category="EVENT" id="agent_avail" type="AVAILABILITY"/></DataItems>
    </Agent>
    <Device id="m1" name="Mazak" uuid="mazak-1">
      <DataItems><DataItem category="EVENT" id="m1_avail" type="AVAILABILITY"/></DataItems>
    </Device>
  </Devices>
</MTConnectDevices>"""
    document = parse_document(data, "Devices")
    assert isinstance(document, Devices) and document.device_names == ("Agent", "Mazak")
    found = ItemIndex(items=document.items)
    assert found.resolve(parse_address("Availability")).id == "m1_avail"  # the machine's, not the agent's
    assert found.resolve(parse_address("agent_avail")).id == "agent_avail"
    assert found.resolve(parse_address("Agent:Availability")).id == "agent_avail"


def test_an_ambiguous_address_lists_the_candidates() -> None:
    with pytest.raises(
        AddressError, match=r"'PathFeedrate' matches 2 data items: Fact \(SAMPLE, PATH_FEEDRATE"
    ):
        index().resolve(parse_address("PathFeedrate"))


def test_an_unknown_address_lists_known_ids() -> None:
    with pytest.raises(
        AddressError, match=r"no data item 'ghost' in the probe; known ids: avail, Xact, Xtravel"
    ):
        index().resolve(parse_address("ghost"))
    with pytest.raises(AddressError, match=r"of device VMC-3Axis; known ids: avail.*\(14 in all\)"):
        index("VMC-3Axis").resolve(parse_address("ghost"))
    with pytest.raises(AddressError, match="the agent has no device 'lathe'; it has: VMC-3Axis"):
        index().resolve(parse_address("lathe:execution"))


@pytest.mark.parametrize("text", ["", "two words", "a:b:c", ":x", "x:"])
def test_a_malformed_address_says_what_is_allowed(text: str) -> None:
    with pytest.raises(AddressError, match="use a data item id"):
        parse_address(text)


def test_addresses_print_as_written() -> None:
    assert str(parse_address(" dev1:PartCount ")) == "dev1:PartCount"
    assert parse_address("Xact") == Address(device=None, ref="Xact")


def test_text_data_items_and_conditions_need_a_string_tag() -> None:
    by_id = {item.id: item for item in probe().items}
    assert "declare type: string" in (type_problem(by_id["execution"], DataType.INT16) or "")
    assert "is a condition" in (type_problem(by_id["system"], DataType.FLOAT64) or "")
    assert "is text" in (type_problem(by_id["vars"], DataType.FLOAT64) or "")
    assert type_problem(by_id["execution"], DataType.STRING) is None
    assert type_problem(by_id["pc"], DataType.UINT32) is None
    assert type_problem(by_id["Sspeed"], DataType.STRING) is None  # a number shown as text is fine
    assert address_type_problem(parse_address("dev:Execution"), DataType.FLOAT64) == (
        "'Execution' is text: declare type: string"
    )
    assert address_type_problem(parse_address("exec"), DataType.FLOAT64) is None  # only known after a probe


# ---------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("text", "data_type", "value"),
    [
        ("ACTIVE", DataType.STRING, "ACTIVE"),
        ("33757", DataType.UINT32, 33757),
        ("33757.0", DataType.INT32, 33757),
        ("12345678901234567890", DataType.UINT64, 12345678901234567890),  # exact, not through a float
        ("8000.5", DataType.FLOAT64, 8000.5),
        ("1.2e3", DataType.FLOAT32, 1200.0),
        ("-12.75", DataType.FLOAT64, -12.75),
        ("true", DataType.BOOL, True),
        ("OFF", DataType.BOOL, False),
        ("0", DataType.BOOL, False),
        ("2.5", DataType.BOOL, True),
    ],
)
def test_values_are_converted_to_the_tags_type(text: str, data_type: DataType, value: object) -> None:
    converted = convert(text, data_type)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("text", "data_type"),
    [("ACTIVE", DataType.INT32), ("ARMED", DataType.BOOL), ("nan", DataType.INT16), ("", DataType.FLOAT64)],
)
def test_a_value_that_is_not_of_the_tags_type_is_a_value_error(text: str, data_type: DataType) -> None:
    with pytest.raises(ValueError):  # float() and int() word it their own way
        convert(text, data_type)
