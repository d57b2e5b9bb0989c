"""Store-and-forward from the historian to the cloud over MQTT (QoS 1), live data first.

The historian is the outbox: samples are read after a durable watermark (a sequence number), events
after one watermark per stream (an id). A watermark moves only over rows whose message the broker
acknowledged (PUBACK: awaiting ``aiomqtt.Client.publish`` at QoS 1 returns only then), and is
recorded in the historian, so a restart resumes from it.

No loss, no duplicate in the database:
- Every claimed range (after, end] of sequence numbers is either acknowledged or released for
  sending again; the durable watermark is the top of the contiguous acknowledged prefix. A crash
  loses nothing: what was unacknowledged lies above the watermark and goes again; what was
  acknowledged above the watermark but not yet recorded goes again too, and the backend drops the
  duplicate on (edge, seq). At-least-once on the wire, exactly-once in the database.
- A PUBACK says the broker has a message, not that the backend will get it (Mosquitto 2.0.11 forgets
  a shared subscription over a restart and drops what arrives before the consumer subscribes
  again). With ``cloud.confirm`` on, the backend confirms on ``.../ack`` what it stored
  (``Confirmations``); a range the broker acknowledged and the backend did not confirm goes again once
  the backend has confirmed something sent later and ``confirm_grace`` has passed (or, when nothing
  is heard for ``confirm_probe``, the newest such range's tail goes again to ask). The retention
  guard is then the recorded *confirmed* watermark.
- Numbers missing above the watermark were deleted by retention (only possible once the
  configured cap of unforwarded rows is hit) or skipped as older than ``max_backlog_age``: each such
  range is recorded as a ``gap`` event, itself forwarded, before the watermark moves over it.

Live first: two cursors. The live cursor follows the head of the historian; everything between the
watermark and the live cursor that is neither acknowledged nor in flight is backlog. Messages
alternate live and backlog, so a backlog of millions of rows drains beside the live data without
delaying it; when the live cursor falls far behind (after an outage), it jumps to the head and what
it skipped becomes backlog.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode

from linesight.cloud import codec
from linesight.cloud.codec import Event, MachineInfo, Origin, TagRef
from linesight.cloud.edge_metrics import BacklogHealth, EdgeMetrics
from linesight.cloud.mqtt import reading_disconnects
from linesight.domain.cloud import CloudConfig
from linesight.domain.errors import LineSightError

log = logging.getLogger(__name__)

SAMPLES = "samples"
EVENT_STREAMS = ("state", "shift_oee", "alarm", "downtime_code", "reject", "audit", "gap")
US = 1_000_000
STOP_DRAIN_S = 2.0
STOP_OFFLINE_S = 2.0  # how long a clean stop waits to publish the offline status
# The last connection's session_us (codec.Status), kept beside the watermarks: a clock that went back
# (a panel PC without an RTC battery) must not make the next birth look older than the last will.
SESSION = "status_session"


CONFIRMING = "confirm"  # outbox watermark name: 1 once this edge has run with confirmations


def _confirmed_key(key: str) -> str:
    """The outbox watermark name of what the backend confirmed (samples or an event stream)."""
    return f"{key}.confirmed"


def remove_from(ranges: list[tuple[int, int]], lo: int, hi: int) -> None:
    """Take (lo, hi] out of a sorted list of disjoint (lo, hi] ranges."""
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if b <= lo or a >= hi:
            out.append((a, b))
            continue
        if a < lo:
            out.append((a, lo))
        if hi < b:
            out.append((hi, b))
    ranges[:] = out


class CloudError(Exception):
    """Cloud sync cannot go on as configured (a message a person can act on)."""


# ---------------------------------------------------------------------------------------- the outbox


class SampleRows(Protocol):
    after: int
    end: int
    seq: list[int]
    tag_id: list[int]
    ts_us: list[int]
    value: list[float | None]
    text: list[str | None]
    quality: list[int]


class EventRow(Protocol):
    stream: str
    id: int
    ts_us: int
    machine: str | None
    data: dict[str, Any]


class Outbox(Protocol):
    """What the forwarder needs of the historian (``linesight.storage.outbox.OutboxRecords``)."""

    @property
    def last_seq(self) -> int: ...

    def outbox_watermark(self, stream: str) -> int: ...

    def set_outbox_watermarks(self, marks: dict[str, int]) -> None: ...

    def outbox_samples(self, after: int, *, upto: int | None = None, limit: int = 5000) -> SampleRows: ...

    def outbox_tags(self) -> dict[int, tuple[str, str]]: ...

    def outbox_first_seq_since(self, after: int, ts_us: int) -> int | None: ...

    def outbox_oldest(self, after: int) -> int | None: ...

    def record_outbox_event(
        self, stream: str, ts_us: int, machine: str | None, data: dict[str, Any], *, dedupe: str | None = None
    ) -> int | None: ...

    def outbox_events(self, stream: str, after: int, limit: int = 500) -> Sequence[EventRow]: ...


def _event(row: EventRow) -> Event:
    return Event(stream=row.stream, id=row.id, ts_us=row.ts_us, machine=row.machine, data=row.data)


# ---------------------------------------------------------------------------------------- ranges


class SeqTracker:
    """Which sequence numbers above the watermark are acknowledged or in flight, as (lo, hi] ranges."""

    def __init__(self, watermark: int) -> None:
        self.watermark = watermark
        self._done: list[tuple[int, int]] = []
        self._busy: list[tuple[int, int]] = []

    def claim(self, lo: int, hi: int) -> None:
        self._busy.append((lo, hi))

    def release(self, lo: int, hi: int) -> None:
        self._busy.remove((lo, hi))

    def release_all(self) -> None:
        self._busy.clear()

    def ack(self, lo: int, hi: int) -> None:
        with contextlib.suppress(ValueError):
            self._busy.remove((lo, hi))
        self._done.append((lo, hi))
        self._done.sort()
        merged: list[tuple[int, int]] = []
        for a, b in self._done:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        while merged and merged[0][0] <= self.watermark:
            self.watermark = max(self.watermark, merged.pop(0)[1])
        self._done = merged

    def acked_above(self) -> int:
        return sum(b - a for a, b in self._done)

    def next_hole(self, upto: int) -> tuple[int, int] | None:
        """The lowest range in (watermark, upto] that is neither acknowledged nor in flight."""
        at = self.watermark
        for a, b in sorted(self._done + self._busy):
            if a > at:
                break
            at = max(at, b)
        if at >= upto:
            return None
        following = [a for a, _b in self._done + self._busy if a >= at]
        return at, min([upto, *following])


class RangeSet:
    """Numbers confirmed, as merged (lo, hi] ranges above a watermark that moves over their prefix."""

    def __init__(self, watermark: int = 0) -> None:
        self.watermark = watermark
        self._ranges: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return len(self._ranges)

    def add(self, lo: int, hi: int) -> None:
        if hi <= self.watermark or hi <= lo:
            return
        lo = max(lo, self.watermark)
        ranges = self._ranges
        at = bisect.bisect_left(ranges, (lo, lo))
        if at > 0 and ranges[at - 1][1] >= lo:
            at -= 1
        end = at
        while end < len(ranges) and ranges[end][0] <= hi:
            lo, hi = min(lo, ranges[end][0]), max(hi, ranges[end][1])
            end += 1
        ranges[at:end] = [(lo, hi)]
        if ranges[0][0] <= self.watermark:
            self.watermark = ranges.pop(0)[1]

    def missing(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The parts of (lo, hi] not in the set."""
        at = max(lo, self.watermark)
        out: list[tuple[int, int]] = []
        start = max(0, bisect.bisect_left(self._ranges, (at, at)) - 1)
        for a, b in self._ranges[start:]:
            if at >= hi or a >= hi:
                break
            if b <= at:
                continue
            if a > at:
                out.append((at, a))
            at = b
        if at < hi:
            out.append((at, hi))
        return out

    def covers(self, lo: int, hi: int) -> bool:
        if hi <= self.watermark:
            return True
        lo = max(lo, self.watermark)
        at = bisect.bisect_right(self._ranges, (lo, hi))
        return any(a <= lo and hi <= b for a, b in self._ranges[max(0, at - 1) : at + 1])


@dataclass(slots=True)
class _Sent:
    """A message's range of one key that the broker acknowledged and the backend has not confirmed."""

    serial: int  # the order in which the broker acknowledged messages (0: before this run)
    lo: int
    hi: int
    first: int  # the first and last number the message held (rows deleted before it are in (lo, first))
    last: int


# One message's part of a key: (key, lo, hi, first, last); key "samples" or an event stream.
Part = tuple[str, int, int, int, int]


class Confirmations:
    """What the backend confirmed it stored, per key, and which acknowledged ranges are evidently lost.

    A range the broker acknowledged stays *pending* until a confirmation covers it. It is lost when
    the backend has confirmed a message the broker acknowledged after it, and ``grace`` seconds have
    passed since that confirmation (the backend works through its queue roughly in order; a backend
    that is simply down confirms nothing, so nothing is sent again until it is back).
    """

    def __init__(
        self, watermarks: Mapping[str, int], *, grace: float, max_pending: int = 4096, now: float = 0.0
    ) -> None:
        self.grace = grace
        self.max_pending = max_pending
        # The last confirmation heard, message acknowledged by the broker, and probe (see ``probe``).
        self._heard_at = self._sent_at = self._probed_at = now
        self._confirmed = {key: RangeSet(mark) for key, mark in watermarks.items()}
        self._pending: dict[str, list[_Sent]] = {key: [] for key in watermarks}
        self._serial = 0
        # (time, serial) of confirmations, serials increasing: the ripe serial is the highest serial
        # confirmed at least ``grace`` ago; every pending range below it is lost.
        self._ripening: collections.deque[tuple[float, int]] = collections.deque()
        self._ripe = 0
        self._scanned = 0
        self.refused = 0

    def watermark(self, key: str) -> int:
        return self._confirmed[key].watermark

    def pending(self, key: str | None = None) -> int:
        """How many numbers are acknowledged by the broker and not yet confirmed (of one key or all)."""
        keys = [key] if key is not None else list(self._pending)
        return sum(entry.hi - entry.lo for k in keys for entry in self._pending[k])

    def expect(self, key: str, lo: int, hi: int) -> None:
        """Acknowledged by the broker before this run and not confirmed: older than anything sent now."""
        if hi > lo and not self._confirmed[key].covers(lo, hi):
            self._pending[key].append(_Sent(0, lo, hi, lo + 1, hi))

    def sent(self, parts: Sequence[Part], now: float = 0.0) -> None:
        """The broker acknowledged one message made of ``parts``."""
        self._serial += 1
        self._sent_at = max(self._sent_at, now)
        for key, lo, hi, first, last in parts:
            entries = self._pending[key]
            entries.append(_Sent(self._serial, lo, hi, first, last))
            if len(entries) > self.max_pending:
                self._pending[key] = _merge_pending(entries)

    def settle(self, key: str, lo: int, hi: int) -> None:
        """Nothing in (lo, hi] to store (rows deleted, events absent): confirmed as it is."""
        self._confirmed[key].add(lo, hi)

    def confirm(
        self, key: str, ranges: Sequence[tuple[int, int]], now: float, *, refused: bool = False
    ) -> None:
        """The backend stored (or refused for good) the inclusive ranges ``ranges`` of ``key``."""
        if key not in self._confirmed or not ranges:
            return
        done = self._confirmed[key]
        self._heard_at = max(self._heard_at, now)
        for first, last in ranges:
            done.add(first - 1, last)
        newest = -1
        keep: list[_Sent] = []
        for entry in self._pending[key]:
            # A message is confirmed by its first and last numbers: rows deleted before its first (a
            # gap already reported) are part of its range.
            if done.covers(entry.lo, entry.hi) or any(
                first <= entry.first and entry.last <= last for first, last in ranges
            ):
                done.add(entry.lo, entry.hi)
                newest = max(newest, entry.serial)
                if refused:
                    self.refused += entry.hi - entry.lo
            else:
                keep.append(entry)
        self._pending[key] = keep
        if newest > (self._ripening[-1][1] if self._ripening else self._ripe):
            self._ripening.append((now, newest))

    def lost(self, now: float) -> list[tuple[str, int, int]]:
        """Pending ranges evidently lost: (key, lo, hi) each, no longer pending (send them again)."""
        while self._ripening and self._ripening[0][0] <= now - self.grace:
            self._ripe = max(self._ripe, self._ripening.popleft()[1])
        if self._ripe <= self._scanned:
            return []
        self._scanned = self._ripe
        out: list[tuple[str, int, int]] = []
        for key, entries in self._pending.items():
            if any(entry.serial < self._ripe for entry in entries):
                done = self._confirmed[key]
                for entry in entries:
                    if entry.serial < self._ripe:
                        # Only what is still unconfirmed (a range from before a restart is wide, and
                        # confirmed piece by piece).
                        out += [(key, lo, hi) for lo, hi in done.missing(entry.lo, entry.hi)]
                self._pending[key] = [e for e in entries if e.serial >= self._ripe]
        return out

    def probe(self, now: float, every: float, rows: int) -> tuple[str, int, int] | None:
        """The tail of what is pending, to be sent again, when nothing has been heard for ``every``
        seconds: no confirmation, no message acknowledged by the broker, no probe.

        The rule of ``lost`` needs a later message confirmed; when the last messages of all were lost
        (the edge had nothing more to send), none comes. So the newest pending range's last ``rows``
        numbers go again (one message): confirmed, it makes every older pending range lost after the
        grace period; not confirmed (the backend is away), it costs one message per ``every``.
        """
        if now - max(self._heard_at, self._sent_at, self._probed_at) < every:
            return None
        newest: tuple[str, int] | None = None
        serial = -1
        for key, entries in self._pending.items():
            for index, entry in enumerate(entries):
                if entry.serial > serial:
                    newest, serial = (key, index), entry.serial
        if newest is None:
            return None
        self._probed_at = now
        key, index = newest
        entry = self._pending[key][index]
        lo = max(entry.lo, entry.hi - max(1, rows))
        if lo == entry.lo:
            del self._pending[key][index]
        else:
            self._pending[key][index] = _Sent(entry.serial, entry.lo, lo, entry.first, min(entry.last, lo))
        return key, lo, entry.hi


def _merge_pending(entries: list[_Sent]) -> list[_Sent]:
    """Bound the memory: merge pending ranges that touch (the later of the two serials stays)."""
    merged: list[_Sent] = []
    for entry in sorted(entries, key=lambda e: e.lo):
        last = merged[-1] if merged else None
        if last is not None and last.hi == entry.lo:
            merged[-1] = _Sent(max(last.serial, entry.serial), last.lo, entry.hi, last.first, entry.last)
        else:
            merged.append(entry)
    return merged


def merge_into(ranges: list[tuple[int, int]], lo: int, hi: int) -> None:
    """Add (lo, hi] to a sorted list of disjoint ranges, merging those that touch."""
    ranges.append((lo, hi))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    ranges[:] = merged


# ---------------------------------------------------------------------------------------- jobs


@dataclass(kw_only=True)
class _Job:
    topic: str
    payload: bytes
    lane: str  # "live", "backlog", "resend" (samples lost after the broker's PUBACK) or "events"
    lo: int = 0
    hi: int = 0
    samples: int = 0
    newest_us: int = 0
    event_marks: dict[str, int] = field(default_factory=dict)
    # What the backend is to confirm of this message, and the lost ranges it sends again.
    parts: list[Part] = field(default_factory=list)
    resent: list[tuple[str, int, int]] = field(default_factory=list)
    resent_rows: int = 0


@dataclass(frozen=True, kw_only=True)
class ForwarderOptions:
    """Tuning that is not in the plant file (tests and benchmarks change it)."""

    poll_interval: float = 0.2  # how often to look for new rows when there was nothing to send
    max_inflight: int = 4  # messages published and not yet acknowledged
    live_lag_rows: int = 50_000  # live cursor this far behind the head: jump to the head
    persist_every: float = 0.5  # seconds between recordings of the watermarks
    events_per_message: int = 500
    publish_timeout: float = 30.0
    version: str = ""


def _password(config: CloudConfig) -> str | None:
    if config.password is not None:
        return config.password
    if config.password_file is not None:
        try:
            return Path(config.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as err:
            raise CloudError(
                f"cloud.password_file {config.password_file}: cannot read a password: {err}"
            ) from err
    if config.password_env is not None:
        value = os.environ.get(config.password_env)
        if value is None:
            raise CloudError(f"cloud.password_env: the environment variable {config.password_env} is not set")
        return value
    return None


def tls_context(config: CloudConfig) -> ssl.SSLContext | None:
    """The TLS context of the ``cloud.tls`` section (None: plain TCP)."""
    tls = config.tls
    if tls is None:
        return None
    try:
        context = ssl.create_default_context(cafile=tls.ca)
        if tls.cert is not None:
            context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError) as err:
        raise CloudError(f"cloud.tls: cannot load the CA or the client certificate/key: {err}") from err
    if tls.insecure:
        context.check_hostname = False
    return context


def explain(err: BaseException) -> str:
    """A person's words for why the broker connection failed."""
    if isinstance(err, aiomqtt.MqttCodeError) and not isinstance(err.rc, MQTTErrorCode):
        # (a client-side error code such as MQTT_ERR_NO_CONN = 4 is not the broker's CONNACK refusal 4)
        code = getattr(err.rc, "value", err.rc)
        if code in (4, 134):
            return f"the broker refused the username or password (check cloud.username/password): {err}"
        if code in (5, 135):
            return (
                "the broker refused the connection as not authorised: a wrong username or password, or an "
                f"account that may not connect (check cloud.username and the password): {err}"
            )
    text = str(err) or type(err).__name__
    if "timed out" in text.lower():
        return f"no answer from the broker in time ({text}); with TLS, a missing client certificate shows so"
    return text


class Forwarder:
    """Runs while cloud sync is on: ``await forwarder.run()`` until cancelled (``stop`` ends it cleanly)."""

    def __init__(
        self,
        config: CloudConfig,
        outbox: Outbox,
        *,
        machines: Sequence[MachineInfo] = (),
        options: ForwarderOptions | None = None,
        metrics: EdgeMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.origin = Origin(tenant=config.tenant, site=config.site, edge=config.edge)
        self.outbox = outbox
        self.machines = tuple(machines)
        self.options = options or ForwarderOptions()
        self.metrics = metrics or EdgeMetrics()
        # Read when /metrics is scraped: the confirmations change with every message and every ack.
        self.metrics.unconfirmed.set_function(
            lambda: 0.0 if self._confirm is None else float(self._confirm.pending(SAMPLES))
        )
        self._clock = clock
        self._rng = rng or random.Random()
        self._compress = config.compression == "zstd"
        self._tags: dict[int, tuple[str, str]] = {}
        self._batch = 0
        self._row_bytes = (0.0, 0.0)  # bytes per sample, raw and compressed, as last measured
        self._events_next_check = 0.0
        self._tracker: SeqTracker | None = None
        self._durable_seq: int | None = None
        self._durable_confirmed: int | None = None  # the confirmed samples watermark as recorded
        self._confirm: Confirmations | None = None
        self._resend: dict[str, list[tuple[int, int]]] = {}  # per key, lost ranges to send again
        self._resent = 0
        self._live = 0
        self._lane_turn = 0
        self._event_sent: dict[str, int] = {}
        self._event_acked: dict[str, int] = {}
        self._events_busy = False
        self._persisted_at = 0.0
        self._persisted: dict[str, int] = {}
        self._connected = False
        # The connection the status messages belong to (codec.Status.session_us): set with each client.
        self._session_us = 0
        self._running = False
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._published_samples = 0
        self._published_events = 0
        self._retries = 0
        self._gaps = 0
        self._backlog: tuple[int, int | None] = (0, None)  # (rows, oldest µs), refreshed in the background
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def load(self) -> None:
        """Read the durable watermarks (before the first ``run``, also for the retention guard)."""
        marks = await asyncio.to_thread(self._read_marks)
        self._durable_seq = marks[SAMPLES]
        self._session_us = marks[SESSION]
        self._persisted = dict(marks)
        self._event_acked = {stream: marks[stream] for stream in EVENT_STREAMS}
        self._durable_confirmed = None
        self._confirm = None
        self._resend = {}
        if self.config.confirm:
            keys = (SAMPLES, *EVENT_STREAMS)
            confirmed = {key: marks[_confirmed_key(key)] for key in keys}
            if not marks[CONFIRMING]:
                # The first run with confirmations (an edge from before them): what the broker
                # acknowledged until now counts as confirmed; from now on, only the backend's word does.
                confirmed = {key: max(confirmed[key], marks[key]) for key in keys}
                first = {CONFIRMING: 1, **{_confirmed_key(key): confirmed[key] for key in keys}}
                await asyncio.to_thread(self.outbox.set_outbox_watermarks, first)
            confirm = Confirmations(confirmed, grace=self.config.confirm_grace, now=self._clock())
            for key in keys:
                confirm.expect(key, confirmed[key], marks[key])
            self._confirm = confirm
            self._durable_confirmed = confirmed[SAMPLES]

    def _read_marks(self) -> dict[str, int]:
        keys = (SAMPLES, *EVENT_STREAMS)
        names = [*keys, *(_confirmed_key(key) for key in keys), CONFIRMING, SESSION]
        return {name: self.outbox.outbox_watermark(name) for name in names}

    def start(self) -> asyncio.Task[None]:
        """Run in a task of the running loop."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="cloud-forwarder")
        return self._task

    async def stop(self) -> None:
        """Stop forwarding: publish the offline status, record the watermarks, disconnect."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        # Cancel until it ends: a cancellation can be lost in a library's wait that completes at the
        # same moment (asyncio.wait_for on Python 3.11), and a stop must never hang the runtime's exit.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_DRAIN_S + STOP_OFFLINE_S + 1.0)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    @property
    def running(self) -> bool:
        return self._running

    @property
    def confirmations(self) -> Confirmations | None:
        """What the backend confirmed (None when ``cloud.confirm`` is off or before ``load``)."""
        return self._confirm

    @property
    def resent_rows(self) -> int:
        """Samples and events sent again because the backend never confirmed them."""
        return self._resent

    def retention_guard(self) -> int | None:
        """For ``Historian.set_retention_guard``: the highest sequence number retention may delete.

        The durable watermark (never the one in memory: a crash must not find acknowledged rows gone
        that it would send again), or more when the unforwarded rows exceed ``max_unforwarded_rows``.
        With confirmations on, the durable *confirmed* watermark: a row the broker acknowledged may
        still be lost on the way to the backend, and must stay until the backend confirms it.
        """
        durable = self._durable_seq if self._durable_seq is not None else 0
        if self.config.confirm:
            durable = self._durable_confirmed if self._durable_confirmed is not None else 0
        cap = self.config.max_unforwarded_rows
        if cap is not None:
            durable = max(durable, self.outbox.last_seq - cap)
        return durable

    def health(self) -> BacklogHealth:
        now = self._clock()
        rows, oldest = self._backlog
        return BacklogHealth(
            enabled=self._running,
            connected=self._connected,
            backlog_rows=rows,
            oldest_age_s=None if oldest is None else max(0.0, now - oldest / US),
            publish_rate=self.metrics.rate.rate(now),
            published_samples=self._published_samples,
            published_events=self._published_events,
            retries=self._retries,
            gaps=self._gaps,
            watermark=self._durable_seq or 0,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            unconfirmed=None if self._confirm is None else self._confirm.pending(SAMPLES),
            resent=self._resent,
        )

    # ------------------------------------------------------------------ the connection loop

    async def run(self) -> None:
        if self._durable_seq is None:
            await self.load()
        self._running = True
        self.metrics.sync_enabled.set(1)
        attempt = 0
        monitor = asyncio.create_task(self._watch_backlog(), name="cloud-backlog")
        try:
            try:
                await self._skip_too_old()
            except LineSightError as err:
                log.error("cloud sync: cannot look for history older than max_backlog_age: %s", err)
            while True:
                try:
                    await self._session()
                except (aiomqtt.MqttError, CloudError, LineSightError, OSError) as err:
                    self._failed(err)
                except Exception as err:  # a bug must not end cloud sync for good: say so, retry
                    log.exception("cloud sync: unexpected error; retrying")
                    self._failed(err)
                finally:
                    if self._connected:
                        attempt = 0  # a connection that worked starts the backoff over
                    self._connected = False
                    self.metrics.connected.set(0)
                    if self._tracker is not None:
                        self._tracker.release_all()
                    self._events_busy = False
                    self._event_sent = dict(self._event_acked)
                attempt += 1
                delay = self.config.reconnect.delay(attempt, self._rng)
                log.info("cloud sync: reconnecting in %.1f s", delay)
                await asyncio.sleep(delay)
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
            self._running = False
            self.metrics.sync_enabled.set(0)
            with contextlib.suppress(Exception):
                await asyncio.shield(asyncio.to_thread(self._persist_now))

    def _failed(self, err: BaseException) -> None:
        message = explain(err)
        self._retries += 1
        self.metrics.publish_retry.inc()
        if message != self._last_error:
            log.warning("cloud sync to %s:%d: %s", self.config.host, self.config.broker_port, message)
        self._last_error = message
        self._last_error_at = self._clock()

    def _client(self) -> aiomqtt.Client:
        config = self.config
        offline = self._status(online=False)
        client = aiomqtt.Client(
            config.host,
            config.broker_port,
            identifier=config.session_id,
            clean_session=False,
            username=config.username,
            password=_password(config),
            tls_context=tls_context(config),
            keepalive=int(config.keepalive),
            will=aiomqtt.Will(topic=self.origin.topic("status"), payload=offline, qos=1, retain=True),
            timeout=self.options.publish_timeout,
            max_inflight_messages=max(20, self.options.max_inflight * 2),
        )
        return reading_disconnects(client)

    def _status(self, *, online: bool) -> bytes:
        return codec.encode_status(
            self.origin,
            online=online,
            version=self.options.version,
            machines=self.machines if online else (),
            session_us=self._session_us,
        )

    async def _session(self) -> None:
        # Each connection's session is later than the last one, whatever the clock says (recorded first:
        # the broker holds this connection's will as soon as it is connected).
        session = max(codec.now_us(), self._session_us + 1)
        await asyncio.to_thread(self.outbox.set_outbox_watermarks, {SESSION: session})
        self._session_us = session
        await self._connected_session(self._client())

    async def _connected_session(self, client: aiomqtt.Client) -> None:
        async with client:
            self._connected = True
            self.metrics.connected.set(1)
            if self._last_error is not None:
                log.info("cloud sync: connected to %s:%d", self.config.host, self.config.broker_port)
            self._last_error = None
            birth = self._status(online=True)
            await client.publish(self.origin.topic("status"), birth, qos=1, retain=True)
            reader: asyncio.Task[None] | None = None
            if self._confirm is not None:
                # Every connection, though the persistent session keeps it: cheap, and no broker's memory
                # of subscriptions is relied on.
                await client.subscribe(self.origin.topic("ack"), qos=1)
                reader = asyncio.create_task(self._read_acks(client), name="cloud-acks")
            try:
                await self._pump(client)
            except asyncio.CancelledError:
                if self._stopping:
                    # A clean stop: the will is not sent, so say offline ourselves.
                    offline = self._status(online=False)
                    with contextlib.suppress(aiomqtt.MqttError, asyncio.CancelledError):
                        await asyncio.wait_for(
                            client.publish(self.origin.topic("status"), offline, qos=1, retain=True),
                            STOP_OFFLINE_S,
                        )
                raise
            finally:
                if reader is not None:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)

    async def _read_acks(self, client: aiomqtt.Client) -> None:
        topic = self.origin.topic("ack")
        try:
            async for message in client.messages:
                if str(message.topic) != topic:
                    continue
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode("utf-8")
                try:
                    ack = codec.decode_ack(topic, data)
                except codec.InvalidMessage as err:
                    log.warning("cloud sync: an invalid confirmation on %s (%s): %s", topic, err.reason, err)
                    continue
                self._apply_ack(ack)
        except aiomqtt.MqttError as err:
            log.debug("cloud sync: confirmations stopped with the connection: %s", err)

    def _apply_ack(self, ack: codec.Ack) -> None:
        confirm = self._confirm
        if confirm is None:
            return
        now = self._clock()
        confirm.confirm(SAMPLES, ack.samples, now)
        for stream, ranges in ack.events.items():
            confirm.confirm(stream, ranges, now)
        if ack.refused_samples or ack.refused_events:
            confirm.confirm(SAMPLES, ack.refused_samples, now, refused=True)
            for stream, ranges in ack.refused_events.items():
                confirm.confirm(stream, ranges, now, refused=True)
            log.warning(
                "cloud sync: the backend refused samples %s and events %s for good (%s); they are not sent "
                "again",
                list(ack.refused_samples),
                {k: list(v) for k, v in ack.refused_events.items()},
                ack.refused_reason or "no reason given",
            )

    def _collect_lost(self) -> None:
        """Ranges the broker acknowledged that evidently never reached the database: send them again."""
        if self._confirm is None:
            return
        now = self._clock()
        lost = self._confirm.lost(now)
        for key, lo, hi in lost:
            merge_into(self._resend.setdefault(key, []), lo, hi)
        size = self.config.batch_rows  # rows of samples, ids of events: one message either way
        probe = self._confirm.probe(now, self.config.confirm_probe, size)
        if probe is not None:
            key, lo, hi = probe
            merge_into(self._resend.setdefault(key, []), lo, hi)
            log.info(
                "cloud sync: no word from the backend for %.0f s while %d are unconfirmed: sending %s %d..%d "
                "again to ask",
                self.config.confirm_probe,
                self._confirm.pending() + hi - lo,
                key,
                lo + 1,
                hi,
            )
        if lost:
            log.warning(
                "cloud sync: %d range(s) the broker acknowledged were never confirmed by the backend while "
                "later ones were: sending them again (%s)",
                len(lost),
                ", ".join(f"{key} {lo + 1}..{hi}" for key, lo, hi in lost[:5]),
            )

    async def _pump(self, client: aiomqtt.Client) -> None:
        inflight: dict[asyncio.Task[None], _Job] = {}
        try:
            while True:
                self._collect_lost()
                while len(inflight) < self.options.max_inflight:
                    job = await self._next_job()
                    if job is None:
                        break
                    task = asyncio.create_task(self._publish(client, job))
                    inflight[task] = job
                if self._clock() - self._persisted_at >= self.options.persist_every:
                    await asyncio.to_thread(self._persist_now)
                if not inflight:
                    await asyncio.sleep(self.options.poll_interval)
                    continue
                done, _pending = await asyncio.wait(
                    inflight, timeout=self.options.poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    job = inflight.pop(task)
                    error = task.exception()
                    if error is not None:
                        self._give_back(job)
                        raise error
                    self._acked(job)
        finally:
            if inflight and self._stopping:
                # A clean stop: let the messages on the wire get their PUBACK (briefly), so that the
                # recorded watermark is as high as it can be.
                finished, _rest = await asyncio.wait(inflight, timeout=STOP_DRAIN_S)
                for task in finished:
                    job = inflight.pop(task)
                    if task.exception() is None:
                        self._acked(job)
                    else:
                        self._give_back(job)
            for task, job in inflight.items():
                task.cancel()
                self._give_back(job)
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)

    async def _publish(self, client: aiomqtt.Client, job: _Job) -> None:
        # At QoS 1 this returns once the broker's PUBACK arrived (aiomqtt waits for on_publish).
        await client.publish(job.topic, job.payload, qos=1)

    def _give_back(self, job: _Job) -> None:
        for key, lo, hi in job.resent:
            merge_into(self._resend.setdefault(key, []), lo, hi)
        if job.lane == "resend":
            return
        if job.lane == "events":
            self._events_busy = False
            self._event_sent = dict(self._event_acked)
        elif self._tracker is not None:
            with contextlib.suppress(ValueError):
                self._tracker.release(job.lo, job.hi)

    def _acked(self, job: _Job) -> None:
        self.metrics.published_messages.inc()
        self.metrics.published_bytes.inc(len(job.payload))
        if self._confirm is not None and job.parts:
            self._confirm.sent(job.parts, self._clock())
        self._resent += job.resent_rows
        if job.resent_rows:
            self.metrics.resent.inc(job.resent_rows)
        if job.lane == "resend":
            return
        if job.lane == "events":
            self._events_busy = False
            for stream, mark in job.event_marks.items():
                self._event_acked[stream] = max(self._event_acked.get(stream, 0), mark)
            self._published_events += job.samples
            self.metrics.published_events.inc(job.samples)
            return
        assert self._tracker is not None
        self._tracker.ack(job.lo, job.hi)
        if job.samples:
            now = self._clock()
            self._published_samples += job.samples
            self.metrics.published_samples.inc(job.samples)
            self.metrics.rate.add(now, job.samples)
            if job.lane == "live":
                self.metrics.live_lag.set(max(0.0, now - job.newest_us / US))

    # ------------------------------------------------------------------ choosing what to send

    async def _next_job(self) -> _Job | None:
        if self._tracker is None:
            self._tracker = SeqTracker(self._durable_seq or 0)
            self._live = max(self._tracker.watermark, await asyncio.to_thread(lambda: self.outbox.last_seq))
        lanes = ("live", "events", "backlog")
        for turn in range(len(lanes)):
            lane = lanes[(self._lane_turn + turn) % len(lanes)]
            job = await self._job_for(lane)
            if job is not None:
                self._lane_turn = (self._lane_turn + turn + 1) % len(lanes)
                return job
        return None

    async def _job_for(self, lane: str) -> _Job | None:
        tracker = self._tracker
        assert tracker is not None
        if lane == "events":
            if self._events_busy or self._clock() < self._events_next_check:
                return None
            return await self._events_job()
        while True:
            head = self.outbox.last_seq
            if lane == "live":
                if head <= self._live:
                    return None
                if head - self._live > self.options.live_lag_rows:
                    # Far behind (after an outage): what lies between becomes backlog.
                    self._live = max(self._live, head - self.config.batch_rows)
                after, upto = self._live, head
            else:
                queue = self._resend.get(SAMPLES)
                if queue:
                    job = await self._resend_job(queue)
                    if job is not None:
                        return job
                    continue
                hole = tracker.next_hole(self._live)
                if hole is None:
                    return None
                after, upto = hole
            job = await asyncio.to_thread(self._build_samples, after, upto, lane)
            tracker.claim(job.lo, job.hi)
            if lane == "live":
                self._live = max(self._live, job.hi)
            if job.payload:
                return job
            # Nothing left in the range (deleted rows, recorded as a gap): done without a message.
            tracker.ack(job.lo, job.hi)
            if self._confirm is not None:
                self._confirm.settle(SAMPLES, job.lo, job.hi)

    async def _resend_job(self, queue: list[tuple[int, int]]) -> _Job | None:
        """The next message of samples lost after the broker's PUBACK (None: that range had no rows)."""
        after, upto = queue[0]
        job = await asyncio.to_thread(self._build_samples, after, upto, "resend")
        remove_from(queue, job.lo, job.hi)
        if not job.payload:
            if self._confirm is not None:
                self._confirm.settle(SAMPLES, job.lo, job.hi)
            return None
        job.resent = [(SAMPLES, job.lo, job.hi)]
        job.resent_rows = job.samples
        return job

    def _build_samples(self, after: int, upto: int, lane: str) -> _Job:
        """Read and encode one message of samples in (after, upto]; record gaps found (worker thread)."""
        rows = self.outbox.outbox_samples(after, upto=upto, limit=self._rows_that_fit())
        n = len(rows.seq)
        end = rows.end
        if n and rows.seq[-1] < end < upto:
            # The window ends inside a range of deleted rows: leave that range to the next read, which
            # skips to its end, so that one gap is reported as one event, not cut at window edges.
            end = rows.seq[-1]
        while True:
            self._record_gaps(after, end, rows.seq[:n])
            if n == 0:
                return _Job(topic="", payload=b"", lane=lane, lo=after, hi=end)
            payload, raw_size = self._encode(rows, n)
            self._learn_size(n, raw_size, len(payload))
            fits = raw_size <= self.config.max_message_bytes and (
                not self._compress or len(payload) <= self.config.max_compressed_bytes
            )
            if fits or n == 1:
                break
            # Too large: send the first part now; the rest stays for the next message.
            n = max(1, n // 2)
            end = rows.seq[n - 1]
        return _Job(
            topic=self.origin.topic("samples"),
            payload=payload,
            lane=lane,
            lo=after,
            hi=end,
            samples=n,
            newest_us=max(rows.ts_us[:n]),
            parts=[(SAMPLES, after, end, rows.seq[0], rows.seq[n - 1])],
        )

    def _rows_that_fit(self) -> int:
        """Rows per message: ``batch_rows``, fewer when the sizes seen so far say they would not fit."""
        raw_row, packed_row = self._row_bytes
        fit = self.config.max_message_bytes / raw_row if raw_row else float(self.config.batch_rows) / 0.9
        if self._compress and packed_row:
            fit = min(fit, self.config.max_compressed_bytes / packed_row)
        return max(1, min(self.config.batch_rows, int(fit * 0.9)))

    def _learn_size(self, rows: int, raw: int, packed: int) -> None:
        raw_row, packed_row = self._row_bytes
        new = (raw / rows, packed / rows)
        # A running estimate that follows changes in the data (text tags, compression ratio).
        self._row_bytes = (
            new if not raw_row else (0.7 * raw_row + 0.3 * new[0], 0.7 * packed_row + 0.3 * new[1])
        )

    def _encode(self, rows: SampleRows, n: int) -> tuple[bytes, int]:
        ids = rows.tag_id[:n]
        unknown = set(ids).difference(self._tags)
        if unknown:
            self._tags = self.outbox.outbox_tags()
        positions: dict[int, int] = {}
        tags: list[TagRef] = []
        index: list[int] = []
        for tag_id in ids:
            position = positions.get(tag_id)
            if position is None:
                key, unit = self._tags.get(tag_id, (f"tag-{tag_id}", ""))
                position = positions[tag_id] = len(tags)
                tags.append(TagRef(key=key, unit=unit))
            index.append(position)
        self._batch += 1
        document = codec.samples_document(
            self.origin,
            batch=self._batch,
            tags=tags,
            seq=rows.seq[:n],
            tag=index,
            ts_us=rows.ts_us[:n],
            value=rows.value[:n],
            text=rows.text[:n],
            quality=rows.quality[:n],
        )
        raw = codec.dumps(document)
        if not self._compress:
            return raw, len(raw)
        return codec.zstd_compress(raw), len(raw)

    def _record_gaps(self, after: int, end: int, seq: Sequence[int]) -> None:
        """Sequence numbers missing from (after, end] were dropped unforwarded: record them as gaps."""
        if len(seq) == end - after:
            return
        expected = after + 1
        for number in [*seq, end + 1]:
            if number > expected:
                self._record_gap(expected, number - 1, "retention")
            expected = number + 1

    def _record_gap(self, first: int, last: int, reason: str) -> None:
        data = {"first_seq": first, "last_seq": last, "rows": last - first + 1, "reason": reason}
        kept = self.outbox.record_outbox_event(
            "gap", int(self._clock() * US), None, data, dedupe=f"{first}-{last}"
        )
        if kept is not None:
            self._gaps += 1
            self.metrics.gaps.inc()
            # Retention dropping unforwarded rows is a loss worth a warning; not sending history older
            # than max_backlog_age is what the plant file asked for.
            log.log(
                logging.WARNING if reason == "retention" else logging.INFO,
                "cloud sync: samples %d..%d (%d) were not forwarded (%s)",
                first,
                last,
                last - first + 1,
                reason,
            )

    async def _skip_too_old(self) -> None:
        """When sync starts, history older than ``max_backlog_age`` is not sent: record it as a gap."""
        start = self._durable_seq or 0
        head = await asyncio.to_thread(lambda: self.outbox.last_seq)
        if head <= start:
            return
        cutoff = int((self._clock() - self.config.max_backlog_age) * US)
        first = await asyncio.to_thread(self.outbox.outbox_first_seq_since, start, cutoff)
        last = head if first is None else first - 1
        if last <= start:
            return
        # Numbers missing right after the watermark went to retention, not to this rule.
        oldest = await asyncio.to_thread(self.outbox.outbox_samples, start, upto=last, limit=1)
        present = oldest.seq[0] if oldest.seq else last + 1
        if present > start + 1:
            await asyncio.to_thread(self._record_gap, start + 1, present - 1, "retention")
        if present <= last:
            await asyncio.to_thread(self._record_gap, present, last, "max_backlog_age")
        self._durable_seq = last
        marks = {SAMPLES: last}
        if self._confirm is not None:
            # Not to be sent: nothing for the backend to confirm either.
            self._confirm.settle(SAMPLES, start, last)
            marks[_confirmed_key(SAMPLES)] = self._confirm.watermark(SAMPLES)
            self._durable_confirmed = marks[_confirmed_key(SAMPLES)]
        await asyncio.to_thread(self.outbox.set_outbox_watermarks, marks)
        self._persisted.update(marks)
        if self._tracker is not None:
            self._tracker.ack(self._tracker.watermark, last)

    async def _events_job(self) -> _Job | None:
        plan = {stream: list(self._resend.get(stream, ())) for stream in EVENT_STREAMS}
        again, found = await asyncio.to_thread(self._read_events, plan)
        resent: list[tuple[str, int, int]] = []
        parts: list[Part] = []
        events: list[Event] = []
        for stream, lo, hi, rows in again:
            remove_from(self._resend.setdefault(stream, []), lo, hi)
            if not rows:
                if self._confirm is not None:
                    self._confirm.settle(stream, lo, hi)
                continue
            resent.append((stream, lo, hi))
            parts.append((stream, lo, hi, rows[0].id, rows[-1].id))
            events += (_event(row) for row in rows)
        resent_rows = len(events)
        if not found and not events:
            # Seven small queries: not again before the next poll interval.
            self._events_next_check = self._clock() + self.options.poll_interval
            return None
        marks: dict[str, int] = {}
        firsts: dict[str, int] = {}
        for row in found:
            events.append(_event(row))
            marks[row.stream] = max(marks.get(row.stream, 0), row.id)
            firsts[row.stream] = min(firsts.get(row.stream, row.id), row.id)
        for stream, mark in marks.items():
            after = self._event_sent.get(stream, self._event_acked.get(stream, 0))
            parts.append((stream, after, mark, firsts[stream], mark))
        self._batch += 1
        payload = codec.encode_events(self.origin, batch=self._batch, events=events, compress=self._compress)
        self._events_busy = True
        self._event_sent.update(marks)
        return _Job(
            topic=self.origin.topic("events"),
            payload=payload,
            lane="events",
            samples=len(events),
            event_marks=marks,
            parts=parts,
            resent=resent,
            resent_rows=resent_rows,
        )

    def _read_events(
        self, plan: dict[str, list[tuple[int, int]]]
    ) -> tuple[list[tuple[str, int, int, list[EventRow]]], list[EventRow]]:
        """Events to send again (per lost range read: stream, lo, hi read up to, rows), then new ones."""
        budget = self.options.events_per_message
        again: list[tuple[str, int, int, list[EventRow]]] = []
        for stream, ranges in plan.items():
            for lo, hi in ranges:
                if budget <= 0:
                    break
                rows = list(self.outbox.outbox_events(stream, lo, budget))
                inside = [row for row in rows if row.id <= hi]
                end = inside[-1].id if len(rows) == budget and len(inside) == budget else hi
                again.append((stream, lo, end, inside))
                budget -= len(inside)
        found: list[EventRow] = []
        for stream in EVENT_STREAMS:
            if budget <= 0:
                break
            after = self._event_sent.get(stream, self._event_acked.get(stream, 0))
            rows = list(self.outbox.outbox_events(stream, after, budget))
            found += rows
            budget -= len(rows)
        return again, found

    # ------------------------------------------------------------------ watermarks, backlog

    def _persist_now(self) -> None:
        self._persisted_at = self._clock()
        marks: dict[str, int] = {}
        if self._tracker is not None and self._tracker.watermark > self._persisted.get(SAMPLES, 0):
            marks[SAMPLES] = self._tracker.watermark
        for stream, mark in self._event_acked.items():
            if mark > self._persisted.get(stream, 0):
                marks[stream] = mark
        confirm = self._confirm
        for key in (SAMPLES, *EVENT_STREAMS):
            # Confirmations off: the broker's PUBACK is the last word, and the confirmed watermarks
            # follow it (so that switching confirmations on later starts from there).
            name = _confirmed_key(key)
            mark = confirm.watermark(key) if confirm is not None else marks.get(key, 0)
            if mark > self._persisted.get(name, 0):
                marks[name] = mark
        if not marks:
            return
        self.outbox.set_outbox_watermarks(marks)
        self._persisted.update(marks)
        if SAMPLES in marks:
            self._durable_seq = marks[SAMPLES]
        if _confirmed_key(SAMPLES) in marks:
            self._durable_confirmed = marks[_confirmed_key(SAMPLES)]

    async def _watch_backlog(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self._measure_backlog)
            except Exception as err:  # noqa: BLE001  (a failed measurement must not stop forwarding)
                log.debug("cloud sync: backlog measurement failed: %s", err)
            await asyncio.sleep(1.0)

    def _measure_backlog(self) -> None:
        tracker = self._tracker
        watermark = tracker.watermark if tracker is not None else (self._durable_seq or 0)
        acked = tracker.acked_above() if tracker is not None else 0
        rows = max(0, self.outbox.last_seq - watermark - acked)
        oldest = self.outbox.outbox_oldest(watermark) if rows else None
        self._backlog = (rows, oldest)
        self.metrics.backlog_rows.set(rows)
        self.metrics.backlog_oldest_age.set(0.0 if oldest is None else max(0.0, self._clock() - oldest / US))
