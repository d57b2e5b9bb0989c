"""The alarm service: evaluates every sample batch on the runtime loop, keeps the timers, journals each
event in the historian (in a worker thread), tells listeners, and answers the HMI from any thread.

Evaluation and operator actions share one lock; listeners are called outside it, on the runtime loop,
so that a listener may read a snapshot. A listener that raises is logged and evaluation goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from linesight.domain.alarm_kpis import AlarmKpis
from linesight.domain.alarms import (
    AlarmCounts,
    AlarmDefinition,
    AlarmEngine,
    AlarmEvent,
    AlarmStatus,
    to_us,
    utc,
)
from linesight.domain.errors import HistorianError, PermissionDenied
from linesight.domain.machine import MachineState
from linesight.domain.plant import PlantConfig
from linesight.domain.tags import Sample
from linesight.domain.users import PERMISSIONS, Permission, Role, allowed
from linesight.runtime.machines import MachineTracker

log = logging.getLogger(__name__)

US = 1_000_000
TICK_INTERVAL_S = 0.25  # on/off delays, stale tags and shelve expiry are this exact at worst
JOURNAL_FLUSH_S = 1.0
# Events kept while the historian cannot be written; beyond it the oldest go, loudly and counted.
MAX_JOURNAL_PENDING = 100_000

AlarmListener = Callable[[Sequence[AlarmEvent]], None]


@runtime_checkable
class AlarmJournal(Protocol):
    """The part of the historian the alarm service needs."""

    def record_alarm_events(self, events: Sequence[AlarmEvent]) -> int: ...

    def latest_alarm_events(self) -> list[AlarmEvent]: ...


@dataclass(frozen=True, kw_only=True)
class AlarmSnapshot:
    """Everything the banner and the alarm list show, taken at one moment."""

    taken_at: datetime
    alarms: tuple[AlarmStatus, ...]  # every alarm not in NORMAL, most urgent first
    counts: AlarmCounts
    top_unacked: AlarmStatus | None  # what the banner shows
    flood: bool


@dataclass(frozen=True, kw_only=True)
class JournalStats:
    recorded: int
    pending: int
    failed_flushes: int
    dropped: int


def _who_may(permission: Permission) -> str:
    roles = [role.value for role in Role if permission in PERMISSIONS[role]]
    return ", ".join(roles[:-1]) + f" or {roles[-1]}" if len(roles) > 1 else roles[0]


class AlarmService:
    """A bus sink (``update``), a machine-state listener (``machine_state``) and the alarms' front desk."""

    def __init__(
        self,
        plant: PlantConfig,
        *,
        clock: Callable[[], float] = time.time,
        journal: AlarmJournal | None = None,
        tick_interval: float = TICK_INTERVAL_S,
        flush_interval: float = JOURNAL_FLUSH_S,
        max_pending: int = MAX_JOURNAL_PENDING,
    ) -> None:
        self._clock = clock
        self._journal = journal
        self._tick_interval = tick_interval
        self._flush_interval = flush_interval
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._engine = AlarmEngine(plant, start_us=self._now_us())
        self._listeners: list[AlarmListener] = []
        self._pending: list[AlarmEvent] = []
        self._flush_lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._recorded = 0
        self._failed = 0
        self._failing = False
        self._dropped = 0

    def _now_us(self) -> int:
        return int(self._clock() * US)

    # ------------------------------------------------------------------ inputs (runtime loop)

    def update(self, batch: Sequence[Sample]) -> None:
        """Bus sink: evaluate a batch of samples."""
        with self._lock:
            events = self._engine.update(batch, self._now_us())
            self._queue(events)
        self._deliver(events)

    def machine_state(self, machine: str, state: MachineState, ts_us: int) -> None:
        """A machine entered ``state`` (MachineTracker's state listener)."""
        try:
            with self._lock:
                events = self._engine.machine_state(machine, state, ts_us)
                self._queue(events)
        except Exception:
            # Called from inside the tracker's bus sink: a fault here must not stop its batch.
            log.exception("alarms: the state change of %s to %s failed", machine, state)
            return
        self._deliver(events)

    def follow(self, tracker: MachineTracker) -> Callable[[], None]:
        """Hear of every machine-state change from now on, starting with each machine's state now."""
        unsubscribe = tracker.subscribe_states(self.machine_state)
        for status in tracker.statuses():
            if status.since is not None:  # a machine with no state data yet suppresses nothing
                self.machine_state(status.machine, status.state, to_us(status.since))
        return unsubscribe

    def tick(self, now: float | None = None) -> None:
        """Run the timers (on/off delays, stale tags, stopped machines, shelve expiry, floods)."""
        now_us = int((self._clock() if now is None else now) * US)
        with self._lock:
            events = self._engine.tick(now_us)
            self._queue(events)
        self._deliver(events)

    # ------------------------------------------------------------------ life (runtime loop)

    async def restore(self) -> int:
        """Take back the alarms' states from the journal (before the first batch); returns how many."""
        journal = self._journal
        if journal is None:
            return 0
        try:
            latest = await asyncio.to_thread(journal.latest_alarm_events)
        except HistorianError as err:
            log.error("cannot restore the alarms from the journal, they start normal: %s", err)
            return 0
        with self._lock:
            restored = self._engine.restore(latest)
        if restored:
            log.info("alarms: restored the state of %d alarms from the journal", restored)
        return restored

    async def run(self) -> None:
        """Tick every ``tick_interval`` and write the journal every ``flush_interval`` until cancelled."""
        self._bind_loop()
        await asyncio.gather(self._tick_loop(), self._journal_loop())

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval)
            self.tick()

    async def _journal_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            await self.flush()

    async def flush(self) -> None:
        """Write the events collected so far to the journal, in a worker thread."""
        journal = self._journal
        if journal is None:
            with self._lock:
                self._pending.clear()
            return
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await asyncio.to_thread(journal.record_alarm_events, batch)
            except HistorianError as err:
                self._failed += 1
                with self._lock:
                    self._pending[:0] = batch
                    self._trim()
                    pending = len(self._pending)
                if not self._failing:
                    log.error("alarm journal write failed, keeping %d events to retry: %s", pending, err)
                    self._failing = True
                return
            if self._failing:
                log.info("alarm journal writes recovered")
                self._failing = False
            self._recorded += len(batch)

    def _trim(self) -> None:
        excess = len(self._pending) - self._max_pending
        if excess > 0:
            del self._pending[:excess]
            self._dropped += excess
            log.error("alarm journal unreachable too long: dropped the %d oldest events", excess)

    def journal_stats(self) -> JournalStats:
        with self._lock:
            pending = len(self._pending)
        return JournalStats(
            recorded=self._recorded, pending=pending, failed_flushes=self._failed, dropped=self._dropped
        )

    # ------------------------------------------------------------------ listeners

    def subscribe(self, listener: AlarmListener) -> Callable[[], None]:
        """``listener(events)`` is called on the runtime loop with each batch of events."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _queue(self, events: list[AlarmEvent]) -> None:
        if events and self._journal is not None:
            self._pending.extend(events)

    def _deliver(self, events: list[AlarmEvent]) -> None:
        if not events or not self._listeners:
            return
        loop = self._loop
        if (
            loop is not None
            and threading.get_ident() != self._loop_thread
            and loop.is_running()
            and not loop.is_closed()
        ):
            loop.call_soon_threadsafe(self._call_listeners, tuple(events))
        else:
            self._call_listeners(tuple(events))

    def _call_listeners(self, events: Sequence[AlarmEvent]) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(events)
            except Exception:
                log.exception("alarm listener %r failed on %d events", listener, len(events))

    # ------------------------------------------------------------------ commands (any thread)

    def _check(self, role: Role | None, permission: Permission, user: str, what: str) -> None:
        if not allowed(role, permission):
            who = f"{user or 'nobody'} ({role.value if role else 'not logged in'})"
            raise PermissionDenied(f"{who} may not {what}: that needs the role {_who_may(permission)}")

    def _command(self, run: Callable[[int], list[AlarmEvent]]) -> list[AlarmEvent]:
        with self._lock:
            events = run(self._now_us())
            self._queue(events)
        self._deliver(events)
        return events

    def acknowledge(
        self, alarm_id: str, *, user: str, role: Role | None, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge one alarm; one with nothing to acknowledge is left alone (no events)."""
        self._check(role, Permission.ACKNOWLEDGE, user, "acknowledge alarms")
        return self._command(
            lambda now: self._engine.acknowledge(alarm_id, user=user, ts_us=now, comment=comment)
        )

    def acknowledge_all(
        self, *, user: str, role: Role | None, machine: str | None = None, comment: str | None = None
    ) -> list[AlarmEvent]:
        """Acknowledge every unacknowledged alarm, or those of one machine."""
        self._check(role, Permission.ACKNOWLEDGE, user, "acknowledge alarms")
        return self._command(
            lambda now: self._engine.acknowledge_all(user=user, ts_us=now, machine=machine, comment=comment)
        )

    def shelve(
        self,
        alarm_id: str,
        *,
        user: str,
        role: Role | None,
        duration: float | None = None,
        comment: str | None = None,
    ) -> list[AlarmEvent]:
        """Shelve for ``duration`` seconds, or without one until the alarm returns to normal (one-shot)."""
        self._check(role, Permission.SHELVE, user, "shelve alarms")
        return self._command(
            lambda now: self._engine.shelve(
                alarm_id,
                user=user,
                ts_us=now,
                until_us=None if duration is None else now + int(duration * US),
                comment=comment,
            )
        )

    def unshelve(
        self, alarm_id: str, *, user: str, role: Role | None, comment: str | None = None
    ) -> list[AlarmEvent]:
        self._check(role, Permission.SHELVE, user, "unshelve alarms")
        return self._command(
            lambda now: self._engine.unshelve(alarm_id, user=user, ts_us=now, comment=comment)
        )

    def remove_from_service(
        self, alarm_id: str, *, user: str, role: Role | None, comment: str | None = None
    ) -> list[AlarmEvent]:
        self._check(role, Permission.SHELVE, user, "take alarms out of service")
        return self._command(
            lambda now: self._engine.remove_from_service(alarm_id, user=user, ts_us=now, comment=comment)
        )

    def return_to_service(
        self, alarm_id: str, *, user: str, role: Role | None, comment: str | None = None
    ) -> list[AlarmEvent]:
        self._check(role, Permission.SHELVE, user, "return alarms to service")
        return self._command(
            lambda now: self._engine.return_to_service(alarm_id, user=user, ts_us=now, comment=comment)
        )

    def comment(self, alarm_id: str, *, user: str, role: Role | None, text: str) -> list[AlarmEvent]:
        self._check(role, Permission.ACKNOWLEDGE, user, "comment on alarms")
        return self._command(lambda now: self._engine.comment(alarm_id, user=user, ts_us=now, text=text))

    # ------------------------------------------------------------------ snapshots (any thread)

    def snapshot(self) -> AlarmSnapshot:
        now_us = self._now_us()
        with self._lock:
            return AlarmSnapshot(
                taken_at=utc(now_us),
                alarms=tuple(self._engine.statuses(now_us)),
                counts=self._engine.counts(),
                top_unacked=self._engine.top_unacknowledged(now_us),
                flood=bool(self._engine.flood.in_flood()),
            )

    def active(self, *, include_normal: bool = False) -> list[AlarmStatus]:
        """Every alarm not in NORMAL (or all), most urgent first."""
        now_us = self._now_us()
        with self._lock:
            return self._engine.statuses(now_us, include_normal=include_normal)

    def counts(self) -> AlarmCounts:
        with self._lock:
            return self._engine.counts()

    def top_unacknowledged(self) -> AlarmStatus | None:
        now_us = self._now_us()
        with self._lock:
            return self._engine.top_unacknowledged(now_us)

    def status(self, alarm_id: str) -> AlarmStatus:
        now_us = self._now_us()
        with self._lock:
            return self._engine.status(alarm_id, now_us)

    def kpis(self, *, top_n: int = 10) -> AlarmKpis:
        now_us = self._now_us()
        with self._lock:
            return self._engine.kpis(now_us, top_n=top_n)

    def definitions(self) -> list[AlarmDefinition]:
        return self._engine.definitions
