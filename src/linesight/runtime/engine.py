"""The runtime: builds one coordinator per machine from the plant file and wires samples to their sinks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from linesight.domain.errors import DeviceTimeout, HistorianError, LineSightError
from linesight.domain.plant import MachineConfig, PlantConfig
from linesight.domain.tags import Sample, TagSpec, TagValue
from linesight.drivers import registry
from linesight.drivers.base import Driver, DriverFactory
from linesight.runtime.alarms import AlarmJournal, AlarmService
from linesight.runtime.backoff import Backoff
from linesight.runtime.bus import SampleBus
from linesight.runtime.cloud_sync import CloudHistorian, CloudSync
from linesight.runtime.coordinator import Coordinator
from linesight.runtime.health import ConnectionState, MachineHealth, RateMeter
from linesight.runtime.live import RING_POINTS, LiveCache
from linesight.runtime.machines import MachineTracker
from linesight.runtime.notify import NoticeMaker, Notifier, notify_on_alarms
from linesight.runtime.production import ProductionBook, ProductionStore
from linesight.runtime.writer import HistorianWriter, SampleStore, WriterStats

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0
# How often Python hands the GIL between threads while the runtime runs (the default is 5 ms). The
# historian writer's thread releases the GIL many times per flush (every Arrow chunk DuckDB scans)
# and, at the default, waits up to 5 ms to get it back from the busy polling loop each time: at
# 200,000 samples/s flushes then took seconds and fell further behind each time. At 0.2 ms they take
# a few hundred milliseconds and the whole runtime used ~25 % less CPU per sample (bench/ingest.py).
GIL_SWITCH_INTERVAL_S = 0.0002
STOP_TIMEOUT_S = 10.0


class HistorianLike(SampleStore, ProductionStore, Protocol):
    def register_tags(self, specs: Sequence[TagSpec]) -> None: ...

    def apply_retention(self) -> Any: ...

    def samples(self, tags: Sequence[str], start: datetime, end: datetime) -> list[Sample]: ...


@dataclass(frozen=True, kw_only=True)
class EngineStats:
    machines: int
    online: int
    samples_per_s: float
    samples_total: int
    writer: WriterStats | None


def _iso(seconds: float | None) -> str | None:
    return (
        None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    )


def _health_dict(health: MachineHealth) -> dict[str, Any]:
    # Field by field: asdict() cannot deep-copy the read-only tag_errors mapping.
    found = {field.name: getattr(health, field.name) for field in dataclasses.fields(health)}
    found["tag_errors"] = dict(health.tag_errors)
    found["phase"] = health.phase
    for key in ("last_error_at", "last_success_at", "next_retry_at"):
        found[key] = _iso(found[key])
    return found


class Engine:
    """Start with ``async with Engine(...)`` (or start/stop); a clean stop flushes every sample."""

    def __init__(
        self,
        plant: PlantConfig,
        *,
        historian: HistorianLike | None,
        factories: Mapping[str, DriverFactory] | None = None,
        backoff: Backoff | None = None,
        flush_interval: float | None = None,
        ring_capacity: int = RING_POINTS,
        clock: Callable[[], float] = time.time,
        switch_interval: float | None = GIL_SWITCH_INTERVAL_S,
    ) -> None:
        self.plant = plant
        self.bus = SampleBus()
        self.live = LiveCache(ring_capacity=ring_capacity, expected_tags=len(plant.tag_specs()))
        self.machines = MachineTracker(plant, clock=clock)
        # The plant's alarm rules, evaluated on every batch; journalled in the historian when there is one.
        self.alarms = AlarmService(
            plant, clock=clock, journal=historian if isinstance(historian, AlarmJournal) else None
        )
        # Stop codings and rejects entered by operators (stored in the historian when there is one).
        self.production = ProductionBook(plant, historian, self.machines, clock=clock)
        self._historian = historian
        self._factories = registry.factories() if factories is None else factories
        self._backoff = backoff or Backoff()
        self._clock = clock
        interval = plant.historian.flush_interval if flush_interval is None else flush_interval
        self.writer = HistorianWriter(historian, flush_interval=interval) if historian is not None else None
        # Alarm notifications (webhook, Slack, e-mail), when the plant file has a notifications section.
        self.notifier = (
            Notifier(plant.notifications, clock=clock) if plant.notifications is not None else None
        )
        self.notice_for = NoticeMaker(plant)
        # Store-and-forward to the cloud, when the plant file has a cloud section (docs/cloud/edge.md).
        self.cloud_sync = (
            CloudSync(plant, historian, tracker=self.machines, clock=clock)
            if plant.cloud is not None and isinstance(historian, CloudHistorian)
            else None
        )
        self._coordinators: dict[str, Coordinator] = {}
        self._broken: dict[str, MachineHealth] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._rate = RateMeter()
        self._total = 0
        self._started = False
        self._switch_interval = switch_interval
        self._previous_switch_interval: float | None = None

    # ------------------------------------------------------------------ life cycle

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._started:
            return
        if self._switch_interval is not None:
            self._previous_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(self._switch_interval)
        loop = asyncio.get_running_loop()
        machines = [machine for _site, _line, machine in self.plant.machines()]
        # Synchronous drivers run in threads; a hung device holds its thread, so give every
        # connection room of its own rather than the default pool of (cores + 4).
        self._executor = ThreadPoolExecutor(max_workers=len(machines) + 8, thread_name_prefix="linesight-io")
        loop.set_default_executor(self._executor)

        if self.notifier is not None:
            await self.notifier.start()
        self._unsubscribe.append(self.bus.subscribe(self._count))
        self._unsubscribe.append(self.bus.subscribe(self.live.update))
        self._unsubscribe.append(self.bus.subscribe(self.machines.update))
        if self._historian is not None and self.writer is not None:
            await asyncio.to_thread(self._historian.register_tags, self.plant.tag_specs())
            await self._backfill_machines(self._historian)
            self._unsubscribe.append(self.bus.subscribe(self.writer.add))
            self._tasks.append(asyncio.create_task(self.writer.run(), name="historian-writer"))
            self._tasks.append(asyncio.create_task(self._retention_loop(), name="historian-retention"))
        # After the replay of the shift: alarms hear of today's machine states, not of the history.
        await self.alarms.restore()
        if self.notifier is not None:
            # After the restore: a restart does not notify again of alarms people already heard of.
            self._unsubscribe.append(self.alarms.subscribe(notify_on_alarms(self.notifier, self.notice_for)))
        self._unsubscribe.append(self.bus.subscribe(self.alarms.update))
        self._unsubscribe.append(self.alarms.follow(self.machines))
        self._tasks.append(asyncio.create_task(self.alarms.run(), name="alarms"))
        if self.cloud_sync is not None:
            await self.cloud_sync.start()

        for machine in machines:
            driver = self._create_driver(machine)
            if driver is None:
                continue
            coordinator = Coordinator(
                machine=machine,
                driver=driver,
                publish=self.bus.publish,
                backoff=self._backoff,
                clock=self._clock,
            )
            self._coordinators[machine.id] = coordinator
            self._tasks.append(asyncio.create_task(coordinator.run(), name=f"coordinator:{machine.id}"))
        self._started = True
        log.info("runtime started: %d machines, %d tags", len(machines), len(self.plant.tag_specs()))

    async def stop(self) -> None:
        """Stop polling, close every connection, flush what was collected, in that order."""
        if not self._started:
            return
        self._started = False
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            done, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("task %s had failed", task.get_name(), exc_info=task.exception())
            for task in stuck:
                # Never hang a shutdown on one task; name it so that the bug can be found.
                log.error(
                    "task %s did not stop within %g s; leaving it behind", task.get_name(), STOP_TIMEOUT_S
                )
        self._tasks.clear()
        if self.cloud_sync is not None:
            await self.cloud_sync.stop()
        await asyncio.gather(*(coordinator.close() for coordinator in self._coordinators.values()))
        if self.writer is not None:
            await self.writer.flush()
        await self.alarms.flush()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.notifier is not None:
            # Before the executor goes: e-mail is sent from its threads.
            await self.notifier.stop()
        if self._executor is not None:
            # The loop lives on (an HMI may start another engine on it): give it a fresh default
            # executor before this one goes, or every later asyncio.to_thread on it would fail.
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="asyncio"))
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._previous_switch_interval is not None:
            sys.setswitchinterval(self._previous_switch_interval)
            self._previous_switch_interval = None
        log.info("runtime stopped")

    def _create_driver(self, machine: MachineConfig) -> Driver | None:
        factory = self._factories.get(machine.driver)
        try:
            if factory is None:
                raise LineSightError(f"unknown driver '{machine.driver}'")
            return factory.create(machine.id, machine.connection, machine.tag_specs())
        except LineSightError as err:
            # The plant file was validated; this is a driver refusing at runtime. Only this machine stops.
            log.error("machine %s cannot start: %s", machine.id, err)
            self._broken[machine.id] = MachineHealth(
                machine=machine.id,
                driver=machine.driver,
                state=ConnectionState.UNAVAILABLE,
                last_error=str(err),
                last_error_at=self._clock(),
            )
            return None

    async def _backfill_machines(self, historian: HistorianLike) -> None:
        """Replay this shift's history of the state and counter tags, so that a restart mid-shift
        keeps the shift's timeline, part count and OEE."""
        wanted = self.machines.backfill_request()
        if wanted is None:
            return
        keys, since = wanted
        try:
            history = await asyncio.to_thread(historian.samples, keys, since, datetime.now(UTC))
        except HistorianError as err:
            log.error("cannot replay this shift's machine states from the historian: %s", err)
            return
        self.machines.update(history)
        await self.production.restore(since)

    async def _retention_loop(self) -> None:
        historian = self._historian
        assert historian is not None
        while True:
            try:
                await asyncio.to_thread(historian.apply_retention)
            except HistorianError as err:
                log.error("historian retention failed: %s", err)
            await asyncio.sleep(RETENTION_EVERY_S)

    def _count(self, batch: Sequence[object]) -> None:
        self._total += len(batch)
        self._rate.add(self._clock(), len(batch))

    # ------------------------------------------------------------------ queries (any thread)

    @property
    def historian(self) -> HistorianLike | None:
        """The historian the engine writes to (queries on it belong in a worker thread)."""
        return self._historian

    def health(self) -> list[MachineHealth]:
        found = {machine_id: coordinator.health() for machine_id, coordinator in self._coordinators.items()}
        found.update(self._broken)
        order = [machine.id for _s, _l, machine in self.plant.machines()]
        return [found[machine_id] for machine_id in order if machine_id in found]

    def machine_health(self, machine_id: str) -> MachineHealth:
        if machine_id in self._broken:
            return self._broken[machine_id]
        return self._coordinators[machine_id].health()

    async def write(self, machine_id: str, tag_name: str, value: TagValue) -> None:
        """Write an engineering value to a machine's tag (its scale and offset undone), within its timeout."""
        machine = self.plant.machine(machine_id)
        spec = next((s for s in machine.tag_specs() if s.name == tag_name), None)
        if spec is None:
            raise LineSightError(f"machine {machine_id} has no tag {tag_name!r}")
        if not spec.writable:
            raise LineSightError(
                f"{machine_id}.{tag_name} is not writable: the plant file must say `writable: true` on it"
            )
        raw = value
        if spec.scaled and isinstance(value, int | float) and not isinstance(value, bool):
            raw = (value - spec.offset) / spec.scale
            if spec.data_type.is_integer:
                raw = round(raw)
        coordinator = self._coordinators.get(machine_id)
        if coordinator is None:
            raise LineSightError(
                f"machine {machine_id} is not running: {self.machine_health(machine_id).last_error}"
            )
        try:
            async with asyncio.timeout(machine.timeout):
                await coordinator.driver.write(spec, raw)
        except TimeoutError:
            raise DeviceTimeout(
                f"{machine_id}: no answer to the write of {tag_name} within {machine.timeout:g} s"
            ) from None

    def driver(self, machine_id: str) -> Driver:
        return self._coordinators[machine_id].driver

    def report(self) -> dict[str, Any]:
        """Health of every machine and of the historian writer as plain JSON-ready data."""
        stats = self.stats()
        return {
            "plant": self.plant.id,
            "time": _iso(self._clock()),
            "machines_online": stats.online,
            "machines": [_health_dict(item) for item in self.health()],
            "samples_per_s": round(stats.samples_per_s, 1),
            "samples_total": stats.samples_total,
            "historian": None if stats.writer is None else dataclasses.asdict(stats.writer),
            "notifications": None if self.notifier is None else self.notifier.report(),
        }

    def stats(self) -> EngineStats:
        health = self.health()
        return EngineStats(
            machines=len(health),
            online=sum(1 for item in health if item.state is ConnectionState.ONLINE),
            samples_per_s=self._rate.rate(self._clock()),
            samples_total=self._total,
            writer=self.writer.stats() if self.writer is not None else None,
        )
