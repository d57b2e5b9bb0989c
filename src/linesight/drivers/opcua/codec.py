"""OPC UA node ids, values and status codes as LineSight sees them: pure functions, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from asyncua import ua
from asyncua.ua.uaerrors import UaStringParsingError

from linesight.domain.tags import DataType, Quality, TagValue

NODE_HELP = "a node id such as ns=2;s=Line1.Speed, ns=3;i=1001 or nsu=urn:plant:machines;s=Speed"

# The severity bits of a StatusCode (Part 4, 7.34.1) and the data value's "overflow" info bit: set
# when the server's queue for a monitored item was full and it discarded a value.
_SEVERITY = 3 << 30
_UNCERTAIN = 1 << 30
_OVERFLOW = 1 << 7
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class NodeError(ValueError):
    """A tag's node id cannot be used; the message says what is allowed."""


@dataclass(frozen=True, kw_only=True)
class NodeRef:
    """A parsed node id; ``namespace_uri`` is resolved to an index once connected."""

    node_id: ua.NodeId
    namespace_uri: str | None = None

    def resolve(self, namespaces: Sequence[str]) -> ua.NodeId:
        if self.namespace_uri is None:
            return self.node_id
        try:
            index = list(namespaces).index(self.namespace_uri)
        except ValueError:
            raise NodeError(f"the server has no namespace '{self.namespace_uri}'") from None
        return ua.NodeId(self.node_id.Identifier, ua.Int16(index), self.node_id.NodeIdType)


def parse_node(text: str) -> NodeRef:
    try:
        parsed = ua.NodeId.from_string(text.strip())
    except (UaStringParsingError, ValueError) as err:
        raise NodeError(f"cannot read node id '{text}': use {NODE_HELP}") from err
    if isinstance(parsed, ua.ExpandedNodeId) and parsed.NamespaceUri:
        plain = ua.NodeId(parsed.Identifier, ua.Int16(0), parsed.NodeIdType)
        return NodeRef(node_id=plain, namespace_uri=parsed.NamespaceUri)
    return NodeRef(node_id=ua.NodeId(parsed.Identifier, parsed.NamespaceIndex, parsed.NodeIdType))


def quality_of(status: ua.StatusCode | None) -> Quality:
    if status is None:
        return Quality.GOOD
    severity = status.value & _SEVERITY
    if severity == 0:
        return Quality.GOOD
    return Quality.UNCERTAIN if severity == _UNCERTAIN else Quality.BAD


def overflowed(status: ua.StatusCode | None) -> bool:
    """True when the server dropped values of this monitored item before sending this one."""
    return status is not None and bool(status.value & _OVERFLOW)


def timestamp_us(value: ua.DataValue, fallback_us: int) -> int:
    """The device's source timestamp, else the server's, else the time it was received (UTC µs)."""
    when: dt.datetime | None = value.SourceTimestamp or value.ServerTimestamp
    if when is None:
        return fallback_us
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta: dt.timedelta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def convert(value: object, data_type: DataType) -> TagValue:
    """A variant's value as the tag's type; an array, structure or unknown value becomes text."""
    if value is None:
        return None
    if data_type is DataType.STRING:
        return value if isinstance(value, str) else str(value)
    if isinstance(value, int | float):  # bools too: True is 1 as a number
        if data_type is DataType.BOOL:
            return bool(value)
        if data_type.is_integer:
            return int(value)
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def variant_for(value: TagValue, data_type: DataType) -> ua.Variant:
    """The variant to write for a tag of ``data_type`` (servers refuse a write of the wrong type)."""
    variant_types = {
        DataType.BOOL: ua.VariantType.Boolean,
        DataType.INT16: ua.VariantType.Int16,
        DataType.UINT16: ua.VariantType.UInt16,
        DataType.INT32: ua.VariantType.Int32,
        DataType.UINT32: ua.VariantType.UInt32,
        DataType.INT64: ua.VariantType.Int64,
        DataType.UINT64: ua.VariantType.UInt64,
        DataType.FLOAT32: ua.VariantType.Float,
        DataType.FLOAT64: ua.VariantType.Double,
        DataType.STRING: ua.VariantType.String,
    }
    if data_type is DataType.STRING:
        return ua.Variant("" if value is None else str(value), ua.VariantType.String)
    if value is None or isinstance(value, str):
        raise ValueError(f"a {data_type.value} node takes a number, not {value!r}")
    cast: object = (
        bool(value) if data_type is DataType.BOOL else (int(value) if data_type.is_integer else float(value))
    )
    return ua.Variant(cast, variant_types[data_type])
