"""One coordinator per connection: connect, poll on a staggered tick, time out, back off, recover.

It owns the only task that talks to its device, so requests on one connection are serialised by
construction, and a device that hangs or fails only ever delays its own coordinator.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

from linesight.domain.errors import BadAddress, DeviceTimeout, DriverError
from linesight.domain.plant import MachineConfig
from linesight.domain.tags import Quality, Sample, TagSpec, outside_deadband
from linesight.drivers.base import Driver, PushDriver
from linesight.runtime.backoff import Backoff
from linesight.runtime.bus import BatchSink
from linesight.runtime.health import ConnectionState, MachineHealth, RateMeter

log = logging.getLogger(__name__)


T = TypeVar("T")


class _ConnectionLost(Exception):
    def __init__(self, error: DriverError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(kw_only=True)
class _PollGroup:
    interval: float
    tags: list[TagSpec]
    next_due: float = 0.0
    check: bool = False  # no tags: ask a push driver whether its connection and subscription live


@dataclass(kw_only=True)
class _Quarantine:
    """A tag its device refused; it is retried on its own schedule so it cannot take the others down."""

    error: str
    attempts: int = 1
    retry_at: float = field(default=0.0)


class Coordinator:
    def __init__(
        self,
        *,
        machine: MachineConfig,
        driver: Driver,
        publish: BatchSink,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.machine_id = machine.id
        self.driver_name = machine.driver
        self.driver = driver
        self._publish = publish
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._rng = rng or random.Random(zlib.crc32(machine.id.encode()))
        self._timeout = machine.timeout
        self._specs = machine.tag_specs()
        self._by_key = {spec.key: spec for spec in self._specs}
        self._plain = not any(spec.scaled or spec.deadband > 0 for spec in self._specs)
        self._last_kept: dict[str, Sample] = {}
        self._poll_interval = machine.poll_interval
        self._push = isinstance(driver, PushDriver)
        self._groups = self._make_groups(self._specs)
        self._unsubscribe: Callable[[], Awaitable[None]] | None = None
        self._requests = RateMeter()
        self._requests_seen = 0
        self._quarantine: dict[str, _Quarantine] = {}
        self._unknown_logged: set[str] = set()
        # Health, read by other threads through health() snapshots.
        self._state = ConnectionState.CONNECTING
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._last_success_at: float | None = None
        self._rtt_ms: float | None = None
        self._rtt_avg_ms: float | None = None
        self._polls = 0
        self._failures = 0
        self._overruns = 0
        self._reconnects = 0
        self._next_retry_at: float | None = None
        self._rate = RateMeter()
        self._failures_in_a_row = 0

    def _make_groups(self, specs: Sequence[TagSpec]) -> list[_PollGroup]:
        """Polled tags grouped by rate, and, when a push driver has subscribed tags, its check."""
        by_interval: dict[float, list[TagSpec]] = {}
        for spec in specs:
            by_interval.setdefault(spec.poll_interval, []).append(spec)
        groups = [_PollGroup(interval=interval, tags=tags) for interval, tags in sorted(by_interval.items())]
        if len(specs) < len(self._specs) or not specs:
            groups.append(_PollGroup(interval=self._poll_interval, tags=[], check=True))
        return groups

    def _pushed(self) -> list[TagSpec]:
        driver = self.driver
        if not isinstance(driver, PushDriver):
            return []
        return [spec for spec in self._specs if driver.pushes(spec)]

    # ------------------------------------------------------------------ health

    def health(self) -> MachineHealth:
        return MachineHealth(
            machine=self.machine_id,
            driver=self.driver_name,
            state=self._state,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            last_success_at=self._last_success_at,
            round_trip_ms=self._rtt_ms,
            round_trip_avg_ms=self._rtt_avg_ms,
            samples_per_s=self._rate.rate(self._clock()),
            polls=self._polls,
            failures=self._failures,
            overruns=self._overruns,
            reconnects=self._reconnects,
            next_retry_at=self._next_retry_at,
            tag_errors=MappingProxyType({key: q.error for key, q in self._quarantine.items()}),
            requests_per_s=self._requests.rate(self._clock()),
            dropped=int(getattr(self.driver, "dropped", 0)),
        )

    # ------------------------------------------------------------------ life cycle

    async def run(self) -> None:
        """Connect and poll until cancelled; every device failure is handled here, nothing escapes."""
        attempt = 0
        try:
            while True:
                try:
                    await self._connect()
                    await self._subscribe()
                    await self._poll_forever()
                except _ConnectionLost as lost:
                    attempt = 0 if self._state is ConnectionState.ONLINE else attempt
                    attempt += 1
                    self._mark_unavailable(lost.error)
                    await self._close_driver()
                    delay = self._backoff.delay(attempt, self._rng)
                    self._next_retry_at = self._clock() + delay
                    await asyncio.sleep(delay)
                    self._next_retry_at = None
                    self._reconnects += 1
        finally:
            self._state = ConnectionState.STOPPED

    async def close(self) -> None:
        await self._close_driver()

    async def _connect(self) -> None:
        if self._state is not ConnectionState.UNAVAILABLE:
            self._state = ConnectionState.CONNECTING
        await self._request("connect", "no connection", self.driver.connect())

    async def _request(self, action: str, silence: str, call: Awaitable[T]) -> T:
        """One request to the device within the timeout; every failure but a refused address means
        the connection is lost (``BadAddress`` on a read is the caller's to handle)."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # arrives as the request completes, and the coordinator would then never stop.
            async with asyncio.timeout(self._timeout):
                return await call
        except TimeoutError:
            raise _ConnectionLost(
                DeviceTimeout(f"{self.machine_id}: {silence} within {self._timeout:g} s")
            ) from None
        except BadAddress as err:
            if action == "read":
                raise
            raise _ConnectionLost(err) from err
        except DriverError as err:
            raise _ConnectionLost(err) from err
        except Exception as err:
            # A driver bug must not kill the coordinator: report it like a failure, with its traceback.
            log.exception("driver %s of machine %s failed on %s", self.driver_name, self.machine_id, action)
            raise _ConnectionLost(
                DriverError(f"{self.machine_id}: driver error on {action}: {err!r}")
            ) from err

    async def _subscribe(self) -> None:
        """Subscribe the tags the device pushes; poll the rest (done on every (re)connect)."""
        pushed = self._pushed()
        if not pushed:
            return
        driver = self.driver
        assert isinstance(driver, PushDriver)
        started = asyncio.get_running_loop().time()
        unsubscribe, refused = await self._request(
            "subscribe", "no subscription", driver.subscribe(pushed, self._pushed_in)
        )
        self._unsubscribe = unsubscribe
        self._on_success(
            asyncio.get_running_loop().time() - started, [t for t in pushed if t.key not in refused]
        )
        # Refused tags are polled instead, from quarantine, so that they are retried on their schedule.
        for tag in pushed:
            if tag.key in refused:
                self._quarantine_tags([tag], refused[tag.key])
        self._groups = self._make_groups(
            [spec for spec in self._specs if spec not in pushed or spec.key in refused]
        )

    def _pushed_in(self, batch: Sequence[Sample]) -> None:
        """Samples a push driver delivers: scaled and filtered like polled ones."""
        if not batch:
            return
        out = batch if self._plain else self._engineering(batch)
        self._last_success_at = self._clock()
        self._rate.add(self._last_success_at, len(out))
        self._publish(out)

    async def _close_driver(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            try:
                async with asyncio.timeout(self._timeout):
                    await unsubscribe()
            except (DriverError, TimeoutError) as err:
                log.debug("ending the subscription of %s failed: %s", self.machine_id, err)
        try:
            async with asyncio.timeout(self._timeout):
                await self.driver.close()
        except (DriverError, TimeoutError) as err:
            log.debug("closing the connection of %s failed: %s", self.machine_id, err)

    # ------------------------------------------------------------------ polling

    async def _poll_forever(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        # Stagger: each machine and poll rate starts at its own phase inside the interval, so that
        # a plant of machines with the same rate does not hit the network and the bus in one burst.
        for group in self._groups:
            phase = (zlib.crc32(f"{self.machine_id}/{group.interval}".encode()) % 1000) / 1000.0
            group.next_due = now + phase * min(group.interval, 1.0)
        while True:
            now = loop.time()
            due = [group for group in self._groups if group.next_due <= now]
            if not due:
                await asyncio.sleep(min(group.next_due for group in self._groups) - now)
                continue
            for group in due:
                group.next_due += group.interval
                if group.next_due <= now:
                    # The last poll took longer than the interval: skip the missed ticks, do not pile up.
                    missed = math.floor((now - group.next_due) / group.interval) + 1
                    group.next_due += missed * group.interval
                    self._overruns += missed
            if any(group.check for group in due):
                await self._check()
            tags = [tag for group in due for tag in group.tags]
            if tags:
                await self._poll(tags)

    async def _check(self) -> None:
        driver = self.driver
        assert isinstance(driver, PushDriver)
        started = asyncio.get_running_loop().time()
        await self._request("check", "no answer", driver.check())
        self._on_success(asyncio.get_running_loop().time() - started, ())

    async def _poll(self, tags: list[TagSpec]) -> None:
        loop = asyncio.get_running_loop()
        wall = self._clock()
        wanted = [tag for tag in tags if self._ready(tag, wall)] if self._quarantine else tags
        while wanted:
            started = loop.time()
            try:
                raw = await self._request("read", "no answer", self.driver.read(wanted))
            except BadAddress as err:
                refused = [tag for tag in wanted if tag.key in err.tags or tag.name in err.tags]
                if not refused:
                    raise _ConnectionLost(err) from err
                self._quarantine_tags(refused, str(err))
                wanted = [tag for tag in wanted if tag not in refused]
                continue
            self._on_success(loop.time() - started, wanted)
            batch = raw if self._plain else self._engineering(raw)
            self._rate.add(self._clock(), len(batch))
            self._publish(batch)
            return

    def _ready(self, tag: TagSpec, now: float) -> bool:
        quarantined = self._quarantine.get(tag.key)
        return quarantined is None or quarantined.retry_at <= now

    def _quarantine_tags(self, tags: Sequence[TagSpec], error: str) -> None:
        now = self._clock()
        bad: list[Sample] = []
        for tag in tags:
            entry = self._quarantine.get(tag.key)
            if entry is None:
                entry = self._quarantine[tag.key] = _Quarantine(error=error)
                log.warning(
                    "machine %s tag %s (address %s) refused: %s",
                    self.machine_id,
                    tag.name,
                    tag.address,
                    error,
                )
                bad.append(Sample(tag=tag.key, ts_us=int(now * 1e6), value=None, quality=Quality.BAD))
            else:
                entry.attempts += 1
                entry.error = error
            entry.retry_at = now + self._backoff.delay(entry.attempts, self._rng)
        self._publish(bad)

    def _on_success(self, round_trip_s: float, read: Sequence[TagSpec]) -> None:
        now = self._clock()
        rtt_ms = round_trip_s * 1000.0
        self._rtt_ms = rtt_ms
        self._rtt_avg_ms = rtt_ms if self._rtt_avg_ms is None else 0.9 * self._rtt_avg_ms + 0.1 * rtt_ms
        self._polls += 1
        self._last_success_at = now
        requests = getattr(self.driver, "requests", None)
        if isinstance(requests, int) and requests > self._requests_seen:
            self._requests.add(now, requests - self._requests_seen)
            self._requests_seen = requests
        for tag in read:
            if self._quarantine and self._quarantine.pop(tag.key, None) is not None:
                log.info("machine %s tag %s readable again", self.machine_id, tag.name)
        if self._state is not ConnectionState.ONLINE:
            if self._state is ConnectionState.UNAVAILABLE:
                log.info(
                    "machine %s recovered after %d failed attempts", self.machine_id, self._failures_in_a_row
                )
            self._state = ConnectionState.ONLINE
        self._failures_in_a_row = 0

    def _mark_unavailable(self, error: DriverError) -> None:
        now = self._clock()
        self._failures += 1
        self._failures_in_a_row += 1
        self._last_error = str(error)
        self._last_error_at = now
        if self._state is ConnectionState.UNAVAILABLE:
            log.debug("machine %s still unavailable: %s", self.machine_id, error)
            return
        log.warning("machine %s unavailable: %s", self.machine_id, error)
        self._state = ConnectionState.UNAVAILABLE
        ts_us = int(now * 1e6)
        # Mark every tag bad once, at the moment the connection was lost, rather than going silent.
        self._publish(
            [Sample(tag=spec.key, ts_us=ts_us, value=None, quality=Quality.BAD) for spec in self._specs]
        )

    def _engineering(self, raw: Sequence[Sample]) -> list[Sample]:
        """Scale raw values and drop changes inside each tag's deadband (a quality change always passes)."""
        kept: list[Sample] = []
        by_key = self._by_key
        last_kept = self._last_kept
        for sample in raw:
            spec = by_key.get(sample.tag)
            if spec is None:
                if sample.tag not in self._unknown_logged:
                    self._unknown_logged.add(sample.tag)
                    log.warning("driver of machine %s returned unknown tag %s", self.machine_id, sample.tag)
                continue
            if spec.scaled:
                value = spec.to_engineering(sample.value)
                if value is not sample.value:
                    sample = Sample(tag=sample.tag, ts_us=sample.ts_us, value=value, quality=sample.quality)
            if spec.deadband > 0.0:
                previous = last_kept.get(sample.tag)
                if (
                    previous is not None
                    and previous.quality is sample.quality
                    and not outside_deadband(previous.value, sample.value, spec.deadband)
                ):
                    continue
                last_kept[sample.tag] = sample
            kept.append(sample)
        return kept
