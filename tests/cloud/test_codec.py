"""The message codec: round trips, compression, and every refusal naming what was wrong."""

from __future__ import annotations

import json
import math

import pytest
import zstandard

from linesight.cloud import codec
from linesight.cloud.codec import (
    Event,
    EventBatch,
    InvalidMessage,
    MachineInfo,
    Origin,
    SampleBatch,
    Status,
    TagRef,
)

ORIGIN = Origin(tenant="acme", site="plant-1", edge="edge-01")


def _samples(compress: bool = False, n: int = 500) -> bytes:
    return codec.encode_samples(
        ORIGIN,
        batch=7,
        tags=[TagRef(key="press-01.temp", unit="°C"), TagRef(key="press-01.mode", unit="")],
        seq=list(range(100, 100 + n)),
        tag=[i % 2 for i in range(n)],
        ts_us=[1_700_000_000_000_000 + i for i in range(n)],
        value=[float(i) if i % 2 == 0 else None for i in range(n)],
        text=[None if i % 2 == 0 else "auto" for i in range(n)],
        quality=[i % 3 for i in range(n)],
        compress=compress,
    )


@pytest.mark.parametrize("compress", [False, True])
def test_samples_round_trip_plain_and_compressed(compress: bool) -> None:
    payload = _samples(compress)
    assert payload.startswith(codec.ZSTD_MAGIC) is compress
    message = codec.decode(ORIGIN.topic("samples"), payload)
    assert isinstance(message, SampleBatch)
    assert message.origin == ORIGIN
    assert (message.first_seq, message.last_seq, len(message)) == (100, 599, 500)
    rows = list(message.rows())
    assert rows[0].tag == "press-01.temp" and rows[0].unit == "°C" and rows[0].value == 0.0
    assert rows[1].tag == "press-01.mode" and rows[1].text == "auto" and rows[1].value is None
    assert [r.quality for r in rows[:4]] == [0, 1, 2, 0]
    assert codec.decode(ORIGIN.topic("samples"), codec.encode(message, compress=compress)) == message


def test_compression_makes_sample_batches_much_smaller() -> None:
    assert len(_samples(True)) * 3 < len(_samples(False))


def test_non_finite_values_go_as_null() -> None:
    payload = codec.encode_samples(
        ORIGIN, batch=1, tags=[TagRef(key="m.t")], seq=[1, 2], tag=[0, 0], ts_us=[1, 2],
        value=[math.nan, math.inf], text=[None, None], quality=[2, 2],
    )  # fmt: skip
    message = codec.decode(ORIGIN.topic("samples"), payload)
    assert isinstance(message, SampleBatch) and message.value == (None, None)


def test_events_and_status_round_trip() -> None:
    events = (
        Event(stream="alarm", id=3, ts_us=10, machine="press-01", data={"to_state": "active"}),
        Event(stream="gap", id=1, ts_us=11, machine=None, data={"first_seq": 5, "last_seq": 9, "rows": 5}),
    )
    message = codec.decode(ORIGIN.topic("events"), codec.encode_events(ORIGIN, batch=2, events=events))
    assert isinstance(message, EventBatch) and message.events == events
    machines = (MachineInfo(id="press-01", name="Press 1", line="l1", site="plant-1"),)
    payload = codec.encode_status(ORIGIN, online=True, version="1.2", machines=machines, compress=True)
    status = codec.decode(ORIGIN.topic("status"), payload)
    assert isinstance(status, Status) and status.online and status.machines == machines
    assert status.session_us == 0 and status.order == status.sent_at_us * 2  # no session: sent_at orders
    will = codec.decode(ORIGIN.topic("status"), codec.encode_status(ORIGIN, online=False, session_us=7))
    assert isinstance(will, Status) and will.session_us == 7 and will.order == 15


def test_too_large_payload_is_refused_plain_and_after_decompression() -> None:
    with pytest.raises(InvalidMessage) as plain:
        codec.decode(ORIGIN.topic("samples"), _samples(False), max_bytes=1000)
    assert plain.value.reason == "too_large"
    bomb = zstandard.ZstdCompressor().compress(b" " * (5 * 1024 * 1024))
    assert len(bomb) < 10_000
    with pytest.raises(InvalidMessage, match="limit") as packed:
        codec.decode(ORIGIN.topic("samples"), bomb)
    assert packed.value.reason == "too_large"


def test_bad_json_and_broken_zstd_are_refused() -> None:
    with pytest.raises(InvalidMessage) as bad:
        codec.decode(ORIGIN.topic("samples"), b'{"schema": "linesight/v1",')
    assert bad.value.reason == "bad_json"
    with pytest.raises(InvalidMessage) as broken:
        codec.decode(ORIGIN.topic("samples"), codec.ZSTD_MAGIC + b"garbage")
    assert broken.value.reason == "compression"


def test_wrong_schema_names_the_json_path() -> None:
    document = json.loads(_samples(False))
    document["quality"][3] = 7
    with pytest.raises(InvalidMessage, match=r"\$\.quality\[3\]") as err:
        codec.decode(ORIGIN.topic("samples"), json.dumps(document).encode())
    assert err.value.reason == "schema"
    events = codec.events_document(ORIGIN, batch=1, events=[Event(stream="gap", id=1, ts_us=1, data={})])
    with pytest.raises(InvalidMessage, match=r"\$\.events\[0\]\.data.*first_seq"):
        codec.decode(ORIGIN.topic("events"), codec.dumps(events))
    document = json.loads(_samples(False))
    del document["sent_at_us"]
    with pytest.raises(InvalidMessage, match="sent_at_us"):
        codec.decode(ORIGIN.topic("samples"), json.dumps(document).encode())


def test_columns_of_unequal_length_or_bad_tag_index_are_refused() -> None:
    document = json.loads(_samples(False, n=4))
    document["text"].pop()
    with pytest.raises(InvalidMessage, match="differ in length") as err:
        codec.decode(ORIGIN.topic("samples"), json.dumps(document).encode())
    assert err.value.reason == "columns"
    document = json.loads(_samples(False, n=4))
    document["tag"][2] = 9
    with pytest.raises(InvalidMessage, match=r"\$\.tag\[2\]"):
        codec.decode(ORIGIN.topic("samples"), json.dumps(document).encode())


@pytest.mark.parametrize(
    ("topic", "reason", "match"),
    [
        ("linesight/v1/other/plant-1/edge-01/samples", "tenant_mismatch", r"\$\.tenant"),
        ("linesight/v1/acme/plant-2/edge-01/samples", "topic", r"\$\.site"),
        ("linesight/v1/acme/plant-1/edge-02/samples", "topic", r"\$\.edge"),
        ("linesight/v1/acme/plant-1/edge-01/events", "topic", r"\$\.kind"),
        ("linesight/v2/acme/plant-1/edge-01/samples", "topic", "not of the form"),
        ("linesight/v1/ACME/plant-1/edge-01/samples", "topic", "tenant 'ACME'"),
        ("linesight/v1/acme/plant-1/edge-01/metrics", "topic", "kind 'metrics'"),
    ],
)
def test_topic_and_envelope_must_agree(topic: str, reason: str, match: str) -> None:
    with pytest.raises(InvalidMessage, match=match) as err:
        codec.decode(topic, _samples(False, n=3))
    assert err.value.reason == reason


def test_parse_topic() -> None:
    topic = codec.parse_topic("linesight/v1/acme/plant-1/edge-01/status")
    assert (topic.tenant, topic.site, topic.edge, topic.kind) == ("acme", "plant-1", "edge-01", "status")
    assert str(topic) == "linesight/v1/acme/plant-1/edge-01/status"
    with pytest.raises(InvalidMessage):
        Origin(tenant="a/b", site="s", edge="e")


@pytest.mark.parametrize(
    ("column", "index", "bad", "match"),
    [
        ("value", 4000, "x", r"\$\.value\[4000\]: 'x' is not a number or null"),
        ("seq", 17, 0, r"\$\.seq\[17\]: 0 is not an integer of at least 1"),
        ("text", 2, 5, r"\$\.text\[2\]: 5 is not a string or null"),
        ("ts_us", 9, 1.5, r"\$\.ts_us\[9\]: 1.5 is not an integer"),
        ("quality", 1, True, r"\$\.quality\[1\]: True is not one of 0, 1, 2"),
    ],
)
def test_a_bad_item_deep_in_a_column_is_named(column: str, index: int, bad: object, match: str) -> None:
    document = json.loads(_samples(False, n=5000))
    document[column][index] = bad
    with pytest.raises(InvalidMessage, match=match) as err:
        codec.decode(ORIGIN.topic("samples"), json.dumps(document).encode())
    assert err.value.reason == "schema"


@pytest.mark.parametrize("compress", [False, True])
def test_ack_round_trip_merges_ranges(compress: bool) -> None:
    payload = codec.encode_ack(
        ORIGIN,
        samples=[(501, 1000), (1, 500), (2001, 2500)],
        events={"alarm": [(3, 3), (1, 2)], "audit": []},
        refused_samples=[(3001, 3500)],
        refused_reason="quota_exceeded",
        batch=4,
        compress=compress,
    )
    ack = codec.decode_ack(ORIGIN.topic("ack"), payload)
    assert ack.samples == ((1, 1000), (2001, 2500))  # adjacent merged, the gap kept
    assert ack.events == {"alarm": ((1, 3),)}
    assert ack.refused_samples == ((3001, 3500),) and ack.refused_events == {}
    assert ack.refused_reason == "quota_exceeded" and ack.batch == 4 and ack.origin == ORIGIN
    assert codec.parse_topic(ORIGIN.topic("ack")).kind == "ack"


def test_ack_refusals_name_what_is_wrong() -> None:
    good = json.loads(codec.encode_ack(ORIGIN, samples=[(1, 10)]))
    # an ack is not a message the backend stores, and a samples topic carries no ack
    with pytest.raises(InvalidMessage, match="decode_ack") as refused:
        codec.decode(ORIGIN.topic("ack"), json.dumps(good).encode())
    assert refused.value.reason == "topic"
    with pytest.raises(InvalidMessage, match="not an ack topic"):
        codec.decode_ack(ORIGIN.topic("samples"), json.dumps(good).encode())
    backwards = dict(good, samples=[[10, 1]])
    with pytest.raises(InvalidMessage, match=r"\$\.samples\[0\]: first 10 is after last 1"):
        codec.decode_ack(ORIGIN.topic("ack"), json.dumps(backwards).encode())
    unknown_stream = dict(good, events={"weather": [[1, 2]]})
    with pytest.raises(InvalidMessage, match=r"\$\.events") as schema:
        codec.decode_ack(ORIGIN.topic("ack"), json.dumps(unknown_stream).encode())
    assert schema.value.reason == "schema"
    no_samples = {k: v for k, v in good.items() if k != "samples"}
    with pytest.raises(InvalidMessage, match="samples"):
        codec.decode_ack(ORIGIN.topic("ack"), json.dumps(no_samples).encode())
    other_edge = dict(good, edge="edge-02")
    with pytest.raises(InvalidMessage, match="edge"):
        codec.decode_ack(ORIGIN.topic("ack"), json.dumps(other_edge).encode())
