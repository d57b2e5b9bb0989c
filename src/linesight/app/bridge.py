"""The one place where the runtime becomes Qt signals: the GUI thread never waits on the runtime.

Timers on the GUI thread read the runtime's thread-safe caches at a bounded rate and emit immutable
snapshots: numbers at 10 Hz and trends at up to 30 frames a second by default, latest value wins
(a slow repaint skips frames, it never queues them). Alarms: the alarm service tells a listener on the
runtime loop of every batch of events, which only bumps a counter; a 4 Hz timer here takes a snapshot
when the counter moved (several events in a quarter second make one snapshot), and every few seconds
anyway, for what changes with time alone (stale, chattering) or without events (a restore).
Commands cross to the runtime loop with ``run_coroutine_threadsafe``; their results come back as
signals on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from linesight.domain.alarms import AlarmEvent
from linesight.domain.machine import MachineState
from linesight.domain.tags import Sample
from linesight.runtime.alarms import AlarmSnapshot
from linesight.runtime.commands import Commands
from linesight.runtime.engine import Engine
from linesight.runtime.health import MachineHealth
from linesight.runtime.machines import MachineStatus
from linesight.runtime.thread import EngineThread

log = logging.getLogger(__name__)

ALARMS_HZ = 4.0  # an alarm reaches the banner within a quarter second
ALARMS_REFRESH_MS = 5000  # and the list is taken again this often even without events


class RuntimeBridge(QObject):
    valuesChanged = Signal(object)  # Mapping[str, Sample]: the latest sample of every tag
    statusChanged = Signal(object)  # list[MachineStatus]
    healthChanged = Signal(object)  # list[MachineHealth]
    trendTick = Signal()  # a frame for live trends: screens pull their rings from engine.live
    alarmsChanged = Signal(object)  # AlarmSnapshot, when it changed
    commandDone = Signal(int, object)  # ticket, result
    commandFailed = Signal(int, str)  # ticket, message a person can act on

    def __init__(
        self,
        runtime: EngineThread | None,
        engine: Engine,
        commands: Commands,
        *,
        numbers_hz: float = 10.0,
        trends_fps: float = 30.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.engine = engine
        self.commands = commands
        self._version = -1
        self._tickets = 0
        self._numbers = QTimer(self)
        self._numbers.setInterval(max(1, round(1000 / numbers_hz)))
        self._numbers.timeout.connect(self._publish_numbers)
        self._trends = QTimer(self)
        self._trends.setInterval(max(1, round(1000 / trends_fps)))
        self._trends.timeout.connect(self._publish_trend_frame)
        self._slow = QTimer(self)  # health and OEE change slowly: once a second
        self._slow.setInterval(1000)
        self._slow.timeout.connect(self._publish_slow)
        self._trend_version = -1
        # Until a machine's state is known, statuses also go out with the numbers when the cache
        # changed: the overview's first value then shows as it arrives, not up to a second later.
        # (For the first 5 s of data at most: a plant without state tags would never stop looking.)
        self._first_status_tries = 50
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}
        self.alarms: AlarmSnapshot | None = None  # the latest snapshot sent
        self._alarm_events = 0  # bumped on the runtime loop by every batch of alarm events
        self._alarm_seen = -1
        self._alarms_timer = QTimer(self)
        self._alarms_timer.setInterval(round(1000 / ALARMS_HZ))
        self._alarms_timer.timeout.connect(self._publish_alarms)
        self._alarms_refresh = QTimer(self)
        self._alarms_refresh.setInterval(ALARMS_REFRESH_MS)
        self._alarms_refresh.timeout.connect(lambda: self._publish_alarms(force=True))
        self._unsubscribe_alarms: Callable[[], None] | None = None
        self.commandDone.connect(self._on_done)
        self.commandFailed.connect(self._on_failed)

    def start(self) -> None:
        if self._unsubscribe_alarms is None:
            self._unsubscribe_alarms = self.engine.alarms.subscribe(self._alarm_events_arrived)
        for timer in (self._numbers, self._trends, self._slow, self._alarms_timer, self._alarms_refresh):
            timer.start()
        self._publish_slow()
        self._publish_alarms(force=True)

    def stop(self) -> None:
        for timer in (self._numbers, self._trends, self._slow, self._alarms_timer, self._alarms_refresh):
            timer.stop()
        if self._unsubscribe_alarms is not None:
            self._unsubscribe_alarms()
            self._unsubscribe_alarms = None
        # The window is closing: an answer still on its way has nobody left to tell (its screen may be
        # deleted by the time it arrives), so it is dropped rather than handed to a dead widget.
        self._callbacks.clear()

    # ------------------------------------------------------------------ runtime → GUI

    @Slot()
    def _publish_numbers(self) -> None:
        version = self.engine.live.version
        if version == self._version:
            return  # nothing new since the last frame
        self._version = version
        snapshot: Mapping[str, Sample] = self.engine.live.snapshot()
        self.valuesChanged.emit(snapshot)
        if self._first_status_tries > 0 and snapshot:
            self._first_status_tries -= 1
            statuses = self.engine.machines.statuses()
            if any(status.state is not MachineState.UNKNOWN for status in statuses):
                self._first_status_tries = 0
                self._slow.start()  # the next one a second from now
                self._publish_slow()

    @Slot()
    def _publish_trend_frame(self) -> None:
        version = self.engine.live.version
        if version != self._trend_version:
            self._trend_version = version
            self.trendTick.emit()

    @Slot()
    def _publish_slow(self) -> None:
        statuses: list[MachineStatus] = self.engine.machines.statuses()
        health: list[MachineHealth] = self.engine.health()
        self.statusChanged.emit(statuses)
        self.healthChanged.emit(health)

    def _alarm_events_arrived(self, _events: Sequence[AlarmEvent]) -> None:
        # On the runtime loop: no Qt here, just a counter the GUI timer compares (a lost increment
        # between two threads still moves it).
        self._alarm_events += 1

    @Slot()
    def _publish_alarms(self, *, force: bool = False) -> None:
        seen = self._alarm_events
        if seen == self._alarm_seen and not force:
            return  # no alarm event since the last look: not even a snapshot
        self._alarm_seen = seen
        snapshot = self.engine.alarms.snapshot()
        last = self.alarms
        if (
            last is not None
            and last.alarms == snapshot.alarms
            and last.counts == snapshot.counts
            and last.flood == snapshot.flood
        ):
            return
        self.alarms = snapshot
        self.alarmsChanged.emit(snapshot)

    def status(self, machine_id: str) -> MachineStatus:
        return self.engine.machines.status(machine_id)

    # ------------------------------------------------------------------ GUI → runtime

    def submit(
        self,
        make: Callable[[], Coroutine[Any, Any, Any]],
        *,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> int:
        """Run a coroutine on the runtime loop; ``done``/``failed`` are called later on the GUI thread."""
        self._tickets += 1
        ticket = self._tickets
        if self.runtime is None or not self.runtime.running:
            # A query timer that fires while the window closes: say so, never raise into Qt.
            message = self.tr("The runtime is not running.")
            log.info("command %d not sent: the runtime is not running", ticket)
            if failed is not None:
                failed(message)
            return ticket
        self._callbacks[ticket] = (done, failed)
        future = self.runtime.submit(make())
        future.add_done_callback(lambda f: self._finished(ticket, f))
        return ticket

    @Slot(int, object)
    def _on_done(self, ticket: int, result: object) -> None:
        done, _failed = self._callbacks.pop(ticket, (None, None))
        if done is not None:
            done(result)

    @Slot(int, str)
    def _on_failed(self, ticket: int, message: str) -> None:
        _done, failed = self._callbacks.pop(ticket, (None, None))
        if failed is not None:
            failed(message)

    def _finished(self, ticket: int, future: Future[Any]) -> None:
        # Called on the runtime thread: a signal crosses to the GUI thread by a queued connection.
        if future.cancelled():  # the runtime stopped before it ran (the window is closing)
            log.info("command %d cancelled: the runtime stopped", ticket)
            self.commandFailed.emit(ticket, self.tr("The runtime is not running."))
            return
        error = future.exception()
        if error is None:
            self.commandDone.emit(ticket, future.result())
        else:
            log.info("command %d failed: %s", ticket, error)
            self.commandFailed.emit(ticket, str(error))
