"""Cloud sync on the runtime loop: the forwarder's life, the sync switch, and the events it forwards
that have no table of their own (machine state changes, a shift's OEE when the shift ends).

The switch is persisted in the historian (``cloud.sync``), so a restart keeps what a manager chose;
without a recorded choice, the plant file's ``cloud.enabled`` decides (off by default). Who may switch
it and the audit trail are ``Commands.cloud_sync``'s business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from linesight import __version__
from linesight.cloud.codec import MachineInfo
from linesight.cloud.edge_metrics import BacklogHealth, EdgeMetrics
from linesight.cloud.forwarder import Forwarder, ForwarderOptions, Outbox
from linesight.domain.calendar import ShiftWindow
from linesight.domain.errors import HistorianError, LineSightError
from linesight.domain.machine import MachineState
from linesight.domain.oee import OeeResult
from linesight.domain.plant import PlantConfig
from linesight.runtime.machines import MachineTracker

log = logging.getLogger(__name__)

SYNC_KEY = "cloud.sync"
SHIFT_CHECK_EVERY_S = 10.0
US = 1_000_000


@runtime_checkable
class CloudHistorian(Outbox, Protocol):
    """A historian that is also the cloud outbox (``linesight.storage.outbox.OutboxRecords``)."""

    def outbox_meta(self, key: str) -> str | None: ...

    def set_outbox_meta(self, key: str, value: str) -> None: ...

    def set_retention_guard(self, guard: Callable[[], int | None] | None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class _ShiftSeen:
    shift: ShiftWindow
    oee: OeeResult | None
    parts: int | None
    rejects: int | None


class CloudSync:
    """Owns the forwarder of a plant with a ``cloud:`` section; start/stop with the engine."""

    def __init__(
        self,
        plant: PlantConfig,
        historian: CloudHistorian,
        *,
        tracker: MachineTracker | None = None,
        options: ForwarderOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if plant.cloud is None:
            raise LineSightError("the plant file has no cloud: section")
        self.config = plant.cloud
        self._historian = historian
        self._tracker = tracker
        self._clock = clock
        self.metrics = EdgeMetrics()
        machines = [
            MachineInfo(id=machine.id, name=machine.title, line=line.id, site=site.id)
            for site, line, machine in plant.machines()
        ]
        self.forwarder = Forwarder(
            self.config,
            historian,
            machines=machines,
            options=options or ForwarderOptions(version=__version__),
            metrics=self.metrics,
            clock=clock,
        )
        # At once, before the engine's first retention pass: until the watermark is read, the guard
        # protects every row below the cap.
        historian.set_retention_guard(self.forwarder.retention_guard)
        self._enabled = False
        self._events: asyncio.Queue[tuple[str, int, str | None, dict[str, Any]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._shifts: dict[str, _ShiftSeen] = {}
        self._lock = asyncio.Lock()
        self.metrics_address: tuple[str, int] | None = None  # where /metrics is served, when it is

    @property
    def enabled(self) -> bool:
        return self._enabled

    def health(self) -> BacklogHealth:
        return self.forwarder.health()

    async def start(self) -> None:
        await self.forwarder.load()
        recorded = await asyncio.to_thread(self._historian.outbox_meta, SYNC_KEY)
        self._enabled = self.config.enabled if recorded is None else recorded == "on"
        if self.config.metrics_listen is not None:
            try:
                self.metrics_address = self.metrics.serve(self.config.metrics_listen)
            except OSError as err:
                log.error("cloud sync metrics cannot listen on %s: %s", self.config.metrics_listen, err)
        self._tasks.append(asyncio.create_task(self._record_events(), name="cloud-events"))
        if self._tracker is not None:
            self._unsubscribe.append(self._tracker.subscribe_states(self._state_changed))
            self._tasks.append(asyncio.create_task(self._watch_shifts(), name="cloud-shifts"))
        if self._enabled:
            self.forwarder.start()
        log.info(
            "cloud sync %s (%s:%d)",
            "on" if self._enabled else "off",
            self.config.host,
            self.config.broker_port,
        )

    async def stop(self) -> None:
        await self.forwarder.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        # Events already queued are kept before the tasks go.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._events.join(), 5.0)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.metrics.close()

    async def switch(self, on: bool) -> bool:
        """Switch sync on or off and persist the choice; returns what it was before."""
        async with self._lock:
            before = self._enabled
            await asyncio.to_thread(self._historian.set_outbox_meta, SYNC_KEY, "on" if on else "off")
            self._enabled = on
            if on and not before:
                self.forwarder.start()
            elif not on and before:
                await self.forwarder.stop()
            return before

    # ------------------------------------------------------------------ state and shift events

    def _state_changed(self, machine: str, state: MachineState, ts_us: int) -> None:
        self._events.put_nowait(("state", ts_us, machine, {"state": state.value}))

    async def _record_events(self) -> None:
        while True:
            stream, ts_us, machine, data = await self._events.get()
            try:
                await asyncio.to_thread(
                    self._historian.record_outbox_event,
                    stream,
                    ts_us,
                    machine,
                    data,
                    dedupe=_dedupe(stream, machine, data),
                )
            except HistorianError as err:
                log.error("cannot keep a %s event of %s for the cloud: %s", stream, machine, err)
            finally:
                self._events.task_done()

    async def _watch_shifts(self) -> None:
        while True:
            await asyncio.sleep(SHIFT_CHECK_EVERY_S)
            self.check_shifts()

    def check_shifts(self) -> None:
        """When a machine's shift has changed, queue the ended shift's OEE (as last seen) as an event."""
        if self._tracker is None:
            return
        for status in self._tracker.statuses():
            seen = self._shifts.get(status.machine)
            if seen is not None and (status.shift is None or status.shift.start != seen.shift.start):
                self._events.put_nowait(
                    ("shift_oee", int(seen.shift.end.timestamp() * US), status.machine, _oee(seen))
                )
            if status.shift is None:
                self._shifts.pop(status.machine, None)
            else:
                self._shifts[status.machine] = _ShiftSeen(
                    shift=status.shift, oee=status.oee, parts=status.parts, rejects=status.rejects
                )


def _oee(seen: _ShiftSeen) -> dict[str, Any]:
    oee = seen.oee
    return {
        "shift": seen.shift.name,
        "start_us": int(seen.shift.start.timestamp() * US),
        "end_us": int(seen.shift.end.timestamp() * US),
        "availability": None if oee is None else oee.availability,
        "performance": None if oee is None else oee.performance,
        "quality": None if oee is None else oee.quality,
        "oee": None if oee is None else oee.oee,
        "produced": None if oee is None else oee.produced,
        "good": None if oee is None else oee.good,
        "rejects": seen.rejects,
        "parts": seen.parts,
    }


def _dedupe(stream: str, machine: str | None, data: dict[str, Any]) -> str | None:
    # A shift's result is kept once per machine, even if the runtime restarts around the shift change.
    return f"{machine}:{data['shift']}@{data['start_us']}" if stream == "shift_oee" else None
