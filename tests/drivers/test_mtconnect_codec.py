"""MTConnect documents, addresses and values: parsing, refusals and conversions without any I/O."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import pytest

from linesight.domain.tags import DataType
from linesight.drivers.mtconnect import codec
from linesight.drivers.mtconnect.codec import (
    Address,
    AddressError,
    AgentError,
    ConditionStates,
    DataItem,
    Devices,
    DocumentError,
    Header,
    ItemIndex,
    Observation,
    Streams,
    address_type_problem,
    convert,
    document_kind,
    latest,
    parse_address,
    parse_document,
    parse_timestamp,
    parse_xml,
    type_problem,
)
from linesight.virtualplant.mtconnect_agent import MTConnectAgent, SimulatedMachine

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


@pytest.mark.parametrize("expected", ["Streams", "Devices"])
def test_an_encoding_the_parser_does_not_know_is_a_document_error(
    expected: Literal["Streams", "Devices"],
) -> None:
    # expat asks Python's codecs for it; their LookupError must not leave the codec as it is.
    data = b'<?xml version="1.0" encoding="bogus"?>\n<MTConnectStreams/>'
    with pytest.raises(
        DocumentError, match="not readable XML: the declaration names an unknown encoding: bogus"
    ):
        parse_document(data, expected)


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


# ---------------------------------------------------------------------- the streaming parser
#
# Streams documents are parsed by expat handlers that build observations as they are read. The tree walk
# it replaced is kept below as the reference: every document, answer or refusal, must come out the same.


def _tree_local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _tree_children(element: ET.Element, local: str) -> list[ET.Element]:
    return [child for child in element if _tree_local(child.tag) == local]


def _tree_int(element: ET.Element, attribute: str, *, required: bool) -> int | None:
    raw = element.get(attribute)
    if raw is None:
        if required:
            raise DocumentError(f"<{_tree_local(element.tag)}> has no {attribute}")
        return None
    try:
        return int(raw)
    except ValueError:
        raise DocumentError(
            f"<{_tree_local(element.tag)}> {attribute}='{raw[:40]}' is not a number"
        ) from None


def _tree_timestamp(text: str | None) -> int | None:
    try:
        return None if text is None else parse_timestamp(text)
    except ValueError:
        return None


def tree_walk(data: bytes) -> Streams:
    """parse_document(data, "Streams") as it was: an element tree, walked once the whole was read."""
    root = parse_xml(data)
    kind, _version = document_kind(root)
    if kind != "Streams":
        raise DocumentError(f"expected an MTConnectStreams document, received MTConnect{kind}")
    found = next(iter(_tree_children(root, "Header")), None)
    if found is None:
        raise DocumentError("the MTConnectStreams document has no Header")
    header = Header(
        instance_id=_tree_int(found, "instanceId", required=True),
        buffer_size=_tree_int(found, "bufferSize", required=False),
        first_sequence=_tree_int(found, "firstSequence", required=True),
        last_sequence=_tree_int(found, "lastSequence", required=True),
        next_sequence=_tree_int(found, "nextSequence", required=True),
        creation_us=_tree_timestamp(found.get("creationTime")),
        version=found.get("version", ""),
    )
    observations: list[Observation] = []
    for container in _tree_children(root, "Streams"):
        for device in _tree_children(container, "DeviceStream"):
            for component in _tree_children(device, "ComponentStream"):
                for group in component:
                    category = _tree_local(group.tag)
                    if category in ("Samples", "Events", "Condition"):
                        observations.extend(
                            _tree_observation(e, header, category == "Condition") for e in group
                        )
    observations.sort(key=lambda observation: observation.sequence)
    return Streams(header=header, observations=tuple(observations))


def _tree_observation(element: ET.Element, header: Header, condition: bool) -> Observation:
    local = _tree_local(element.tag)
    item_id = element.get("dataItemId")
    if not item_id:
        raise DocumentError(f"an observation <{local}> has no dataItemId")
    sequence = _tree_int(element, "sequence", required=True)
    assert sequence is not None
    ts_us = _tree_timestamp(element.get("timestamp"))
    if ts_us is None:
        ts_us = header.creation_us
        if ts_us is None:
            raise DocumentError(f"observation {item_id} (sequence {sequence}) has no usable timestamp")
    text: str | None
    levels = {"Normal": "NORMAL", "Warning": "WARNING", "Fault": "FAULT", "Unavailable": None}
    if condition:
        if local not in levels:
            raise DocumentError(
                f"condition {item_id} is a <{local}>, not Normal, Warning, Fault or Unavailable"
            )
        text = levels[local]
    else:
        entries = _tree_children(element, "Entry")
        if entries:
            text = " ".join(f"{entry.get('key', '')}={(entry.text or '').strip()}" for entry in entries)
        else:
            text = (element.text or "").strip()
        if text == "UNAVAILABLE":
            text = None
    return Observation(
        item_id=item_id,
        sequence=sequence,
        ts_us=ts_us,
        element=local,
        text=text,
        condition=condition,
        native_code=element.get("nativeCode", "") if condition else "",
    )


def outcome(parse: Callable[[bytes], object], data: bytes) -> object:
    try:
        return parse(data)
    except DocumentError as err:
        return f"DocumentError: {err}"


STREAMS_2 = 'xmlns="urn:mtconnect.org:MTConnectStreams:2.0"'
HEADER = (
    '<Header creationTime="2031-02-03T04:05:06.5Z" instanceId="5" bufferSize="64" firstSequence="1"'
    ' lastSequence="99" nextSequence="100" version="2.0.0"/>'
)


def document(
    streams_body: str, *, header: str = HEADER, prolog: str = "", after: str = "", tail: str = ""
) -> bytes:
    """A Streams document: its ``prolog``, then in its root the Header, ``after``, <Streams>, ``tail``."""
    return (
        f'<?xml version="1.0"?>\n{prolog}<MTConnectStreams {STREAMS_2}>{header}{after}'
        f"<Streams>{streams_body}</Streams>{tail}</MTConnectStreams>"
    ).encode()


def path(*observations: str, group: str = "Events") -> str:
    body = "".join(observations)
    component = f'<ComponentStream component="Path"><{group}>{body}</{group}></ComponentStream>'
    return f'<DeviceStream name="m">{component}</DeviceStream>'


def event(
    sequence: int, text: str = "ACTIVE", *, ts: str = "2031-02-03T04:05:06.25Z", extra: str = ""
) -> str:
    attributes = f'dataItemId="e{sequence}" sequence="{sequence}" timestamp="{ts}"{extra}'
    return f"<Execution {attributes}>{text}</Execution>"


# Timestamps of every form parse_timestamp reads (and some it does not), on dates no other test uses, so
# that the first parse finds no second of them cached and the second finds them all.
TIMESTAMPS = [
    "2031-02-03T04:05:06Z",
    "2031-02-03T04:05:06.5Z",
    "2031-02-03T04:05:06.123456Z",
    "2031-02-03T04:05:06.1234567Z",  # 7 digits: cut to microseconds
    "2031-02-03T04:05:06.123456789Z",
    "2031-02-03T04:05:06.000001z",
    "2031-02-03T04:05:06.25",  # no zone: UTC
    "2031-02-03T04:05:06",
    "2031-02-03T06:05:06.75+02:00",
    "2031-02-03T02:35:06-0130",
    "2031-02-03T04:05:06.5+00:00",
    "  2031-02-03T04:05:07.5Z ",
    "2031-02-03t04:05:08Z",
    "2031-02-03T04:05:06.٣Z",  # an Arabic-Indic 3: a digit to the regex and to int()
    "2031-02-03T04:05:06.²Z",  # a superscript 2: str.isdigit says yes, the regex no
    "2031-02-03T04:05:06.Z",
    "2031-02-03T04:05:06.5ZZ",
    "2031-02-03T04:05:06.5X",
    "2031-13-03T04:05:06Z",  # no 13th month: calendar.timegm refuses it
    "2031-02-30T25:61:61Z",  # timegm rolls these over
    "2031-02-03 04:05:06Z",
    "yesterday",
    "",
]

CREATED = ' creationTime="2031-02-03T04:05:06.5Z"'
NO_ID = '<Execution sequence="1" timestamp="2031-02-03T04:05:06Z">A</Execution>'
BAD_SEQUENCE = '<Execution dataItemId="s" sequence="x" timestamp="2031-02-03T04:05:06Z">A</Execution>'
ALARM = '<Alarm dataItemId="c" sequence="1" timestamp="2031-02-03T04:05:06Z"/>'

# Refused by expat's handlers as the bytes are read.
REFUSED_AS_READ = {
    "an internal entity": document(path(event(1)), prolog='<!DOCTYPE x [<!ENTITY e "e">]>'),
    "an external DTD": b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:1/x.dtd">'
    + document(path(event(1)))[21:],
    "an undefined entity": document(path(event(1, "&e;"))),
    "deep nesting": document(path(event(1)) + "<a>" * 200),
    "a truncated document": document(path(event(1)))[:-40],
}

TRICKY = [
    # whitespace, comments, CDATA and references in and between the elements
    document(
        "\n  "
        + path(
            '\n    <Program dataItemId="p" sequence="3" timestamp="2031-02-03T04:05:06Z">\n'
            "  O1 &amp; <!-- c --><![CDATA[<O2>]]> &#x41;\n    </Program>\n    ",
            '<Block dataItemId="b" sequence="2" timestamp="2031-02-03T04:05:06Z"><?pi x?>G01 X1</Block>',
        )
        + "\n"
    ),
    # data sets: entries, an entry with a child, another element first, nested and key-less entries
    document(
        path(
            '<Variable dataItemId="v" sequence="4" timestamp="2031-02-03T04:05:06Z">head'
            '<Entry key="a"> 1 </Entry>mid<Entry key="b">2<x>ignored</x>3</Entry><Entry>4</Entry>'
            '<Other><Entry key="deep">5</Entry></Other>tail</Variable>',
            '<Variable dataItemId="w" sequence="5" timestamp="2031-02-03T04:05:06Z">own<Other>x</Other>'
            "tail</Variable>",
            '<Variable dataItemId="x" sequence="6" timestamp="2031-02-03T04:05:06Z"><Other/>'
            '<Entry key="k"/></Variable>',
            '<Variable dataItemId="y" sequence="7" timestamp="2031-02-03T04:05:06Z"> UNAVAILABLE <x/>'
            "</Variable>",
            '<Variable dataItemId="z" sequence="8" timestamp="2031-02-03T04:05:06Z"><Entry key="a">'
            "<Entry key='b'>1</Entry>2</Entry></Variable>",
        )
    ),
    # conditions: every element, codes, text and entries ignored; an UNAVAILABLE text is a level's
    document(
        path(
            '<Normal dataItemId="c" sequence="9" timestamp="2031-02-03T04:05:06Z"/>',
            '<Warning dataItemId="c" sequence="10" timestamp="2031-02-03T04:05:06Z" nativeCode="7">'
            "UNAVAILABLE</Warning>",
            '<Fault dataItemId="c" sequence="11" timestamp="2031-02-03T04:05:06Z" nativeCode="">'
            '<Entry key="a">1</Entry></Fault>',
            '<Unavailable dataItemId="c" sequence="12" timestamp="2031-02-03T04:05:06Z" nativeCode="9"/>',
            group="Condition",
        )
        + path(event(13, "UNAVAILABLE"), event(14, ""), event(15, " spaced  out "), group="Samples")
    ),
    # off the route: groups and observations where none is looked for; prefixes; several containers
    document(
        '<Samples><Execution dataItemId="no1" sequence="20" timestamp="2031-02-03T04:05:06Z">x</Execution>'
        "</Samples>"
        '<DeviceStream><Samples><Execution dataItemId="no2" sequence="21">x</Execution></Samples>'
        '<ComponentStream><Other><Execution dataItemId="no3" sequence="22">x</Execution></Other>'
        '<Events><Execution dataItemId="yes1" sequence="23" timestamp="2031-02-03T04:05:06Z">A</Execution>'
        "</Events></ComponentStream></DeviceStream>"
        '<x:DeviceStream xmlns:x="urn:other"><x:ComponentStream><x:Samples><x:Load dataItemId="yes2"'
        ' sequence="24" timestamp="2031-02-03T04:05:06Z">1</x:Load></x:Samples></x:ComponentStream>'
        "</x:DeviceStream>",
        after=f"<Streams>{path(event(25))}</Streams><Other><Streams>{path(event(26))}</Streams></Other>",
    ),
    # the Header after the Streams, a second Header, observations without (usable) timestamps
    document(path(event(30, ts="bad")), header="", tail=HEADER.replace('"5"', '"6"') + HEADER),
    document(path(event(31, ts="bad"), '<Execution dataItemId="t" sequence="32">A</Execution>')),
    document(path(event(33, ts="bad")), header=HEADER.replace(' creationTime="2031-02-03T04:05:06.5Z"', "")),
    document(
        path(event(34, ts="bad")),
        header="",
        tail=HEADER.replace(' creationTime="2031-02-03T04:05:06.5Z"', ""),
    ),
    document(path(event(35)), header="", tail=f"<Other>{HEADER}</Other>"),
    # equal sequence numbers keep the document's order
    document(path(event(40, "first"), event(39), event(40, "second")) + path(event(40, "third"))),
    # refusals, and which one comes first when there are several
    document(path('<Execution sequence="1" timestamp="2031-02-03T04:05:06Z">A</Execution>')),
    document(path('<Execution dataItemId="" sequence="1">A</Execution>')),
    document(path('<Execution dataItemId="e" timestamp="2031-02-03T04:05:06Z">A</Execution>')),
    document(path('<Execution dataItemId="e" sequence=" 7 ">A</Execution>', event(8).replace('"8"', '"x"'))),
    document(path(event(1).replace('sequence="1"', 'sequence="1_000"'), event(2).replace('"2"', '"+2"'))),
    document(path(event(1).replace('sequence="1"', 'sequence="1.5"'))),
    document(path(event(1).replace('sequence="1"', 'sequence="' + "9" * 5000 + '"'))),
    document(
        path('<Alarm dataItemId="c" sequence="1" timestamp="2031-02-03T04:05:06Z"/>', group="Condition")
    ),
    document(
        path(event(1).replace('dataItemId="e1" ', ""), event(2).replace('sequence="2"', 'sequence="x"'))
    ),
    document(path(event(1).replace('dataItemId="e1" ', "")), header=HEADER.replace('nextSequence="100"', "")),
    document(
        path(event(1).replace('dataItemId="e1" ', "")),
        header=HEADER.replace('instanceId="5"', 'instanceId="x"'),
    ),
    document(path(event(1).replace('dataItemId="e1" ', "")), header=""),
    document(path(event(2).replace('sequence="2"', "")), header="", tail=HEADER),
    document(
        path(event(3, ts="bad")),
        header="",
        tail=HEADER.replace(' creationTime="2031-02-03T04:05:06.5Z"', ""),
    ),
    # refused before the Header and after it: the one before comes first, as it did in the tree
    document(path(NO_ID), header="", tail=f"{HEADER}<Streams>{path(BAD_SEQUENCE)}</Streams>"),
    document(path(BAD_SEQUENCE), header="", tail=f"{HEADER}<Streams>{path(NO_ID)}</Streams>"),
    document(path(event(1, ts="bad"), NO_ID), header="", tail=HEADER.replace(CREATED, "")),
    document(path(ALARM.replace("2031-02-03T04:05:06Z", "bad"), group="Condition"), header="", tail=HEADER),
    document(
        path(ALARM.replace("2031-02-03T04:05:06Z", "bad"), group="Condition"),
        header="",
        tail=HEADER.replace(CREATED, ""),
    ),
    document(path(event(1).replace('dataItemId="e1" ', "")))[:-20],  # refused, then malformed: malformed
    document(path(event(1, "caf\xe9")))
    .decode()
    .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="latin-1"?>')
    .encode("latin-1"),
    *REFUSED_AS_READ.values(),
    # not Streams documents: refused the same way, whichever parser read them
    b"",
    b"not xml",
    b"<html><body>Not Found</html>",
    b"<html><body>Not Found</body></html>",
    document(path(event(1))).replace(b"MTConnectStreams:2.0", b"MTConnectStreams:3.0"),
    document(path(event(1))).replace(b"MTConnectStreams:2.0", b"MTConnectDevices:2.0"),
    document(path(event(1))).replace(b' xmlns="urn:mtconnect.org:MTConnectStreams:2.0"', b""),
    b'<m:MTConnectStreams xmlns:m="urn:mtconnect.org:MTConnectStreams:1.3"><m:Header instanceId="1"'
    b' firstSequence="1" lastSequence="1" nextSequence="2"/></m:MTConnectStreams>',
    b'<Other xmlns="urn:mtconnect.org:MTConnectStreams:2.0"><Header/></Other>',
    b'<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.0}x"/>',
    b'<MTConnectAssets xmlns="urn:mtconnect.org:MTConnectAssets:2.0"/>',
]
TIMESTAMPED = document(path(*(event(n, ts=ts) for n, ts in enumerate(TIMESTAMPS, start=1))))


def rendered_by_the_virtual_agent(version: str) -> list[bytes]:
    """/current and /sample answers of the virtual agent with thousands of observations of every kind."""
    ticks = itertools.count()

    def clock() -> float:  # a few dozen observations a second: each answer spans many seconds
        return 1_930_000_000.0 + next(ticks) * 0.0173

    machine = SimulatedMachine.from_profile("lathe1", "cnc", seed=3, start=1_930_000_000.0)
    with MTConnectAgent([machine], sample_every=None, version=version, clock=clock) as agent:
        answers = [agent.answer("/current")[1]]
        for n in range(3000):
            agent.sample()
            agent.record("lathe1", "part_count", str(n))
            agent.record("lathe1", "system", ("NORMAL", "WARNING", "FAULT")[n % 3], native_code=str(n % 5))
            if n % 500 == 0:
                agent.set_available("lathe1", n % 1000 != 0)
        first, following = agent.sequences()
        for start in range(first, following, 1000):
            answers.append(agent.answer(f"/sample?from={start}&count=1000")[1])
        answers.append(agent.answer("/current")[1])
    return [answer.encode() for answer in answers]


TEST_DOCUMENTS = [
    CURRENT_13,
    PROBE_13,
    streams(),
    streams('<Execution dataItemId="e" sequence="4">READY</Execution>'),
    streams('<Execution dataItemId="e" timestamp="x">ACTIVE</Execution>'),
    streams().replace(b'nextSequence="120"', b""),
    *TRICKY,
    TIMESTAMPED,
]


@pytest.mark.parametrize("data", TEST_DOCUMENTS, ids=range(len(TEST_DOCUMENTS)))
def test_the_streaming_parser_reads_every_document_as_the_tree_walk_did(data: bytes) -> None:
    expected = outcome(tree_walk, data)
    assert outcome(lambda data: parse_document(data, "Streams"), data) == expected
    assert outcome(lambda data: parse_document(data, "Streams"), data) == expected  # seconds now cached


@pytest.mark.parametrize("version", ["2.0", "1.3"])
def test_the_streaming_parser_reads_the_virtual_agents_answers_as_the_tree_walk_did(version: str) -> None:
    answers = rendered_by_the_virtual_agent(version)
    total = 0
    for data in answers:
        expected = tree_walk(data)
        assert parse_document(data, "Streams") == expected
        total += len(expected.observations)
    assert total > 5000


def test_timestamps_read_through_the_cache_are_parse_timestamps() -> None:
    for _round in range(2):  # the first reads every second afresh, the second from the cache
        document = parse_document(TIMESTAMPED, "Streams")
        assert isinstance(document, Streams)
        got = {o.sequence: o.ts_us for o in document.observations}
        for n, text in enumerate(TIMESTAMPS, start=1):
            expected = _tree_timestamp(text)
            fallback = us("2031-02-03T04:05:06.5")  # the Header's creationTime
            assert got[n] == (fallback if expected is None else expected), text


def test_streams_documents_never_become_a_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusals of a Streams document are the streaming parser's own (the tree parser is not asked)."""

    def no_tree(data: bytes) -> ET.Element:
        raise AssertionError("parse_xml was asked")

    monkeypatch.setattr(codec, "parse_xml", no_tree)
    assert isinstance(parse_document(CURRENT_13, "Streams"), Streams)
    for what, message in [
        ("an internal entity", "has a DOCTYPE"),
        ("an external DTD", "has a DOCTYPE"),
        ("an undefined entity", "undefined entity at line 2"),
        ("deep nesting", "nested deeper than 128 at line 2"),
        ("a truncated document", "not well-formed XML: unclosed token at line 2"),
    ]:
        with pytest.raises(DocumentError, match=message):
            parse_document(REFUSED_AS_READ[what], "Streams")
    with pytest.raises(AssertionError, match="parse_xml was asked"):  # an error: parsed as a tree
        parse_document(ERROR_13, "Streams")


def test_observations_are_immutable_tuples() -> None:
    observation = current().observations[0]
    with pytest.raises(AttributeError):
        observation.text = "x"  # type: ignore[misc]
    assert observation == Observation(*observation) and observation._replace(text="x").text == "x"
