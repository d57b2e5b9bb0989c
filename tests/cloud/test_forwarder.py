"""The forwarder against a real Mosquitto: nothing lost, live first, TLS, passwords, gaps, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from linesight.cloud import codec
from linesight.cloud.forwarder import Confirmations, Forwarder, ForwarderOptions, RangeSet, SeqTracker
from linesight.domain.alarm_rules import Priority
from linesight.domain.alarms import AlarmAction, AlarmEvent, AlarmState
from linesight.domain.reasons import DowntimeCode, RejectEntry
from linesight.domain.users import AuditEntry
from linesight.storage.historian import Historian, RetentionPolicy

from .broker import Collector, Mosquitto
from .conftest import CloudConfigFactory

FAST = ForwarderOptions(poll_interval=0.05, persist_every=0.1)
TAGS = ("press-01.temp", "press-01.speed", "oven-01.zone1")


def add_samples(historian: Historian, count: int, *, ts_us: int | None = None) -> tuple[int, int]:
    start = int(time.time() * 1e6) if ts_us is None else ts_us
    span = historian.append_columns(
        {
            "tag": [TAGS[i % len(TAGS)] for i in range(count)],
            "ts": np.arange(start, start + count, dtype=np.int64),
            "value": np.arange(count, dtype=np.float64),
        }
    )
    assert span is not None
    return span


async def forwarding(forwarder: Forwarder) -> Forwarder:
    await forwarder.load()
    forwarder.start()
    return forwarder


def test_seq_tracker_moves_the_watermark_over_contiguous_acknowledgements_only() -> None:
    tracker = SeqTracker(10)
    tracker.claim(10, 20)
    tracker.claim(20, 30)
    tracker.claim(50, 60)
    assert tracker.next_hole(60) == (30, 50)
    tracker.ack(20, 30)
    assert tracker.watermark == 10
    tracker.release(10, 20)
    assert tracker.next_hole(60) == (10, 20)
    tracker.claim(10, 20)
    tracker.ack(10, 20)
    assert tracker.watermark == 30
    tracker.ack(50, 60)
    assert tracker.watermark == 30 and tracker.acked_above() == 10
    assert tracker.next_hole(70) == (30, 50)


async def test_forwards_samples_and_events_then_resumes_from_the_durable_watermark(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    first, last = add_samples(historian, 12_000)
    now = datetime.now(UTC)
    historian.record_alarm_events(
        [
            AlarmEvent(
                ts=now, alarm_id="press-01.temp.high", rule_id="high", machine="press-01",
                tag="press-01.temp", priority=Priority.HIGH, from_state=AlarmState.NORMAL,
                to_state=AlarmState.UNACK, action=AlarmAction.RAISE, value=93.5, message="too hot",
            )
        ]
    )  # fmt: skip
    historian.record_reject(RejectEntry(machine="press-01", ts=now, count=3, reason="scratch", user="ana"))
    historian.record_downtime_code(
        DowntimeCode(machine="press-01", start=now, end=None, reason="setup", user="ana", coded_at=now)
    )
    historian.audit(
        AuditEntry(ts_us=int(now.timestamp() * 1e6), user="ana", role="manager", action="login", target="ana")
    )
    historian.record_outbox_event("state", int(now.timestamp() * 1e6), "press-01", {"state": "running"})
    config = cloud_config(batch_rows=1000)
    async with Collector(broker) as seen:
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        await seen.wait_for(lambda: len(seen.seqs) == last and len(seen.events) == 5)
        await forwarder.stop()
        assert seen.missing(first, last) == [] and seen.duplicates == 0
        assert set(seen.events) == {
            ("alarm", 1),
            ("reject", 1),
            ("downtime_code", 1),
            ("audit", 1),
            ("state", 1),
        }
        assert historian.outbox_watermark("samples") == last
        assert historian.outbox_watermark("alarm") == 1
        assert forwarder.health().published_samples == last
        # Hundreds of samples per message.
        assert seen.messages < last / 500

        # A new forwarder (a restart) sends only what came after the watermark.
        _more_first, more_last = add_samples(historian, 3000)
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        await seen.wait_for(lambda: len(seen.seqs) == more_last)
        await forwarder.stop()
    assert seen.missing(first, more_last) == [] and seen.duplicates == 0
    assert all(n == 1 for n in seen.events.values())
    assert [s.online for s in seen.statuses][:2] == [True, False]  # type: ignore[attr-defined]


async def test_messages_respect_the_size_caps(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    _first, last = add_samples(historian, 3000)
    config = cloud_config(compression="none", batch_rows=5000, max_message_bytes=8192)
    sizes: list[int] = []
    async with Collector(broker) as seen:
        original = seen._take

        def measure(topic: str, payload: bytes) -> None:
            if topic.endswith("/samples"):
                sizes.append(len(payload))
            original(topic, payload)

        seen._take = measure  # type: ignore[method-assign]
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        await seen.wait_for(lambda: len(seen.seqs) == last)
        await forwarder.stop()
    assert max(sizes) <= 8192 and len(sizes) > 10 and seen.duplicates == 0


@pytest.mark.slow
@pytest.mark.expect_log_warnings
async def test_broker_outage_during_forwarding_loses_nothing(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    add_samples(historian, 20_000)  # a backlog, and live data arriving all along
    stop_writing = asyncio.Event()

    async def write_live() -> None:
        while not stop_writing.is_set():
            await asyncio.to_thread(add_samples, historian, 200)
            await asyncio.sleep(0.02)

    async with Collector(broker) as seen:
        forwarder = await forwarding(Forwarder(cloud_config(batch_rows=500), historian, options=FAST))
        writer = asyncio.create_task(write_live())
        await seen.wait_for(lambda: len(seen.seqs) > 2000)
        await asyncio.to_thread(broker.stop)
        await asyncio.sleep(1.5)
        assert not forwarder.health().connected
        await asyncio.to_thread(broker.start)
        await asyncio.sleep(1.0)
        stop_writing.set()
        await writer
        last = historian.last_seq
        await seen.wait_for(lambda: len(seen.seqs) == last, within=60)
        health = forwarder.health()
        await forwarder.stop()
    assert seen.missing(1, last) == []
    assert health.retries >= 1
    # At least once on the wire: duplicates are allowed (the backend drops them), and reported here.
    print(f"outage: {last} samples, {seen.duplicates} duplicates at the broker, {health.retries} retries")


async def test_live_data_goes_out_while_a_backlog_drains(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    _first, backlog_last = add_samples(historian, 60_000)
    config = cloud_config(batch_rows=500, compression="none")
    async with Collector(broker) as seen:
        forwarder = await forwarding(
            Forwarder(config, historian, options=ForwarderOptions(poll_interval=0.05, max_inflight=1))
        )
        await seen.wait_for(lambda: len(seen.seqs) > 0)
        live_first, live_last = add_samples(historian, 100)
        await seen.wait_for(lambda: all(seq in seen.seqs for seq in range(live_first, live_last + 1)))
        # The live rows arrived while most of the backlog was still waiting.
        assert len(seen.missing(1, backlog_last)) > backlog_last // 2
        await seen.wait_for(lambda: len(seen.seqs) == live_last)
        await forwarder.stop()
    assert seen.duplicates == 0


async def test_backlog_older_than_max_age_is_sent_as_a_gap(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    ten_days_ago = int((time.time() - 10 * 86400) * 1e6)
    add_samples(historian, 500, ts_us=ten_days_ago)
    first, last = add_samples(historian, 300)
    async with Collector(broker) as seen:
        forwarder = await forwarding(Forwarder(cloud_config(max_backlog_age="2d"), historian, options=FAST))
        await seen.wait_for(lambda: len(seen.seqs) == 300 and ("gap", 1) in seen.events)
        await forwarder.stop()
    assert min(seen.seqs) == first and max(seen.seqs) == last
    (gap,) = historian.outbox_events("gap", 0)
    assert gap.data == {"first_seq": 1, "last_seq": 500, "rows": 500, "reason": "max_backlog_age"}
    assert forwarder.health().gaps == 1


@pytest.mark.expect_log_warnings
async def test_retention_keeps_unforwarded_rows_up_to_the_cap_then_reports_a_gap(
    broker: Mosquitto, tmp_path: Path, cloud_config: CloudConfigFactory
) -> None:
    forty_days_ago = int((time.time() - 40 * 86400) * 1e6)
    with Historian(
        tmp_path / "capped.duckdb", retention=RetentionPolicy(raw=timedelta(days=30))
    ) as historian:
        add_samples(historian, 3000, ts_us=forty_days_ago)
        # No backend confirms here: the broker's PUBACK is the last word (cloud.confirm off).
        config = cloud_config(max_unforwarded_rows=1000, max_backlog_age="365d", confirm=False)
        forwarder = Forwarder(config, historian, options=FAST)
        await forwarder.load()
        historian.set_retention_guard(forwarder.retention_guard)
        result = historian.apply_retention()
        # Rows past their age but unforwarded are kept, except beyond the cap of 1000.
        assert result.deleted["raw"] == 2000 and result.held_back == 1000
        async with Collector(broker) as seen:
            forwarder.start()
            await seen.wait_for(lambda: len(seen.seqs) == 1000 and ("gap", 1) in seen.events)
            await forwarder.stop()
        assert min(seen.seqs) == 2001
        (gap,) = historian.outbox_events("gap", 0)
        assert gap.data == {"first_seq": 1, "last_seq": 2000, "rows": 2000, "reason": "retention"}
        assert historian.outbox_watermark("samples") == 3000
        assert historian.apply_retention().deleted["raw"] == 1000


async def test_sync_never_started_publishes_nothing(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    add_samples(historian, 100)
    async with Collector(broker) as seen:
        forwarder = Forwarder(cloud_config(enabled=False), historian, options=FAST)
        await forwarder.load()
        await asyncio.sleep(0.5)
    assert seen.messages == 0 and not forwarder.running


# ---------------------------------------------------------------------------------------- security


@pytest.fixture
def secure_broker(tmp_path: Path) -> Mosquitto:
    acl = "user edge-01\ntopic write linesight/v1/acme/#\n\nuser reader\ntopic read linesight/v1/#\n"
    broker = Mosquitto(
        tmp_path / "secure",
        users={"edge-01": "s3cret-edge", "reader": "s3cret-reader"},
        acl=acl,
        require_certificate=True,
    )
    broker.start()
    yield broker  # type: ignore[misc]
    broker.stop()


@pytest.mark.slow
@pytest.mark.expect_log_warnings
async def test_mutual_tls_with_password_forwards_and_no_certificate_is_refused(
    secure_broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    certs = secure_broker.certificates
    assert certs is not None and secure_broker.tls_port is not None
    client = certs.issue("edge-01")
    _first, last = add_samples(historian, 2000)
    base = {"port": secure_broker.tls_port, "username": "edge-01", "password": "s3cret-edge"}
    async with Collector(secure_broker, username="reader", password="s3cret-reader") as seen:
        without = Forwarder(
            cloud_config(**base, tls={"ca": str(certs.ca)}, edge="edge-02"),
            historian,
            options=ForwarderOptions(poll_interval=0.05, publish_timeout=2.0),
        )
        await forwarding(without)
        forwarder = await forwarding(
            Forwarder(
                cloud_config(
                    **base, tls={"ca": str(certs.ca), "cert": str(client.cert), "key": str(client.key)}
                ),
                historian,
                options=FAST,
            )
        )
        await seen.wait_for(lambda: len(seen.seqs) == last)
        await forwarder.stop()
        await seen.wait_for(lambda: without.health().retries >= 1)
        refused = without.health()
        await without.stop()
    assert seen.duplicates == 0
    assert not refused.connected and refused.published_samples == 0
    assert refused.last_error is not None and "client certificate" in refused.last_error


@pytest.mark.expect_log_warnings
async def test_wrong_password_is_refused_clearly_and_retried_until_it_works(
    tmp_path: Path, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    with Mosquitto(tmp_path / "pw", users={"edge-01": "right", "reader": "r"}) as broker:
        _first, last = add_samples(historian, 1000)
        config = cloud_config(port=broker.port, username="edge-01", password="wrong")
        async with Collector(broker, username="reader", password="r") as seen:
            forwarder = await forwarding(Forwarder(config, historian, options=FAST))
            await seen.wait_for(lambda: forwarder.health().retries >= 2)
            health = forwarder.health()
            assert not health.connected and health.published_samples == 0
            assert health.last_error is not None and "password" in health.last_error
            # The broker learns the password the edge has; the forwarder's next retry gets in.
            broker.add_user("edge-01", "wrong")
            broker.reload()
            await seen.wait_for(lambda: len(seen.seqs) == last)
            await forwarder.stop()
    assert seen.duplicates == 0 and historian.outbox_watermark("samples") == last


# ---------------------------------------------------------------------------------------- kill -9

_EDGE_SCRIPT = """
import asyncio, json, logging, sys
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
from linesight.cloud.forwarder import Forwarder, ForwarderOptions
from linesight.domain.cloud import CloudConfig
from linesight.storage.historian import Historian, RetentionPolicy

async def main() -> None:
    config = CloudConfig.model_validate(json.loads(sys.argv[2]))
    with Historian(sys.argv[1], retention=RetentionPolicy(raw=None, minute=None)) as historian:
        options = ForwarderOptions(poll_interval=0.05, persist_every=0.05)
        forwarder = Forwarder(config, historian, options=options)
        await forwarder.load()
        print("ready", forwarder.retention_guard(), flush=True)
        await forwarder.run()

asyncio.run(main())
"""


@pytest.mark.slow
async def test_edge_killed_mid_batch_and_restarted_loses_nothing(
    broker: Mosquitto, tmp_path: Path, cloud_config: CloudConfigFactory
) -> None:
    path = tmp_path / "killed.duckdb"
    with Historian(path, retention=RetentionPolicy(raw=None, minute=None)) as historian:
        add_samples(historian, 200_000)
        last = historian.last_seq
    script = tmp_path / "edge.py"
    script.write_text(_EDGE_SCRIPT)
    config = cloud_config(batch_rows=2000, compression="none").model_dump(mode="json")

    log = tmp_path / "edge.log"

    def launch() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, str(script), str(path), json.dumps(config)], stdout=out, stderr=out
            )

    async with Collector(broker) as seen:
        edge = launch()
        await seen.wait_for(lambda: len(seen.seqs) > 20_000, within=60)
        os.kill(edge.pid, signal.SIGKILL)
        edge.wait()
        killed_at = len(seen.seqs)
        assert killed_at < last, "the edge finished before it was killed: make the backlog larger"
        edge = launch()
        try:
            await seen.wait_for(lambda: len(seen.seqs) == last, within=90)
        finally:
            edge.terminate()
            edge.wait(timeout=20)
    assert seen.missing(1, last) == []
    print(f"kill -9 after {killed_at} of {last} samples: {seen.duplicates} duplicates at the broker")
    assert "HistorianError" not in log.read_text()


@pytest.mark.expect_log_warnings
async def test_a_dropped_range_wider_than_a_message_is_one_gap(
    broker: Mosquitto, tmp_path: Path, cloud_config: CloudConfigFactory
) -> None:
    forty_days_ago = int((time.time() - 40 * 86400) * 1e6)
    with Historian(tmp_path / "holes.duckdb", retention=RetentionPolicy(raw=timedelta(days=30))) as historian:
        add_samples(historian, 1000)
        add_samples(historian, 3000, ts_us=forty_days_ago)  # 1001..4000, past their retention
        add_samples(historian, 1000)
        forwarder = Forwarder(
            cloud_config(max_unforwarded_rows=1000, batch_rows=700), historian, options=FAST
        )
        await forwarder.load()
        historian.set_retention_guard(forwarder.retention_guard)
        assert historian.apply_retention().deleted["raw"] == 3000
        async with Collector(broker) as seen:
            forwarder.start()
            await seen.wait_for(lambda: len(seen.seqs) == 2000 and ("gap", 1) in seen.events)
            await forwarder.stop()
        assert seen.missing(1, 1000) == [] and seen.missing(4001, 5000) == []
        (gap,) = historian.outbox_events("gap", 0)
        assert gap.data == {"first_seq": 1001, "last_seq": 4000, "rows": 3000, "reason": "retention"}


# ---------------------------------------------------------------------------------------- confirmations


def test_confirmations_find_a_range_lost_only_once_a_later_one_is_confirmed_and_the_grace_passed() -> None:
    confirm = Confirmations({"samples": 0, "alarm": 0}, grace=10.0)
    confirm.sent([("samples", 0, 100, 1, 100)])  # lost after the broker's PUBACK
    confirm.sent([("samples", 100, 250, 131, 250)])  # rows 101..130 were deleted: a gap, reported
    confirm.sent([("alarm", 0, 3, 1, 3)])
    assert confirm.lost(1000.0) == []  # nothing confirmed: a backend that is away is not a loss
    confirm.confirm("samples", [(131, 250)], now=1000.0)
    assert confirm.watermark("samples") == 0 and confirm.pending("samples") == 100
    assert confirm.lost(1009.0) == []  # within the grace period
    assert confirm.lost(1010.0) == [("samples", 0, 100)]
    assert confirm.pending() == 3  # the alarm message went after: not lost
    # A wide range from before a restart, confirmed in part, goes again only in the unconfirmed part.
    restarted = Confirmations({"samples": 0}, grace=1.0)
    restarted.expect("samples", 0, 1000)
    restarted.sent([("samples", 1000, 1500, 1001, 1500)])
    restarted.confirm("samples", [(1, 300), (601, 700)], now=0.0)
    restarted.confirm("samples", [(1001, 1500)], now=0.0)
    assert restarted.lost(1.0) == [("samples", 300, 600), ("samples", 700, 1000)]
    confirm.sent([("samples", 0, 100, 1, 100)])  # sent again
    confirm.confirm("samples", [(1, 100)], now=1011.0)
    assert confirm.watermark("samples") == 250 and confirm.pending("samples") == 0
    confirm.confirm("alarm", [(1, 3)], now=1012.0, refused=True)
    assert confirm.watermark("alarm") == 3 and confirm.refused == 3
    # Memory stays bounded: touching pending ranges are merged.
    many = Confirmations({"samples": 250}, grace=1.0, max_pending=10)
    for lo in range(250, 1250, 10):
        many.sent([("samples", lo, lo + 10, lo + 1, lo + 10)])
    assert many.pending("samples") == 1000 and len(many._pending["samples"]) <= 10
    many.confirm("samples", [(251, 1250)], now=0.0)
    assert many.watermark("samples") == 1250 and many.pending() == 0


def test_range_set_merges_and_moves_its_watermark() -> None:
    done = RangeSet(10)
    done.add(20, 30)
    done.add(40, 50)
    done.add(30, 35)
    assert done.covers(20, 35) and not done.covers(20, 40) and len(done) == 2
    assert done.missing(0, 60) == [(10, 20), (35, 40), (50, 60)] and done.missing(21, 29) == []
    done.add(10, 20)
    assert done.watermark == 35 and done.covers(0, 35) and len(done) == 1
    done.add(35, 45)
    assert done.watermark == 50 and len(done) == 0


class _Backend:
    """Plays the backend on a real broker: reads the edge's samples and events and confirms them on
    the edge's ack topic, except the messages ``lose`` picks (lost on the way, as Mosquitto 2.0.11
    loses them after a restart)."""

    def __init__(self, broker: Mosquitto, lose: Callable[[codec.Message], bool]) -> None:
        self.broker = broker
        self.lose = lose
        self.seqs: dict[int, int] = {}
        self.events: dict[tuple[str, int], int] = {}
        self.lost: list[codec.Message] = []
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Backend:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with aiomqtt.Client(self.broker.host, self.broker.port, identifier="test-backend") as client:
            await client.subscribe("linesight/v1/+/+/+/samples", qos=1)
            await client.subscribe("linesight/v1/+/+/+/events", qos=1)
            self.ready.set()
            async for message in client.messages:
                decoded = codec.decode(str(message.topic), bytes(message.payload))  # type: ignore[arg-type]
                if self.lose(decoded):
                    self.lost.append(decoded)
                    continue
                samples: list[tuple[int, int]] = []
                events: dict[str, list[tuple[int, int]]] = {}
                if isinstance(decoded, codec.SampleBatch):
                    samples.append((decoded.first_seq, decoded.last_seq))
                    for seq in decoded.seq:
                        self.seqs[seq] = self.seqs.get(seq, 0) + 1
                elif isinstance(decoded, codec.EventBatch):
                    for event in decoded.events:
                        events.setdefault(event.stream, []).append((event.id, event.id))
                        key = (event.stream, event.id)
                        self.events[key] = self.events.get(key, 0) + 1
                ack = codec.encode_ack(decoded.origin, samples=samples, events=events)
                await client.publish(decoded.origin.topic("ack"), ack, qos=1)


@pytest.mark.expect_log_warnings  # "sending them again" is the warning this test provokes
async def test_a_range_lost_after_the_brokers_puback_is_sent_again_once_a_later_one_is_confirmed(
    broker: Mosquitto,
    historian: Historian,
    cloud_config: CloudConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _first, last = add_samples(historian, 3000)
    historian.record_outbox_event("state", int(time.time() * 1e6), "press-01", {"state": "running"})
    config = cloud_config(batch_rows=500, confirm_grace=0.5, max_unforwarded_rows=None)
    first_of_each: set[str] = set()

    def lose_the_first_of_each_kind(message: codec.Message) -> bool:
        if message.kind in first_of_each:
            return False
        first_of_each.add(message.kind)
        return True

    async with _Backend(broker, lose_the_first_of_each_kind) as backend:
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        confirm = forwarder.confirmations
        assert confirm is not None
        await wait_for(lambda: confirm.watermark("samples") == last and confirm.watermark("state") == 1)
        await forwarder.stop()
    lost_samples = [m for m in backend.lost if isinstance(m, codec.SampleBatch)]
    assert len(lost_samples) == 1 and len(backend.lost) == 2  # one message of samples, one of events
    # Everything reached the backend; what was lost went again (only that: nothing else twice).
    assert sorted(backend.seqs) == list(range(1, last + 1))
    assert all(n == 1 for n in backend.seqs.values())
    assert backend.events == {("state", 1): 1}
    assert forwarder.resent_rows == len(lost_samples[0]) + 1
    assert historian.outbox_watermark("samples.confirmed") == last
    assert historian.outbox_watermark("state.confirmed") == 1
    assert any("sending them again" in r.getMessage() for r in caplog.records)


@pytest.mark.expect_log_warnings  # on a slow machine the probe may come before the first confirmation
async def test_when_the_last_message_of_all_is_lost_a_probe_sends_it_again(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    _first, last = add_samples(historian, 1200)
    config = cloud_config(batch_rows=500, confirm_grace=0.2, confirm_probe=0.5, max_unforwarded_rows=None)
    lost: set[int] = set()

    def lose_the_last(message: codec.Message) -> bool:
        if isinstance(message, codec.SampleBatch) and message.last_seq == last and not lost:
            lost.add(message.last_seq)
            return True
        return False

    async with _Backend(broker, lose_the_last) as backend:
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        confirm = forwarder.confirmations
        assert confirm is not None
        await wait_for(lambda: confirm.watermark("samples") == last)
        await forwarder.stop()
    # Nothing was sent after the lost message: only the probe found it. (When the machine is so slow
    # that the probe comes before the backend's first confirmation, the probe's message is a duplicate
    # the backend drops, and the lost one is found from its confirmation: still none missing.)
    assert lost == {last} and sorted(backend.seqs) == list(range(1, last + 1))
    assert all(n >= 1 for n in backend.seqs.values()) and forwarder.resent_rows >= 200


async def test_with_no_backend_confirming_nothing_is_sent_again_and_retention_keeps_every_row(
    broker: Mosquitto, historian: Historian, cloud_config: CloudConfigFactory
) -> None:
    _first, last = add_samples(historian, 3000)
    config = cloud_config(batch_rows=500, confirm_grace=0.2, max_unforwarded_rows=None)
    async with Collector(broker, topic="linesight/v1/+/+/+/samples") as seen:
        forwarder = await forwarding(Forwarder(config, historian, options=FAST))
        await seen.wait_for(lambda: len(seen.seqs) == last)
        _more_first, more_last = add_samples(historian, 500)
        await seen.wait_for(lambda: len(seen.seqs) == more_last)
        await asyncio.sleep(1.0)  # five grace periods: still nothing to send again
        await forwarder.stop()
    assert seen.duplicates == 0 and forwarder.resent_rows == 0
    confirm = forwarder.confirmations
    assert confirm is not None and confirm.pending("samples") == more_last
    # The broker acknowledged everything; the backend confirmed nothing: retention deletes nothing.
    assert historian.outbox_watermark("samples") == more_last
    assert historian.outbox_watermark("samples.confirmed") == 0 and forwarder.retention_guard() == 0
    # A restart remembers what is unconfirmed.
    again = Forwarder(config, historian, options=FAST)
    await again.load()
    assert again.confirmations is not None and again.confirmations.pending("samples") == more_last


async def wait_for(predicate: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not reached within {within} s"
        await asyncio.sleep(0.05)
