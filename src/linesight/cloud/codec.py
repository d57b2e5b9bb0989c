"""The edge-to-cloud message format, version 1: topics, JSON envelopes, optional zstd, JSON Schema.

Both ends use this module: the edge's forwarder encodes, the fleet backend decodes and validates. The
format is documented in docs/cloud/messages.md; the schema ships as
``linesight/resources/schema/linesight-v1.schema.json``.
"""

from __future__ import annotations

import io
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import jsonschema
import zstandard

SCHEMA_ID: Final = "linesight/v1"
TOPIC_ROOT: Final = "linesight/v1"
KINDS: Final = ("samples", "events", "status", "ack")
# Kinds an edge sends; ``ack`` goes the other way (the backend confirms what it stored).
EDGE_KINDS: Final = ("samples", "events", "status")
STREAMS: Final = ("state", "shift_oee", "alarm", "downtime_code", "reject", "audit", "gap")
NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_NAME = re.compile(NAME_PATTERN)
# A zstd frame starts with these bytes; anything else is taken as plain JSON.
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
MAX_PAYLOAD_BYTES: Final = 4 * 1024 * 1024
DEFAULT_ZSTD_LEVEL: Final = 3
# Quality codes on the wire are the historian's own: 0 good, 1 uncertain, 2 bad (OPC UA order).
QUALITY_GOOD, QUALITY_UNCERTAIN, QUALITY_BAD = 0, 1, 2

Kind = Literal["samples", "events", "status", "ack"]


class InvalidMessage(ValueError):
    """A message or topic that does not follow the contract. ``reason`` is a short machine code
    (bad_json, too_large, schema, topic, tenant_mismatch, compression, columns), the text says where."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Who sends: the tenant, the site and the edge (each matching ``NAME_PATTERN``)."""

    tenant: str
    site: str
    edge: str

    def __post_init__(self) -> None:
        for name in ("tenant", "site", "edge"):
            check_name(getattr(self, name), name)

    def topic(self, kind: Kind) -> str:
        return f"{TOPIC_ROOT}/{self.tenant}/{self.site}/{self.edge}/{kind}"


@dataclass(frozen=True, kw_only=True)
class Topic:
    tenant: str
    site: str
    edge: str
    kind: Kind

    @property
    def origin(self) -> Origin:
        return Origin(tenant=self.tenant, site=self.site, edge=self.edge)

    def __str__(self) -> str:
        return f"{TOPIC_ROOT}/{self.tenant}/{self.site}/{self.edge}/{self.kind}"


@dataclass(frozen=True, kw_only=True)
class TagRef:
    """A tag in a sample batch's dictionary: ``machine.tag`` and its unit."""

    key: str
    unit: str = ""


@dataclass(frozen=True, kw_only=True)
class SampleRow:
    seq: int
    tag: str
    unit: str
    ts_us: int
    value: float | None
    text: str | None
    quality: int


@dataclass(frozen=True, kw_only=True)
class SampleBatch:
    """Historian samples in columns of equal length; ``tag`` indexes into ``tags``."""

    origin: Origin
    sent_at_us: int
    batch: int
    first_seq: int
    last_seq: int
    tags: tuple[TagRef, ...]
    seq: tuple[int, ...]
    tag: tuple[int, ...]
    ts_us: tuple[int, ...]
    value: tuple[float | None, ...]
    text: tuple[str | None, ...]
    quality: tuple[int, ...]
    kind: Literal["samples"] = "samples"

    def __len__(self) -> int:
        return len(self.seq)

    def rows(self) -> Iterator[SampleRow]:
        tags = self.tags
        for seq, tag, ts_us, value, text, quality in zip(
            self.seq, self.tag, self.ts_us, self.value, self.text, self.quality, strict=True
        ):
            ref = tags[tag]
            yield SampleRow(
                seq=seq, tag=ref.key, unit=ref.unit, ts_us=ts_us, value=value, text=text, quality=quality
            )


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event of a stream; ``id`` increases per (edge, stream)."""

    stream: str
    id: int
    ts_us: int
    machine: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EventBatch:
    origin: Origin
    sent_at_us: int
    batch: int
    events: tuple[Event, ...]
    kind: Literal["events"] = "events"

    def __len__(self) -> int:
        return len(self.events)


@dataclass(frozen=True, kw_only=True)
class MachineInfo:
    id: str
    name: str = ""
    line: str = ""
    site: str = ""


@dataclass(frozen=True, kw_only=True)
class Status:
    """The edge's retained birth (online) or death (offline, its last will) message."""

    origin: Origin
    sent_at_us: int
    batch: int
    online: bool
    version: str = ""
    machines: tuple[MachineInfo, ...] = ()
    # When the edge set up the connection this status belongs to (µs), later for every connection: the
    # same in that connection's birth and last will. 0 from an edge of a version before it.
    session_us: int = 0
    kind: Literal["status"] = "status"

    @property
    def order(self) -> int:
        """Which of two status messages of an edge is the newer: a later session wins, and within one
        session the offline status (its end) wins over the online one (its start)."""
        return (self.session_us or self.sent_at_us) * 2 + (0 if self.online else 1)


Message = SampleBatch | EventBatch | Status

# Inclusive [first, last] ranges of sample sequence numbers or event ids.
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, kw_only=True)
class Ack:
    """Backend to edge, on the edge's own ``ack`` topic: what the backend has in its database.

    ``samples`` are the [first_seq, last_seq] of sample messages stored (new or duplicates of stored
    rows), ``events`` the ids stored per stream. ``refused_*`` name what the backend refused for good
    (a tenant over its daily quota): not stored, and not to be sent again.
    """

    origin: Origin
    sent_at_us: int
    batch: int
    samples: Ranges = ()
    events: Mapping[str, Ranges] = field(default_factory=dict)
    refused_samples: Ranges = ()
    refused_events: Mapping[str, Ranges] = field(default_factory=dict)
    refused_reason: str = ""
    kind: Literal["ack"] = "ack"

    def __bool__(self) -> bool:
        return bool(self.samples or self.events or self.refused_samples or self.refused_events)


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted inclusive ranges, overlapping or adjacent ones merged."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return tuple(merged)


# ---------------------------------------------------------------------------------------- names, topics


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidMessage(
            "topic",
            f"{what} {value!r} is not a valid name: lower-case letters, digits, '_' and '-', starting "
            "with a letter or digit, at most 63 characters",
        )
    return value


def parse_topic(topic: str) -> Topic:
    """Split ``linesight/v1/{tenant}/{site}/{edge}/{kind}``; refuse anything else with the reason."""
    parts = topic.split("/")
    if len(parts) != 6 or "/".join(parts[:2]) != TOPIC_ROOT:
        raise InvalidMessage(
            "topic", f"topic {topic!r} is not of the form {TOPIC_ROOT}/{{tenant}}/{{site}}/{{edge}}/{{kind}}"
        )
    tenant, site, edge, kind = parts[2:]
    for value, what in ((tenant, "tenant"), (site, "site"), (edge, "edge")):
        check_name(value, f"topic {topic!r}: {what}")
    if kind not in KINDS:
        raise InvalidMessage("topic", f"topic {topic!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return Topic(tenant=tenant, site=site, edge=edge, kind=kind)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- schema


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of version 1 (packaged with LineSight)."""
    text = (
        resources.files("linesight.resources").joinpath("schema/linesight-v1.schema.json").read_text("utf-8")
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    validator: jsonschema.protocols.Validator = cls(schema())
    return validator


def _json_path(path: Sequence[str | int]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number_or_null(value: Any) -> bool:
    return value is None or type(value) is float or type(value) is int


def _is_text_or_null(value: Any) -> bool:
    return value is None or type(value) is str


# The sample columns are checked item by item in plain Python: jsonschema takes ~60 µs a sample, which
# would cap a backend instance near 20,000 samples/s. These checks say exactly what the schema says.
_COLUMN_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seq": (lambda v: type(v) is int and v >= 1, "an integer of at least 1"),
    "tag": (lambda v: type(v) is int and v >= 0, "an integer of at least 0"),
    "ts_us": (_is_int, "an integer"),
    "value": (_is_number_or_null, "a number or null"),
    "text": (_is_text_or_null, "a string or null"),
    "quality": (lambda v: v in (0, 1, 2) and type(v) is int, "one of 0, 1, 2"),
}


def validate(document: Any) -> None:
    """Raise InvalidMessage("schema") naming the JSON path of the first problem found."""
    if isinstance(document, dict) and document.get("kind") == "samples":
        # The schema sees each column's first item; the rest are checked here, much faster.
        shell = dict(document)
        for name in _COLUMN_CHECKS:
            column = document.get(name)
            if isinstance(column, list):
                shell[name] = column[:1]
        _validate(shell)
        for name, (ok, what) in _COLUMN_CHECKS.items():
            column = document[name]
            if not all(map(ok, column)):
                index = next(i for i, value in enumerate(column) if not ok(value))
                raise InvalidMessage("schema", f"$.{name}[{index}]: {column[index]!r} is not {what}")
        return
    _validate(document)


def _validate(document: Any) -> None:
    errors = list(_validator().iter_errors(document))
    if not errors:
        return
    # The deepest error says most precisely what is wrong (an if/then wraps the real one).
    best = max(errors, key=lambda err: len(list(err.absolute_path)))
    for err in errors:
        for sub in err.context or ():
            if len(sub.absolute_path) > len(best.absolute_path):
                best = sub
    path = _json_path(list(best.absolute_path))
    raise InvalidMessage("schema", f"{path}: {best.message}")


# ---------------------------------------------------------------------------------------- decoding


def decompress(payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> bytes:
    """The JSON bytes of a payload: zstd frames are decompressed (refusing more than ``max_bytes``)."""
    if not payload.startswith(ZSTD_MAGIC):
        if len(payload) > max_bytes:
            raise InvalidMessage(
                "too_large", f"payload of {len(payload)} bytes is over the {max_bytes} byte limit"
            )
        return payload
    try:
        with zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(payload), read_across_frames=True
        ) as reader:
            data = reader.read(max_bytes + 1)
    except zstandard.ZstdError as err:
        raise InvalidMessage("compression", f"payload starts as zstd but does not decompress: {err}") from err
    if len(data) > max_bytes:
        raise InvalidMessage("too_large", f"payload decompresses to more than the {max_bytes} byte limit")
    return data


def decode(topic: str, payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Message:
    """Parse, validate and type one MQTT message; InvalidMessage says what is wrong and where."""
    where = parse_topic(topic)
    raw = decompress(payload, max_bytes=max_bytes)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidMessage("bad_json", f"payload is not UTF-8 JSON: {err}") from err
    validate(document)
    if document["kind"] == "ack":
        raise InvalidMessage(
            "topic", f"topic {topic!r}: an ack goes from the backend to the edge; decode it with decode_ack"
        )
    _check_envelope(document, where)
    return from_document(document)


def decode_ack(topic: str, payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES) -> Ack:
    """The edge's side of ``decode``: parse and validate one confirmation on its ``ack`` topic."""
    where = parse_topic(topic)
    if where.kind != "ack":
        raise InvalidMessage("topic", f"topic {topic!r} is not an ack topic")
    raw = decompress(payload, max_bytes=max_bytes)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidMessage("bad_json", f"payload is not UTF-8 JSON: {err}") from err
    validate(document)
    _check_envelope(document, where)
    return _ack_from(document)


def _ranges_from(raw: Sequence[Sequence[int]], path: str) -> Ranges:
    for index, (first, last) in enumerate(raw):
        if first > last:
            raise InvalidMessage("columns", f"{path}[{index}]: first {first} is after last {last}")
    return tuple((int(first), int(last)) for first, last in raw)


def _ack_from(document: Mapping[str, Any]) -> Ack:
    def streams(key: str) -> dict[str, Ranges]:
        return {
            stream: _ranges_from(ranges, f"$.{key}.{stream}")
            for stream, ranges in document.get(key, {}).items()
        }

    return Ack(
        origin=Origin(tenant=document["tenant"], site=document["site"], edge=document["edge"]),
        sent_at_us=document["sent_at_us"],
        batch=document["batch"],
        samples=_ranges_from(document["samples"], "$.samples"),
        events=streams("events"),
        refused_samples=_ranges_from(document.get("refused_samples", ()), "$.refused_samples"),
        refused_events=streams("refused_events"),
        refused_reason=document.get("refused_reason", ""),
    )


def _check_envelope(document: Mapping[str, Any], where: Topic) -> None:
    for name in ("tenant", "site", "edge", "kind"):
        if document[name] != getattr(where, name):
            reason = "tenant_mismatch" if name == "tenant" else "topic"
            raise InvalidMessage(
                reason,
                f"$.{name}: {document[name]!r} differs from the topic's {name} {getattr(where, name)!r}",
            )


def from_document(document: Mapping[str, Any]) -> Message:
    """A validated JSON document as its typed message (checks what JSON Schema cannot say)."""
    origin = Origin(tenant=document["tenant"], site=document["site"], edge=document["edge"])
    common: dict[str, Any] = {
        "origin": origin,
        "sent_at_us": document["sent_at_us"],
        "batch": document["batch"],
    }
    kind = document["kind"]
    if kind == "samples":
        return _samples_from(document, common)
    if kind == "events":
        events = tuple(
            Event(stream=e["stream"], id=e["id"], ts_us=e["ts_us"], machine=e["machine"], data=e["data"])
            for e in document["events"]
        )
        return EventBatch(events=events, **common)
    machines = tuple(
        MachineInfo(id=m["id"], name=m.get("name", ""), line=m.get("line", ""), site=m.get("site", ""))
        for m in document.get("machines", ())
    )
    return Status(
        online=document["online"],
        version=document.get("version", ""),
        machines=machines,
        session_us=document.get("session_us", 0),
        **common,
    )


def _samples_from(document: Mapping[str, Any], common: dict[str, Any]) -> SampleBatch:
    columns = ("seq", "tag", "ts_us", "value", "text", "quality")
    lengths = {name: len(document[name]) for name in columns}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise InvalidMessage("columns", f"$: the sample columns differ in length ({shown})")
    tags = tuple(TagRef(key=t["key"], unit=t["unit"]) for t in document["tags"])
    tag = document["tag"]
    for index, position in enumerate(tag):
        if position >= len(tags):
            raise InvalidMessage("columns", f"$.tag[{index}]: {position} is past the {len(tags)} tags listed")
    seq = document["seq"]
    if document["first_seq"] != seq[0] or document["last_seq"] != seq[-1]:
        raise InvalidMessage(
            "columns",
            f"$.first_seq/$.last_seq ({document['first_seq']}, {document['last_seq']}) are not the first and "
            f"last of $.seq ({seq[0]}, {seq[-1]})",
        )
    return SampleBatch(
        first_seq=document["first_seq"],
        last_seq=document["last_seq"],
        tags=tags,
        seq=tuple(seq),
        tag=tuple(tag),
        ts_us=tuple(document["ts_us"]),
        value=tuple(document["value"]),
        text=tuple(document["text"]),
        quality=tuple(document["quality"]),
        **common,
    )


# ---------------------------------------------------------------------------------------- encoding


def now_us() -> int:
    return time.time_ns() // 1000


def _envelope(origin: Origin, kind: Kind, batch: int, sent_at_us: int | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "kind": kind,
        "tenant": origin.tenant,
        "site": origin.site,
        "edge": origin.edge,
        "sent_at_us": now_us() if sent_at_us is None else sent_at_us,
        "batch": batch,
    }


def _finite(value: float | None) -> float | None:
    # JSON has no NaN or infinity: such a value goes as null (its quality says the rest).
    if value is None or math.isfinite(value):
        return value
    return None


def dumps(document: Mapping[str, Any], *, compress: bool = False, level: int = DEFAULT_ZSTD_LEVEL) -> bytes:
    """Serialise (compact UTF-8 JSON) and optionally zstd-compress a document."""
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    return zstd_compress(data, level=level) if compress else data


def zstd_compress(data: bytes, *, level: int = DEFAULT_ZSTD_LEVEL) -> bytes:
    """One zstd frame (with its content size, so that the decoder can check it before inflating)."""
    return zstandard.ZstdCompressor(level=level).compress(data)


def samples_document(
    origin: Origin,
    *,
    batch: int,
    tags: Sequence[TagRef],
    seq: Sequence[int],
    tag: Sequence[int],
    ts_us: Sequence[int],
    value: Sequence[float | None],
    text: Sequence[str | None],
    quality: Sequence[int],
    sent_at_us: int | None = None,
) -> dict[str, Any]:
    lengths = {len(seq), len(tag), len(ts_us), len(value), len(text), len(quality)}
    if len(lengths) != 1 or not seq:
        raise ValueError("a sample batch needs non-empty columns of equal length")
    document = _envelope(origin, "samples", batch, sent_at_us)
    document.update(
        first_seq=int(seq[0]),
        last_seq=int(seq[-1]),
        tags=[{"key": ref.key, "unit": ref.unit} for ref in tags],
        seq=list(seq),
        tag=list(tag),
        ts_us=list(ts_us),
        value=[_finite(v) for v in value],
        text=list(text),
        quality=list(quality),
    )
    return document


def encode_samples(
    origin: Origin,
    *,
    batch: int,
    tags: Sequence[TagRef],
    seq: Sequence[int],
    tag: Sequence[int],
    ts_us: Sequence[int],
    value: Sequence[float | None],
    text: Sequence[str | None],
    quality: Sequence[int],
    sent_at_us: int | None = None,
    compress: bool = False,
    level: int = DEFAULT_ZSTD_LEVEL,
) -> bytes:
    """One ``samples`` payload (columns of equal length, ``tag`` indexing into ``tags``)."""
    document = samples_document(
        origin,
        batch=batch,
        tags=tags,
        seq=seq,
        tag=tag,
        ts_us=ts_us,
        value=value,
        text=text,
        quality=quality,
        sent_at_us=sent_at_us,
    )
    return dumps(document, compress=compress, level=level)


def events_document(
    origin: Origin, *, batch: int, events: Sequence[Event], sent_at_us: int | None = None
) -> dict[str, Any]:
    if not events:
        raise ValueError("an event batch needs at least one event")
    document = _envelope(origin, "events", batch, sent_at_us)
    document["events"] = [
        {"stream": e.stream, "id": e.id, "ts_us": e.ts_us, "machine": e.machine, "data": dict(e.data)}
        for e in events
    ]
    return document


def encode_events(
    origin: Origin,
    *,
    batch: int,
    events: Sequence[Event],
    sent_at_us: int | None = None,
    compress: bool = False,
    level: int = DEFAULT_ZSTD_LEVEL,
) -> bytes:
    """One ``events`` payload."""
    return dumps(
        events_document(origin, batch=batch, events=events, sent_at_us=sent_at_us),
        compress=compress,
        level=level,
    )


def status_document(
    origin: Origin,
    *,
    online: bool,
    version: str = "",
    machines: Sequence[MachineInfo] = (),
    batch: int = 0,
    sent_at_us: int | None = None,
    session_us: int | None = None,
) -> dict[str, Any]:
    document = _envelope(origin, "status", batch, sent_at_us)
    document.update(
        online=online,
        version=version,
        machines=[{"id": m.id, "name": m.name, "line": m.line, "site": m.site} for m in machines],
    )
    if session_us is not None:
        document["session_us"] = session_us
    return document


def encode_status(
    origin: Origin,
    *,
    online: bool,
    version: str = "",
    machines: Sequence[MachineInfo] = (),
    batch: int = 0,
    sent_at_us: int | None = None,
    session_us: int | None = None,
    compress: bool = False,
) -> bytes:
    """The retained birth (online) or death (last will, offline) message."""
    document = status_document(
        origin,
        online=online,
        version=version,
        machines=machines,
        batch=batch,
        sent_at_us=sent_at_us,
        session_us=session_us,
    )
    return dumps(document, compress=compress)


def ack_document(
    origin: Origin,
    *,
    samples: Iterable[tuple[int, int]] = (),
    events: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    refused_samples: Iterable[tuple[int, int]] = (),
    refused_events: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    refused_reason: str = "",
    batch: int = 0,
    sent_at_us: int | None = None,
) -> dict[str, Any]:
    def streams(given: Mapping[str, Iterable[tuple[int, int]]] | None) -> dict[str, list[list[int]]]:
        out: dict[str, list[list[int]]] = {}
        for stream, ranges in sorted((given or {}).items()):
            merged = merge_ranges(ranges)
            if merged:
                out[stream] = [[first, last] for first, last in merged]
        return out

    document = _envelope(origin, "ack", batch, sent_at_us)
    document.update(samples=[[first, last] for first, last in merge_ranges(samples)], events=streams(events))
    refused = [[first, last] for first, last in merge_ranges(refused_samples)]
    refused_streams = streams(refused_events)
    if refused:
        document["refused_samples"] = refused
    if refused_streams:
        document["refused_events"] = refused_streams
    if (refused or refused_streams) and refused_reason:
        document["refused_reason"] = refused_reason[:200]
    return document


def encode_ack(
    origin: Origin,
    *,
    samples: Iterable[tuple[int, int]] = (),
    events: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    refused_samples: Iterable[tuple[int, int]] = (),
    refused_events: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    refused_reason: str = "",
    batch: int = 0,
    sent_at_us: int | None = None,
    compress: bool = False,
) -> bytes:
    """One ``ack`` payload (backend to edge); adjacent or overlapping ranges are merged."""
    document = ack_document(
        origin,
        samples=samples,
        events=events,
        refused_samples=refused_samples,
        refused_events=refused_events,
        refused_reason=refused_reason,
        batch=batch,
        sent_at_us=sent_at_us,
    )
    return dumps(document, compress=compress)


def encode(message: Message, *, compress: bool = False, level: int = DEFAULT_ZSTD_LEVEL) -> bytes:
    """Any typed message back to its payload (the inverse of ``decode``)."""
    if isinstance(message, SampleBatch):
        return encode_samples(
            message.origin,
            batch=message.batch,
            tags=message.tags,
            seq=message.seq,
            tag=message.tag,
            ts_us=message.ts_us,
            value=message.value,
            text=message.text,
            quality=message.quality,
            sent_at_us=message.sent_at_us,
            compress=compress,
            level=level,
        )
    if isinstance(message, EventBatch):
        return encode_events(
            message.origin,
            batch=message.batch,
            events=message.events,
            sent_at_us=message.sent_at_us,
            compress=compress,
            level=level,
        )
    return encode_status(
        message.origin,
        online=message.online,
        version=message.version,
        machines=message.machines,
        batch=message.batch,
        sent_at_us=message.sent_at_us,
        compress=compress,
    )
