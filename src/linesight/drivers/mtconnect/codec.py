"""MTConnect documents and addresses as LineSight sees them: pure functions, no I/O.

An agent answers ``/probe`` with an MTConnectDevices document (the devices and their data items),
``/current`` and ``/sample`` with MTConnectStreams documents (observations, each with a sequence number
and the agent's timestamp) and any refusal with an MTConnectError document. Documents are parsed with
expat directly so that a DOCTYPE, and with it every entity trick (billion laughs, external entities),
is refused before anything is expanded or fetched. Streams documents, read several times a second while
an agent is followed, become observations in expat's handlers as they are read; the others (a probe, an
error) are rare and small, and are parsed into an element tree first.

A tag's address names one data item: ``[<device>:]<ref>`` where ``ref`` is a data item id, else its
name, else its type (``Execution``, ``PART_COUNT``), optionally with a subType (``PathFeedrate.ACTUAL``).
"""

from __future__ import annotations

import calendar
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal, NamedTuple
from xml.parsers import expat

from linesight.domain.tags import DataType, TagValue

ADDRESS_HELP = (
    "a data item id (e.g. lathe1_exec), its name (e.g. execution) or its type (e.g. Execution, "
    "PART_COUNT, PathFeedrate.ACTUAL), optionally after a device name: lathe1:Execution"
)

# Deeper nesting than this is no MTConnect document; refusing it keeps the tree (and its teardown) small.
MAX_DEPTH = 128

Kind = Literal["Devices", "Streams", "Error"]
_NAMESPACE = re.compile(r"^urn:mtconnect\.org:MTConnect(Devices|Streams|Error|Assets):([12])\.(\d+)$")
_ADDRESS = re.compile(r"^(?:([^\s:]+):)?([^\s:]+)$")
_TIMESTAMP = re.compile(
    r"^\s*(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?\s*$", re.IGNORECASE
)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

UNAVAILABLE = "UNAVAILABLE"
CONDITION_LEVELS = ("NORMAL", "WARNING", "FAULT")  # from best to worst
_CONDITION_ELEMENTS = {"Normal": "NORMAL", "Warning": "WARNING", "Fault": "FAULT", "Unavailable": None}

# Event types whose values are words, never numbers: a numeric tag on one of them can only ever be bad.
TEXT_TYPES = frozenset(
    {
        "ACTIVE_AXES",
        "AVAILABILITY",
        "AXIS_STATE",
        "BLOCK",
        "CHUCK_STATE",
        "CONTROLLER_MODE",
        "DIRECTION",
        "DOOR_STATE",
        "EMERGENCY_STOP",
        "EXECUTION",
        "FUNCTIONAL_MODE",
        "MESSAGE",
        "OPERATOR_ID",
        "PART_ID",
        "PART_NUMBER",
        "PATH_MODE",
        "PROGRAM",
        "PROGRAM_COMMENT",
        "PROGRAM_HEADER",
        "ROTARY_MODE",
        "SERIAL_NUMBER",
    }
)
_TEXT_REPRESENTATIONS = frozenset({"DATA_SET", "TABLE", "TIME_SERIES"})
# MTConnect 1.2 renamed SPINDLE_SPEED to ROTARY_VELOCITY; an address by type finds either.
_TYPE_ALIASES = {"SPINDLESPEED": "ROTARYVELOCITY", "ROTARYVELOCITY": "SPINDLESPEED"}
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


class DocumentError(ValueError):
    """An agent's answer is not a usable MTConnect document; the message says what was received."""


class AddressError(ValueError):
    """A tag's address is not of the MTConnect form, or names no (or more than one) data item."""


# ---------------------------------------------------------------------- safe XML


def _expat(
    start: Callable[[str, dict[str, str]], None], end: Callable[[str], None], data: Callable[[str], None]
) -> expat.XMLParserType:
    """An expat parser calling these handlers that refuses what no MTConnect document has.

    Every document, tree or stream, is read through one of these: a DOCTYPE is refused as it starts,
    so that no entity (internal or external) is ever declared, expanded or fetched.
    """
    parser = expat.ParserCreate(namespace_separator="}")

    def doctype(*_args: object) -> None:
        raise DocumentError(
            f"the document has a DOCTYPE (line {parser.CurrentLineNumber}); MTConnect never uses one, "
            "and it is refused so that no entity is expanded or fetched"
        )

    def entity(*_args: object) -> None:
        raise DocumentError(f"the document declares an entity (line {parser.CurrentLineNumber}): refused")

    def external(*_args: object) -> int:
        raise DocumentError(f"the document refers to an external entity (line {parser.CurrentLineNumber})")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


def _run(parser: expat.XMLParserType, data: bytes) -> None:
    """Parse ``data`` whole; malformed XML is a DocumentError with expat's reason, line and column."""
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        reason = expat.ErrorString(err.code) if err.code is not None else str(err)
        raise DocumentError(
            f"not well-formed XML: {reason} at line {err.lineno}, column {err.offset + 1}"
        ) from None
    except LookupError as err:
        # expat asks Python's codecs for an encoding it does not know itself (encoding="bogus").
        raise DocumentError(f"not readable XML: the declaration names an {err}") from None


def _too_deep(parser: expat.XMLParserType) -> DocumentError:
    return DocumentError(
        f"elements nested deeper than {MAX_DEPTH} at line {parser.CurrentLineNumber}: refused"
    )


def parse_xml(data: bytes) -> ET.Element:
    """An element tree from ``data``; a DOCTYPE, an entity or deep nesting is refused, not expanded."""
    builder = ET.TreeBuilder()
    depth = 0

    def name(raw: str) -> str:
        # expat gives "uri}local" for a namespaced name; ElementTree's Clark notation is "{uri}local".
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep(parser)
        builder.start(name(tag), {name(key): value for key, value in attributes.items()})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(name(tag))

    parser = _expat(start, end, builder.data)
    _run(parser, data)
    root: ET.Element = builder.close()
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: ET.Element, local: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == local)


def document_kind(root: ET.Element) -> tuple[Kind | Literal["Assets"], str]:
    """The kind of MTConnect document (and its schema version), or DocumentError naming what it is."""
    namespace, _brace, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    return _kind(namespace, local)


def _kind(namespace: str, local: str) -> tuple[Kind | Literal["Assets"], str]:
    match = _NAMESPACE.match(namespace)
    if match is None:
        where = f"in namespace '{namespace}'" if namespace else "without a namespace"
        raise DocumentError(
            f"received a <{local}> document {where}, not an MTConnect 1.x/2.x document "
            "(urn:mtconnect.org:MTConnectStreams:2.0 and the like)"
        )
    kind, major, minor = match.groups()
    if local != f"MTConnect{kind}":
        raise DocumentError(f"received a <{local}> root element in the MTConnect{kind} namespace")
    return kind, f"{major}.{minor}"  # type: ignore[return-value]


# ---------------------------------------------------------------------- documents


@dataclass(frozen=True, kw_only=True)
class Header:
    instance_id: int | None
    buffer_size: int | None = None
    first_sequence: int | None = None
    last_sequence: int | None = None
    next_sequence: int | None = None
    creation_us: int | None = None
    version: str = ""


@dataclass(frozen=True, kw_only=True)
class DataItem:
    id: str
    device: str  # the device's name (its uuid when it has no name)
    device_uuid: str
    category: str  # SAMPLE, EVENT or CONDITION
    type: str  # as the probe gives it: EXECUTION, PART_COUNT...
    name: str = ""
    sub_type: str = ""
    units: str = ""
    representation: str = "VALUE"
    agent: bool = False  # an item of the agent itself (MTConnect 2.x's <Agent> device)

    def describe(self) -> str:
        details = [self.category, self.type + (f".{self.sub_type}" if self.sub_type else "")]
        if self.name:
            details.append(f"name {self.name}")
        return f"{self.id} ({', '.join(details)})"


@dataclass(frozen=True, kw_only=True)
class Devices:
    header: Header
    items: tuple[DataItem, ...]
    device_names: tuple[str, ...]


class Observation(NamedTuple):
    """One observation of a Streams document.

    A NamedTuple rather than the usual frozen dataclass: a /sample answer holds up to ``count`` of them,
    several answers a second, and the parser builds them positionally (``tuple.__new__``) at a fraction
    of a keyword-only dataclass's cost. Just as immutable; build it by keyword anywhere else.
    """

    item_id: str
    sequence: int
    ts_us: int
    element: str  # Execution, PartCount... or Normal/Warning/Fault/Unavailable for a condition
    text: str | None  # None: UNAVAILABLE
    condition: bool = False
    native_code: str = ""


@dataclass(frozen=True, kw_only=True)
class Streams:
    header: Header
    observations: tuple[Observation, ...]  # in sequence order

    # A Streams header always has its sequence numbers (parsing refuses one without).
    @property
    def first_sequence(self) -> int:
        return self.header.first_sequence or 0

    @property
    def last_sequence(self) -> int:
        return self.header.last_sequence or 0

    @property
    def next_sequence(self) -> int:
        return self.header.next_sequence or 0


@dataclass(frozen=True, kw_only=True)
class AgentError:
    header: Header
    errors: tuple[tuple[str, str], ...]  # (errorCode, text)

    @property
    def codes(self) -> set[str]:
        return {code for code, _text in self.errors}

    def describe(self) -> str:
        return "; ".join(f"{code}: {text}" if text else code for code, text in self.errors) or "no reason"


Document = Devices | Streams | AgentError


def parse_document(data: bytes, expected: Literal["Devices", "Streams"]) -> Document:
    """An ``expected`` document or an MTConnectError; anything else is a DocumentError naming it."""
    if expected == "Streams":
        try:
            return _parse_streams(data)
        except _NotStreams:
            pass  # an MTConnectError (or no Streams document at all): parsed again, as a tree
    root = parse_xml(data)
    kind, _version = document_kind(root)
    if kind == "Error":
        return _agent_error(root)
    if kind != expected:
        raise DocumentError(f"expected an MTConnect{expected} document, received MTConnect{kind}")
    if kind == "Streams":  # _parse_streams takes every MTConnectStreams root
        raise AssertionError("an MTConnectStreams document reached the tree parser")
    return _devices(root, _tree_header(root, kind))


def _int(attributes: Mapping[str, str], attribute: str, element: str, *, required: bool) -> int | None:
    raw = attributes.get(attribute)
    if raw is None:
        if required:
            raise DocumentError(f"<{element}> has no {attribute}")
        return None
    try:
        return int(raw)
    except ValueError:
        raise DocumentError(f"<{element}> {attribute}='{raw[:40]}' is not a number") from None


def _header(attributes: Mapping[str, str], kind: str) -> Header:
    streams = kind == "Streams"
    return Header(
        instance_id=_int(attributes, "instanceId", "Header", required=kind != "Error"),
        buffer_size=_int(attributes, "bufferSize", "Header", required=False),
        first_sequence=_int(attributes, "firstSequence", "Header", required=streams),
        last_sequence=_int(attributes, "lastSequence", "Header", required=streams),
        next_sequence=_int(attributes, "nextSequence", "Header", required=streams),
        creation_us=_timestamp_or_none(attributes.get("creationTime")),
        version=attributes.get("version", ""),
    )


def _tree_header(root: ET.Element, kind: str) -> Header:
    found = next(_children(root, "Header"), None)
    if found is None:
        raise DocumentError(f"the MTConnect{kind} document has no Header")
    return _header(found.attrib, kind)


def _agent_error(root: ET.Element) -> AgentError:
    # The error is what matters: a (non-conforming) error document without a Header still says it.
    header = (
        _tree_header(root, "Error")
        if next(_children(root, "Header"), None) is not None
        else Header(instance_id=None)
    )
    errors: list[tuple[str, str]] = []
    for element in root.iter():
        if _local(element.tag) == "Error":
            errors.append((element.get("errorCode", "UNKNOWN"), (element.text or "").strip()))
    if not errors:
        # MTConnect 2.5 names each error by its own element (<OutOfRange><ErrorMessage>...).
        for container in _children(root, "Errors"):
            for element in container:
                text = " ".join(part.strip() for part in element.itertext() if part.strip())
                errors.append((_CAMEL.sub("_", _local(element.tag)).upper(), text))
    return AgentError(header=header, errors=tuple(errors))


def _devices(root: ET.Element, header: Header) -> Devices:
    items: list[DataItem] = []
    names: list[str] = []
    for container in _children(root, "Devices"):
        for device in container:
            if _local(device.tag) not in ("Device", "Agent"):
                continue
            uuid = device.get("uuid", "")
            device_name = device.get("name") or uuid or device.get("id") or ""
            names.append(device_name)
            for element in device.iter():
                if _local(element.tag) != "DataItem":
                    continue
                item_id = element.get("id")
                if not item_id:
                    raise DocumentError(f"a DataItem of device {device_name} has no id")
                items.append(
                    DataItem(
                        id=item_id,
                        device=device_name,
                        device_uuid=uuid,
                        category=element.get("category", "").upper(),
                        type=element.get("type", ""),
                        name=element.get("name", ""),
                        sub_type=element.get("subType", ""),
                        units=element.get("units", ""),
                        representation=element.get("representation", "VALUE").upper(),
                        agent=_local(device.tag) == "Agent",
                    )
                )
    return Devices(header=header, items=tuple(items), device_names=tuple(names))


# ---------------------------------------------------------------------- Streams, streamed

# The elements from a Streams document's root to its observations, by depth (the root is depth 1):
# <Streams>, <DeviceStream>, <ComponentStream>, then a group; every child of a group is an observation.
_ROUTE: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset(),
    frozenset({"Streams"}),
    frozenset({"DeviceStream"}),
    frozenset({"ComponentStream"}),
    frozenset({"Samples", "Events", "Condition"}),
)
_OBSERVATION_DEPTH = len(_ROUTE)  # the depth of an observation (far less than MAX_DEPTH)
_BY_SEQUENCE = attrgetter("sequence")

# An observation read before the document's Header: its attributes, element, condition, text, entries.
_Early = tuple[dict[str, str], str, bool, str, list[str]]


class _NotStreams(Exception):
    """The root is no MTConnectStreams root: the document is parsed as a tree instead."""


def _parse_streams(data: bytes) -> Streams:
    """An MTConnectStreams document, its observations built in expat's handlers as they are read.

    No element tree in between: a /sample answer holds up to ``count`` observations, several answers a
    second, and building a tree then walking it cost more than twice what this does. The result, and
    each refusal (which one, when there are several), is the tree walk's. That walk began only once the
    whole document was read, so here too what is wrong with an observation is raised only at the end
    (a malformed document is reported as malformed, whatever it holds), after the Header's problems.

    Raises _NotStreams at the root of any other document (the caller parses it as a tree).
    """
    names: dict[str, str] = {}  # expat's "uri}local" → local; a document has a few dozen names
    found: list[Observation] = []
    early: list[_Early] = []
    header: dict[str, str] | None = None  # the attributes of the root's first <Header>
    creation_us: int | None = None  # its creationTime
    problem: DocumentError | None = None  # the first observation refused (none is built after it)
    depth = 0
    route = 0  # the elements at depths 1 to ``route`` are all on _ROUTE (the root, an observation too)
    condition = False  # the group being read is a <Condition>
    text = ""  # the character data since the last tag: ElementTree's .text of the element just started
    attributes: dict[str, str] = {}  # of the observation being read
    first_child: str | None = None  # its text, once a child has ended it
    entries: list[str] = []  # its <Entry> children (a DATA_SET or TABLE) as key=value
    entry_key: str | None = None  # the key of the <Entry> whose text is being read

    def local_name(tag: str) -> str:
        local = names[tag] = tag.rpartition("}")[2]
        return local

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, route, condition, text, attributes, first_child, entries, entry_key
        nonlocal header, creation_us
        depth += 1
        if depth == _OBSERVATION_DEPTH and route == _OBSERVATION_DEPTH - 1:  # by far the most frequent
            route = depth
            attributes = attrs
            first_child = None
            if entries:
                entries = []  # the last one's list may be kept with it (``early``)
            text = ""
            return
        if depth > MAX_DEPTH:
            raise _too_deep(parser)
        local = names.get(tag) or local_name(tag)
        if route == _OBSERVATION_DEPTH:  # inside an observation
            if entry_key is not None:  # an <Entry>'s text ends at its first child
                entries.append(f"{entry_key}={text.strip()}")
                entry_key = None
            if depth == _OBSERVATION_DEPTH + 1:
                if first_child is None:
                    first_child = text
                if local == "Entry":
                    entry_key = attrs.get("key", "")
        elif depth == 1:
            # Checked as document_kind does; a root that fails it is the tree parser's to report.
            namespace, brace, root = tag.partition("}")
            try:
                kind, _version = _kind(namespace, root) if brace else _kind("", tag)
            except DocumentError:
                raise _NotStreams from None
            if kind != "Streams":
                raise _NotStreams
            route = 1
        elif depth == 2 and local == "Header":
            if header is None:
                header = attrs
                creation_us = _timestamp_or_none(attrs.get("creationTime"))
        elif route == depth - 1 and depth < _OBSERVATION_DEPTH and local in _ROUTE[depth]:
            route = depth
            condition = local == "Condition"  # read only within a group, where it is the group's
        text = ""

    def end(tag: str) -> None:
        nonlocal depth, route, text, entry_key, problem
        if depth == _OBSERVATION_DEPTH and route == _OBSERVATION_DEPTH:
            route -= 1
            if problem is None:
                local = names.get(tag) or local_name(tag)
                own = text if first_child is None else first_child
                if header is None:  # its timestamp may yet fall back on the Header's
                    early.append((attributes, local, condition, own, entries))
                else:
                    try:
                        found.append(_observation(attributes, local, condition, own, entries, creation_us))
                    except DocumentError as err:
                        problem = err
        elif entry_key is not None:  # an <Entry> without children
            entries.append(f"{entry_key}={text.strip()}")
            entry_key = None
        elif depth == route:
            route -= 1
        depth -= 1
        text = ""

    def characters(data: str) -> None:
        nonlocal text
        text += data

    parser = _expat(start, end, characters)
    _run(parser, data)
    # What the tree walk checked after the whole document was read, in its order.
    if header is None:
        raise DocumentError("the MTConnectStreams document has no Header")
    head = _header(header, "Streams")
    observations = [_observation(*pending, head.creation_us) for pending in early]
    if problem is not None:
        raise problem
    observations += found
    observations.sort(key=_BY_SEQUENCE)  # agents group them by component
    return Streams(header=head, observations=tuple(observations))


def _observation(
    attributes: Mapping[str, str],
    local: str,
    condition: bool,
    text: str,
    entries: Sequence[str],
    fallback_us: int | None,
) -> Observation:
    """An observation from its element: name, attributes, own text and entries' ``key=value``."""
    item_id = attributes.get("dataItemId")
    if not item_id:
        raise DocumentError(f"an observation <{local}> has no dataItemId")
    sequence = _int(attributes, "sequence", local, required=True)
    assert sequence is not None  # required
    ts_us = _timestamp_or_none(attributes.get("timestamp"))
    if ts_us is None:
        # The document's own time is the next best thing; the time it was received never is.
        ts_us = fallback_us
        if ts_us is None:
            raise DocumentError(f"observation {item_id} (sequence {sequence}) has no usable timestamp")
    if condition:
        if local not in _CONDITION_ELEMENTS:
            raise DocumentError(
                f"condition {item_id} is a <{local}>, not Normal, Warning, Fault or Unavailable"
            )
        level = _CONDITION_ELEMENTS[local]
        return tuple.__new__(
            Observation, (item_id, sequence, ts_us, local, level, True, attributes.get("nativeCode", ""))
        )
    value = " ".join(entries) if entries else text.strip()  # a DATA_SET or TABLE: key=value pairs
    return tuple.__new__(
        Observation, (item_id, sequence, ts_us, local, None if value == UNAVAILABLE else value, False, "")
    )


# ---------------------------------------------------------------------- timestamps


def parse_timestamp(text: str) -> int:
    """An MTConnect timestamp (ISO 8601, UTC) as microseconds since the epoch; ValueError if unusable."""
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    seconds = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if zone and zone.upper() != "Z":  # MTConnect says UTC; an agent that sends an offset is still honoured
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        seconds += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds * 1_000_000 + micros


# The seconds since the epoch of recent timestamps' first 19 characters ("2026-05-04T08:00:04"): an
# answer's observations share a few seconds, and the regex and calendar.timegm of parse_timestamp were
# a seventh of the time spent reading them. Only the form agents send ("...:04Z", "...:04.5Z") is read
# from it; anything else (an offset, no zone, spaces) goes through parse_timestamp every time. Emptied
# when full. Parses in worker threads share it: a race can only compute an entry twice, never wrongly.
_SECONDS: dict[str, int] = {}
_SECONDS_KEPT = 1024
_SECONDS_HEAD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def _timestamp_or_none(text: str | None) -> int | None:
    """parse_timestamp's result, or None where it raises; the seconds from _SECONDS when they are there."""
    if text is None:
        return None
    head = text[:19]
    seconds = _SECONDS.get(head)
    if seconds is not None:
        rest = text[19:]
        if rest == "Z":
            return seconds * 1_000_000
        if rest[:1] == "." and rest[-1:] == "Z":
            fraction = rest[1:-1]
            if fraction.isdigit() and fraction.isascii():  # ASCII: str.isdigit also takes "²"
                return seconds * 1_000_000 + int(fraction[:6].ljust(6, "0"))
    try:
        ts_us = parse_timestamp(text)
    except ValueError:
        return None
    if seconds is None and _SECONDS_HEAD.fullmatch(head):
        # The head alone is a timestamp of that whole second (UTC): what it adds up to with any
        # ".<digits>Z" or "Z" after it, as parse_timestamp reads those.
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        _SECONDS[head] = parse_timestamp(head) // 1_000_000
    return ts_us


# ---------------------------------------------------------------------- conditions


class ConditionStates:
    """The worst active level of each condition data item, kept across observations.

    A condition data item can have several activities at once (one per nativeCode); a Normal with a
    code clears that one, a Normal without a code clears them all, Unavailable clears them and is bad.
    """

    def __init__(self) -> None:
        self._active: dict[str, dict[str, str]] = {}

    def clear(self) -> None:
        self._active.clear()

    def reset(self, item_id: str) -> None:
        self._active.pop(item_id, None)

    def apply(self, observation: Observation) -> str | None:
        """The item's level after ``observation``: NORMAL, WARNING or FAULT; None while unavailable."""
        active = self._active.setdefault(observation.item_id, {})
        level = observation.text
        if level is None:
            active.clear()
            return None
        if level == "NORMAL":
            if observation.native_code:
                active.pop(observation.native_code, None)
            else:
                active.clear()
        else:
            active[observation.native_code] = level
        if not active:
            return "NORMAL"
        return max(active.values(), key=CONDITION_LEVELS.index)


def latest(observations: Iterable[Observation], conditions: ConditionStates) -> dict[str, Observation]:
    """The last observation of each data item in a /current answer, conditions folded to their level.

    ``conditions`` is reset for the items present: /current lists every activity of a condition.
    """
    found: dict[str, Observation] = {}
    for observation in observations:
        if observation.condition:
            if observation.item_id not in found:
                conditions.reset(observation.item_id)
            level = conditions.apply(observation)
            earlier = found.get(observation.item_id)
            ts_us = max(observation.ts_us, earlier.ts_us) if earlier else observation.ts_us
            found[observation.item_id] = Observation(
                item_id=observation.item_id,
                sequence=observation.sequence,
                ts_us=ts_us,
                element=observation.element,
                text=level,
                condition=True,
                native_code=observation.native_code,
            )
        else:
            found[observation.item_id] = observation
    return found


# ---------------------------------------------------------------------- addresses


@dataclass(frozen=True, kw_only=True)
class Address:
    device: str | None
    ref: str

    def __str__(self) -> str:
        return f"{self.device}:{self.ref}" if self.device else self.ref


def parse_address(text: str) -> Address:
    match = _ADDRESS.match(text.strip())
    if match is None:
        raise AddressError(f"cannot read MTConnect address '{text}': use {ADDRESS_HELP}")
    device, ref = match.groups()
    return Address(device=device, ref=ref)


def _squash(text: str) -> str:
    return text.replace("_", "").upper()


def _type_matches(item: DataItem, ref: str) -> bool:
    wanted, _dot, sub_type = ref.partition(".")
    wanted = _squash(wanted)
    actual = _squash(item.type)
    if actual != wanted and _TYPE_ALIASES.get(actual) != wanted:
        return False
    return not sub_type or _squash(sub_type) == _squash(item.sub_type)


@dataclass(kw_only=True)
class ItemIndex:
    """The data items of a probe, for resolving addresses (one device when the connection names one)."""

    items: Sequence[DataItem]
    default_device: str | None = None
    _by_id: dict[str, DataItem] = field(init=False)

    def __post_init__(self) -> None:
        self._by_id = {item.id: item for item in self.items}

    def get(self, item_id: str) -> DataItem | None:
        return self._by_id.get(item_id)

    def resolve(self, address: Address) -> DataItem:
        """The one data item ``address`` names; AddressError says why not and lists what there is."""
        device = address.device or self.default_device
        if device is None:
            # Names and types are the machine's: the agent's own items (its availability...) are
            # reached by id or by naming the Agent device.
            scope = [item for item in self.items if not item.agent]
        else:
            scope = [item for item in self.items if device in (item.device, item.device_uuid)]
        if not scope and device is not None:
            devices = sorted({item.device for item in self.items})
            raise AddressError(f"the agent has no device '{device}'; it has: {', '.join(devices) or 'none'}")
        by_id = self._by_id.get(address.ref)
        if by_id is not None and (device is None or by_id in scope):
            return by_id
        for matches in (
            [item for item in scope if item.name == address.ref],
            [item for item in scope if _type_matches(item, address.ref)],
        ):
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                listed = ", ".join(item.describe() for item in matches[:6])
                raise AddressError(
                    f"'{address}' matches {len(matches)} data items: {listed}; address one by its id "
                    "(or add the subType: PathFeedrate.ACTUAL)"
                )
        where = f" of device {device}" if device else ""
        known = ", ".join(item.id for item in scope[:8])
        more = f" ({len(scope)} in all)" if len(scope) > 8 else ""
        raise AddressError(f"no data item '{address.ref}' in the probe{where}; known ids: {known}{more}")


def type_problem(item: DataItem, data_type: DataType) -> str | None:
    """Why a tag of ``data_type`` can never hold this data item's values, or None."""
    if data_type is DataType.STRING:
        return None
    if item.category == "CONDITION":
        return f"{item.describe()} is a condition (NORMAL, WARNING, FAULT): declare type: string"
    if item.type.upper() in TEXT_TYPES or item.representation in _TEXT_REPRESENTATIONS:
        return f"{item.describe()} is text: declare type: string"
    return None


# Addressed by one of these words, a data item is text whatever the agent: checked before any probe.
_SURELY_TEXT = frozenset(
    _squash(name)
    for name in (
        "AVAILABILITY",
        "CONTROLLER_MODE",
        "DOOR_STATE",
        "EMERGENCY_STOP",
        "EXECUTION",
        "FUNCTIONAL_MODE",
        "PROGRAM",
    )
)


def address_type_problem(address: Address, data_type: DataType) -> str | None:
    """The same check before any probe, for addresses such as ``Execution`` (a type or a name)."""
    if data_type is DataType.STRING:
        return None
    if _squash(address.ref.partition(".")[0]) in _SURELY_TEXT:
        return f"'{address.ref}' is text: declare type: string"
    return None


# ---------------------------------------------------------------------- values


def convert(text: str, data_type: DataType) -> TagValue:
    """An observation's text as the tag's type; ValueError when it is not one (e.g. a word for int32)."""
    return CONVERTERS[data_type](text)


def _text(text: str) -> TagValue:
    return text


def _bool(text: str) -> TagValue:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return float(text) != 0.0


def _whole(text: str) -> TagValue:
    number = float(text)  # "12", "12.0", "1.2e3"
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text) if text.lstrip("+-").isdigit() else round(number)


def _converter(data_type: DataType) -> Callable[[str], TagValue]:
    if data_type is DataType.STRING:
        return _text
    if data_type is DataType.BOOL:
        return _bool
    return _whole if data_type.is_integer else float


# ``convert`` for each type, chosen by one lookup: the driver converts every observation it follows, and
# asking the DataType which kind it is (is_integer...) cost as much as the conversion itself.
CONVERTERS: Mapping[DataType, Callable[[str], TagValue]] = {t: _converter(t) for t in DataType}
